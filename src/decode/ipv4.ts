import { u32be } from "../util/bytes.js";
import { A } from "./anomalies.js";
import type { DecodedPacket } from "./packet.js";

/**
 * IPv4 header (RFC 791), options skipped by IHL. `end` is where the captured bytes stop,
 * `wireEnd` where the frame stopped on the wire: a snaplen cut is not damage, a total
 * length beyond the wire frame is. Returns the transport offset or a negative anomaly.
 */
export function decodeIPv4(
  buf: Buffer,
  off: number,
  end: number,
  wireEnd: number,
  pkt: DecodedPacket,
): number {
  if (off + 20 > end) return -A.truncated_ipv4;
  const b0 = buf[off]!;
  if (b0 >> 4 !== 4) return -A.bad_ip_version;
  const headerLength = (b0 & 0x0f) << 2;
  if (headerLength < 20) return -A.bad_ip_header_length;
  if (off + headerLength > end) return -A.truncated_ipv4;
  const totalLength = (buf[off + 2]! << 8) | buf[off + 3]!;
  if (totalLength < headerLength) return -A.bad_ip_total_length;
  if (off + totalLength > wireEnd) return -A.truncated_ipv4;

  const fragmentField = (buf[off + 6]! << 8) | buf[off + 7]!;
  const moreFragments = (fragmentField & 0x2000) !== 0;
  const fragmentOffset = fragmentField & 0x1fff;
  pkt.isFragment = moreFragments || fragmentOffset !== 0;
  pkt.isLaterFragment = fragmentOffset !== 0;
  pkt.fragmentId = (buf[off + 4]! << 8) | buf[off + 5]!;

  pkt.ipVersion = 4;
  pkt.ipLength = totalLength;
  pkt.ttl = buf[off + 8]!;
  pkt.proto = buf[off + 9]!;
  pkt.src0 = 0;
  pkt.src1 = 0;
  pkt.src2 = 0;
  pkt.src3 = u32be(buf, off + 12);
  pkt.dst0 = 0;
  pkt.dst1 = 0;
  pkt.dst2 = 0;
  pkt.dst3 = u32be(buf, off + 16);
  pkt.l4Offset = off + headerLength;
  pkt.l4End = off + totalLength;
  return off + headerLength;
}
