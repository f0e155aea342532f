/**
 * DNS over TCP (RFC 1035 section 4.2.2, RFC 7766): each message is preceded by a 2-byte
 * length, several messages share a connection, and TCP may split or merge them in any way.
 * One framer per direction of a connection turns the in-order byte stream back into
 * messages.
 *
 * Memory is bounded by the format: the length prefix cannot announce more than 65535
 * bytes, so the reassembly buffer never holds more than 65535 + 2 bytes. A message that
 * arrives whole inside one feed is handed over without copying.
 */

import type { DnsAnomaly } from "./anomalies.js";
import { looksLikeDns } from "./recognise.js";

const PREFIX = 2;
export const MAX_TCP_MESSAGE = 65535;

export interface DnsTcpSink {
  /** One complete message, buf[off, off + len), without the length prefix. The bytes are valid
   * only during the call. */
  message(buf: Uint8Array, off: number, len: number): void;
  anomaly?(anomaly: DnsAnomaly): void;
}

export interface DnsTcpFramerStats {
  messages: number;
  /** Zero-length prefixes skipped. */
  zeroLength: number;
  /** Holes reported with gap(). */
  gaps: number;
  /** Bytes of partial messages lost to gaps or to the end of the stream. */
  truncatedBytes: number;
  /** Bytes skipped after a gap because they did not start a plausible message. */
  skippedBytes: number;
}

export class DnsTcpFramer {
  readonly stats: DnsTcpFramerStats = {
    messages: 0,
    zeroLength: 0,
    gaps: 0,
    truncatedBytes: 0,
    skippedBytes: 0,
  };
  // Allocated on the first split message only: most connections never need it.
  private pending: Uint8Array | null = null;
  /** Bytes held in `pending` (prefix included). */
  private held = 0;
  /** After a gap: the next bytes are somewhere inside a message, boundaries unknown. */
  private lost = false;
  private desyncReported = false;

  constructor(private readonly sink: DnsTcpSink) {}

  /** The next bytes of the stream, in order, buf[off, off + len). */
  feed(buf: Uint8Array, off: number, len: number): void {
    let pos = off;
    const end = Math.min(off + len, buf.length);
    if (end <= pos) return;
    if (this.lost) {
      // Resume only where a segment plausibly starts a message: TCP DNS clients and servers
      // write each message (with its prefix) in one go, so segment starts are the best guess.
      if (!looksLikeDns(buf, pos, end - pos, "tcp")) {
        this.stats.skippedBytes += end - pos;
        if (!this.desyncReported) {
          this.desyncReported = true;
          this.sink.anomaly?.("dns_tcp_desync");
        }
        return;
      }
      this.lost = false;
      this.desyncReported = false;
    }
    while (pos < end) {
      if (this.held > 0) {
        pos = this.fill(buf, pos, end);
        continue;
      }
      const avail = end - pos;
      if (avail >= PREFIX) {
        const msgLen = (buf[pos]! << 8) | buf[pos + 1]!;
        if (msgLen === 0) {
          this.zero();
          pos += PREFIX;
          continue;
        }
        if (avail >= PREFIX + msgLen) {
          this.emit(buf, pos + PREFIX, msgLen);
          pos += PREFIX + msgLen;
          continue;
        }
      }
      pos = this.fill(buf, pos, end);
    }
  }

  /** The stream has a hole: a partial message is lost, and framing resumes at the first
   * later feed that starts with a plausible message. */
  gap(): void {
    this.stats.gaps++;
    this.dropPartial();
    this.lost = true;
  }

  /** The stream ended: a partial message is reported and dropped. */
  end(): void {
    this.dropPartial();
  }

  /** Back to the start of a new stream, forgetting everything but the counters. */
  reset(): void {
    this.held = 0;
    this.lost = false;
    this.desyncReported = false;
  }

  /** Copies bytes of a split message into `pending`; emits it when complete. */
  private fill(buf: Uint8Array, pos: number, end: number): number {
    this.pending ??= new Uint8Array(PREFIX + MAX_TCP_MESSAGE);
    const pending = this.pending;
    if (this.held < PREFIX) {
      pending[this.held++] = buf[pos++]!;
      if (this.held < PREFIX) return pos;
      if (((pending[0]! << 8) | pending[1]!) === 0) {
        this.held = 0;
        this.zero();
        return pos;
      }
    }
    const want = PREFIX + ((pending[0]! << 8) | pending[1]!);
    const n = Math.min(want - this.held, end - pos);
    pending.set(buf.subarray(pos, pos + n), this.held);
    this.held += n;
    pos += n;
    if (this.held === want) {
      this.held = 0;
      this.emit(pending, PREFIX, want - PREFIX);
    }
    return pos;
  }

  private emit(buf: Uint8Array, off: number, len: number): void {
    this.stats.messages++;
    this.sink.message(buf, off, len);
  }

  private zero(): void {
    this.stats.zeroLength++;
    this.sink.anomaly?.("dns_tcp_zero_length");
  }

  private dropPartial(): void {
    if (this.held === 0) return;
    this.stats.truncatedBytes += this.held;
    this.held = 0;
    this.sink.anomaly?.("dns_tcp_truncated_message");
  }
}
