/**
 * Bytes to log-safe strings. Values read from packets go into JSON records and log lines,
 * so everything outside printable ASCII is escaped as `\xNN` (Zeek's convention): no
 * control characters, no invalid UTF-8, and the original bytes stay recoverable.
 */

const HEX = "0123456789abcdef";

/** `b[start, end)` as a printable string, cut to `max` source bytes. */
export function printable(b: Uint8Array, start: number, end: number, max: number): string {
  if (end - start > max) end = start + max;
  let clean = true;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c < 0x20 || c > 0x7e || c === 0x5c) {
      clean = false;
      break;
    }
  }
  if (clean) return latin1(b, start, end);
  let out = "";
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    // The backslash is escaped too, so "\x41" in the output always means one byte 0x41.
    if (c < 0x20 || c > 0x7e || c === 0x5c) out += `\\x${HEX[c >> 4]}${HEX[c & 15]}`;
    else out += String.fromCharCode(c);
  }
  return out;
}

/** `b[start, end)` as one character per byte. */
export function latin1(b: Uint8Array, start: number, end: number): string {
  if (end <= start) return "";
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return buf.toString("latin1", start, end);
}

/** `b[start, end)` as lowercase hex. */
export function toHex(b: Uint8Array, start: number, end: number): string {
  let out = "";
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    out += HEX[c >> 4]! + HEX[c & 15]!;
  }
  return out;
}

/** Trims spaces and tabs around `b[start, end)`: returns [start, end]. */
export function trimOws(b: Uint8Array, start: number, end: number): [number, number] {
  while (start < end && (b[start] === 0x20 || b[start] === 0x09)) start++;
  while (end > start && (b[end - 1] === 0x20 || b[end - 1] === 0x09)) end--;
  return [start, end];
}
