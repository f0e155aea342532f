/**
 * Link-layer decoding: Ethernet (with 802.1Q and QinQ tags), Linux cooked captures v1/v2,
 * raw IP, BSD loopback, and frames without IP. Each frame is annotated with tcpdump's
 * reading of it (see frame.ts).
 */

import { describe, expect, it } from "vitest";
import { LinkType } from "../../src/capture/source.js";
import { ethernet, hex, ipv4, ipv6, tcp, udp } from "../helpers/packets.js";
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

/** An NVR's TCP ACK to a camera on VLAN 20 (priority 5), with 2 bytes of Ethernet padding. */
const vlan8021q: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > bc:ad:28:9e:01:02, ethertype 802.1Q (0x8100), length 60: vlan 20, p 5, ethertype IPv4 (0x0800), (tos 0x0, ttl 64, id 8755, offset 0, flags [DF], proto TCP (6), length 40)",
    "    192.168.20.64.8000 > 192.168.20.10.51000: Flags [.], cksum 0x1210 (correct), ack 2002, win 502, length 0",
  ],
  bytes: hex(`
    bc ad 28 9e 01 02 44 19 b6 12 34 56              # Ethernet 44:19:b6:12:34:56 > bc:ad:28:9e:01:02
    81 00 a0 14                                      # 802.1Q (0x8100) tag: pcp 5, vid 20
    08 00                                            # type IPv4 (0x0800)
    45 00 00 28 22 33 40 00 40 06 6f 02 c0 a8 14 40  # IPv4 192.168.20.64 > 192.168.20.10
    c0 a8 14 0a
    1f 40 c7 38 00 00 03 e9 00 00 07 d2 50 10 01 f6  # TCP 8000 > 51000 [.]
    12 10 00 00
    00 00                                            # Ethernet padding
  `),
};

/** QinQ: a provider S-tag (0x88a8, VLAN 100) around a customer C-tag (0x8100, VLAN 20). */
const qinq: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01, ethertype 802.1Q-QinQ (0x88a8), length 66: vlan 100, p 0, ethertype 802.1Q (0x8100), vlan 20, p 3, ethertype IPv4 (0x0800), (tos 0x0, ttl 64, id 13124, offset 0, flags [none], proto UDP (17), length 44)",
    "    10.20.0.64.40000 > 10.20.0.1.5000: UDP, length 16",
  ],
  bytes: hex(`
    00 0d b9 4a 2c 01 44 19 b6 12 34 56              # Ethernet 44:19:b6:12:34:56 > 00:0d:b9:4a:2c:01
    88 a8 00 64                                      # 802.1ad (0x88a8) tag: pcp 0, vid 100
    81 00 60 14                                      # 802.1Q (0x8100) tag: pcp 3, vid 20
    08 00                                            # type IPv4 (0x0800)
    45 00 00 2c 33 44 00 00 40 11 33 15 0a 14 00 40  # IPv4 10.20.0.64 > 10.20.0.1
    0a 14 00 01
    9c 40 13 88 00 18 0c 56                          # UDP 40000 > 5000
    30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66  # payload (16 bytes)
  `),
};

/** `tcpdump -i any` before libpcap 1.10: Linux cooked v1, an outgoing SYN-ACK from RTSP. */
const linuxSll: Frame = {
  linkType: LinkType.LINUX_SLL,
  tcpdump: [
    "09:26:53.589793 Out 44:19:b6:12:34:56 ethertype IPv4 (0x0800), length 56: (tos 0x0, ttl 64, id 0, offset 0, flags [DF], proto TCP (6), length 40)",
    "    192.168.1.64.554 > 192.168.1.20.52000: Flags [S.], cksum 0xea79 (correct), seq 500, ack 101, win 29200, length 0",
  ],
  bytes: hex(`
    00 04 00 01 00 06 44 19 b6 12 34 56 00 00 08 00  # SLL: packet type 4 (outgoing), ARPHRD_ETHER, address length 6, address 44:19:b6:12:34:56 + 2 pad, protocol 0x0800
    45 00 00 28 00 00 40 00 40 06 b7 2b c0 a8 01 40  # IPv4 192.168.1.64 > 192.168.1.20
    c0 a8 01 14
    02 2a cb 20 00 00 01 f4 00 00 00 65 50 12 72 10  # TCP 554 > 52000 [S.]
    ea 79 00 00
  `),
};

