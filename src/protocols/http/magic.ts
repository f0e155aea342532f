/**
 * Firmware and archive formats recognised from the first bytes of a body: a camera being
 * re-flashed over HTTP shows up as one of these in a PUT/POST body or a download.
 * Magic values from docs/reference camera-indicators.md section 2.
 */

import type { BodyMagic } from "./record.js";

/** Bytes needed to decide; callers keep at least this many body bytes. */
export const MAGIC_BYTES = 4;

/** The format whose magic `b[off, off + len)` starts with, or undefined. */
export function bodyMagic(b: Uint8Array, off: number, len: number): BodyMagic | undefined {
  if (len < 3) return undefined;
  const b0 = b[off]!;
  const b1 = b[off + 1]!;
  const b2 = b[off + 2]!;
  // gzip: 1f 8b and method 8 (deflate), the only method in use.
  if (b0 === 0x1f && b1 === 0x8b && b2 === 0x08) return "gzip";
  if (len < 4) return undefined;
  const b3 = b[off + 3]!;
  // Older digicap.dav images: the XOR-obfuscated "SWKH" header as it appears on the wire.
  if (b0 === 0xe9 && b1 === 0x9a && b2 === 0xf7 && b3 === 0xb6) return "hikvision-digicap";
  if (b2 === 0x03 && b3 === 0x04) {
    // Dahua ships a ZIP whose local-header signature says "DH" instead of "PK".
    if (b0 === 0x44 && b1 === 0x48) return "dahua-firmware-zip";
    if (b0 === 0x50 && b1 === 0x4b) return "zip";
  }
  if (b0 === 0x27 && b1 === 0x05 && b2 === 0x19 && b3 === 0x56) return "uimage";
  // squashfs little-endian "hsqs", big-endian "sqsh".
  if (b0 === 0x68 && b1 === 0x73 && b2 === 0x71 && b3 === 0x73) return "squashfs";
  if (b0 === 0x73 && b1 === 0x71 && b2 === 0x73 && b3 === 0x68) return "squashfs";
  if (b0 === 0x7f && b1 === 0x45 && b2 === 0x4c && b3 === 0x46) return "elf";
  return undefined;
}
