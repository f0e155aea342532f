/**
 * The first `maxBytes` of one TCP direction, placed by sequence number so that segments
 * may arrive out of order, twice, or overlapping. The first copy of a byte wins (what
 * the receiver most likely used). Memory grows with what arrived, up to `maxBytes`.
 */

const INITIAL_CAPACITY = 2048;

export type PlaceResult = "ok" | "too_many_gaps";

export class SegmentBuffer {
  /** Backing bytes; stream offset i is buf[i]. Callers may rewrite the contiguous prefix. */
  buf: Uint8Array = new Uint8Array(0);
  /** Bytes of segments (or parts) that fell outside the window: after it, or before its start. */
  bytesOutside = 0;
  /** Bytes that arrived again for offsets already filled. */
  bytesDuplicate = 0;

  private base: number | undefined;
  /** Received ranges [start0, end0, start1, end1...], sorted, disjoint, not touching. */
  private ranges: number[] = [];

  constructor(
    readonly maxBytes: number,
    private readonly maxRanges: number,
    isn?: number,
  ) {
    if (isn !== undefined) this.base = (isn + 1) >>> 0;
  }

  /** Stream offset up to which every byte has arrived. */
  get contiguous(): number {
    return this.ranges.length > 0 && this.ranges[0] === 0 ? this.ranges[1]! : 0;
  }

  /** Sequence number of stream offset 0, once known. */
  get baseSeq(): number | undefined {
    return this.base;
  }

  /** True once some byte arrived (the window start is known). */
  get started(): boolean {
    return this.base !== undefined;
  }

  /**
   * Places src[off, off + len), whose first byte has sequence number `seq` (uint32).
   * Without an ISN, the first non-empty segment fixes the start of the window.
   */
  place(seq: number, src: Uint8Array, off: number, len: number): PlaceResult {
    if (len <= 0) return "ok";
    seq >>>= 0;
    if (this.base === undefined) this.base = seq;
    // Signed distance modulo 2^32: sequence numbers wrap.
    let rel = (seq - this.base) | 0;
    if (rel < 0) {
      const skip = -rel;
      if (skip >= len) {
        this.bytesOutside += len;
        return "ok";
      }
      this.bytesOutside += skip;
      off += skip;
      len -= skip;
      rel = 0;
    }
    if (rel >= this.maxBytes) {
      this.bytesOutside += len;
      return "ok";
    }
    if (rel + len > this.maxBytes) {
      this.bytesOutside += rel + len - this.maxBytes;
      len = this.maxBytes - rel;
    }
    return this.insert(rel, rel + len, src, off);
  }

  /** Frees the bytes; the buffer is unusable afterwards (contiguous stays readable). */
  release(): void {
    this.buf = new Uint8Array(0);
  }

  private insert(s: number, e: number, src: Uint8Array, srcOff: number): PlaceResult {
    const r = this.ranges;
    // Ranges entirely before s (not touching) stay; so do those entirely after e.
    let first = 0;
    while (first < r.length && r[first + 1]! < s) first += 2;
    let last = first;
    while (last < r.length && r[last]! <= e) last += 2;
    const merged = (r.length - (last - first)) / 2 + 1;
    if (merged > this.maxRanges) return "too_many_gaps";

    this.ensureCapacity(e);
    // Copy only into the holes between the existing ranges that [s, e) overlaps.
    let cursor = s;
    for (let k = first; k < last; k += 2) {
      const rs = r[k]!;
      const re = r[k + 1]!;
      if (rs > cursor) this.copy(src, srcOff + (cursor - s), cursor, Math.min(rs, e));
      const overlapStart = Math.max(rs, s);
      const overlapEnd = Math.min(re, e);
      if (overlapEnd > overlapStart) this.bytesDuplicate += overlapEnd - overlapStart;
      if (re > cursor) cursor = re;
    }
    if (cursor < e) this.copy(src, srcOff + (cursor - s), cursor, e);

    const ms = first < last ? Math.min(s, r[first]!) : s;
    const me = first < last ? Math.max(e, r[last - 1]!) : e;
    r.splice(first, last - first, ms, me);
    return "ok";
  }

  private copy(src: Uint8Array, from: number, to: number, toEnd: number): void {
    this.buf.set(src.subarray(from, from + (toEnd - to)), to);
  }

  private ensureCapacity(end: number): void {
    if (end <= this.buf.length) return;
    let cap = Math.max(this.buf.length, INITIAL_CAPACITY);
    while (cap < end) cap *= 2;
    const next = new Uint8Array(Math.min(cap, this.maxBytes));
    next.set(this.buf);
    this.buf = next;
  }
}