/** Linux cooked v2 (libpcap >= 1.10 on "any"): an incoming IPv6 WS-Discovery reply. */
const linuxSll2: Frame = {
  linkType: LinkType.LINUX_SLL2,
  tcpdump: [
    "09:26:53.589793 ?     In  ifindex 157 00:0d:b9:4a:2c:01 ethertype IPv6 (0x86dd), length 73: (hlim 64, next-header UDP (17) payload length: 13) fe80::1.3702 > fe80::4619:b6ff:fe12:3456.40100: [udp sum ok] UDP, length 5",
  ],
  bytes: hex(`
    86 dd 00 00 00 00 00 9d 00 01 00 06 00 0d b9 4a  # SLL2: protocol 0x86dd, reserved, ifindex 157, ARPHRD_ETHER, packet type 0 (host), address length 6, address 00:0d:b9:4a:2c:01 + 2 pad
    2c 01 00 00
    60 00 00 00 00 0d 11 40 fe 80 00 00 00 00 00 00  # IPv6 fe80::1 > fe80::4619:b6ff:fe12:3456, UDP
    00 00 00 00 00 00 00 01 fe 80 00 00 00 00 00 00
    46 19 b6 ff fe 12 34 56
    0e 76 9c a4 00 0d e4 62                          # UDP 3702 > 40100
    68 65 6c 6c 6f                                   # payload
  `),
};

/** LINKTYPE_RAW (101): the IP header first, no link header. */
const raw101: Frame = {
  linkType: LinkType.RAW,
  tcpdump: [
    "09:26:53.589793 ip: (tos 0x0, ttl 64, id 16962, offset 0, flags [DF], proto TCP (6), length 40)",
    "    10.0.0.64.37215 > 10.0.0.2.1883: Flags [F.], cksum 0xfeed (correct), seq 1, ack 1, win 1000, length 0",
  ],
  bytes: hex(`
    45 00 00 28 42 42 40 00 40 06 e4 4c 0a 00 00 40  # IPv4 10.0.0.64 > 10.0.0.2, TCP
    0a 00 00 02
    91 5f 07 5b 00 00 00 01 00 00 00 01 50 11 03 e8  # TCP 37215 > 1883 [F.]
    fe ed 00 00
  `),
};

/** LINKTYPE_IPV4 (228): the same packet. */
const raw228: Frame = {
  linkType: LinkType.IPV4,
  tcpdump: [
    "09:26:53.589793 ip: (tos 0x0, ttl 64, id 16962, offset 0, flags [DF], proto TCP (6), length 40)",
    "    10.0.0.64.37215 > 10.0.0.2.1883: Flags [F.], cksum 0xfeed (correct), seq 1, ack 1, win 1000, length 0",
  ],
  bytes: hex(`
    45 00 00 28 42 42 40 00 40 06 e4 4c 0a 00 00 40  # IPv4 10.0.0.64 > 10.0.0.2, TCP
    0a 00 00 02
    91 5f 07 5b 00 00 00 01 00 00 00 01 50 11 03 e8  # TCP 37215 > 1883 [F.]
    fe ed 00 00
  `),
};

/** LINKTYPE_IPV6 (229): a RST from a server. */
const raw229: Frame = {
  linkType: LinkType.IPV6,
  tcpdump: [
    "09:26:53.589793 ip: (hlim 57, next-header TCP (6) payload length: 20) 2001:db8:ff::10.443 > 2001:db8:1::64.50300: Flags [R.], cksum 0x8ca3 (correct), seq 7, ack 9, win 0, length 0",
  ],
  bytes: hex(`
    60 00 00 00 00 14 06 39 20 01 0d b8 00 ff 00 00  # IPv6 2001:db8:ff::10 > 2001:db8:1::64, TCP
    00 00 00 00 00 00 00 10 20 01 0d b8 00 01 00 00
    00 00 00 00 00 00 00 64
    01 bb c4 7c 00 00 00 07 00 00 00 09 50 14 00 00  # TCP 443 > 50300 [R.]
    8c a3 00 00
  `),
};

