/**
 * One direction of an HTTP/1.x or RTSP connection as a message parser: requests from the
 * initiator, or responses from the responder. Bytes arrive in order, cut anywhere (a
 * header line may be split across segments at any byte); several messages may sit in one
 * segment (keep-alive, pipelining).
 *
 * Bodies are not kept: a Content-Length body or chunk is skipped by counting, and only its
 * first 16 bytes are copied (the body prefix and firmware magic). The only other copies
 * are the current, unfinished line (bounded by maxHeaderBytes) and, for multipart uploads,
 * the first MULTIPART_SNIFF_BYTES of the body (to find the first part's file name and
 * magic). Anything the parser cannot frame stops the direction with a named anomaly:
 * reading on would only misread the rest of the stream.
 */

import { type MessageBuilder, MULTIPART_SNIFF_BYTES, newBuilder } from "./builder.js";
import type { HttpAnomaly, HttpProtocol, HttpRequest, HttpResponse } from "./record.js";
import { printable } from "./text.js";

export interface HttpOptions {
  /** Largest header block (start line + headers, or trailers), in bytes. Default 16 KiB. */
  maxHeaderBytes?: number;
  /** Most header lines in one message. Default 100. */
  maxHeaders?: number;
  /** Request targets are cut to this many bytes. Default 4096. */
  maxUriLength?: number;
  /** Other header values are cut to this many bytes. Default 1024. */
  maxValueLength?: number;
  /** Requests waiting for their responses (pipelining), per connection. Default 32. */
  maxPendingRequests?: number;
  /** Transactions per connection before parsing stops. Default 1000. */
  maxTransactions?: number;
  /** RTSP: interleaved binary frames in a row after which the connection is treated as pure RTP. Default 16. */
  rtspBinaryFrames?: number;
  /** Keep every header of a message (HttpMessage.headers) for rules on any header. Default false. */
  keepHeaders?: boolean;
  /** Keep this many first body bytes as text (HttpMessage.body) for rules on the body. Default 0. */
  bodyBytes?: number;
}

export interface ResolvedHttpOptions {
  maxHeaderBytes: number;
  maxHeaders: number;
  maxUriLength: number;
  maxValueLength: number;
  maxPendingRequests: number;
  maxTransactions: number;
  rtspBinaryFrames: number;
  keepHeaders: boolean;
  bodyBytes: number;
}

/** The most body bytes a message keeps as text for rules. */
export const MAX_BODY_BYTES = 4096;

export function resolveHttpOptions(o: HttpOptions = {}): ResolvedHttpOptions {
  return {
    maxHeaderBytes: o.maxHeaderBytes ?? 16 * 1024,
    maxHeaders: o.maxHeaders ?? 100,
    maxUriLength: o.maxUriLength ?? 4096,
    maxValueLength: o.maxValueLength ?? 1024,
    maxPendingRequests: o.maxPendingRequests ?? 32,
    maxTransactions: o.maxTransactions ?? 1000,
    rtspBinaryFrames: o.rtspBinaryFrames ?? 16,
    keepHeaders: o.keepHeaders ?? false,
    bodyBytes: Math.min(Math.max(o.bodyBytes ?? 0, 0), MAX_BODY_BYTES),
  };
}

/** One parsed message, handed out at headers() and again, finished, at end(). */
export interface HttpMessage {
  kind: "request" | "response";
  /** Set for requests. */
  request: HttpRequest | undefined;
  /** Set for responses. */
  response: HttpResponse | undefined;
  protocol: HttpProtocol;
  /** Packet time of the message's first byte. */
  tsSec: number;
  tsNsec: number;
  /** Body bytes seen so far (de-chunked). */
  bodyBytes: number;
  /** Anomalies raised while parsing this message. */
  anomalies: HttpAnomaly[];
  /** With keepHeaders: every header as [lowercase name, value, name, value...], values printable. */
  headers?: readonly string[];
  /** With bodyBytes: the body's first bytes (de-chunked) as printable text (`\xNN` escapes). */
  body?: string;
}

