/**
 * Big-endian reads for the per-packet path. Buffer#readUInt32BE carries bounds checks
 * and was not inlined in the decode loop; plain indexed loads are, and the decoders
 * check lengths before reading anyway.
 */
export function u32be(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}
