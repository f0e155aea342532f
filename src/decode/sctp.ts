import { A } from "./anomalies.js";
import type { DecodedPacket } from "./packet.js";

/**
 * SCTP common header (RFC 9260): ports, verification tag, checksum. Chunks are not
 * walked; the ports are what flows and Community IDs need.
 */
export function decodeSctp(buf: Buffer, off: number, end: number, pkt: DecodedPacket): number {
  const segmentLength = pkt.l4End - off;
  if (segmentLength < 12 || off + 12 > end) return -A.truncated_sctp;
  pkt.hasPorts = true;
  pkt.srcPort = (buf[off]! << 8) | buf[off + 1]!;
  pkt.dstPort = (buf[off + 2]! << 8) | buf[off + 3]!;
  const payloadOffset = off + 12;
  pkt.payloadOffset = payloadOffset;
  pkt.payloadLength = segmentLength - 12;
  pkt.payloadCaptured = Math.max(0, Math.min(end, pkt.l4End) - payloadOffset);
  return 0;
}
