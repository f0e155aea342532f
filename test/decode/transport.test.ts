/**
 * Transport-layer decoding: TCP (flags, sequence numbers, options skipped), UDP, ICMP and
 * ICMPv6 (with the quoted packet of error messages), and snaplen-cut packets. Each frame
 * is annotated with tcpdump's reading of it (see frame.ts).
 */

import { describe, expect, it } from "vitest";
import { LinkType } from "../../src/capture/source.js";
import { hex, icmp, ipv4, ipv6, tcp, udp } from "../helpers/packets.js";
import {
  decode,
  dstWords,
  type Frame,
  IpProto,
  quoteDstWords,
  quoteSrcWords,
  sharedChecks,
  srcWords,
  tcpdumpAgrees,
  v4,
  v6words,
} from "./frame.js";

/** A camera's TCP SYN to a cloud server: MSS, SACK permitted, timestamps, window scale. */
const ipv4TcpSynOptions: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype IPv4 (0x0800), length 74: (tos 0x0, ttl 64, id 19758, offset 0, flags [DF], proto TCP (6), length 60)",
    "    192.168.1.64.49812 > 203.0.113.10.443: Flags [S], cksum 0xef2d (correct), seq 2587631392, win 64240, options [mss 1460,sackOK,TS val 123456 ecr 0,nop,wscale 7], length 0",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56 08 00        # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, type IPv4 (0x0800)
    45 00 00 3c 4d 2e 40 00 40 06 ef 9a c0 a8 01 40  # IPv4 192.168.1.64 > 203.0.113.10, TCP, DF
    cb 00 71 0a
    c2 94 01 bb 9a 3c 1f 20 00 00 00 00 a0 02 fa f0  # TCP 49812 > 443 [S]
    ef 2d 00 00
    02 04 05 b4 04 02 08 0a 00 01 e2 40 00 00 00 00  # TCP options: mss 1460, sackOK, TS val 123456 ecr 0, nop, wscale 7
    01 03 03 07
  `),
};

/** A camera's DNS query. */
const udpDns: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype IPv4 (0x0800), length 76: (tos 0x0, ttl 64, id 21862, offset 0, flags [none], proto UDP (17), length 62)",
    "    192.168.1.64.35123 > 192.168.1.1.53: 4660+ A? time.windows.com. (34)",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56 08 00        # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, type IPv4 (0x0800)
    45 00 00 3e 55 66 00 00 40 11 a1 b7 c0 a8 01 40  # IPv4 192.168.1.64 > 192.168.1.1, UDP
    c0 a8 01 01
    89 33 00 35 00 2a 73 c7                          # UDP 35123 > 53
    12 34 01 00 00 01 00 00 00 00 00 00 04 74 69 6d  # DNS query A time.windows.com
    65 07 77 69 6e 64 6f 77 73 03 63 6f 6d 00 00 01
    00 01
  `),
};

/** A ping to the camera. */
const icmpEcho: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 00:0d:b9:4a:2c:01 > 44:19:b6:12:34:56, ethertype IPv4 (0x0800), length 66: (tos 0x0, ttl 64, id 30600, offset 0, flags [DF], proto ICMP (1), length 52)",
    "    192.168.1.10 > 192.168.1.64: ICMP echo request, id 4660, seq 1, length 32",
  ],
  bytes: hex(`
    44 19 b6 12 34 56 00 0d b9 4a 2c 01 08 00        # Ethernet 00:0d:b9:4a:2c:01 > 44:19:b6:12:34:56, type IPv4 (0x0800)
    45 00 00 34 77 88 40 00 40 01 3f a6 c0 a8 01 0a  # IPv4 192.168.1.10 > 192.168.1.64, ICMP
    c0 a8 01 40
    08 00 0b 5a 12 34 00 01                          # ICMP echo request, id 0x1234, seq 1
    01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef  # data (24 bytes)
    01 23 45 67 89 ab cd ef
  `),
};

