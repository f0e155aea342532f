/**
 * Camera discovery and P2P recognition. Real bytes where a real tool exists (wsdd for
 * WS-Discovery, in two network namespaces: fixtures/make-wsdd.sh); elsewhere datagrams
 * built the way the cited sources build or quote them: MatrixEditor/hiktools (SADP),
 * mcw0/DahuaConsole net.py (DHIP, DVRIP), nmap nselib/wsdd.lua (WS-Discovery probes),
 * khoanguyen-3fc/dh-p2p and libprotoident lpi_dahua.cc (Dahua P2P). Addresses in them
 * are documentation addresses.
 */

import { beforeAll, describe, expect, it } from "vitest";
import {
  recogniseDiscovery,
  recogniseEtherType,
} from "../../../src/protocols/discovery/recognise.js";
import { DISCOVERY_ANOMALIES } from "../../../src/protocols/discovery/record.js";
import { hex } from "../../helpers/packets.js";
import { type Datagram, readUdpPayloads, tsharkFields, writeUdpPcap } from "../ntp/udp-payloads.js";

const b = (s: string) => Buffer.from(s, "latin1");
const crlf = (s: string) => b(s.replace(/\n/g, "\r\n"));
const rec = (p: Buffer, sport = 0, dport = 0) => recogniseDiscovery(p, 0, p.length, sport, dport);

/** DahuaConsole's DHIP framing: magic, 8-byte session, then the JSON length at 16 and 24 (little-endian). */
function dhip(json: string, claimed = json.length): Buffer {
  const h = Buffer.alloc(32);
  h.writeBigUInt64BE(0x2000000044484950n, 0);
  h.writeUInt32LE(claimed, 16);
  h.writeUInt32LE(claimed, 24);
  return Buffer.concat([h, b(json)]);
}

describe("Hikvision SADP", () => {
  // hiktools fromdict({'Uuid':..., 'MAC': 'ff-ff-ff-ff-ff-ff', 'Types': 'inquiry'}) as xml.etree writes it.
  const probe = b(
    "<?xml version='1.0' encoding='utf-8'?>\n<Probe><Uuid>8E0C8B94-4A49-4A6E-8F3A-6C0DB14C1B3E</Uuid><MAC>ff-ff-ff-ff-ff-ff</MAC><Types>inquiry</Types></Probe>",
  );
  // A device's reply as published in the wild (one element a line), addresses replaced.
  const match = crlf(`<?xml version="1.0" encoding="UTF-8"?>
<ProbeMatch><Uuid>F93CF8DC-DF53-424B-98A7-9FC0536E1083</Uuid>
<Types>inquiry</Types>
<DeviceType>142378</DeviceType>
<DeviceDescription>DS-2CD2320D-I</DeviceDescription>
<DeviceSN>DS-2CD2320D-I20180919AACHC52932642</DeviceSN>
<CommandPort>8000</CommandPort>
<HttpPort>80</HttpPort>
<MAC>44-47-cc-37-ce-81</MAC>
<IPv4Address>192.0.2.64</IPv4Address>
<IPv4SubnetMask>255.255.255.0</IPv4SubnetMask>
<IPv4Gateway>192.0.2.1</IPv4Gateway>
<IPv6Address>2001:db8::4647:ccff:fe37:ce81</IPv6Address>
<DHCP>true</DHCP>
<SoftwareVersion>V5.5.6build 180326</SoftwareVersion>
<DSPVersion>V7.3 build 180326</DSPVersion>
<Activated>false</Activated>
<PasswordResetAbility>true</PasswordResetAbility>
</ProbeMatch>
`);

  it("a probe", () => {
    expect(rec(probe, 50000, 37020)).toEqual({
      protocol: "sadp",
      vendor: "hikvision",
      message: "probe",
      fields: { method: "inquiry", mac: "ff-ff-ff-ff-ff-ff" },
    });
  });

  it("a reply: model, class, serial, MAC, address, firmware, activation", () => {
    expect(rec(match, 37020, 37020)).toEqual({
      protocol: "sadp",
      vendor: "hikvision",
      message: "probe-match",
      fields: {
        method: "inquiry",
        model: "DS-2CD2320D-I",
        device_class: "142378",
        serial: "DS-2CD2320D-I20180919AACHC52932642",
        mac: "44-47-cc-37-ce-81",
        ipv4: "192.0.2.64",
        firmware_version: "V5.5.6build 180326",
        activated: false,
      },
    });
  });

  it("does not depend on the port, nor on the tag case hiktools documents (Ipv4Address)", () => {
    const other = b(
      "<ProbeMatch><Ipv4Address>192.0.2.65</Ipv4Address><DeviceSN>X1</DeviceSN></ProbeMatch>",
    );
    expect(rec(other)?.fields).toEqual({ ipv4: "192.0.2.65", serial: "X1" });
  });

  it("XML after leading whitespace or a UTF-8 BOM", () => {
    expect(rec(Buffer.concat([b(" \r\n"), probe]))?.message).toBe("probe");
    expect(rec(Buffer.concat([hex("ef bb bf"), match]))?.message).toBe("probe-match");
  });

  it("raw SADP: EtherType 0x8033", () => {
    expect(recogniseEtherType(0x8033)).toBe("sadp");
    expect(recogniseEtherType(0x0800)).toBeNull();
    expect(recogniseEtherType(0x88cc)).toBeNull();
  });
});

