import { u32be } from "../util/bytes.js";
import { A } from "./anomalies.js";
import type { DecodedPacket } from "./packet.js";

/** Extension headers with the generic (next header, length in 8-octet units - 1) layout. */
const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const AUTH_HEADER = 51;
const DEST_OPTIONS = 60;
const MOBILITY = 135;
const HIP = 139;
const SHIM6 = 140;
/** Real stacks send a handful; a longer chain is an evasion attempt or garbage. */
const MAX_EXTENSION_HEADERS = 10;

/**
 * IPv6 header (RFC 8200) and its extension header chain, so `pkt.proto` is the real
 * upper-layer protocol. A fragment header with a non-zero offset makes a later fragment:
 * there is no transport header to read. Returns the transport offset or a negative anomaly.
 */
export function decodeIPv6(
  buf: Buffer,
  off: number,
  end: number,
  wireEnd: number,
  pkt: DecodedPacket,
): number {
  if (off + 40 > end) return -A.truncated_ipv6;
  if (buf[off]! >> 4 !== 6) return -A.bad_ip_version;
  let payloadLength = (buf[off + 4]! << 8) | buf[off + 5]!;
  // Zero means a jumbogram or a segmentation-offload capture: the frame decides.
  if (payloadLength === 0) payloadLength = Math.max(0, wireEnd - off - 40);
  if (off + 40 + payloadLength > wireEnd) return -A.bad_ipv6_payload_length;

  pkt.ipVersion = 6;
  pkt.ipLength = 40 + payloadLength;
  pkt.ttl = buf[off + 7]!;
  pkt.src0 = u32be(buf, off + 8);
  pkt.src1 = u32be(buf, off + 12);
  pkt.src2 = u32be(buf, off + 16);
  pkt.src3 = u32be(buf, off + 20);
  pkt.dst0 = u32be(buf, off + 24);
  pkt.dst1 = u32be(buf, off + 28);
  pkt.dst2 = u32be(buf, off + 32);
  pkt.dst3 = u32be(buf, off + 36);
  const datagramEnd = off + 40 + payloadLength;
  pkt.l4End = datagramEnd;

  let next = buf[off + 6]!;
  let p = off + 40;
  for (let n = 0; ; n++) {
    if (n > MAX_EXTENSION_HEADERS) return -A.ipv6_extension_chain_too_long;
    if (
      next === HOP_BY_HOP ||
      next === ROUTING ||
      next === DEST_OPTIONS ||
      next === MOBILITY ||
      next === HIP ||
      next === SHIM6
    ) {
      if (p + 2 > end || p + 2 > datagramEnd) return -A.truncated_ipv6_extension;
      const length = (buf[p + 1]! + 1) << 3;
      next = buf[p]!;
      p += length;
    } else if (next === AUTH_HEADER) {
      if (p + 2 > end || p + 2 > datagramEnd) return -A.truncated_ipv6_extension;
      const length = (buf[p + 1]! + 2) << 2;
      next = buf[p]!;
      p += length;
    } else if (next === FRAGMENT) {
      if (p + 8 > end || p + 8 > datagramEnd) return -A.truncated_ipv6_extension;
      const field = (buf[p + 2]! << 8) | buf[p + 3]!;
      const fragmentOffset = field >> 3;
      const moreFragments = (field & 1) !== 0;
      pkt.fragmentId = u32be(buf, p + 4);
      // An "atomic fragment" (offset 0, no more) is a whole datagram.
      pkt.isFragment = moreFragments || fragmentOffset !== 0;
      pkt.isLaterFragment = fragmentOffset !== 0;
      next = buf[p]!;
      p += 8;
      if (pkt.isLaterFragment) break;
    } else {
      break;
    }
    if (p > datagramEnd) return -A.truncated_ipv6_extension;
  }
  pkt.proto = next;
  pkt.l4Offset = p;
  return p;
}
