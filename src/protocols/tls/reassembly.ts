/**
 * One TCP direction of a TLS connection, from its first byte to the end of what is
 * readable in cleartext: segments are placed by sequence number (SegmentBuffer), the
 * contiguous prefix is read as TLS records, handshake record contents are moved together
 * in place (so a message spanning records reads as one), and the handshake messages go
 * to a TlsHandshakeDecoder. The caller gets events; the buffer is freed as soon as the
 * direction is done or given up.
 */

import { type TlsAnomaly, TlsAnomalyList } from "./anomalies.js";
import {
  ContentType,
  drainMessages,
  HandshakeType,
  isTls13,
  salvageCertificate,
  TlsHandshakeDecoder,
  type TlsHandshakeOptions,
} from "./handshake.js";
import { alertName } from "./names.js";
import { looksLikeSslv2Hello, MAX_RECORD_LENGTH } from "./recognise.js";
import type { TlsCertificateInfo, TlsClientHello, TlsServerHello } from "./record.js";
import { SegmentBuffer } from "./stream-buffer.js";

/** Counters shared by all reassemblers of a pipeline (pass one object to many). */
export class TlsReassemblyStats {
  /** Directions that filled their window before their handshake messages were complete. */
  overflows = 0;
  /** Directions given up for too many out-of-order holes. */
  tooManyGaps = 0;
  /** Directions given up because the stream was not TLS. */
  notTls = 0;
  /** Directions that reached the end of their cleartext handshake. */
  done = 0;
  /** Directions given up for any reason (including the three above). */
  gaveUp = 0;
  /** Segment bytes outside the window (after it, or before its start). */
  bytesOutsideWindow = 0;
  /** Segment bytes that arrived again. */
  bytesDuplicate = 0;
}

export interface TlsReassemblerOptions extends TlsHandshakeOptions {
  /** Bytes of the stream kept, from its first byte (default 16 KiB). */
  maxBytes?: number;
  /** Out-of-order holes tracked at once (default 32). */
  maxGaps?: number;
  /** Initial sequence number of this direction (from its SYN): the stream starts at isn + 1. */
  isn?: number;
  stats?: TlsReassemblyStats;
}

/** Why a direction finished normally. */
export type TlsDoneReason =
  /** The client's first ClientHello was read. */
  | "client_hello"
  /** A TLS 1.3 ServerHello: the rest of the server's handshake is encrypted. */
  | "server_hello"
  /** The server's Certificate message was read (TLS 1.2 and below). */
  | "certificate"
  /** ServerHelloDone without a certificate (anonymous or PSK suites). */
  | "server_hello_done"
  /** ChangeCipherSpec before a certificate: an abbreviated (resumed) TLS 1.2 handshake. */
  | "change_cipher_spec"
  /** Application data before the messages we wanted. */
  | "application_data"
  /** A cleartext alert ended the handshake. */
  | "alert";

export type TlsStreamEvent =
  | { type: "client_hello"; hello: TlsClientHello }
  | { type: "server_hello"; hello: TlsServerHello }
  | { type: "certificate"; certificates: TlsCertificateInfo[]; count: number }
  | { type: "alert"; level: number; description: number; name: string }
  | { type: "done"; reason: TlsDoneReason }
  | { type: "gave_up"; reason: TlsAnomaly };

export type TlsStreamState = "waiting" | "done" | "gave_up";

const NO_EVENTS: readonly TlsStreamEvent[] = Object.freeze([]);
/** Records a finished direction skips over while watching for an alert. */
const MAX_WATCHED_RECORDS = 16;
const DEFAULT_MAX_BYTES = 16 * 1024;
const DEFAULT_MAX_GAPS = 32;

export class TlsStreamReassembler {
  state: TlsStreamState = "waiting";
  /** Set when state is "done". */
  doneReason: TlsDoneReason | undefined;
  /** Set when state is "gave_up". */
  gaveUpReason: TlsAnomaly | undefined;
  /** Record-layer version of the first record. */
  recordVersion = 0;
  /** First cleartext alert. */
  alert: { level: number; description: number } | undefined;
  readonly anomalies = new TlsAnomalyList();
  readonly decoder: TlsHandshakeDecoder;

