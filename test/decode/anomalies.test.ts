/**
 * Damaged packets: each decoder returns a named anomaly instead of throwing, and the
 * parser never reads past the damage. Each frame is annotated with tcpdump's reading of it
 * (see frame.ts): tcpdump's complaint names the same problem.
 */

import { describe, expect, it } from "vitest";
import { LinkType } from "../../src/capture/source.js";
import { A, ANOMALY_KINDS } from "../../src/decode/anomalies.js";
import { PacketParser } from "../../src/decode/parser.js";
import { hex } from "../helpers/packets.js";
import { decode, type Frame, rawPacket, sharedChecks, tcpdumpAgrees } from "./frame.js";

/** 10 bytes: not even the two MAC addresses. */
const truncatedEthernet: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: ["09:26:53.589793  [|ether]"],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12                    # 10 bytes of an Ethernet header (dst MAC + 4 bytes)
  `),
};

/** An Ethernet header and 12 of the 20 bytes of an IPv4 header. */
const truncatedIpv4Header: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype IPv4 (0x0800), length 26:  [|ip]",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56 08 00        # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, type IPv4 (0x0800)
    45 00 00 3c 00 01 00 00 40 06 7c c8              # first 12 bytes of an IPv4 header
  `),
};

/** IHL 4: a 16-byte IPv4 header, below the 20-byte minimum. */
const badIhl: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype IPv4 (0x0800), length 54: bad-hlen 16",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56 08 00        # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, type IPv4 (0x0800)
    44 00 00 28 00 02 00 00 40 06 7d db c0 a8 01 40  # IPv4 with IHL 4 (16 bytes, below the 20-byte minimum)
    cb 00 71 0a
    00 01 00 02 00 00 00 00 00 00 00 00 50 02 00 00  # TCP
    00 00 00 00
  `),
};

/** Total length 16, shorter than the header itself. */
const badTotalLength: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype IPv4 (0x0800), length 54: bad-len 16",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56 08 00        # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, type IPv4 (0x0800)
    45 00 00 10 00 03 00 00 40 06 7c f2 c0 a8 01 40  # IPv4, total length 16 (< the 20-byte header)
    cb 00 71 0a
    00 01 00 02 00 00 00 00 00 00 00 00 50 02 00 00  # TCP
    00 00 00 00
  `),
};

/** Total length 1500 in a 54-byte frame that was not cut by a snaplen. */
const totalLengthBeyondFrame: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype IPv4 (0x0800), length 54: truncated-ip - 1460 bytes missing! (tos 0x0, ttl 64, id 4, offset 0, flags [none], proto TCP (6), length 1500)",
    "    192.168.1.64.1 > 203.0.113.10.2: Flags [S], seq 0:1460, win 0, length 1460",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56 08 00        # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, type IPv4 (0x0800)
    45 00 05 dc 00 04 00 00 40 06 77 25 c0 a8 01 40  # IPv4, total length 1500 (the frame has 40 bytes of IP)
    cb 00 71 0a
    00 01 00 02 00 00 00 00 00 00 00 00 50 02 00 00  # TCP
    00 00 00 00
  `),
};

/** IPv6 payload length 1000 with 20 bytes present. */
const ipv6PayloadBeyondFrame: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype IPv6 (0x86dd), length 74: truncated-ip6 - 980 bytes missing!(hlim 64, next-header TCP (6) payload length: 1000) 2001:db8:1::64.1 > 2001:db8:ff::10.2: Flags [S], seq 0:980, win 0, length 980",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56 86 dd        # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, type IPv6 (0x86dd)
    60 00 00 00 03 e8 06 40 20 01 0d b8 00 01 00 00  # IPv6, payload length 1000 (the frame has 20)
    00 00 00 00 00 00 00 64 20 01 0d b8 00 ff 00 00
    00 00 00 00 00 00 00 10
    00 01 00 02 00 00 00 00 00 00 00 00 50 02 00 00  # TCP
    00 00 00 00
  `),
};

