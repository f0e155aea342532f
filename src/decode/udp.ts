import { A } from "./anomalies.js";
import type { DecodedPacket } from "./packet.js";

/**
 * UDP header (RFC 768). In the first fragment of a fragmented datagram the UDP length
 * covers the whole datagram, so it may exceed what this packet carries.
 */
export function decodeUdp(buf: Buffer, off: number, end: number, pkt: DecodedPacket): number {
  const segmentLength = pkt.l4End - off;
  if (segmentLength < 8 || off + 8 > end) return -A.truncated_udp;
  const udpLength = (buf[off + 4]! << 8) | buf[off + 5]!;
  // Length 0 is legal for IPv6 jumbograms; otherwise it must cover the header.
  if (udpLength !== 0 && (udpLength < 8 || (!pkt.isFragment && udpLength > segmentLength))) {
    return -A.bad_udp_length;
  }
  pkt.hasPorts = true;
  pkt.srcPort = (buf[off]! << 8) | buf[off + 1]!;
  pkt.dstPort = (buf[off + 2]! << 8) | buf[off + 3]!;
  const payloadOffset = off + 8;
  pkt.payloadOffset = payloadOffset;
  pkt.payloadLength =
    pkt.isFragment || udpLength === 0 ? segmentLength - 8 : Math.min(udpLength, segmentLength) - 8;
  const captured = Math.min(end, payloadOffset + pkt.payloadLength) - payloadOffset;
  pkt.payloadCaptured = Math.max(captured, 0);
  return 0;
}
