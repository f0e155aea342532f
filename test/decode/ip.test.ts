/**
 * Network-layer decoding: IPv4 (options, fragments) and IPv6 (extension header chains,
 * fragments). Each frame is annotated with tcpdump's reading of it (see frame.ts).
 */

import { describe, expect, it } from "vitest";
import { LinkType } from "../../src/capture/source.js";
import { ethernet, hex, type Ipv6Extension, ipv4, ipv6, tcp, udp } from "../helpers/packets.js";
import {
  decode,
  dstWords,
  type Frame,
  IpProto,
  sharedChecks,
  srcWords,
  tcpdumpAgrees,
  v4,
  v6words,
} from "./frame.js";

/** IPv4 with a Router Alert option (IHL 6): an SSDP M-SEARCH sent with TTL 1. */
const ipv4Options: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 01:00:5e:7f:ff:fa, ethertype IPv4 (0x0800), length 69: (tos 0x0, ttl 1, id 258, offset 0, flags [none], proto UDP (17), length 55, options (RA))",
    "    192.168.1.64.50000 > 239.255.255.250.1900: UDP, length 23",
  ],
  bytes: hex(`
    01 00 5e 7f ff fa 44 19 b6 12 34 56 08 00        # Ethernet 44:19:b6:12:34:56 > 01:00:5e:7f:ff:fa, type IPv4 (0x0800)
    46 00 00 37 01 02 00 00 01 11 71 cd c0 a8 01 40  # IPv4, IHL 6
    ef ff ff fa
    94 04 00 00                                      # IP option: router alert
    c3 50 07 6c 00 1f 02 c5                          # UDP 50000 > 1900
    4d 2d 53 45 41 52 43 48 20 2a 20 48 54 54 50 2f  # payload (23 bytes)
    31 2e 31 0d 0a 0d 0a
  `),
};

/** IPv6 TCP: a camera's HTTP request, with a flow label. */
const ipv6Tcp: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype IPv6 (0x86dd), length 90: (flowlabel 0x12345, hlim 64, next-header TCP (6) payload length: 36) 2001:db8:1::64.50123 > 2001:db8:ff::10.80: Flags [P.], cksum 0x9f06 (correct), seq 16909060:16909076, ack 168496141, win 1024, length 16: HTTP, length: 16",
    "\tGET / HTTP/1.1",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56 86 dd        # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, type IPv6 (0x86dd)
    60 01 23 45 00 24 06 40 20 01 0d b8 00 01 00 00  # IPv6 2001:db8:1::64 > 2001:db8:ff::10, next header TCP
    00 00 00 00 00 00 00 64 20 01 0d b8 00 ff 00 00
    00 00 00 00 00 00 00 10
    c3 cb 00 50 01 02 03 04 0a 0b 0c 0d 50 18 04 00  # TCP 50123 > 80 [P.]
    9f 06 00 00
    47 45 54 20 2f 20 48 54 54 50 2f 31 2e 31 0d 0a  # payload (16 bytes)
  `),
};

/** IPv6 with hop-by-hop, destination options and a (type 0, exhausted) routing header. */
const ipv6ExtHeaders: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype IPv6 (0x86dd), length 106: (hlim 64, next-header Options (0) payload length: 52) 2001:db8:1::64 > 2001:db8:ff::10: HBH (rtalert: 0x0000) (padn) DSTOPT (padn) RT6 (len=2, type=0 [Deprecated], segleft=0, rsv=0x0, [0]2001:db8:ff::10) 40001 > 9999: [udp sum ok] UDP, length 4",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56 86 dd        # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, type IPv6 (0x86dd)
    60 00 00 00 00 34 00 40 20 01 0d b8 00 01 00 00  # IPv6, next header 0 (hop-by-hop)
    00 00 00 00 00 00 00 64 20 01 0d b8 00 ff 00 00
    00 00 00 00 00 00 00 10
    3c 00 05 02 00 00 01 00                          # hop-by-hop: next 60, len 0, router alert, PadN
    2b 00 01 04 00 00 00 00                          # destination options: next 43, len 0, PadN
    11 02 00 00 00 00 00 00 20 01 0d b8 00 ff 00 00  # routing: next 17, len 2, type 0, segments left 0, 1 address
    00 00 00 00 00 00 00 10
    9c 41 27 0f 00 0c 00 cf                          # UDP 40001 > 9999
    70 69 6e 67                                      # payload
  `),
};