  private readonly segments: SegmentBuffer;
  private readonly stats: TlsReassemblyStats | undefined;
  private readonly maxBytes: number;
  /** Stream offset of the next record-layer byte to read. */
  private parsed = 0;
  /** Content type and unread payload bytes of the record being read (0: expecting a header). */
  private recType = 0;
  private recRemaining = 0;
  /** Handshake bytes, moved together at the front of the buffer: [hsStart, hsEnd). */
  private hsStart = 0;
  private hsEnd = 0;
  private events: TlsStreamEvent[] | undefined;
  private emittedClient = false;
  private emittedServer: TlsServerHello | undefined;
  private emittedCertificate = false;
  /**
   * After "done": stream offset of the next record header, watched for a cleartext
   * alert (a client refusing the server's certificate answers after its ClientHello).
   * -1 when not watching. Only segments that hold a whole header are read: no buffering.
   */
  private watchNext = -1;
  private watchedRecords = 0;

  constructor(options: TlsReassemblerOptions = {}) {
    this.maxBytes = Math.max(64, options.maxBytes ?? DEFAULT_MAX_BYTES);
    this.segments = new SegmentBuffer(
      this.maxBytes,
      Math.max(1, options.maxGaps ?? DEFAULT_MAX_GAPS) + 1,
      options.isn,
    );
    this.stats = options.stats;
    this.decoder = new TlsHandshakeDecoder(options, this.anomalies);
  }

  /** Bytes currently held (0 once done or given up). */
  get bufferedBytes(): number {
    return this.segments.buf.length;
  }

  /**
   * One TCP segment of this direction: `seq` is its sequence number (uint32), its payload
   * is buf[off, off + len). The bytes are copied; buf may be reused after the call.
   */
  feed(seq: number, buf: Uint8Array, off: number, len: number): readonly TlsStreamEvent[] {
    if (len <= 0) return NO_EVENTS;
    if (this.state !== "waiting") {
      if (this.watchNext < 0) return NO_EVENTS;
      this.events = undefined;
      this.watchSegment(seq, buf, off, len);
      return this.takeEvents();
    }
    const seg = this.segments;
    const outside = seg.bytesOutside;
    const dup = seg.bytesDuplicate;
    const placed = seg.place(seq, buf, off, len);
    if (this.stats !== undefined) {
      this.stats.bytesOutsideWindow += seg.bytesOutside - outside;
      this.stats.bytesDuplicate += seg.bytesDuplicate - dup;
    }
    this.events = undefined;
    if (placed === "too_many_gaps") {
      if (this.stats !== undefined) this.stats.tooManyGaps++;
      this.giveUp("tls_too_many_gaps");
    } else {
      this.pump();
      if (this.state === "waiting" && seg.contiguous >= this.maxBytes) this.windowFull();
    }
    return this.takeEvents();
  }

  /**
   * No more bytes will come (the flow ended or is being evicted): describes the
   * certificates of an unfinished Certificate message, then gives up if still waiting.
   */
  finish(): readonly TlsStreamEvent[] {
    if (this.state !== "waiting") return NO_EVENTS;
    this.events = undefined;
    this.salvage();
    if (this.state === "waiting") this.giveUp("tls_stream_incomplete");
    return this.takeEvents();
  }

  private takeEvents(): readonly TlsStreamEvent[] {
    const e = this.events;
    this.events = undefined;
    return e ?? NO_EVENTS;
  }

  private emit(e: TlsStreamEvent): void {
    if (this.events === undefined) this.events = [e];
    else this.events.push(e);
  }

  private finishWith(reason: TlsDoneReason): void {
    this.state = "done";
    this.doneReason = reason;
    if (this.stats !== undefined) this.stats.done++;
    this.emit({ type: "done", reason });
    // Messages that end the cleartext (ChangeCipherSpec, application data, an alert)
    // leave nothing to watch; the others may be followed by a cleartext alert.
    if (reason !== "change_cipher_spec" && reason !== "application_data" && reason !== "alert") {
      this.watchNext = this.parsed + this.recRemaining;
      const seg = this.segments;
      const have = seg.contiguous - this.watchNext;
      if (have > 0) this.watchAt(seg.buf, this.watchNext, have, this.watchNext);
    }
    this.segments.release();
  }

  /** A segment after "done": reads the watched record header if the segment holds it. */
  private watchSegment(seq: number, buf: Uint8Array, off: number, len: number): void {
    const base = this.segments.baseSeq;
    if (base === undefined) return;
    const rel = ((seq >>> 0) - base) | 0;
    const at = this.watchNext - rel;
    if (at < 0 || at >= len) return;
    this.watchAt(buf, off + at, len - at, this.watchNext);
  }