/** The syslog server's host says its port is closed, quoting the camera's datagram. */
const icmpPortUnreachable: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 bc:ad:28:9e:01:02 > 44:19:b6:12:34:56, ethertype IPv4 (0x0800), length 85: (tos 0xc0, ttl 64, id 4369, offset 0, flags [none], proto ICMP (1), length 71)",
    "    192.168.1.5 > 192.168.1.64: ICMP 192.168.1.5 udp port 514 unreachable, length 51",
    "\t(tos 0x0, ttl 64, id 2571, offset 0, flags [none], proto UDP (17), length 43)",
    "    192.168.1.64.37000 > 192.168.1.5.514: SYSLOG, length: 15",
    "\tFacility user (1), Severity info (6)",
    "\tMsg: camera boot",
  ],
  bytes: hex(`
    44 19 b6 12 34 56 bc ad 28 9e 01 02 08 00        # Ethernet bc:ad:28:9e:01:02 > 44:19:b6:12:34:56, type IPv4 (0x0800)
    45 c0 00 47 11 11 00 00 40 01 e5 4f c0 a8 01 05  # IPv4 192.168.1.5 > 192.168.1.64, ICMP
    c0 a8 01 40
    03 03 80 bb 00 00 00 00                          # ICMP type 3 (unreachable) code 3 (port), unused
    45 00 00 2b 0a 0b 00 00 40 11 ed 21 c0 a8 01 40  # quoted IPv4 192.168.1.64 > 192.168.1.5, UDP
    c0 a8 01 05
    90 88 02 02 00 17 32 36                          # quoted UDP 37000 > 514
    3c 31 34 3e 63 61 6d 65 72 61 20 62 6f 6f 74     # quoted payload
  `),
};

/** A router refuses (administratively) a camera's IPv6 TCP SYN, quoting it. */
const icmp6UnreachableTcp: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 00:0d:b9:4a:2c:01 > 44:19:b6:12:34:56, ethertype IPv6 (0x86dd), length 122: (hlim 255, next-header ICMPv6 (58) payload length: 68) 2001:db8:1::1 > 2001:db8:1::64: [icmp6 sum ok] ICMP6, destination unreachable,  unreachable prohibited 2001:db8:ff::20",
  ],
  bytes: hex(`
    44 19 b6 12 34 56 00 0d b9 4a 2c 01 86 dd        # Ethernet 00:0d:b9:4a:2c:01 > 44:19:b6:12:34:56, type IPv6 (0x86dd)
    60 00 00 00 00 44 3a ff 20 01 0d b8 00 01 00 00  # IPv6 2001:db8:1::1 > 2001:db8:1::64, next header 58
    00 00 00 00 00 00 00 01 20 01 0d b8 00 01 00 00
    00 00 00 00 00 00 00 64
    01 01 3c 6d 00 00 00 00                          # ICMPv6 type 1 (unreachable) code 1 (admin prohibited), unused
    60 00 00 00 00 14 06 40 20 01 0d b8 00 01 00 00  # quoted IPv6 2001:db8:1::64 > 2001:db8:ff::20, TCP
    00 00 00 00 00 00 00 64 20 01 0d b8 00 ff 00 00
    00 00 00 00 00 00 00 20
    c4 18 20 fb 11 22 33 44 00 00 00 00 50 02 fd 20  # quoted TCP 50200 > 8443 [S]
    2c 52 00 00
  `),
};