/** The first fragment of a 48-byte UDP datagram over IPv6: UDP header inside. */
const ipv6FragFirst: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype IPv6 (0x86dd), length 94: (hlim 64, next-header Fragment (44) payload length: 40) 2001:db8:1::64 > 2001:db8:ff::10: frag (0xcafe0001:0|32) 40002 > 5004: UDP, length 40",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56 86 dd        # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, type IPv6 (0x86dd)
    60 00 00 00 00 28 2c 40 20 01 0d b8 00 01 00 00  # IPv6, next header 44 (fragment)
    00 00 00 00 00 00 00 64 20 01 0d b8 00 ff 00 00
    00 00 00 00 00 00 00 10
    11 00 00 01 ca fe 00 01                          # fragment: next 17, offset 0, M, id 0xcafe0001
    9c 42 13 8c 00 30 57 3e                          # UDP 40002 > 5004, length 48 (the whole datagram)
    61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61  # payload, first 24 of 40 bytes
    61 61 61 61 61 61 61 61
  `),
};

/** Its second and last fragment (offset 32): no UDP header. */
const ipv6FragLater: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype IPv6 (0x86dd), length 78: (hlim 64, next-header Fragment (44) payload length: 24) 2001:db8:1::64 > 2001:db8:ff::10: frag (0xcafe0001:32|16)",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56 86 dd        # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, type IPv6 (0x86dd)
    60 00 00 00 00 18 2c 40 20 01 0d b8 00 01 00 00  # IPv6, next header 44 (fragment)
    00 00 00 00 00 00 00 64 20 01 0d b8 00 ff 00 00
    00 00 00 00 00 00 00 10
    11 00 00 20 ca fe 00 01                          # fragment: next 17, offset 32, last, id 0xcafe0001
    61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61  # payload, last 16 bytes
  `),
};

/** The first fragment of a 40-byte UDP datagram over IPv4 (MF set). */
const ipv4FragFirst: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype IPv4 (0x0800), length 58: (tos 0x0, ttl 64, id 48879, offset 0, flags [+], proto UDP (17), length 44)",
    "    192.168.1.64.40003 > 203.0.113.20.5004: UDP, length 32",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56 08 00        # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, type IPv4 (0x0800)
    45 00 00 2c be ef 20 00 40 11 9d d4 c0 a8 01 40  # IPv4, id 0xbeef, MF, offset 0
    cb 00 71 14
    9c 43 13 8c 00 28 2b ab                          # UDP 40003 > 5004, length 40 (the whole datagram)
    62 62 62 62 62 62 62 62 62 62 62 62 62 62 62 62  # payload, first 16 of 32 bytes
  `),
};

/** Its last fragment, offset 24. */
const ipv4FragLater: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype IPv4 (0x0800), length 50: (tos 0x0, ttl 64, id 48879, offset 24, flags [none], proto UDP (17), length 36)",
    "    192.168.1.64 > 203.0.113.20: ip-proto-17",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56 08 00        # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, type IPv4 (0x0800)
    45 00 00 24 be ef 00 03 40 11 bd d9 c0 a8 01 40  # IPv4, id 0xbeef, offset 24
    cb 00 71 14
    62 62 62 62 62 62 62 62 62 62 62 62 62 62 62 62  # payload, last 16 bytes
  `),
};

const FRAMES = {
  ipv4Options,
  ipv6Tcp,
  ipv6ExtHeaders,
  ipv6FragFirst,
  ipv6FragLater,
  ipv4FragFirst,
  ipv4FragLater,
};