  /**
   * Walks record headers in buf[off, off + len), which starts at stream offset `pos`,
   * until one is cut off by the end of the bytes or the watch ends.
   */
  private watchAt(buf: Uint8Array, off: number, len: number, pos: number): void {
    let i = 0;
    while (this.watchNext >= 0 && len - i >= 5) {
      const type = buf[off + i]!;
      const n = (buf[off + i + 3]! << 8) | buf[off + i + 4]!;
      if (buf[off + i + 1] !== 0x03 || ++this.watchedRecords > MAX_WATCHED_RECORDS) {
        this.watchNext = -1;
        return;
      }
      if (type === ContentType.ALERT) {
        if (len - i < 7) return;
        if (this.alert === undefined) {
          const level = buf[off + i + 5]!;
          const description = buf[off + i + 6]!;
          this.alert = { level, description };
          this.emit({ type: "alert", level, description, name: alertName(description) });
        }
        this.watchNext = -1;
        return;
      }
      if (type !== ContentType.HANDSHAKE) {
        this.watchNext = -1;
        return;
      }
      i += 5 + n;
      this.watchNext = pos + i;
    }
  }

  private giveUp(reason: TlsAnomaly): void {
    this.state = "gave_up";
    this.watchNext = -1;
    this.gaveUpReason = reason;
    this.anomalies.add(reason);
    if (this.stats !== undefined) {
      this.stats.gaveUp++;
      if (reason === "tls_not_tls" || reason === "tls_sslv2_hello") this.stats.notTls++;
    }
    this.segments.release();
    this.emit({ type: "gave_up", reason });
  }

  private windowFull(): void {
    if (this.stats !== undefined) this.stats.overflows++;
    this.anomalies.add("tls_buffer_overflow");
    this.salvage();
    if (this.state === "waiting") this.giveUp("tls_buffer_overflow");
  }

  /** Describes what arrived of a Certificate message; finishes when that gave certificates. */
  private salvage(): void {
    if (!this.segments.started || this.emittedCertificate) return;
    salvageCertificate(this.decoder, this.segments.buf, this.hsStart, this.hsEnd);
    this.emitDecoded();
    if ((this.decoder.certificates?.count ?? 0) > 0) this.finishWith("certificate");
  }

  /** Reads records from the contiguous prefix until it runs out or the direction ends. */
  private pump(): void {
    const seg = this.segments;
    const avail = seg.contiguous;
    while (this.state === "waiting") {
      const buf = seg.buf;
      if (this.recRemaining === 0) {
        const have = avail - this.parsed;
        if (this.parsed === 0 && have > 0 && !this.plausibleStart(buf, have)) return;
        if (have < 5) return;
        if (!this.recordHeader(buf, this.parsed)) return;
        continue;
      }
      const take = Math.min(this.recRemaining, avail - this.parsed);
      if (this.recType === ContentType.ALERT) {
        // Wait for the whole (2-byte) alert: it is all we read from the record.
        if (take < Math.min(this.recRemaining, 2)) return;
        this.readAlert(buf, this.parsed, take);
        return;
      }
      if (take === 0) return;
      if (this.recType === ContentType.HANDSHAKE) {
        buf.copyWithin(this.hsEnd, this.parsed, this.parsed + take);
        this.hsEnd += take;
      }
      this.parsed += take;
      this.recRemaining -= take;
      if (this.recType === ContentType.HANDSHAKE) this.readMessages(buf);
    }
  }

  /**
   * The first bytes must look like a TLS record carrying a handshake or an alert. Checks
   * what arrived (even 1 byte), so that other protocols are dropped at once.
   */
  private plausibleStart(buf: Uint8Array, have: number): boolean {
    const t = buf[0]!;
    if (t & 0x80) {
      if (have < 5) return true;
      this.giveUp(looksLikeSslv2Hello(buf, 0, have) ? "tls_sslv2_hello" : "tls_not_tls");
      return false;
    }
    const ok =
      (t === ContentType.HANDSHAKE || t === ContentType.ALERT) &&
      (have < 2 || buf[1] === 0x03) &&
      (have < 3 || buf[2]! <= 0x04);
    if (!ok) this.giveUp("tls_not_tls");
    return ok;
  }