/** Twelve destination options headers in a row. */
const extChainTooLong: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype IPv6 (0x86dd), length 158: (hlim 64, next-header unknown (60) payload length: 104) 2001:db8:1::64 > 2001:db8:ff::10: DSTOPT (padn) DSTOPT (padn) DSTOPT (padn) DSTOPT (padn) DSTOPT (padn) DSTOPT (padn) DSTOPT (padn) DSTOPT (padn) DSTOPT (padn) DSTOPT (padn) DSTOPT (padn) DSTOPT (padn) 1 > 2: [bad udp cksum 0x0000 -> 0xa2f5!] UDP, length 0",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56 86 dd        # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, type IPv6 (0x86dd)
    60 00 00 00 00 68 3c 40 20 01 0d b8 00 01 00 00  # IPv6, next header 60
    00 00 00 00 00 00 00 64 20 01 0d b8 00 ff 00 00
    00 00 00 00 00 00 00 10
    3c 00 01 04 00 00 00 00                          # destination options 1: next 60, len 0, PadN
    3c 00 01 04 00 00 00 00                          # destination options 2: next 60, len 0, PadN
    3c 00 01 04 00 00 00 00                          # destination options 3: next 60, len 0, PadN
    3c 00 01 04 00 00 00 00                          # destination options 4: next 60, len 0, PadN
    3c 00 01 04 00 00 00 00                          # destination options 5: next 60, len 0, PadN
    3c 00 01 04 00 00 00 00                          # destination options 6: next 60, len 0, PadN
    3c 00 01 04 00 00 00 00                          # destination options 7: next 60, len 0, PadN
    3c 00 01 04 00 00 00 00                          # destination options 8: next 60, len 0, PadN
    3c 00 01 04 00 00 00 00                          # destination options 9: next 60, len 0, PadN
    3c 00 01 04 00 00 00 00                          # destination options 10: next 60, len 0, PadN
    3c 00 01 04 00 00 00 00                          # destination options 11: next 60, len 0, PadN
    11 00 01 04 00 00 00 00                          # destination options 12: next 17, len 0, PadN
    00 01 00 02 00 08 00 00                          # UDP 1 > 2
  `),
};

/** The IP datagram ends 10 bytes into the TCP header. */
const truncatedTcp: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype IPv4 (0x0800), length 44: (tos 0x0, ttl 64, id 5, offset 0, flags [none], proto TCP (6), length 30)",
    "    192.168.1.64.49812 > 203.0.113.10.443:  [|tcp]",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56 08 00        # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, type IPv4 (0x0800)
    45 00 00 1e 00 05 00 00 40 06 7c e2 c0 a8 01 40  # IPv4, total length 30: 10 bytes of TCP
    cb 00 71 0a
    c2 94 01 bb 00 00 00 05 00 00                    # first 10 bytes of a TCP header
  `),
};

/** TCP data offset 4 (16 bytes). */
const tcpOffsetSmall: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype IPv4 (0x0800), length 54: (tos 0x0, ttl 64, id 6, offset 0, flags [none], proto TCP (6), length 40)",
    "    192.168.1.64.49812 > 203.0.113.10.443:  tcp 4 [bad hdr length 16 - too short, < 20]",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56 08 00        # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, type IPv4 (0x0800)
    45 00 00 28 00 06 00 00 40 06 7c d7 c0 a8 01 40  # IPv4
    cb 00 71 0a
    c2 94 01 bb 00 00 00 05 00 00 00 00 40 02 00 00  # TCP with data offset 4 (16 bytes)
    00 00 00 00
  `),
};

/** TCP data offset 15 (60 bytes) in a 24-byte segment. */
const tcpOffsetBeyond: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype IPv4 (0x0800), length 58: (tos 0x0, ttl 64, id 7, offset 0, flags [none], proto TCP (6), length 44)",
    "    192.168.1.64.49812 > 203.0.113.10.443: Flags [S] [bad hdr length 60 - too long, > 24]",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56 08 00        # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, type IPv4 (0x0800)
    45 00 00 2c 00 07 00 00 40 06 7c d2 c0 a8 01 40  # IPv4, total length 44: 24-byte segment
    cb 00 71 0a
    c2 94 01 bb 00 00 00 05 00 00 00 00 f0 02 00 00  # TCP with data offset 15 (60 bytes)
    00 00 00 00
    01 01 01 01                                      # 4 more bytes
  `),
};

