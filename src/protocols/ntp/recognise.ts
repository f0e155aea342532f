/**
 * Is this UDP payload NTP? Content first (the port is a hint the caller may add): the
 * fields that have few valid values must have one of them.
 */

import { NTP_CONTROL_HEADER_BYTES, NTP_HEADER_BYTES, NTP_PRIVATE_HEADER_BYTES } from "./parse.js";

/** Largest datagram taken for NTP: the header plus extension fields and a MAC fit easily. */
const MAX_NTP_BYTES = 1024;

export function looksLikeNtp(buf: Uint8Array, off: number, len: number): boolean {
  if (len < NTP_PRIVATE_HEADER_BYTES || len > MAX_NTP_BYTES) return false;
  const b0 = buf[off]!;
  const mode = b0 & 7;
  const version = (b0 >> 3) & 7;
  if (version < 1 || version > 4 || mode === 0) return false;
  if (mode === 6) {
    if (len < NTP_CONTROL_HEADER_BYTES) return false;
    // The data count must fit in the datagram.
    const count = (buf[off + 10]! << 8) | buf[off + 11]!;
    return NTP_CONTROL_HEADER_BYTES + count <= len;
  }
  if (mode === 7) {
    // Implementation: 0 universal, 2 old xntpd, 3 xntpd.
    const impl = buf[off + 2]!;
    return impl === 0 || impl === 2 || impl === 3;
  }
  // Modes 1-5: the 48-byte header, then only 4-byte-aligned extension fields or a MAC.
  if (len < NTP_HEADER_BYTES || (len - NTP_HEADER_BYTES) % 4 !== 0) return false;
  return buf[off + 1]! <= 16;
}