/** DLT_NULL written on a little-endian host: AF_INET = 2 in host byte order. */
const nullLe: Frame = {
  linkType: LinkType.NULL,
  tcpdump: [
    "09:26:53.589793 AF IPv4 (2), length 34: (tos 0x0, ttl 64, id 1, offset 0, flags [none], proto UDP (17), length 30)",
    "    127.0.0.1.50010 > 127.0.0.1.50020: UDP, length 2",
  ],
  bytes: hex(`
    02 00 00 00                                      # NULL: AF_INET (2), little-endian host
    45 00 00 1e 00 01 00 00 40 11 7c cc 7f 00 00 01  # IPv4 127.0.0.1 > 127.0.0.1, UDP
    7f 00 00 01
    c3 5a c3 64 00 0a 12 af                          # UDP 50010 > 50020
    68 69                                            # payload
  `),
};

/** DLT_NULL written on a big-endian host. */
const nullBe: Frame = {
  linkType: LinkType.NULL,
  tcpdump: [
    "09:26:53.589793 AF IPv4 (2), length 34: (tos 0x0, ttl 64, id 1, offset 0, flags [none], proto UDP (17), length 30)",
    "    127.0.0.1.50010 > 127.0.0.1.50020: UDP, length 2",
  ],
  bytes: hex(`
    00 00 00 02                                      # NULL: AF_INET (2), big-endian host
    45 00 00 1e 00 01 00 00 40 11 7c cc 7f 00 00 01  # IPv4 127.0.0.1 > 127.0.0.1, UDP
    7f 00 00 01
    c3 5a c3 64 00 0a 12 af                          # UDP 50010 > 50020
    68 69                                            # payload
  `),
};

/** DLT_LOOP (OpenBSD): the address family in network byte order. */
const loop: Frame = {
  linkType: LinkType.LOOP,
  tcpdump: [
    "09:26:53.589793 AF IPv4 (2), length 34: (tos 0x0, ttl 64, id 1, offset 0, flags [none], proto UDP (17), length 30)",
    "    127.0.0.1.50010 > 127.0.0.1.50020: UDP, length 2",
  ],
  bytes: hex(`
    00 00 00 02                                      # LOOP: AF_INET (2), network byte order
    45 00 00 1e 00 01 00 00 40 11 7c cc 7f 00 00 01  # IPv4 127.0.0.1 > 127.0.0.1, UDP
    7f 00 00 01
    c3 5a c3 64 00 0a 12 af                          # UDP 50010 > 50020
    68 69                                            # payload
  `),
};

/** DLT_NULL from macOS: AF_INET6 is 30 there. */
const nullInet6: Frame = {
  linkType: LinkType.NULL,
  tcpdump: [
    "09:26:53.589793 AF IPv6 (30), length 64: (hlim 64, next-header TCP (6) payload length: 20) ::1.60000 > ::1.8080: Flags [S], cksum 0xa5ef (correct), seq 1, win 65535, length 0",
  ],
  bytes: hex(`
    1e 00 00 00                                      # NULL: AF_INET6 (30, macOS), little-endian host
    60 00 00 00 00 14 06 40 00 00 00 00 00 00 00 00  # IPv6 ::1 > ::1, TCP
    00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 00
    00 00 00 00 00 00 00 01
    ea 60 1f 90 00 00 00 01 00 00 00 00 50 02 ff ff  # TCP 60000 > 8080 [S]
    a5 ef 00 00
  `),
};