/** UDP length 4. */
const udpLengthSmall: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype IPv4 (0x0800), length 46: (tos 0x0, ttl 64, id 8, offset 0, flags [none], proto UDP (17), length 32)",
    "    192.168.1.64.35123 > 192.168.1.1.53: truncated-udplength 4",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56 08 00        # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, type IPv4 (0x0800)
    45 00 00 20 00 08 00 00 40 11 f7 33 c0 a8 01 40  # IPv4, UDP
    c0 a8 01 01
    89 33 00 35 00 04 00 00                          # UDP with length 4 (< 8)
    de ad be ef                                      # 4 bytes
  `),
};

/** A port unreachable with only 10 bytes of the quoted IPv4 header. */
const icmpShortQuote: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 bc:ad:28:9e:01:02 > 44:19:b6:12:34:56, ethertype IPv4 (0x0800), length 52: (tos 0x0, ttl 64, id 9, offset 0, flags [none], proto ICMP (1), length 38)",
    "    192.168.1.5 > 192.168.1.64:  [|icmp]",
  ],
  bytes: hex(`
    44 19 b6 12 34 56 bc ad 28 9e 01 02 08 00        # Ethernet bc:ad:28:9e:01:02 > 44:19:b6:12:34:56, type IPv4 (0x0800)
    45 00 00 26 00 09 00 00 40 01 f7 38 c0 a8 01 05  # IPv4 192.168.1.5 > 192.168.1.64, ICMP
    c0 a8 01 40
    03 03 6d b4 00 00 00 00                          # ICMP type 3 code 3
    45 00 00 2c 0a 0b 00 00 40 11                    # only 10 bytes of the quoted IPv4 header
  `),
};

/** LINKTYPE_USER0 (147): a private link type egressd cannot decode. */
const unsupportedLink: Frame = {
  linkType: 147,
  tcpdump: [
    "09:26:53.589793 UNSUPPORTED",
    "\t0x0000:  0102 0304 0506 0708                      ........",
  ],
  bytes: hex(`
    01 02 03 04 05 06 07 08                          # USER0 payload
  `),
};

const FRAMES = {
  truncatedEthernet,
  truncatedIpv4Header,
  badIhl,
  badTotalLength,
  totalLengthBeyondFrame,
  ipv6PayloadBeyondFrame,
  extChainTooLong,
  truncatedTcp,
  tcpOffsetSmall,
  tcpOffsetBeyond,
  udpLengthSmall,
  icmpShortQuote,
  unsupportedLink,
};

const EXPECTED: [keyof typeof FRAMES, string][] = [
  ["truncatedEthernet", "truncated_ethernet"],
  ["truncatedIpv4Header", "truncated_ipv4"],
  ["badIhl", "bad_ip_header_length"],
  ["badTotalLength", "bad_ip_total_length"],
  ["totalLengthBeyondFrame", "truncated_ipv4"],
  ["ipv6PayloadBeyondFrame", "bad_ipv6_payload_length"],
  ["extChainTooLong", "ipv6_extension_chain_too_long"],
  ["truncatedTcp", "truncated_tcp"],
  ["tcpOffsetSmall", "bad_tcp_header_length"],
  ["tcpOffsetBeyond", "bad_tcp_header_length"],
  ["udpLengthSmall", "bad_udp_length"],
  ["unsupportedLink", "unsupported_link_type"],
];

describe("anomalies", () => {
  for (const [name, kind] of EXPECTED) {
    it(`${name} is ${kind}`, () => {
      const parser = new PacketParser();
      const code = parser.decode(rawPacket(FRAMES[name]));
      expect(code).toBe(A[kind as keyof typeof A]);
      expect(ANOMALY_KINDS[code]).toBe(kind);
      // The code is returned for the caller to count, not counted twice by the parser.
      expect(parser.anomalies.total()).toBe(0);
    });
  }

  it("an ICMP error with a too-short quote: the packet is OK, truncated_icmp_quote counted", () => {
    const { status, pkt, counted } = decode(icmpShortQuote);
    expect(status).toBe("ok");
    expect(pkt.icmpType).toBe(3);
    expect(pkt.icmpCode).toBe(3);
    expect(pkt.hasQuote).toBe(false);
    expect(counted).toEqual({ truncated_icmp_quote: 1 });
  });

  it("every damaged frame, cut at every length, gives a code and never throws", () => {
    const parser = new PacketParser();
    const frames: Frame[] = Object.values(FRAMES);
    for (const f of frames) {
      for (let n = 0; n <= f.bytes.length; n++) {
        const code = parser.decode(rawPacket({ ...f, bytes: f.bytes.subarray(0, n) }));
        expect(code === -1 || (code >= 0 && code < ANOMALY_KINDS.length)).toBe(true);
      }
    }
  });

  it("a total length beyond the frame is damage, but not when the snaplen cut the frame", () => {
    // The same bytes, recorded as a 1514-byte frame cut to 54: a normal snaplen cut.
    const cut = decode({ ...totalLengthBeyondFrame, origLen: 1514 });
    expect(cut.status).toBe("ok");
    expect(cut.pkt.ipLength).toBe(1500);
    expect(cut.pkt.payloadLength).toBe(1460);
    expect(cut.pkt.payloadCaptured).toBe(0);
  });

  it("an unsupported link type is reported before any byte is read", () => {
    for (const linkType of [6, 9, 105, 127, 147, 65535]) {
      expect(decode({ ...unsupportedLink, linkType }).status).toBe("unsupported_link_type");
    }
    expect(decode({ ...unsupportedLink, linkType: LinkType.ETHERNET }).status).toBe(
      "truncated_ethernet",
    );
  });
});

sharedChecks(FRAMES);
tcpdumpAgrees(FRAMES);
