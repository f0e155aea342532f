/**
 * One direction of a TCP connection as an in-order byte stream, for parsers that need
 * one (HTTP, DNS over TCP). Retransmitted bytes are dropped, a few out-of-order
 * segments are held (copied: the packet buffer is reused) until the hole fills, and a
 * hole that does not fill within the bound is reported as a gap so the parser can stop
 * or resynchronise instead of misreading.
 */
const MAX_HELD_SEGMENTS = 64;

export type StreamDeliver = (buf: Uint8Array, off: number, len: number) => void;

interface HeldSegment {
  seq: number;
  data: Buffer;
}

export class TcpDirectionStream {
  /** Next expected sequence number, or -1 before the first segment. */
  private nextSeq = -1;
  private held: HeldSegment[] = [];
  private heldBytes = 0;
  gaps = 0;

  constructor(private readonly maxHeldBytes: number) {}

  /** The SYN fixes the stream start, so even a first data segment out of order is placed right. */
  syn(seq: number): void {
    if (this.nextSeq < 0) this.nextSeq = (seq + 1) >>> 0;
  }

  push(
    seq: number,
    buf: Uint8Array,
    off: number,
    len: number,
    deliver: StreamDeliver,
    gap: () => void,
  ): void {
    if (len <= 0) return;
    if (this.nextSeq < 0) this.nextSeq = seq;
    const diff = (seq - this.nextSeq) | 0;
    if (diff > 0) {
      // Bounded in bytes and in segments: draining is quadratic in the segment count,
      // and a hostile peer could otherwise send thousands of 1-byte segments.
      if (this.heldBytes + len <= this.maxHeldBytes && this.held.length < MAX_HELD_SEGMENTS) {
        this.held.push({ seq, data: Buffer.from(buf.subarray(off, off + len)) });
        this.heldBytes += len;
        return;
      }
      // The hole will not fill within the bound: skip it and say so.
      this.gaps++;
      this.held = [];
      this.heldBytes = 0;
      this.nextSeq = seq;
      gap();
      this.deliverInOrder(seq, buf, off, len, deliver);
      return;
    }
    this.deliverInOrder(seq, buf, off, len, deliver);
    if (this.held.length > 0) this.drainHeld(deliver);
  }

  private deliverInOrder(
    seq: number,
    buf: Uint8Array,
    off: number,
    len: number,
    deliver: StreamDeliver,
  ): void {
    const diff = (seq - this.nextSeq) | 0;
    if (diff < 0) {
      // Retransmission: keep only bytes not delivered yet.
      if (diff + len <= 0) return;
      off -= diff;
      len += diff;
    }
    this.nextSeq = (this.nextSeq + len) >>> 0;
    deliver(buf, off, len);
  }

  private drainHeld(deliver: StreamDeliver): void {
    let progressed = true;
    while (progressed && this.held.length > 0) {
      progressed = false;
      for (let i = 0; i < this.held.length; i++) {
        const h = this.held[i]!;
        if (((h.seq - this.nextSeq) | 0) <= 0) {
          this.held.splice(i, 1);
          this.heldBytes -= h.data.length;
          this.deliverInOrder(h.seq, h.data, 0, h.data.length, deliver);
          progressed = true;
          break;
        }
      }
    }
  }
}