/** An ARP request, padded to the 60-byte Ethernet minimum: valid, but not IP. */
const arp: Frame = {
  linkType: LinkType.ETHERNET,
  tcpdump: [
    "09:26:53.589793 44:19:b6:12:34:56 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 60: Ethernet (len 6), IPv4 (len 4), Request who-has 192.168.1.1 tell 192.168.1.64, length 46",
  ],
  bytes: hex(`
    ff ff ff ff ff ff 44 19 b6 12 34 56 08 06        # Ethernet 44:19:b6:12:34:56 > ff:ff:ff:ff:ff:ff, type ARP (0x0806)
    00 01 08 00 06 04 00 01 44 19 b6 12 34 56 c0 a8  # ARP request who-has 192.168.1.1 tell 192.168.1.64
    01 40 00 00 00 00 00 00 c0 a8 01 01
    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  # Ethernet padding
    00 00
  `),
};

const FRAMES = {
  vlan8021q,
  qinq,
  linuxSll,
  linuxSll2,
  raw101,
  raw228,
  raw229,
  nullLe,
  nullBe,
  loop,
  nullInet6,
  arp,
};

describe("Ethernet", () => {
  it("untagged: MAC offsets, EtherType, no VLAN (the SYN of transport.test.ts)", () => {
    const bytes = ethernet(
      ipv4({ src: "192.168.1.64", dst: "203.0.113.10" }, tcp({ sport: 1, dport: 2, flags: "S" })),
    );
    const { status, pkt, base } = decode({ linkType: LinkType.ETHERNET, tcpdump: [], bytes });
    expect(status).toBe("ok");
    expect(pkt.dstMacOffset).toBe(base);
    expect(pkt.srcMacOffset).toBe(base + 6);
    expect(pkt.vlanOuter).toBe(-1);
    expect(pkt.vlanInner).toBe(-1);
    expect(pkt.etherType).toBe(0x0800);
    expect(pkt.l4Offset).toBe(base + 14 + 20);
  });

  it("802.1Q: the VLAN id without the priority bits; padding is not IP", () => {
    const { status, pkt, base } = decode(vlan8021q);
    expect(status).toBe("ok");
    expect(pkt.vlanOuter).toBe(20);
    expect(pkt.vlanInner).toBe(-1);
    expect(pkt.etherType).toBe(0x0800);
    expect(pkt.dstMacOffset).toBe(base);
    expect(pkt.srcMacOffset).toBe(base + 6);
    expect(srcWords(pkt)).toEqual(v4("192.168.20.64"));
    expect(dstWords(pkt)).toEqual(v4("192.168.20.10"));
    expect(pkt.ipLength).toBe(40);
    expect(pkt.l4Offset).toBe(base + 18 + 20);
    // The IP datagram ends before the 2 padding bytes.
    expect(pkt.l4End).toBe(base + 58);
    expect(pkt.proto).toBe(IpProto.TCP);
    expect([pkt.srcPort, pkt.dstPort]).toEqual([8000, 51000]);
    expect(pkt.tcpFlags).toBe(0x10);
    expect([pkt.tcpSeq, pkt.tcpAck, pkt.tcpWindow]).toEqual([1001, 2002, 502]);
    expect([pkt.payloadOffset, pkt.payloadLength, pkt.payloadCaptured]).toEqual([base + 58, 0, 0]);
  });

  it("QinQ: outer (S-tag) and inner (C-tag) ids both kept", () => {
    const { status, pkt, base } = decode(qinq);
    expect(status).toBe("ok");
    expect(pkt.vlanOuter).toBe(100);
    expect(pkt.vlanInner).toBe(20);
    expect(pkt.etherType).toBe(0x0800);
    expect(pkt.l4Offset).toBe(base + 22 + 20);
    expect(srcWords(pkt)).toEqual(v4("10.20.0.64"));
    expect(dstWords(pkt)).toEqual(v4("10.20.0.1"));
    expect(pkt.ipLength).toBe(44);
    expect(pkt.proto).toBe(IpProto.UDP);
    expect([pkt.srcPort, pkt.dstPort]).toEqual([40000, 5000]);
    expect([pkt.payloadOffset, pkt.payloadLength, pkt.payloadCaptured]).toEqual([
      base + 50,
      16,
      16,
    ]);
  });

  it("the pre-standard 0x9100 outer tag counts as QinQ", () => {
    const bytes = ethernet(ipv4({ src: "10.0.0.1", dst: "10.0.0.2" }, udp(1, 2)), {
      tags: [
        [0x9100, 300],
        [0x8100, 301],
      ],
    });
    const { status, pkt } = decode({ linkType: LinkType.ETHERNET, tcpdump: [], bytes });
    expect(status).toBe("ok");
    expect([pkt.vlanOuter, pkt.vlanInner]).toEqual([300, 301]);
  });

  it("up to 4 tags are walked (ids of the first two kept); a fifth is too_many_vlan_tags", () => {
    const ip = ipv4({ src: "10.0.0.1", dst: "10.0.0.2" }, udp(1, 2));
    const tags = (n: number) =>
      Array.from({ length: n }, (_, i) => [i === 0 ? 0x88a8 : 0x8100, 10 + i] as [number, number]);
    const four = decode({ linkType: 1, tcpdump: [], bytes: ethernet(ip, { tags: tags(4) }) });
    expect(four.status).toBe("ok");
    expect([four.pkt.vlanOuter, four.pkt.vlanInner]).toEqual([10, 11]);
    expect(four.pkt.etherType).toBe(0x0800);
    const five = decode({ linkType: 1, tcpdump: [], bytes: ethernet(ip, { tags: tags(5) }) });
    expect(five.status).toBe("too_many_vlan_tags");
  });

  it("a tag cut short is truncated_vlan", () => {
    const bytes = hex(`
      00 0d b9 4a 2c 01 44 19 b6 12 34 56  # Ethernet
      81 00 00 14                          # 802.1Q tag, vid 20
      08                                   # half an EtherType
    `);
    expect(decode({ linkType: LinkType.ETHERNET, tcpdump: [], bytes }).status).toBe(
      "truncated_vlan",
    );
  });

  it("an 802.3 length field (below 0x0600) is not an EtherType: not IP", () => {
    const bytes = hex(`
      01 80 c2 00 00 00 44 19 b6 12 34 56  # Ethernet to the STP multicast address
      00 26                                # 802.3 length 38
      42 42 03 00 00 00 00 00              # LLC + BPDU start
    `);
    const { status, pkt } = decode({ linkType: LinkType.ETHERNET, tcpdump: [], bytes });
    expect(status).toBe("not_ip");
    expect(pkt.etherType).toBe(0);
  });

  it("ARP is valid but not IP", () => {
    const { status, pkt, base } = decode(arp);
    expect(status).toBe("not_ip");
    expect(pkt.etherType).toBe(0x0806);
    expect(pkt.srcMacOffset).toBe(base + 6);
    expect(pkt.ipVersion).toBe(0);
    expect(pkt.hasPorts).toBe(false);
  });
});

