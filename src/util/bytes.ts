/**
 * Big-endian reads for packet and protocol parsing. Buffer#readUInt32BE carries bounds
 * checks and was not inlined in the decode loop; plain indexed loads are. Callers check
 * lengths before reading: these never look at the buffer's length.
 */
export function u16be(buf: Uint8Array, off: number): number {
  return (buf[off]! << 8) | buf[off + 1]!;
}

export function u32be(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}