describe("Dahua DHIP discovery", () => {
  // DahuaConsole: json.dumps({"method": "DHDiscover.search", "params": {"mac": "", "uni": 1}}).
  const search = dhip('{"method": "DHDiscover.search", "params": {"mac": "", "uni": 1}}');
  // A reply as devices send it (spaces around colons, "\/" escapes), addresses replaced.
  const reply = dhip(
    '{ "mac" : "4c:11:bf:c2:0b:9d", "method" : "client.notifyDevInfo", "params" : { "deviceInfo" : { "AlarmInputChannels" : 0, "AlarmOutputChannels" : 0, "DeviceClass" : "IPC", "DeviceType" : "IPC-HDW5421S", "HttpPort" : 80, "IPv4Address" : { "DefaultGateway" : "192.0.2.1", "DhcpEnable" : false, "IPAddress" : "192.0.2.108", "SubnetMask" : "255.255.255.0" }, "IPv6Address" : { "DefaultGateway" : "2001:db8::1", "DhcpEnable" : false, "IPAddress" : "2001:db8::2\\/112", "LinkLocalAddress" : "fe80::4e11:bfff:fec2:b9d\\/64" }, "MachineName" : "1F006E4PAX00075", "Manufacturer" : "Private", "Port" : 37777, "RemoteVideoInputChannels" : 0, "SerialNo" : "1F006E4PAX00075", "Vendor" : "Dahua", "Version" : "2.400.0.8", "VideoInputChannels" : 1, "VideoOutputChannels" : 16, "FindVersion" : 1 } } }\n',
  );

  it("the search", () => {
    expect(search.subarray(0, 8)).toEqual(hex("20 00 00 00 44 48 49 50"));
    expect(rec(search, 50000, 37810)).toEqual({
      protocol: "dhip",
      vendor: "dahua",
      message: "search",
      fields: { method: "DHDiscover.search" },
    });
  });

  it("a reply: model, class, serial, MAC, firmware, brand, IPv4 from the IPv4Address object", () => {
    expect(rec(reply, 37810, 37810)).toEqual({
      protocol: "dhip",
      vendor: "dahua",
      message: "reply",
      fields: {
        method: "client.notifyDevInfo",
        model: "IPC-HDW5421S",
        device_class: "IPC",
        serial: "1F006E4PAX00075",
        firmware_version: "2.400.0.8",
        brand: "Dahua",
        mac: "4c:11:bf:c2:0b:9d",
        ipv4: "192.0.2.108",
      },
    });
  });

  it("compact JSON and an OEM brand", () => {
    const lorex = dhip(
      '{"mac":"00:1f:54:a9:2e:58","method":"client.notifyDevInfo","params":{"deviceInfo":{"DeviceClass":"IPC","DeviceType":"W461ASC","IPv4Address":{"IPAddress":"192.0.2.81"},"SerialNo":"ND0123456789","Vendor":"Lorex","Version":"2.800.030000000.3.R"}}}',
    );
    expect(rec(lorex)?.fields).toMatchObject({
      brand: "Lorex",
      model: "W461ASC",
      ipv4: "192.0.2.81",
    });
  });

  it("a header that claims more JSON than the datagram holds: recognised, flagged", () => {
    const r = rec(dhip('{"method":"DHDiscover.search"}', 1_000_000));
    expect(r?.message).toBe("search");
    expect(r?.anomaly).toBe("discovery_dhip_length_mismatch");
  });

  it("the header alone, or an unterminated string, is still DHIP", () => {
    expect(rec(dhip(""))?.message).toBe("other");
    expect(rec(dhip('{"method":"DHDiscover.sea'))?.fields.method).toBe("DHDiscover.sea");
  });
});

