/**
 * The decoded view of one packet. A single instance is reused for every packet
 * (gopacket's DecodingLayerParser idea): decoders write fields into it and never
 * allocate. Offsets point into the RawPacket's buffer and are valid only while
 * that packet is being processed.
 *
 * Addresses are four 32-bit words (network order, unsigned). IPv4 uses only
 * word 3; `ipVersion` tells them apart.
 */
export class DecodedPacket {
  // Link layer
  /** Offset of the 6-byte source / destination MAC in the buffer, or -1 when the link has none. */
  srcMacOffset = -1;
  dstMacOffset = -1;
  /** 802.1Q/802.1ad VLAN ids, -1 when untagged. */
  vlanOuter = -1;
  vlanInner = -1;
  /** EtherType of the network layer (0x0800, 0x86dd, 0x0806 ARP, 0x8033 SADP...), 0 when unknown. */
  etherType = 0;

  // Network layer
  ipVersion = 0;
  /** IP length on the wire: IPv4 total length, IPv6 40 + payload length. */
  ipLength = 0;
  ttl = 0;
  /** Upper-layer protocol after IPv6 extension headers. */
  proto = 0;
  src0 = 0;
  src1 = 0;
  src2 = 0;
  src3 = 0;
  dst0 = 0;
  dst1 = 0;
  dst2 = 0;
  dst3 = 0;
  /** This packet is an IP fragment (first or later). */
  isFragment = false;
  /** A later fragment: no transport header in it. */
  isLaterFragment = false;
  fragmentId = 0;
  /** Where the transport header starts, and where the IP datagram ends on the wire. */
  l4Offset = 0;
  l4End = 0;

  // Transport layer (valid when hasPorts)
  hasPorts = false;
  srcPort = 0;
  dstPort = 0;
  tcpFlags = 0;
  tcpSeq = 0;
  tcpAck = 0;
  tcpWindow = 0;
  /** Transport payload: offset into the buffer, length on the wire, length captured. */
  payloadOffset = 0;
  payloadLength = 0;
  payloadCaptured = 0;

  // ICMP / ICMPv6
  icmpType = -1;
  icmpCode = -1;
  /** An ICMP error quoting a packet: the quoted packet's tuple, as its sender sent it. */
  hasQuote = false;
  quoteIpVersion = 0;
  quoteProto = 0;
  quoteSrc0 = 0;
  quoteSrc1 = 0;
  quoteSrc2 = 0;
  quoteSrc3 = 0;
  quoteDst0 = 0;
  quoteDst1 = 0;
  quoteDst2 = 0;
  quoteDst3 = 0;
  quoteSrcPort = 0;
  quoteDstPort = 0;

  reset(): void {
    this.srcMacOffset = -1;
    this.dstMacOffset = -1;
    this.vlanOuter = -1;
    this.vlanInner = -1;
    this.etherType = 0;
    this.ipVersion = 0;
    this.ipLength = 0;
    this.proto = 0;
    this.isFragment = false;
    this.isLaterFragment = false;
    this.hasPorts = false;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.payloadOffset = 0;
    this.payloadLength = 0;
    this.payloadCaptured = 0;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.hasQuote = false;
  }
}

/** IP protocol numbers egressd treats specially. */
export const IpProto = {
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  ICMPV6: 58,
  SCTP: 132,
} as const;

/** TCP flag bits as in the header's 13th byte. */
export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;
