import { u32be } from "../util/bytes.js";
import { A } from "./anomalies.js";
import type { DecodedPacket } from "./packet.js";

/**
 * TCP header (RFC 9293). The payload is exposed as an offset and lengths into the
 * packet buffer, never copied: `payloadLength` is what the IP header says was on the
 * wire, `payloadCaptured` what the snaplen kept.
 */
export function decodeTcp(buf: Buffer, off: number, end: number, pkt: DecodedPacket): number {
  const segmentLength = pkt.l4End - off;
  if (segmentLength < 20 || off + 20 > end) return -A.truncated_tcp;
  const headerLength = (buf[off + 12]! >> 4) << 2;
  if (headerLength < 20 || headerLength > segmentLength) return -A.bad_tcp_header_length;
  pkt.hasPorts = true;
  pkt.srcPort = (buf[off]! << 8) | buf[off + 1]!;
  pkt.dstPort = (buf[off + 2]! << 8) | buf[off + 3]!;
  pkt.tcpSeq = u32be(buf, off + 4);
  pkt.tcpAck = u32be(buf, off + 8);
  pkt.tcpFlags = buf[off + 13]!;
  pkt.tcpWindow = (buf[off + 14]! << 8) | buf[off + 15]!;
  const payloadOffset = off + headerLength;
  pkt.payloadOffset = payloadOffset;
  pkt.payloadLength = segmentLength - headerLength;
  const captured = Math.min(end, pkt.l4End) - payloadOffset;
  pkt.payloadCaptured = Math.max(captured, 0);
  return 0;
}