describe("Dahua DVRIP discovery", () => {
  // DahuaConsole: p32(0xa3010001, big) + 3 x p32(0) + p32(0x02000000, big) + 3 x p32(0).
  const search = hex(
    "a3 01 00 01 00000000 00000000 00000000 02 00 00 00 00000000 00000000 00000000",
  );

  it("the search is recognised by content alone", () => {
    expect(rec(search)).toEqual({
      protocol: "dvrip",
      vendor: "dahua",
      message: "search",
      fields: {},
    });
    expect(rec(search.subarray(0, 31))).toBeNull();
  });

  it("a reply needs its port: host name and address at the offsets DahuaConsole reads", () => {
    const body = Buffer.alloc(88);
    body.write("NVR-LOBBY", 8, "latin1");
    Buffer.from([192, 0, 2, 108]).copy(body, 24);
    const reply = Buffer.concat([hex("b3 00 00 58"), Buffer.alloc(28), body]);
    expect(rec(reply, 5050, 40000)).toEqual({
      protocol: "dvrip",
      vendor: "dahua",
      message: "reply",
      fields: { name: "NVR-LOBBY", ipv4: "192.0.2.108" },
    });
    expect(rec(reply, 40000, 40001)).toBeNull();
  });
});

describe("WS-Discovery", () => {
  let real: Datagram[];
  beforeAll(async () => {
    real = await readUdpPayloads("test/protocols/discovery/fixtures/wsdd.pcap");
  });

  it("real wsdd traffic: every datagram recognised, message types in the order sent", () => {
    const recs = real.map((d) => rec(d.payload, d.srcPort, d.dstPort));
    expect(recs.every((r) => r?.protocol === "ws-discovery")).toBe(true);
    const messages = [...new Set(recs.map((r) => r!.message))];
    expect(messages).toEqual([
      "hello",
      "probe",
      "probe-matches",
      "resolve",
      "resolve-matches",
      "bye",
    ]);
    // wsdd announces a Windows-style host (wsdp:Device pub:Computer): not an ONVIF camera.
    for (const r of recs) expect(r!.vendor).toBe("unknown");
    const hello = recs.find((r) => r!.message === "hello")!;
    expect(hello.fields.xaddrs).toEqual([
      "http://192.0.2.64:5357/3b6e9a4c-0c2d-4d5f-9a51-1f2e3d4c5b6a",
    ]);
    const matches = recs.find((r) => r!.message === "probe-matches")!;
    expect(matches.fields.types).toBe("wsdp:Device pub:Computer");
  });

  it("real wsdd traffic: what tshark sees as the datagrams' text matches", () => {
    const rows = tsharkFields("test/protocols/discovery/fixtures/wsdd.pcap", ["udp.payload"]);
    expect(rows.map((r) => Buffer.from(r[0]!, "hex"))).toEqual(real.map((d) => d.payload));
  });

  // nmap wsdd.lua "general" and "wcf" probes.
  const general = b(
    '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery"><env:Header><wsd:AppSequence InstanceId="1285624958737" MessageNumber="1" SequenceId="urn:uuid:0d6d31b6-7c0e-4d6c-a8e4-4b3b1e6f5a21"/><wsa:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To><wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action><wsa:MessageID>urn:uuid:0d6d31b6-7c0e-4d6c-a8e4-4b3b1e6f5a21</wsa:MessageID></env:Header><env:Body><wsd:Probe/></env:Body></env:Envelope>',
  );
  const wcf = b(
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/Probe</a:Action><a:MessageID>urn:uuid:5a3c1d2e-1111-2222-3333-444455556666</a:MessageID><a:To s:mustUnderstand="1">urn:docs-oasis-open-org:ws-dd:ns:discovery:2009:01</a:To></s:Header><s:Body><Probe xmlns="http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01"><Duration xmlns="http://schemas.microsoft.com/ws/2008/06/discovery">PT20S</Duration></Probe></s:Body></s:Envelope>',
  );
  // An ONVIF camera's answer (the shape Hikvision cameras send).
  const onvifMatch = b(
    '<?xml version="1.0" encoding="UTF-8"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><SOAP-ENV:Header><wsa:MessageID>urn:uuid:1</wsa:MessageID><wsa:Action SOAP-ENV:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa:Action></SOAP-ENV:Header><SOAP-ENV:Body><d:ProbeMatches><d:ProbeMatch><wsa:EndpointReference><wsa:Address>urn:uuid:2</wsa:Address></wsa:EndpointReference><d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types><d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/Profile/Streaming onvif://www.onvif.org/MfrName/Hikvision onvif://www.onvif.org/hardware/DS-2CD2043G2-I onvif://www.onvif.org/name/HIKVISION%20DS-2CD2043G2-I onvif://www.onvif.org/location/city/hangzhou</d:Scopes><d:XAddrs>http://192.0.2.64/onvif/device_service http://[2001:db8::64]/onvif/device_service</d:XAddrs><d:MetadataVersion>10</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></SOAP-ENV:Body></SOAP-ENV:Envelope>',
  );

  it("nmap's probes, in both namespaces", () => {
    expect(rec(general)).toEqual({
      protocol: "ws-discovery",
      vendor: "unknown",
      message: "probe",
      fields: {},
    });
    expect(rec(wcf)?.message).toBe("probe");
  });

  it("an ONVIF camera's ProbeMatches: types, scopes decoded, model, name, manufacturer, service URLs", () => {
    expect(rec(onvifMatch, 3702, 50000)).toEqual({
      protocol: "ws-discovery",
      vendor: "onvif",
      message: "probe-matches",
      fields: {
        types: "dn:NetworkVideoTransmitter tds:Device",
        scopes: [
          "onvif://www.onvif.org/type/video_encoder",
          "onvif://www.onvif.org/Profile/Streaming",
          "onvif://www.onvif.org/MfrName/Hikvision",
          "onvif://www.onvif.org/hardware/DS-2CD2043G2-I",
          "onvif://www.onvif.org/name/HIKVISION DS-2CD2043G2-I",
          "onvif://www.onvif.org/location/city/hangzhou",
        ],
        model: "DS-2CD2043G2-I",
        name: "HIKVISION DS-2CD2043G2-I",
        manufacturer: "Hikvision",
        xaddrs: [
          "http://192.0.2.64/onvif/device_service",
          "http://[2001:db8::64]/onvif/device_service",
        ],
      },
    });
  });

  it("an envelope without a discovery namespace is not WS-Discovery; a namespaced Probe is not SADP", () => {
    expect(
      rec(
        b(
          '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><Probe/></s:Body></s:Envelope>',
        ),
      ),
    ).toBeNull();
    expect(rec(general)?.protocol).toBe("ws-discovery");
  });

  it("more than 32 scopes are cut to 32; a document past the scan bound is flagged", () => {
    const many = Array.from({ length: 100 }, (_, i) => `onvif://www.onvif.org/x/${i}`).join(" ");
    const doc = b(
      `<e:Envelope xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><e:Body><d:Hello><d:Scopes>${many}</d:Scopes></d:Hello></e:Body></e:Envelope>`,
    );
    const r = recogniseDiscovery(doc, 0, doc.length, 0, 0, { maxScanBytes: 1 << 16 });
    expect(r?.fields.scopes).toHaveLength(32);
    const padded = Buffer.concat([onvifMatch, Buffer.alloc(10_000, 0x20)]);
    expect(rec(padded)?.anomaly).toBe("discovery_scan_limit");
  });
});

