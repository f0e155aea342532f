/**
 * Camera discovery datagrams built from their documented formats (camera-indicators.md
 * section 4), the way test/protocols/discovery builds them: Hikvision SADP as
 * MatrixEditor/hiktools writes and devices answer it, Dahua DHIP framing as
 * mcw0/DahuaConsole net.py builds it, ONVIF WS-Discovery (2005/04 namespace) as cameras
 * announce themselves. Every address in them is a documentation address.
 */

const b = (s: string) => Buffer.from(s, "latin1");

export interface CameraIdentity {
  mac: string;
  ipv4: string;
  model: string;
  serial: string;
  firmware: string;
}

/** A VMS's SADP search (hiktools fromdict: Uuid, MAC ff-..., Types inquiry). */
export function sadpProbe(): Buffer {
  return b(
    "<?xml version='1.0' encoding='utf-8'?>\n<Probe><Uuid>8E0C8B94-4A49-4A6E-8F3A-6C0DB14C1B3E</Uuid><MAC>ff-ff-ff-ff-ff-ff</MAC><Types>inquiry</Types></Probe>",
  );
}

/** A Hikvision device's SADP answer (one element a line, CRLF), multicast to 239.255.255.250:37020. */
export function sadpProbeMatch(c: CameraIdentity): Buffer {
  return b(
    `<?xml version="1.0" encoding="UTF-8"?>
<ProbeMatch><Uuid>F93CF8DC-DF53-424B-98A7-9FC0536E1083</Uuid>
<Types>inquiry</Types>
<DeviceType>142378</DeviceType>
<DeviceDescription>${c.model}</DeviceDescription>
<DeviceSN>${c.serial}</DeviceSN>
<CommandPort>8000</CommandPort>
<HttpPort>80</HttpPort>
<MAC>${c.mac.toLowerCase().replace(/:/g, "-")}</MAC>
<IPv4Address>${c.ipv4}</IPv4Address>
<IPv4SubnetMask>255.255.255.0</IPv4SubnetMask>
<IPv4Gateway>192.0.2.1</IPv4Gateway>
<DHCP>false</DHCP>
<SoftwareVersion>${c.firmware}</SoftwareVersion>
<Activated>true</Activated>
</ProbeMatch>
`.replace(/\n/g, "\r\n"),
  );
}

/** DahuaConsole's DHIP framing: magic, session, then the JSON length at 16 and 24 (little-endian). */
export function dhip(json: string): Buffer {
  const h = Buffer.alloc(32);
  h.writeBigUInt64BE(0x2000000044484950n, 0);
  h.writeUInt32LE(json.length, 16);
  h.writeUInt32LE(json.length, 24);
  return Buffer.concat([h, b(json)]);
}

export function dhipSearch(): Buffer {
  return dhip('{"method": "DHDiscover.search", "params": {"mac": "", "uni": 1}}');
}

/** A Dahua device's DHIP reply (client.notifyDevInfo), sent to 239.255.255.251:37810. */
export function dhipReply(c: CameraIdentity & { vendor: string }): Buffer {
  return dhip(
    `{ "mac" : "${c.mac.toLowerCase()}", "method" : "client.notifyDevInfo", "params" : { "deviceInfo" : { "DeviceClass" : "IPC", "DeviceType" : "${c.model}", "HttpPort" : 80, "IPv4Address" : { "DefaultGateway" : "192.0.2.1", "DhcpEnable" : false, "IPAddress" : "${c.ipv4}", "SubnetMask" : "255.255.255.0" }, "MachineName" : "${c.serial}", "Port" : 37777, "SerialNo" : "${c.serial}", "Vendor" : "${c.vendor}", "Version" : "${c.firmware}" } } }\n`,
  );
}

/** An ONVIF camera's WS-Discovery Hello, multicast to 239.255.255.250:3702. */
export function wsdHello(o: {
  manufacturer: string;
  model: string;
  name: string;
  ipv4: string;
}): Buffer {
  return b(
    `<?xml version="1.0" encoding="UTF-8"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><SOAP-ENV:Header><wsa:MessageID>urn:uuid:3b1f6a40-0000-4000-8000-000000000077</wsa:MessageID><wsa:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To><wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello</wsa:Action><d:AppSequence InstanceId="1" MessageNumber="1"/></SOAP-ENV:Header><SOAP-ENV:Body><d:Hello><wsa:EndpointReference><wsa:Address>urn:uuid:3b1f6a40-0000-4000-8000-000000000077</wsa:Address></wsa:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/Profile/Streaming onvif://www.onvif.org/MfrName/${encodeURIComponent(o.manufacturer)} onvif://www.onvif.org/hardware/${encodeURIComponent(o.model)} onvif://www.onvif.org/name/${encodeURIComponent(o.name)}</d:Scopes><d:XAddrs>http://${o.ipv4}/onvif/device_service</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion></d:Hello></SOAP-ENV:Body></SOAP-ENV:Envelope>`,
  );
}