export interface HttpMessageEvents {
  /** Start line and headers parsed; the body (if any) follows. Also called for a message cut short inside its headers. */
  headers(msg: HttpMessage): void;
  /** The message ended: complete=false when the direction stopped (or the stream ended) inside it. */
  end(msg: HttpMessage, complete: boolean): void;
  /** An anomaly, whether or not a message was in progress. */
  anomaly(name: HttpAnomaly): void;
  /**
   * Once per message, as soon as its record says what rules need: the headers and, when
   * there is a body, its first bytes (so the firmware magic is known) or its end. A 50 MB
   * upload is reported after its first bytes, not when it finishes.
   */
  ready?(msg: HttpMessage): void;
  /** Response streams ask which method the request being answered used (HEAD and CONNECT change framing). */
  requestMethod?(): string | undefined;
}

// Parser states.
const START = 0;
const HEADERS = 1;
const BODY = 2;
const CHUNK_SIZE = 3;
const CHUNK_DATA = 4;
const CHUNK_END = 5;
const TRAILERS = 6;
const UNTIL_CLOSE = 7;
const INTERLEAVED_HEADER = 8;
const INTERLEAVED_DATA = 9;
const STOPPED = 10;

/** A chunk-size line (hex size plus extensions) longer than this is hostile. */
const MAX_CHUNK_LINE = 1024;
/** 13 hex digits: every chunk size up to 2^52 is exact in a double. */
const MAX_CHUNK_HEX_DIGITS = 13;
const PREFIX_BYTES = 16;

export class HttpMessageStream {
  /** Set by the first start line (or by the connection): RTSP allows interleaved frames and has no read-until-close bodies. */
  protocol: HttpProtocol | undefined;
  /** Why the direction stopped: an anomaly name, "upgrade", "tunnel" or "end"; undefined while parsing. */
  stopReason: string | undefined;
  /** Messages emitted (headers() calls). */
  messages = 0;
  /** RTSP interleaved binary frames skipped, in total and since the last RTSP message. */
  interleavedFrames = 0;
  framesSinceMessage = 0;

  private state = START;
  private readonly opts: ResolvedHttpOptions;
  private line: Buffer | null = null;
  private lineLen = 0;
  /** Bytes of the current header block (or trailer block) so far, lines included. */
  private blockBytes = 0;
  private headerCount = 0;
  private b: MessageBuilder | null = null;
  private msg: HttpMessage | null = null;
  private remaining = 0;
  private ilHeaderBytes = 0;
  private ilLength = 0;
  private tsSec = 0;
  private tsNsec = 0;
  /** Time of the current message's first byte. */
  private msgTsSec = 0;
  private msgTsNsec = 0;
  /** headers() was called for the current message. */
  private emitted = false;
  private readonly prefix = Buffer.alloc(PREFIX_BYTES);
  /** The current message's `ready` event went out. */
  private readyReported = false;
  private prefixLen = 0;
  private sniff: Buffer | null = null;
  private sniffLen = 0;

  constructor(
    readonly kind: "request" | "response",
    private readonly events: HttpMessageEvents,
    options: HttpOptions = {},
  ) {
    this.opts = resolveHttpOptions(options);
  }

  get stopped(): boolean {
    return this.state === STOPPED;
  }