describe("Dahua P2P", () => {
  // dh-p2p helpers.py: requests are "DHGET"/"DHPOST" + path + HTTP/1.1 with CSeq, CRLF line ends.
  it("rendezvous requests: method, path and the serial number in it", () => {
    expect(rec(crlf("DHGET /probe/p2psrv HTTP/1.1\nCSeq: 1\n\n"), 50000, 8800)).toEqual({
      protocol: "dahua-p2p",
      vendor: "dahua",
      message: "http-request",
      fields: { method: "DHGET", uri: "/probe/p2psrv" },
    });
    const online = rec(
      crlf(
        'DHGET /online/p2psrv/7M0ABCDPAZ12345 HTTP/1.1\nCSeq: 2\nAuthorization: WSSE profile="UsernameToken"\n\n',
      ),
    );
    expect(online?.fields).toEqual({
      method: "DHGET",
      uri: "/online/p2psrv/7M0ABCDPAZ12345",
      serial: "7M0ABCDPAZ12345",
    });
    const post = rec(
      crlf(
        "DHPOST /device/7M0ABCDPAZ12345/p2p-channel HTTP/1.1\nCSeq: 5\nContent-Length: 4\n\nbody",
      ),
    );
    expect(post?.fields).toEqual({
      method: "DHPOST",
      uri: "/device/7M0ABCDPAZ12345/p2p-channel",
      serial: "7M0ABCDPAZ12345",
    });
    expect(rec(crlf("DHGET /probe/device/7M0ABCDPAZ12345 HTTP/1.1\n\n"))?.fields.serial).toBe(
      "7M0ABCDPAZ12345",
    );
  });

  it("the server's plain HTTP answers only from port 8800", () => {
    const ok = crlf("HTTP/1.1 200 OK\nCSeq: 1\n\n");
    expect(rec(ok, 8800, 50000)?.message).toBe("http-response");
    expect(rec(ok, 80, 50000)).toBeNull();
  });

  /** A STUN binding request with `attrs` bytes of attributes, every byte inverted. */
  function invertedStun(attrs: number, cookie = true): Buffer {
    const s = Buffer.alloc(20 + attrs);
    s.writeUInt16BE(0x0001, 0);
    s.writeUInt16BE(attrs, 2);
    if (cookie) s.writeUInt32BE(0x2112a442, 4);
    for (let i = 8; i < 20; i++) s[i] = i * 7;
    for (let i = 20; i < s.length; i++) s[i] = i;
    return Buffer.from(s.map((x) => 255 - x));
  }

  it("inverted STUN: libprotoident's 44-byte FF FE FF E7 form, and any length with the cookie", () => {
    const p44 = invertedStun(24, false);
    expect(p44.subarray(0, 4)).toEqual(hex("ff fe ff e7"));
    expect(rec(p44)?.message).toBe("inverted-stun");
    expect(rec(invertedStun(8))?.message).toBe("inverted-stun");
    // A wrong length, or no cookie at another length, is not.
    expect(rec(Buffer.concat([invertedStun(8), hex("00")]))).toBeNull();
    expect(rec(invertedStun(8, false))).toBeNull();
  });

  it("inverted back, the same bytes are a STUN binding request for tshark", () => {
    const inv = invertedStun(8);
    const stun = Buffer.from(inv.map((x) => 255 - x));
    const pcap = writeUdpPcap([{ payload: stun, dport: 3478 }]);
    expect(tsharkFields(pcap, ["stun.type", "stun.length", "stun.cookie"])).toEqual([
      ["0x0001", "8", "2112a442"],
    ]);
  });

  it("PTCP (PhonyTCP): the magic and its 24-byte header", () => {
    const ptcp = Buffer.concat([
      b("PTCP"),
      hex("00000000 00000000 0002ffff 00000000 00000000"),
      hex("00 03 01 00"),
    ]);
    expect(rec(ptcp)).toEqual({
      protocol: "dahua-p2p",
      vendor: "dahua",
      message: "ptcp",
      fields: {},
    });
    expect(rec(b("PTCP short"))).toBeNull();
  });
});