describe("IPv4", () => {
  it("IHL 6: the transport header starts after the options", () => {
    const { status, pkt, base } = decode(ipv4Options);
    expect(status).toBe("ok");
    expect(pkt.ipVersion).toBe(4);
    expect(pkt.ipLength).toBe(55);
    expect(pkt.ttl).toBe(1);
    expect(pkt.proto).toBe(IpProto.UDP);
    expect(srcWords(pkt)).toEqual(v4("192.168.1.64"));
    expect(dstWords(pkt)).toEqual(v4("239.255.255.250"));
    expect(pkt.isFragment).toBe(false);
    expect(pkt.l4Offset).toBe(base + 14 + 24);
    expect(pkt.l4End).toBe(base + 69);
    expect([pkt.srcPort, pkt.dstPort]).toEqual([50000, 1900]);
    expect([pkt.payloadOffset, pkt.payloadLength, pkt.payloadCaptured]).toEqual([
      base + 46,
      23,
      23,
    ]);
  });

  it("the largest header (IHL 15, 40 bytes of options)", () => {
    const ip = ipv4({ src: "10.0.0.1", dst: "10.0.0.2" }, udp(7, 9, Buffer.from("x")), {
      options: Buffer.alloc(40, 1), // NOPs
    });
    const { status, pkt, base } = decode({
      linkType: LinkType.RAW,
      tcpdump: [],
      bytes: ip,
    });
    expect(status).toBe("ok");
    expect(pkt.l4Offset).toBe(base + 60);
    expect([pkt.srcPort, pkt.dstPort, pkt.payloadLength]).toEqual([7, 9, 1]);
  });

  it("first fragment: ports from the UDP header, payload is what this fragment carries", () => {
    const { status, pkt, base } = decode(ipv4FragFirst);
    expect(status).toBe("ok");
    expect(pkt.isFragment).toBe(true);
    expect(pkt.isLaterFragment).toBe(false);
    expect(pkt.fragmentId).toBe(0xbeef);
    expect(pkt.ipLength).toBe(44);
    expect(pkt.proto).toBe(IpProto.UDP);
    expect(srcWords(pkt)).toEqual(v4("192.168.1.64"));
    expect(dstWords(pkt)).toEqual(v4("203.0.113.20"));
    expect(pkt.l4Offset).toBe(base + 34);
    expect(pkt.l4End).toBe(base + 58);
    // The UDP length (40) covers the whole datagram; this fragment has 16 payload bytes.
    expect([pkt.srcPort, pkt.dstPort]).toEqual([40003, 5004]);
    expect([pkt.payloadOffset, pkt.payloadLength, pkt.payloadCaptured]).toEqual([
      base + 42,
      16,
      16,
    ]);
  });

  it("later fragment: no transport header, id and addresses for attribution", () => {
    const { status, pkt, base } = decode(ipv4FragLater);
    expect(status).toBe("ok");
    expect(pkt.isFragment).toBe(true);
    expect(pkt.isLaterFragment).toBe(true);
    expect(pkt.fragmentId).toBe(0xbeef);
    expect(pkt.ipLength).toBe(36);
    expect(pkt.proto).toBe(IpProto.UDP);
    expect(srcWords(pkt)).toEqual(v4("192.168.1.64"));
    expect(dstWords(pkt)).toEqual(v4("203.0.113.20"));
    expect(pkt.l4Offset).toBe(base + 34);
    expect(pkt.l4End).toBe(base + 50);
    expect(pkt.hasPorts).toBe(false);
  });

  it("a later fragment whose bytes look like a broken TCP header is still fine", () => {
    // Offset 8, 4 bytes of data: decoding them as TCP would be truncated_tcp.
    const ip = ipv4(
      { src: "10.0.0.1", dst: "10.0.0.2" },
      { proto: 6, bytes: hex("de ad be ef") },
      { fragmentOffset: 8, id: 77 },
    );
    const { status, pkt } = decode({ linkType: LinkType.RAW, tcpdump: [], bytes: ip });
    expect(status).toBe("ok");
    expect(pkt.isLaterFragment).toBe(true);
    expect(pkt.proto).toBe(IpProto.TCP);
    expect(pkt.hasPorts).toBe(false);
  });

  it("DF alone is not a fragment", () => {
    const df = Buffer.from(ipv4Options.bytes);
    df[14 + 6] = 0x40; // DF
    const d = decode({ ...ipv4Options, bytes: df });
    expect(d.status).toBe("ok");
    expect(d.pkt.isFragment).toBe(false);
  });
});