  /** Reads the 5-byte header at `at`. Returns false when the direction ended there. */
  private recordHeader(buf: Uint8Array, at: number): boolean {
    const type = buf[at]!;
    const n = (buf[at + 3]! << 8) | buf[at + 4]!;
    if (buf[at + 1] !== 0x03) {
      this.giveUp("tls_record_version_invalid");
      return false;
    }
    if (n > MAX_RECORD_LENGTH) {
      this.giveUp("tls_record_length_invalid");
      return false;
    }
    if (this.recordVersion === 0) this.recordVersion = (buf[at + 1]! << 8) | buf[at + 2]!;
    switch (type) {
      case ContentType.HANDSHAKE:
        if (n === 0) this.anomalies.add("tls_record_length_invalid");
        break;
      case ContentType.ALERT:
        break;
      case ContentType.CHANGE_CIPHER_SPEC:
        // After a HelloRetryRequest a TLS 1.3 server may send a compatibility CCS and
        // then its real ServerHello in cleartext: keep reading.
        if (this.decoder.serverHello?.hello_retry_request === true) break;
        this.finishWith("change_cipher_spec");
        return false;
      case ContentType.APPLICATION_DATA:
        this.finishWith("application_data");
        return false;
      default:
        this.giveUp("tls_unexpected_content_type");
        return false;
    }
    this.recType = type;
    this.recRemaining = n;
    this.parsed = at + 5;
    return true;
  }

  private readAlert(buf: Uint8Array, at: number, take: number): void {
    if (take >= 2) {
      const level = buf[at]!;
      const description = buf[at + 1]!;
      this.alert = { level, description };
      this.emit({ type: "alert", level, description, name: alertName(description) });
    }
    this.finishWith("alert");
  }

  private readMessages(buf: Uint8Array): void {
    const r = drainMessages(
      this.decoder,
      buf,
      this.hsStart,
      this.hsEnd,
      this.recordVersion,
      this.maxBytes,
    );
    this.hsStart = r.next;
    if (this.hsStart === this.hsEnd) {
      // Everything read: move the next handshake bytes back to the front.
      this.hsStart = 0;
      this.hsEnd = 0;
    }
    this.emitDecoded();
    const d = this.decoder;
    if (d.complete) {
      this.finishWith(this.completionReason());
      return;
    }
    if (r.tooLong) {
      // A chain longer than the window is legitimate: keep reading until the window is
      // full (or the stream ends) and describe the certificates that fit. Any other
      // message that long is not worth waiting for.
      const certificate = buf[this.hsStart] === HandshakeType.CERTIFICATE && d.isServer;
      if (!certificate) this.giveUp("tls_handshake_too_long");
      return;
    }
    // The first message must be a hello that parsed; anything else is not a TLS start
    // we can use (the hello's own anomaly says why it did not parse).
    if (d.messageTypes.length > 0 && d.clientHello === undefined && d.serverHello === undefined) {
      const first = d.messageTypes[0];
      const helloFailed = first === 1 || first === 2;
      const why = helloFailed ? this.anomalies.names[this.anomalies.names.length - 1] : undefined;
      this.giveUp(why ?? "tls_handshake_unexpected");
    }
  }

  private completionReason(): TlsDoneReason {
    const d = this.decoder;
    if (d.clientHello !== undefined) return "client_hello";
    if (d.certificates !== undefined) return "certificate";
    if (d.serverHello !== undefined && isTls13(d.serverHello)) return "server_hello";
    return "server_hello_done";
  }

  private emitDecoded(): void {
    const d = this.decoder;
    if (!this.emittedClient && d.clientHello !== undefined) {
      this.emittedClient = true;
      this.emit({ type: "client_hello", hello: d.clientHello });
    }
    if (d.serverHello !== undefined && this.emittedServer !== d.serverHello) {
      this.emittedServer = d.serverHello;
      this.emit({ type: "server_hello", hello: d.serverHello });
    }
    if (!this.emittedCertificate && d.certificates !== undefined) {
      this.emittedCertificate = true;
      if (d.certificates.certificates.length > 0 || d.certificates.count > 0) {
        this.emit({
          type: "certificate",
          certificates: d.certificates.certificates,
          count: d.certificates.count,
        });
      }
    }
  }
}