describe("not discovery", () => {
  it.each([
    [
      "DNS query",
      hex(
        "1234 0100 0001 0000 0000 0000 03 77 77 77 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 0001 0001",
      ),
    ],
    ["NTP client", Buffer.concat([hex("23 00 06 20"), Buffer.alloc(44)])],
    [
      "SSDP M-SEARCH",
      crlf(
        'M-SEARCH * HTTP/1.1\nHOST: 239.255.255.250:1900\nMAN: "ssdp:discover"\nST: ssdp:all\n\n',
      ),
    ],
    ["plain XML", b('<?xml version="1.0"?><root><device><Probe>x</Probe></device></root>')],
    ["HTTP over UDP", crlf("GET / HTTP/1.1\n\n")],
    ["DHIP magic too short", hex("20 00 00 00 44 48 49 50 00")],
    ["space-led text", b(" hello")],
    ["empty", hex("")],
  ])("%s", (_name, p) => {
    expect(rec(p, 40000, 37020)).toBeNull();
    expect(rec(p, 40000, 3702)).toBeNull();
  });

  it("random datagrams never throw and are almost never taken", () => {
    let seed = 99;
    let taken = 0;
    for (let i = 0; i < 3000; i++) {
      const p = Buffer.alloc(i % 200);
      for (let j = 0; j < p.length; j++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        p[j] = seed >> 8;
      }
      // Sometimes with a real prefix, to reach the deeper checks.
      if (i % 5 === 1 && p.length > 8) hex("20 00 00 00 44 48 49 50").copy(p);
      if (i % 5 === 2 && p.length > 8) b("<Probe>").copy(p);
      if (i % 5 === 3 && p.length > 8) b("DHGET /").copy(p);
      let r: ReturnType<typeof rec> = null;
      expect(() => {
        r = rec(p, i, 37810);
      }).not.toThrow();
      if (r !== null && i % 5 === 0) taken++;
    }
    expect(taken).toBeLessThan(5);
  });

  it("every anomaly a record can carry is listed", () => {
    expect([...DISCOVERY_ANOMALIES].sort()).toEqual([
      "discovery_dhip_length_mismatch",
      "discovery_scan_limit",
    ]);
  });
});