  /** The next in-order bytes of this direction. `tsSec/tsNsec`: time of the packet that carried them. */
  feed(buf: Uint8Array, off: number, len: number, tsSec = 0, tsNsec = 0): void {
    if (this.state === STOPPED || len <= 0) return;
    this.tsSec = tsSec;
    this.tsNsec = tsNsec;
    let pos = off;
    const end = off + len;
    while (pos < end && this.state !== STOPPED) {
      switch (this.state) {
        case START:
          if (this.lineLen === 0 && this.msg === null) {
            if (buf[pos] === 0x24 && this.protocol === "rtsp") {
              this.state = INTERLEAVED_HEADER;
              this.ilHeaderBytes = 0;
              this.ilLength = 0;
              break;
            }
            if (this.blockBytes === 0) this.markStart();
          }
          pos = this.lines(buf, pos, end);
          break;
        case HEADERS:
        case CHUNK_SIZE:
        case CHUNK_END:
        case TRAILERS:
          pos = this.lines(buf, pos, end);
          break;
        case BODY:
        case CHUNK_DATA: {
          const n = Math.min(this.remaining, end - pos);
          this.bodyData(buf, pos, n);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            if (this.state === BODY) this.finishMessage();
            else this.state = CHUNK_END;
          }
          break;
        }
        case UNTIL_CLOSE:
          this.bodyData(buf, pos, end - pos);
          pos = end;
          break;
        case INTERLEAVED_HEADER:
          // '$', channel, 16-bit length: may itself be split across segments.
          while (pos < end && this.ilHeaderBytes < 4) {
            if (this.ilHeaderBytes >= 2) this.ilLength = (this.ilLength << 8) | buf[pos]!;
            this.ilHeaderBytes++;
            pos++;
          }
          if (this.ilHeaderBytes === 4) {
            this.interleavedFrames++;
            this.framesSinceMessage++;
            this.remaining = this.ilLength;
            this.state = this.remaining > 0 ? INTERLEAVED_DATA : START;
          }
          break;
        case INTERLEAVED_DATA: {
          const n = Math.min(this.remaining, end - pos);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = START;
          break;
        }
      }
    }
  }

  /** The lead's reassembly skipped a hole in this direction: nothing after it can be framed. */
  gap(): void {
    if (this.state === STOPPED) return;
    this.stop("http_stream_gap");
  }

  /** The direction ended (FIN, RST, flow end): a read-until-close body is complete, anything else is cut short. */
  finish(): void {
    if (this.state === STOPPED) return;
    if (this.state === UNTIL_CLOSE) this.finishMessage();
    this.halt("end");
  }

  /** Stops parsing without an anomaly (upgrade, tunnel, limits decided by the connection). */
  halt(reason: string): void {
    if (this.state === STOPPED) return;
    this.endInProgress();
    this.enterStopped(reason);
  }

  /** Stops parsing with an anomaly: the message in progress (if its start line was read) is handed out, cut short. */
  stop(anomaly: HttpAnomaly): void {
    if (this.state === STOPPED) return;
    this.anomaly(anomaly);
    this.endInProgress();
    this.enterStopped(anomaly);
  }

  private enterStopped(reason: string): void {
    this.state = STOPPED;
    this.stopReason = reason;
    this.line = null;
    this.lineLen = 0;
    this.sniff = null;
  }

  private endInProgress(): void {
    const msg = this.msg;
    if (msg === null) return;
    if (!this.emitted) {
      // Cut inside the header block: what was read (start line, some headers) is still worth reporting.
      this.finishRecord();
      this.emitHeaders(msg);
    }
    this.finishRecord();
    this.reportReady(msg);
    this.msg = null;
    this.b = null;
    this.events.end(msg, false);
  }

  private anomaly(name: HttpAnomaly): void {
    if (this.msg !== null && !this.msg.anomalies.includes(name)) this.msg.anomalies.push(name);
    this.events.anomaly(name);
  }

  private markStart(): void {
    this.msgTsSec = this.tsSec;
    this.msgTsNsec = this.tsNsec;
  }

  /**
   * Consumes bytes up to and including the next LF (or all of them, keeping a partial
   * line) and handles the line. Returns the new position.
   */
  private lines(buf: Uint8Array, pos: number, end: number): number {
    let lf = pos;
    while (lf < end && buf[lf] !== 0x0a) lf++;
    const budget = this.lineBudget();
    if (lf === end) {
      const n = end - pos;
      if (this.lineLen + n > budget) {
        this.lineTooLong();
        return end;
      }
      this.appendLine(buf, pos, n);
      return end;
    }
    const n = lf - pos;
    if (this.lineLen + n + 1 > budget) {
      this.lineTooLong();
      return end;
    }
    if (this.isBlockState()) this.blockBytes += this.lineLen + n + 1;
    if (this.lineLen === 0) {
      this.handleLine(buf, pos, lf);
    } else {
      this.appendLine(buf, pos, n);
      const line = this.line!;
      const len = this.lineLen;
      this.lineLen = 0;
      this.handleLine(line, 0, len);
    }
    return lf + 1;
  }

  private isBlockState(): boolean {
    return this.state === START || this.state === HEADERS || this.state === TRAILERS;
  }

  /** Bytes the current line may still take, LF included. */
  private lineBudget(): number {
    switch (this.state) {
      case CHUNK_SIZE:
        return MAX_CHUNK_LINE;
      case CHUNK_END:
        return 2;
      default:
        return this.opts.maxHeaderBytes - this.blockBytes;
    }
  }

  private lineTooLong(): void {
    if (this.state === CHUNK_SIZE) this.stop("http_chunk_size_invalid");
    else if (this.state === CHUNK_END) this.stop("http_chunk_missing_crlf");
    else this.stop("http_header_too_long");
  }

  private appendLine(buf: Uint8Array, pos: number, n: number): void {
    if (n === 0) return;
    const need = this.lineLen + n;
    let line = this.line;
    if (line === null || line.length < need) {
      const cap = Math.min(
        Math.max(need, (line?.length ?? 128) * 2),
        Math.max(this.opts.maxHeaderBytes, MAX_CHUNK_LINE),
      );
      const grown = Buffer.allocUnsafe(Math.max(cap, need));
      if (line !== null && this.lineLen > 0) line.copy(grown, 0, 0, this.lineLen);
      this.line = line = grown;
    }
    line.set(buf.subarray(pos, pos + n), this.lineLen);
    this.lineLen = need;
  }

  private handleLine(b: Uint8Array, s: number, e: number): void {
    if (e > s && b[e - 1] === 0x0d) e--;
    switch (this.state) {
      case START:
        if (e === s) return; // RFC 9112 2.2: empty lines before a start line are ignored
        this.startLine(b, s, e);
        return;
      case HEADERS:
        if (e === s) {
          this.headersComplete();
          return;
        }
        if (b[s] === 0x20 || b[s] === 0x09) return; // obs-fold continuation: not a field we read
        if (++this.headerCount > this.opts.maxHeaders) {
          this.stop("http_too_many_headers");
          return;
        }
        if (!this.b!.header(b, s, e)) this.anomaly("http_bad_header_line");
        return;
      case CHUNK_SIZE:
        this.chunkSize(b, s, e);
        return;
      case CHUNK_END:
        if (e !== s) this.stop("http_chunk_missing_crlf");
        else this.state = CHUNK_SIZE;
        return;
      case TRAILERS:
        if (e === s) this.finishMessage();
        else if (++this.headerCount > this.opts.maxHeaders) this.stop("http_too_many_headers");
        return;
    }
  }

  private startLine(b: Uint8Array, s: number, e: number): void {
    const builder = newBuilder(this.kind, this.opts);
    const ok = builder.startLine(b, s, e);
    if (!ok) {
      this.stop(this.kind === "request" ? "http_bad_request_line" : "http_bad_status_line");
      return;
    }
    if (this.protocol === undefined) this.protocol = builder.protocol;
    this.b = builder;
    this.msg = {
      kind: this.kind,
      request: undefined,
      response: undefined,
      protocol: builder.protocol,
      tsSec: this.msgTsSec,
      tsNsec: this.msgTsNsec,
      bodyBytes: 0,
      anomalies: [],
    };
    this.headerCount = 0;
    this.framesSinceMessage = 0;
    this.emitted = false;
    this.state = HEADERS;
  }

  private headersComplete(): void {
    const b = this.b!;
    const msg = this.msg!;
    const rtsp = this.protocol === "rtsp" || b.protocol === "rtsp";
    const method = this.kind === "response" ? this.events.requestMethod?.() : undefined;
    const framing = b.framing(rtsp, method);
    for (const a of framing.anomalies) this.anomaly(a);
    this.finishRecord();
    if (framing.kind === "invalid") {
      this.emitHeaders(msg);
      this.stop(framing.anomaly);
      return;
    }
    this.emitHeaders(msg);
    if (this.state === STOPPED) return;
    this.prefixLen = 0;
    const sniffBytes = Math.max(b.multipart ? MULTIPART_SNIFF_BYTES : 0, this.opts.bodyBytes);
    this.sniff = sniffBytes > 0 ? Buffer.allocUnsafe(sniffBytes) : null;
    this.sniffLen = 0;
    switch (framing.kind) {
      case "none":
        this.finishMessage();
        return;
      case "length":
        this.remaining = framing.length;
        this.state = BODY;
        if (framing.length === 0) this.finishMessage();
        return;
      case "chunked":
        this.state = CHUNK_SIZE;
        return;
      case "close":
        this.state = UNTIL_CLOSE;
        return;
      case "switch":
        // 101 Switching Protocols, a CONNECT request or its 2xx: what follows is not HTTP.
        this.finishMessage();
        this.halt(framing.reason);
        return;
    }
  }

  private emitHeaders(msg: HttpMessage): void {
    this.readyReported = false;
    this.emitted = true;
    this.messages++;
    this.events.headers(msg);
  }

  /** Copies the builder's fields into the record (again after the body: prefix, magic). */
  private finishRecord(): void {
    const b = this.b;
    const msg = this.msg;
    if (b === null || msg === null) return;
    if (this.kind === "request")
      msg.request = b.request(this.prefix, this.prefixLen, this.sniff, this.sniffLen);
    else msg.response = b.response(this.prefix, this.prefixLen);
    if (b.headerList !== null) msg.headers = b.headerList;
    const body = this.opts.bodyBytes;
    if (body > 0 && this.sniff !== null && this.sniffLen > 0) {
      msg.body = printable(this.sniff, 0, Math.min(this.sniffLen, body), body);
    }
  }

  private chunkSize(b: Uint8Array, s: number, e: number): void {
    let size = 0;
    let digits = 0;
    let i = s;
    for (; i < e; i++) {
      const c = b[i]!;
      let v: number;
      if (c >= 0x30 && c <= 0x39) v = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) v = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) v = c - 0x37;
      else break;
      if (++digits > MAX_CHUNK_HEX_DIGITS) {
        this.stop("http_chunk_size_invalid");
        return;
      }
      size = size * 16 + v;
    }
    // After the digits only whitespace and chunk extensions (";name=value") may follow.
    while (i < e && (b[i] === 0x20 || b[i] === 0x09)) i++;
    if (digits === 0 || (i < e && b[i] !== 0x3b)) {
      this.stop("http_chunk_size_invalid");
      return;
    }
    if (size === 0) {
      this.state = TRAILERS;
      this.blockBytes = 0;
      this.headerCount = 0;
      return;
    }
    this.remaining = size;
    this.state = CHUNK_DATA;
  }

  private bodyData(buf: Uint8Array, pos: number, n: number): void {
    if (n <= 0) return;
    const msg = this.msg!;
    msg.bodyBytes += n;
    if (this.prefixLen < PREFIX_BYTES) {
      const k = Math.min(n, PREFIX_BYTES - this.prefixLen);
      this.prefix.set(buf.subarray(pos, pos + k), this.prefixLen);
      this.prefixLen += k;
    }
    const sniff = this.sniff;
    if (sniff !== null && this.sniffLen < sniff.length) {
      const k = Math.min(n, sniff.length - this.sniffLen);
      sniff.set(buf.subarray(pos, pos + k), this.sniffLen);
      this.sniffLen += k;
    }
    if (
      !this.readyReported &&
      this.prefixLen === PREFIX_BYTES &&
      (sniff === null || this.sniffLen === sniff.length)
    ) {
      this.finishRecord();
      this.reportReady(msg);
    }
  }

  /** The message's `ready` event, once. */
  private reportReady(msg: HttpMessage): void {
    if (this.readyReported) return;
    this.readyReported = true;
    this.events.ready?.(msg);
  }

  private finishMessage(): void {
    const msg = this.msg!;
    this.finishRecord();
    this.reportReady(msg);
    this.msg = null;
    this.b = null;
    this.sniff = null;
    this.sniffLen = 0;
    this.prefixLen = 0;
    this.blockBytes = 0;
    this.headerCount = 0;
    if (this.state !== STOPPED) this.state = START;
    this.events.end(msg, true);
  }
}