describe("IPv6", () => {
  it("addresses as four words, hop limit as ttl, length 40 + payload", () => {
    const { status, pkt, base } = decode(ipv6Tcp);
    expect(status).toBe("ok");
    expect(pkt.ipVersion).toBe(6);
    expect(pkt.etherType).toBe(0x86dd);
    expect(pkt.ipLength).toBe(76);
    expect(pkt.ttl).toBe(64);
    expect(pkt.proto).toBe(IpProto.TCP);
    expect(srcWords(pkt)).toEqual(v6words("2001:db8:1::64"));
    expect(srcWords(pkt)).toEqual([0x20010db8, 0x00010000, 0, 0x64]);
    expect(dstWords(pkt)).toEqual(v6words("2001:db8:ff::10"));
    expect(pkt.isFragment).toBe(false);
    expect(pkt.l4Offset).toBe(base + 54);
    expect(pkt.l4End).toBe(base + 90);
    expect([pkt.srcPort, pkt.dstPort]).toEqual([50123, 80]);
    expect(pkt.tcpFlags).toBe(0x18);
    expect([pkt.tcpSeq, pkt.tcpAck, pkt.tcpWindow]).toEqual([0x01020304, 0x0a0b0c0d, 1024]);
    expect([pkt.payloadOffset, pkt.payloadLength, pkt.payloadCaptured]).toEqual([
      base + 74,
      16,
      16,
    ]);
  });

  it("walks hop-by-hop, destination options and routing headers to UDP", () => {
    const { status, pkt, base } = decode(ipv6ExtHeaders);
    expect(status).toBe("ok");
    expect(pkt.proto).toBe(IpProto.UDP);
    expect(pkt.ipLength).toBe(92);
    expect(pkt.l4Offset).toBe(base + 14 + 40 + 8 + 8 + 24);
    expect(pkt.l4End).toBe(base + 106);
    expect([pkt.srcPort, pkt.dstPort]).toEqual([40001, 9999]);
    expect([pkt.payloadOffset, pkt.payloadLength, pkt.payloadCaptured]).toEqual([base + 102, 4, 4]);
  });

  it("first fragment: the fragment header is skipped, the UDP header read", () => {
    const { status, pkt, base } = decode(ipv6FragFirst);
    expect(status).toBe("ok");
    expect(pkt.isFragment).toBe(true);
    expect(pkt.isLaterFragment).toBe(false);
    expect(pkt.fragmentId).toBe(0xcafe0001);
    expect(pkt.proto).toBe(IpProto.UDP);
    expect(pkt.ipLength).toBe(80);
    expect(pkt.l4Offset).toBe(base + 62);
    expect(pkt.l4End).toBe(base + 94);
    expect([pkt.srcPort, pkt.dstPort]).toEqual([40002, 5004]);
    expect([pkt.payloadOffset, pkt.payloadLength, pkt.payloadCaptured]).toEqual([
      base + 70,
      24,
      24,
    ]);
  });

  it("later fragment: the upper protocol from the fragment header, no ports", () => {
    const { status, pkt, base } = decode(ipv6FragLater);
    expect(status).toBe("ok");
    expect(pkt.isFragment).toBe(true);
    expect(pkt.isLaterFragment).toBe(true);
    expect(pkt.fragmentId).toBe(0xcafe0001);
    expect(pkt.proto).toBe(IpProto.UDP);
    expect(pkt.ipLength).toBe(64);
    expect(pkt.l4Offset).toBe(base + 62);
    expect(pkt.l4End).toBe(base + 78);
    expect(srcWords(pkt)).toEqual(v6words("2001:db8:1::64"));
    expect(dstWords(pkt)).toEqual(v6words("2001:db8:ff::10"));
    expect(pkt.hasPorts).toBe(false);
  });

  it("an atomic fragment (offset 0, no more fragments) is a whole datagram", () => {
    const ip = ipv6({ src: "2001:db8::1", dst: "2001:db8::2" }, udp(5, 6, Buffer.alloc(3)), [
      { type: 44, body: hex("0000 00000009") },
    ]);
    const { status, pkt } = decode({ linkType: LinkType.RAW, tcpdump: [], bytes: ip });
    expect(status).toBe("ok");
    expect(pkt.isFragment).toBe(false);
    expect([pkt.srcPort, pkt.dstPort, pkt.payloadLength]).toEqual([5, 6, 3]);
  });

  it("an authentication header (length in 4-octet units) is skipped", () => {
    // AH: next header, payload length 4 (=(4+2)*4 = 24 bytes), reserved, SPI, seq, ICV.
    const ah = Buffer.alloc(24);
    ah[0] = IpProto.TCP;
    ah[1] = 4;
    const l4 = tcp({ sport: 11, dport: 22, flags: "S" });
    const ip = ipv6(
      { src: "2001:db8::1", dst: "2001:db8::2" },
      { proto: 51, bytes: Buffer.concat([ah, l4.bytes]) },
    );
    const { status, pkt, base } = decode({ linkType: LinkType.RAW, tcpdump: [], bytes: ip });
    expect(status).toBe("ok");
    expect(pkt.proto).toBe(IpProto.TCP);
    expect(pkt.l4Offset).toBe(base + 40 + 24);
    expect([pkt.srcPort, pkt.dstPort]).toEqual([11, 22]);
  });

  it("10 extension headers are walked; an 11th is ipv6_extension_chain_too_long", () => {
    const chain = (n: number): Ipv6Extension[] =>
      Array.from({ length: n }, () => ({ type: 60, body: Buffer.alloc(6) }));
    const make = (n: number) =>
      ipv6({ src: "2001:db8::1", dst: "2001:db8::2" }, udp(1, 2), chain(n));
    const ten = decode({ linkType: LinkType.IPV6, tcpdump: [], bytes: make(10) });
    expect(ten.status).toBe("ok");
    expect(ten.pkt.proto).toBe(IpProto.UDP);
    expect(ten.pkt.l4Offset).toBe(ten.base + 40 + 80);
    expect(decode({ linkType: LinkType.IPV6, tcpdump: [], bytes: make(11) }).status).toBe(
      "ipv6_extension_chain_too_long",
    );
  });

  it("an extension header running past the datagram is truncated_ipv6_extension", () => {
    // Hop-by-hop claiming 8 * (255 + 1) bytes in a 16-byte payload.
    const ip = ipv6({ src: "2001:db8::1", dst: "2001:db8::2" }, udp(1, 2), [{ type: 0 }]);
    ip[40 + 1] = 255;
    expect(decode({ linkType: LinkType.IPV6, tcpdump: [], bytes: ip }).status).toBe(
      "truncated_ipv6_extension",
    );
    // A fragment header needs 8 bytes; give it 4.
    const frag = Buffer.concat([
      hex("60000000 0004 2c 40"),
      Buffer.alloc(32, 0x11),
      hex("11 00 00 01"),
    ]);
    expect(decode({ linkType: LinkType.IPV6, tcpdump: [], bytes: frag }).status).toBe(
      "truncated_ipv6_extension",
    );
  });

  it("payload length 0 (jumbogram or offloaded capture): the frame decides", () => {
    const ip = ipv6({ src: "2001:db8::1", dst: "2001:db8::2" }, udp(1, 2, Buffer.alloc(10)));
    ip.writeUInt16BE(0, 4);
    const { status, pkt } = decode({ linkType: LinkType.IPV6, tcpdump: [], bytes: ip });
    expect(status).toBe("ok");
    expect(pkt.ipLength).toBe(58);
    expect(pkt.payloadLength).toBe(10);
  });

  it("a header cut short is truncated_ipv6; a v4 nibble under 0x86dd is bad_ip_version", () => {
    expect(decode({ ...ipv6Tcp, bytes: ipv6Tcp.bytes.subarray(0, 14 + 39) }).status).toBe(
      "truncated_ipv6",
    );
    const v4inside = ethernet(ipv4({ src: "10.0.0.1", dst: "10.0.0.2" }, udp(1, 2)));
    v4inside.writeUInt16BE(0x86dd, 12);
    // 28 bytes of IPv4 under an IPv6 EtherType: too short for an IPv6 header either way.
    expect(decode({ linkType: 1, tcpdump: [], bytes: v4inside }).status).toBe("truncated_ipv6");
    const padded = Buffer.concat([v4inside, Buffer.alloc(20)]);
    expect(decode({ linkType: 1, tcpdump: [], bytes: padded }).status).toBe("bad_ip_version");
  });
});

sharedChecks(FRAMES);
tcpdumpAgrees(FRAMES);
