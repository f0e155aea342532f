import { u32be } from "../util/bytes.js";
import { A, type AnomalyCounters } from "./anomalies.js";
import { type DecodedPacket, IpProto } from "./packet.js";

/** ICMPv4 messages that quote the offending datagram (RFC 792): unreachable, quench, redirect, time exceeded, parameter problem. */
function icmp4QuotesPacket(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/** ICMPv6 error messages (types below 128) quote the offending packet (RFC 4443). */
function icmp6QuotesPacket(type: number): boolean {
  return type >= 1 && type <= 4;
}

/**
 * ICMP and ICMPv6: type and code; for error messages, the quoted packet's addresses and
 * ports, so the flow it reports on can be found. A quote too short to read is noted as an
 * anomaly but the ICMP packet itself is still valid and counted.
 */
export function decodeIcmp(
  buf: Buffer,
  off: number,
  end: number,
  pkt: DecodedPacket,
  anomalies: AnomalyCounters,
): number {
  const capEnd = Math.min(end, pkt.l4End);
  if (off + 4 > capEnd) return -A.truncated_icmp;
  const type = buf[off]!;
  pkt.icmpType = type;
  pkt.icmpCode = buf[off + 1]!;
  pkt.payloadOffset = off + 8;
  pkt.payloadLength = Math.max(0, pkt.l4End - off - 8);
  pkt.payloadCaptured = Math.max(0, capEnd - off - 8);
  const isV6 = pkt.proto === IpProto.ICMPV6;
  if (isV6 ? icmp6QuotesPacket(type) : icmp4QuotesPacket(type)) {
    if (!decodeQuote(buf, off + 8, capEnd, pkt)) anomalies.add(A.truncated_icmp_quote);
  }
  return 0;
}

/** Reads the quoted IP header and the first 4 bytes after it (the ports, for TCP/UDP). */
function decodeQuote(buf: Buffer, off: number, end: number, pkt: DecodedPacket): boolean {
  if (off + 1 > end) return false;
  const version = buf[off]! >> 4;
  let l4: number;
  if (version === 4) {
    if (off + 20 > end) return false;
    const headerLength = (buf[off]! & 0x0f) << 2;
    if (headerLength < 20) return false;
    pkt.quoteIpVersion = 4;
    pkt.quoteProto = buf[off + 9]!;
    pkt.quoteSrc0 = 0;
    pkt.quoteSrc1 = 0;
    pkt.quoteSrc2 = 0;
    pkt.quoteSrc3 = u32be(buf, off + 12);
    pkt.quoteDst0 = 0;
    pkt.quoteDst1 = 0;
    pkt.quoteDst2 = 0;
    pkt.quoteDst3 = u32be(buf, off + 16);
    l4 = off + headerLength;
  } else if (version === 6) {
    if (off + 40 > end) return false;
    pkt.quoteIpVersion = 6;
    // Quoted packets with extension headers are rare; the first next-header is used as is.
    pkt.quoteProto = buf[off + 6]!;
    pkt.quoteSrc0 = u32be(buf, off + 8);
    pkt.quoteSrc1 = u32be(buf, off + 12);
    pkt.quoteSrc2 = u32be(buf, off + 16);
    pkt.quoteSrc3 = u32be(buf, off + 20);
    pkt.quoteDst0 = u32be(buf, off + 24);
    pkt.quoteDst1 = u32be(buf, off + 28);
    pkt.quoteDst2 = u32be(buf, off + 32);
    pkt.quoteDst3 = u32be(buf, off + 36);
    l4 = off + 40;
  } else {
    return false;
  }
  const proto = pkt.quoteProto;
  if (proto === IpProto.TCP || proto === IpProto.UDP || proto === IpProto.SCTP) {
    if (l4 + 4 > end) return false;
    pkt.quoteSrcPort = (buf[l4]! << 8) | buf[l4 + 1]!;
    pkt.quoteDstPort = (buf[l4 + 2]! << 8) | buf[l4 + 3]!;
  } else if (proto === IpProto.ICMP || proto === IpProto.ICMPV6) {
    if (l4 + 2 > end) return false;
    // Quoted ICMP (e.g. an echo request that was unreachable): type/code stand in for ports.
    pkt.quoteSrcPort = buf[l4]!;
    pkt.quoteDstPort = buf[l4 + 1]!;
  } else {
    pkt.quoteSrcPort = 0;
    pkt.quoteDstPort = 0;
  }
  pkt.hasQuote = true;
  return true;
}