describe("Linux cooked captures", () => {
  it("SLL v1: the sender's MAC from the header, no destination MAC", () => {
    const { status, pkt, base } = decode(linuxSll);
    expect(status).toBe("ok");
    expect(pkt.srcMacOffset).toBe(base + 6);
    expect(pkt.dstMacOffset).toBe(-1);
    expect(pkt.etherType).toBe(0x0800);
    expect(pkt.l4Offset).toBe(base + 16 + 20);
    expect(srcWords(pkt)).toEqual(v4("192.168.1.64"));
    expect(dstWords(pkt)).toEqual(v4("192.168.1.20"));
    expect([pkt.srcPort, pkt.dstPort]).toEqual([554, 52000]);
    expect(pkt.tcpFlags).toBe(0x12);
    expect([pkt.tcpSeq, pkt.tcpAck, pkt.tcpWindow]).toEqual([500, 101, 29200]);
  });

  it("SLL v2: protocol first, MAC at offset 12", () => {
    const { status, pkt, base } = decode(linuxSll2);
    expect(status).toBe("ok");
    expect(pkt.srcMacOffset).toBe(base + 12);
    expect(pkt.dstMacOffset).toBe(-1);
    expect(pkt.etherType).toBe(0x86dd);
    expect(pkt.ipVersion).toBe(6);
    expect(srcWords(pkt)).toEqual(v6words("fe80::1"));
    expect(dstWords(pkt)).toEqual(v6words("fe80::4619:b6ff:fe12:3456"));
    expect(pkt.l4Offset).toBe(base + 20 + 40);
    expect(pkt.proto).toBe(IpProto.UDP);
    expect([pkt.srcPort, pkt.dstPort]).toEqual([3702, 40100]);
    expect([pkt.payloadOffset, pkt.payloadLength, pkt.payloadCaptured]).toEqual([base + 68, 5, 5]);
  });

  it("a cooked header cut short is truncated_sll / truncated_sll2", () => {
    expect(decode({ ...linuxSll, bytes: linuxSll.bytes.subarray(0, 15) }).status).toBe(
      "truncated_sll",
    );
    expect(decode({ ...linuxSll2, bytes: linuxSll2.bytes.subarray(0, 19) }).status).toBe(
      "truncated_sll2",
    );
  });

  it("a non-Ethernet hardware type has no MAC", () => {
    const bytes = Buffer.from(linuxSll.bytes);
    bytes.writeUInt16BE(778, 2); // ARPHRD_IPGRE
    const { status, pkt } = decode({ ...linuxSll, bytes });
    expect(status).toBe("ok");
    expect(pkt.srcMacOffset).toBe(-1);
  });
});