/** A 1466-byte frame captured with snaplen 96: headers whole, 30 payload bytes kept. */
const snaplenCut: Frame = {
  linkType: LinkType.ETHERNET,
  snapLen: 96,
  origLen: 1466,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype IPv4 (0x0800), length 1466: (tos 0x0, ttl 64, id 19759, offset 0, flags [DF], proto TCP (6), length 1452)",
    "    192.168.1.64.49812 > 203.0.113.10.443: Flags [P.], seq 2587631393:2587632793, ack 1432778632, win 502, options [nop,nop,TS val 123457 ecr 180150000], length 1400",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56 08 00        # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, type IPv4 (0x0800)
    45 00 05 ac 4d 2f 40 00 40 06 ea 29 c0 a8 01 40  # IPv4, total length 1452
    cb 00 71 0a
    c2 94 01 bb 9a 3c 1f 21 55 66 77 88 80 18 01 f6  # TCP 49812 > 443 [P.], 32-byte header
    97 04 00 00 01 01 08 0a 00 01 e2 41 0a bc de f0
    30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30  # first 30 of 1400 payload bytes (snaplen 96)
    30 30 30 30 30 30 30 30 30 30 30 30 30 30
  `),
};

const FRAMES = {
  ipv4TcpSynOptions,
  udpDns,
  icmpEcho,
  icmpPortUnreachable,
  icmp6UnreachableTcp,
  snaplenCut,
};

describe("TCP", () => {
  it("SYN with 20 bytes of options", () => {
    const { status, pkt, base, counted } = decode(ipv4TcpSynOptions);
    expect(status).toBe("ok");
    expect(counted).toEqual({});
    expect(pkt.ipVersion).toBe(4);
    expect(pkt.ipLength).toBe(60);
    expect(pkt.ttl).toBe(64);
    expect(pkt.proto).toBe(IpProto.TCP);
    expect(srcWords(pkt)).toEqual(v4("192.168.1.64"));
    expect(srcWords(pkt)).toEqual([0, 0, 0, 0xc0a80140]);
    expect(dstWords(pkt)).toEqual(v4("203.0.113.10"));
    expect(pkt.isFragment).toBe(false);
    expect(pkt.l4Offset).toBe(base + 34);
    expect(pkt.l4End).toBe(base + 74);
    expect(pkt.hasPorts).toBe(true);
    expect([pkt.srcPort, pkt.dstPort]).toEqual([49812, 443]);
    expect(pkt.tcpFlags).toBe(0x02);
    expect(pkt.tcpSeq).toBe(2587631392);
    expect(pkt.tcpAck).toBe(0);
    expect(pkt.tcpWindow).toBe(64240);
    // Options are header: the (empty) payload starts after them.
    expect([pkt.payloadOffset, pkt.payloadLength, pkt.payloadCaptured]).toEqual([base + 74, 0, 0]);
    expect(pkt.icmpType).toBe(-1);
    expect(pkt.hasQuote).toBe(false);
  });

  it("all eight flag bits and 32-bit sequence numbers above 2^31", () => {
    const bytes = ipv4(
      { src: "10.0.0.1", dst: "10.0.0.2" },
      tcp({ sport: 65535, dport: 0, flags: "SAFRPUEC", seq: 0xffffffff, ack: 0x80000000 }),
    );
    const { status, pkt } = decode({ linkType: LinkType.RAW, tcpdump: [], bytes });
    expect(status).toBe("ok");
    expect(pkt.tcpFlags).toBe(0xff);
    expect(pkt.tcpSeq).toBe(0xffffffff);
    expect(pkt.tcpAck).toBe(0x80000000);
    expect([pkt.srcPort, pkt.dstPort]).toEqual([65535, 0]);
  });
});

describe("UDP", () => {
  it("a DNS query: ports and the payload bounds", () => {
    const { status, pkt, base } = decode(udpDns);
    expect(status).toBe("ok");
    expect(pkt.proto).toBe(IpProto.UDP);
    expect(pkt.ipLength).toBe(62);
    expect(srcWords(pkt)).toEqual(v4("192.168.1.64"));
    expect(dstWords(pkt)).toEqual(v4("192.168.1.1"));
    expect(pkt.hasPorts).toBe(true);
    expect([pkt.srcPort, pkt.dstPort]).toEqual([35123, 53]);
    expect([pkt.payloadOffset, pkt.payloadLength, pkt.payloadCaptured]).toEqual([
      base + 42,
      34,
      34,
    ]);
    expect(pkt.tcpFlags).toBe(0);
  });

  it("a UDP length shorter than the IP payload bounds the payload", () => {
    // 8 + 4 bytes of UDP followed by 6 stray bytes inside the IP datagram.
    const l4 = udp(1000, 2000, Buffer.from("abcd"));
    const bytes = ipv4(
      { src: "10.0.0.1", dst: "10.0.0.2" },
      { proto: 17, bytes: Buffer.concat([l4.bytes, Buffer.alloc(6)]) },
    );
    const { status, pkt } = decode({ linkType: LinkType.RAW, tcpdump: [], bytes });
    expect(status).toBe("ok");
    expect(pkt.payloadLength).toBe(4);
    expect(pkt.payloadCaptured).toBe(4);
  });

  it("UDP length 0 (IPv6 jumbogram style) takes the IP payload length", () => {
    const l4 = udp(1000, 2000, Buffer.from("abcdef"));
    l4.bytes.writeUInt16BE(0, 4);
    const bytes = ipv6({ src: "2001:db8::1", dst: "2001:db8::2" }, l4);
    const { status, pkt } = decode({ linkType: LinkType.RAW, tcpdump: [], bytes });
    expect(status).toBe("ok");
    expect(pkt.payloadLength).toBe(6);
  });

  it("a UDP length beyond the IP payload is bad_udp_length (outside fragments)", () => {
    const l4 = udp(1000, 2000, Buffer.from("abcd"));
    l4.bytes.writeUInt16BE(100, 4);
    const bytes = ipv4({ src: "10.0.0.1", dst: "10.0.0.2" }, l4);
    expect(decode({ linkType: LinkType.RAW, tcpdump: [], bytes }).status).toBe("bad_udp_length");
  });
});

describe("ICMP", () => {
  it("echo request: type and code, no ports, no quote", () => {
    const { status, pkt, base, counted } = decode(icmpEcho);
    expect(status).toBe("ok");
    expect(counted).toEqual({});
    expect(pkt.proto).toBe(IpProto.ICMP);
    expect(pkt.ipLength).toBe(52);
    expect(srcWords(pkt)).toEqual(v4("192.168.1.10"));
    expect(dstWords(pkt)).toEqual(v4("192.168.1.64"));
    expect(pkt.icmpType).toBe(8);
    expect(pkt.icmpCode).toBe(0);
    expect(pkt.hasPorts).toBe(false);
    expect(pkt.hasQuote).toBe(false);
    expect([pkt.payloadOffset, pkt.payloadLength, pkt.payloadCaptured]).toEqual([
      base + 42,
      24,
      24,
    ]);
  });

  it("port unreachable: the quoted UDP datagram's tuple, as the camera sent it", () => {
    const { status, pkt, base, counted } = decode(icmpPortUnreachable);
    expect(status).toBe("ok");
    expect(counted).toEqual({});
    expect(srcWords(pkt)).toEqual(v4("192.168.1.5"));
    expect(dstWords(pkt)).toEqual(v4("192.168.1.64"));
    expect(pkt.ipLength).toBe(71);
    expect(pkt.icmpType).toBe(3);
    expect(pkt.icmpCode).toBe(3);
    expect(pkt.hasPorts).toBe(false);
    expect(pkt.hasQuote).toBe(true);
    expect(pkt.quoteIpVersion).toBe(4);
    expect(pkt.quoteProto).toBe(IpProto.UDP);
    expect(quoteSrcWords(pkt)).toEqual(v4("192.168.1.64"));
    expect(quoteDstWords(pkt)).toEqual(v4("192.168.1.5"));
    expect([pkt.quoteSrcPort, pkt.quoteDstPort]).toEqual([37000, 514]);
    expect([pkt.payloadOffset, pkt.payloadLength, pkt.payloadCaptured]).toEqual([
      base + 42,
      43,
      43,
    ]);
  });

  it("ICMPv6 destination unreachable quoting a TCP SYN", () => {
    const { status, pkt, base, counted } = decode(icmp6UnreachableTcp);
    expect(status).toBe("ok");
    expect(counted).toEqual({});
    expect(pkt.ipVersion).toBe(6);
    expect(pkt.proto).toBe(IpProto.ICMPV6);
    expect(pkt.ttl).toBe(255);
    expect(pkt.ipLength).toBe(108);
    expect(srcWords(pkt)).toEqual(v6words("2001:db8:1::1"));
    expect(dstWords(pkt)).toEqual(v6words("2001:db8:1::64"));
    expect(pkt.icmpType).toBe(1);
    expect(pkt.icmpCode).toBe(1);
    expect(pkt.hasQuote).toBe(true);
    expect(pkt.quoteIpVersion).toBe(6);
    expect(pkt.quoteProto).toBe(IpProto.TCP);
    expect(quoteSrcWords(pkt)).toEqual(v6words("2001:db8:1::64"));
    expect(quoteDstWords(pkt)).toEqual(v6words("2001:db8:ff::20"));
    expect([pkt.quoteSrcPort, pkt.quoteDstPort]).toEqual([50200, 8443]);
    expect([pkt.payloadOffset, pkt.payloadLength, pkt.payloadCaptured]).toEqual([
      base + 62,
      60,
      60,
    ]);
  });

  it("an error quoting an ICMP echo: its type and code stand in for the ports", () => {
    const echo = ipv4({ src: "10.0.0.1", dst: "10.0.0.9" }, icmp(8, 0, Buffer.alloc(4)));
    const bytes = ipv4(
      { src: "10.0.0.254", dst: "10.0.0.1" },
      icmp(11, 0, Buffer.concat([Buffer.alloc(4), echo])),
    );
    const { status, pkt } = decode({ linkType: LinkType.RAW, tcpdump: [], bytes });
    expect(status).toBe("ok");
    expect([pkt.icmpType, pkt.icmpCode]).toEqual([11, 0]);
    expect(pkt.hasQuote).toBe(true);
    expect(pkt.quoteProto).toBe(IpProto.ICMP);
    expect([pkt.quoteSrcPort, pkt.quoteDstPort]).toEqual([8, 0]);
  });

  it("ICMPv6 informational messages (echo, neighbor solicitation) quote nothing", () => {
    for (const type of [128, 129, 135, 136]) {
      const bytes = ipv6({ src: "fe80::1", dst: "fe80::2" }, icmp(type, 0, Buffer.alloc(20), true));
      const { status, pkt, counted } = decode({ linkType: LinkType.IPV6, tcpdump: [], bytes });
      expect(status).toBe("ok");
      expect(pkt.icmpType).toBe(type);
      expect(pkt.hasQuote).toBe(false);
      expect(counted).toEqual({});
    }
  });

  it("fewer than 4 bytes of ICMP is truncated_icmp", () => {
    const bytes = ipv4(
      { src: "10.0.0.1", dst: "10.0.0.2" },
      { proto: 1, bytes: Buffer.from([8, 0, 0]) },
    );
    expect(decode({ linkType: LinkType.RAW, tcpdump: [], bytes }).status).toBe("truncated_icmp");
  });

  it("an ICMPv6 error with a too-short quote: the packet is OK, the quote counted", () => {
    const bytes = ipv6(
      { src: "2001:db8::1", dst: "2001:db8::2" },
      icmp(
        1,
        4,
        Buffer.concat([Buffer.alloc(4), Buffer.from([0x60, 0, 0, 0, 0, 20, 6, 64])]),
        true,
      ),
    );
    const { status, pkt, counted } = decode({ linkType: LinkType.IPV6, tcpdump: [], bytes });
    expect(status).toBe("ok");
    expect(pkt.hasQuote).toBe(false);
    expect(counted).toEqual({ truncated_icmp_quote: 1 });
  });
});

describe("snaplen-cut packets", () => {
  it("headers decode; payloadLength is the wire length, payloadCaptured what is present", () => {
    const { status, pkt, base, raw, counted } = decode(snaplenCut);
    expect(raw.capLen).toBe(96);
    expect(raw.origLen).toBe(1466);
    expect(status).toBe("ok");
    expect(counted).toEqual({});
    expect(pkt.ipLength).toBe(1452);
    expect(pkt.l4Offset).toBe(base + 34);
    // The datagram ends on the wire, past the captured bytes.
    expect(pkt.l4End).toBe(base + 1466);
    expect([pkt.srcPort, pkt.dstPort]).toEqual([49812, 443]);
    expect(pkt.tcpFlags).toBe(0x18);
    expect([pkt.tcpSeq, pkt.tcpAck, pkt.tcpWindow]).toEqual([0x9a3c1f21, 0x55667788, 502]);
    expect([pkt.payloadOffset, pkt.payloadLength, pkt.payloadCaptured]).toEqual([
      base + 66,
      1400,
      30,
    ]);
  });

  it("UDP and ICMP cut by the snaplen the same way", () => {
    const udpFrame = ipv4({ src: "10.0.0.1", dst: "10.0.0.2" }, udp(1, 2, Buffer.alloc(500)));
    const u = decode({
      linkType: LinkType.RAW,
      tcpdump: [],
      bytes: udpFrame.subarray(0, 40),
      origLen: udpFrame.length,
    });
    expect(u.status).toBe("ok");
    expect([u.pkt.payloadLength, u.pkt.payloadCaptured]).toEqual([500, 12]);
    const icmpFrame = ipv4({ src: "10.0.0.1", dst: "10.0.0.2" }, icmp(8, 0, Buffer.alloc(1000)));
    const i = decode({
      linkType: LinkType.RAW,
      tcpdump: [],
      bytes: icmpFrame.subarray(0, 30),
      origLen: icmpFrame.length,
    });
    expect(i.status).toBe("ok");
    expect([i.pkt.payloadLength, i.pkt.payloadCaptured]).toEqual([996, 2]);
  });
});

sharedChecks(FRAMES);
tcpdumpAgrees(FRAMES);