describe("raw IP", () => {
  for (const [name, f] of [
    ["LINKTYPE_RAW (101)", raw101],
    ["LINKTYPE_IPV4 (228)", raw228],
  ] as const) {
    it(`${name}: IPv4 from the first byte`, () => {
      const { status, pkt, base } = decode(f);
      expect(status).toBe("ok");
      expect(pkt.srcMacOffset).toBe(-1);
      expect(pkt.dstMacOffset).toBe(-1);
      expect(pkt.etherType).toBe(0x0800);
      expect(pkt.ipVersion).toBe(4);
      expect(pkt.l4Offset).toBe(base + 20);
      expect(srcWords(pkt)).toEqual(v4("10.0.0.64"));
      expect(dstWords(pkt)).toEqual(v4("10.0.0.2"));
      expect([pkt.srcPort, pkt.dstPort]).toEqual([37215, 1883]);
      expect(pkt.tcpFlags).toBe(0x11);
      expect([pkt.tcpSeq, pkt.tcpAck, pkt.tcpWindow]).toEqual([1, 1, 1000]);
    });
  }

  it("LINKTYPE_IPV6 (229)", () => {
    const { status, pkt, base } = decode(raw229);
    expect(status).toBe("ok");
    expect(pkt.etherType).toBe(0x86dd);
    expect(pkt.ipVersion).toBe(6);
    expect(pkt.ttl).toBe(57);
    expect(pkt.ipLength).toBe(60);
    expect(srcWords(pkt)).toEqual(v6words("2001:db8:ff::10"));
    expect(dstWords(pkt)).toEqual(v6words("2001:db8:1::64"));
    expect(pkt.l4Offset).toBe(base + 40);
    expect([pkt.srcPort, pkt.dstPort]).toEqual([443, 50300]);
    expect(pkt.tcpFlags).toBe(0x14);
    expect([pkt.tcpSeq, pkt.tcpAck, pkt.tcpWindow]).toEqual([7, 9, 0]);
  });

  it("DLT_RAW with IPv6 inside (101 carries both)", () => {
    const { status, pkt } = decode({ ...raw229, linkType: LinkType.RAW });
    expect(status).toBe("ok");
    expect(pkt.ipVersion).toBe(6);
  });

  it("a version nibble that is neither 4 nor 6 is bad_ip_version", () => {
    const bytes = Buffer.from(raw101.bytes);
    bytes[0] = 0x55;
    expect(decode({ ...raw101, bytes }).status).toBe("bad_ip_version");
    // LINKTYPE_IPV4 promises IPv4: an IPv6 packet there is damage, not IPv6.
    expect(decode({ ...raw229, linkType: LinkType.IPV4 }).status).toBe("bad_ip_version");
    expect(decode({ ...raw101, linkType: LinkType.IPV6 }).status).toBe("bad_ip_version");
    expect(decode({ ...raw101, bytes: Buffer.alloc(0) }).status).toBe("truncated_ipv4");
  });
});

describe("BSD loopback", () => {
  for (const [name, f] of [
    ["DLT_NULL, little-endian writer", nullLe],
    ["DLT_NULL, big-endian writer", nullBe],
    ["DLT_LOOP", loop],
  ] as const) {
    it(`${name}: AF_INET`, () => {
      const { status, pkt, base } = decode(f);
      expect(status).toBe("ok");
      expect(pkt.etherType).toBe(0x0800);
      expect(pkt.srcMacOffset).toBe(-1);
      expect(pkt.l4Offset).toBe(base + 4 + 20);
      expect(srcWords(pkt)).toEqual(v4("127.0.0.1"));
      expect(dstWords(pkt)).toEqual(v4("127.0.0.1"));
      expect(pkt.ipLength).toBe(30);
      expect([pkt.srcPort, pkt.dstPort]).toEqual([50010, 50020]);
      expect([pkt.payloadOffset, pkt.payloadLength, pkt.payloadCaptured]).toEqual([
        base + 32,
        2,
        2,
      ]);
    });
  }

  it("DLT_NULL AF_INET6 as macOS writes it (30)", () => {
    const { status, pkt, base } = decode(nullInet6);
    expect(status).toBe("ok");
    expect(pkt.etherType).toBe(0x86dd);
    expect(srcWords(pkt)).toEqual([0, 0, 0, 1]);
    expect(dstWords(pkt)).toEqual([0, 0, 0, 1]);
    expect(pkt.l4Offset).toBe(base + 44);
    expect([pkt.srcPort, pkt.dstPort]).toEqual([60000, 8080]);
    expect(pkt.tcpFlags).toBe(0x02);
  });

  it("every BSD AF_INET6 value, in both byte orders for DLT_NULL", () => {
    const ip = ipv6({ src: "::1", dst: "::1" }, tcp({ sport: 1, dport: 2, flags: "S" }));
    for (const af of [10, 24, 28, 30]) {
      const le = Buffer.alloc(4);
      le.writeUInt32LE(af);
      const be = Buffer.alloc(4);
      be.writeUInt32BE(af);
      for (const [linkType, family] of [
        [LinkType.NULL, le],
        [LinkType.NULL, be],
        [LinkType.LOOP, be],
      ] as const) {
        const d = decode({ linkType, tcpdump: [], bytes: Buffer.concat([family, ip]) });
        expect(d.status, `AF ${af} link ${linkType} ${family.toString("hex")}`).toBe("ok");
        expect(d.pkt.ipVersion).toBe(6);
      }
    }
  });

  it("an unknown family is unknown_null_family; a short header truncated_null", () => {
    const ip = ipv4({ src: "127.0.0.1", dst: "127.0.0.1" }, udp(1, 2));
    const family = hex("07 00 00 00"); // AF_NETBIOS? not IP
    expect(
      decode({ linkType: LinkType.NULL, tcpdump: [], bytes: Buffer.concat([family, ip]) }).status,
    ).toBe("unknown_null_family");
    // DLT_LOOP is network order: 02 00 00 00 is 0x02000000, not AF_INET.
    expect(
      decode({ linkType: LinkType.LOOP, tcpdump: [], bytes: Buffer.concat([hex("02000000"), ip]) })
        .status,
    ).toBe("unknown_null_family");
    expect(decode({ linkType: LinkType.NULL, tcpdump: [], bytes: hex("02 00 00") }).status).toBe(
      "truncated_null",
    );
  });
});

sharedChecks(FRAMES);
tcpdumpAgrees(FRAMES);
