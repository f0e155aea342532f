/**
 * Reads one message's start line and header lines into the few fields the record keeps,
 * and decides how its body is framed (RFC 9112 section 6.3; RFC 2326 for RTSP).
 * Header names are compared case-insensitively as bytes, so headers the record does not
 * use never become strings.
 */

import { bodyMagic } from "./magic.js";
import type { BodyMagic, HttpAnomaly, HttpProtocol, HttpRequest, HttpResponse } from "./record.js";
import type { ResolvedHttpOptions } from "./stream.js";
import { latin1, printable, toHex, trimOws } from "./text.js";

/** Body bytes kept of a multipart upload, to find its first part's headers and data. */
export const MULTIPART_SNIFF_BYTES = 1024;

/** How the body that follows the header block is delimited. */
export type Framing =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "close" }
  | { kind: "switch"; reason: "upgrade" | "tunnel" }
  | { kind: "invalid"; anomaly: HttpAnomaly };

const MAX_METHOD = 32;
const MAX_CONTENT_LENGTH_DIGITS = 16;

/** tchar from RFC 9110 5.6.2, as a 128-entry table. */
const TCHAR = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;
for (const ch of "!#$%&'*+-.^_`|~") TCHAR[ch.charCodeAt(0)] = 1;

/** Header names the record reads, by length, lowercase. */
const HOST = "host";
const CSEQ = "cseq";
const SERVER = "server";
const LOCATION = "location";
const USER_AGENT = "user-agent";
const CONTENT_TYPE = "content-type";
const AUTHORIZATION = "authorization";
const CONTENT_LENGTH = "content-length";
const WWW_AUTHENTICATE = "www-authenticate";
const TRANSFER_ENCODING = "transfer-encoding";
const CONTENT_DISPOSITION = "content-disposition";
const PROXY_AUTHORIZATION = "proxy-authorization";

export function newBuilder(
  kind: "request" | "response",
  opts: ResolvedHttpOptions,
): MessageBuilder {
  return new MessageBuilder(kind, opts);
}

export class MessageBuilder {
  protocol: HttpProtocol = "http";
  multipart = false;

  private method = "";
  private uri = "";
  private version = "";
  private status = 0;
  private reason = "";
  private host: string | undefined;
  private userAgent: string | undefined;
  private contentType: string | undefined;
  private authScheme: string | undefined;
  private cseq: number | undefined;
  private server: string | undefined;
  private realm: string | undefined;
  private location: string | undefined;
  private filename: string | undefined;
  private contentLength: number | undefined;
  private clInvalid = false;
  private clConflict = false;
  private teSeen = false;
  private teChunkedLast = false;
  /** With keepHeaders: [name, value, ...] of every header, names lowercased. */
  readonly headerList: string[] | null;

  constructor(
    readonly kind: "request" | "response",
    private readonly opts: ResolvedHttpOptions,
  ) {
    this.headerList = opts.keepHeaders ? [] : null;
  }

  /** Parses the start line; false when it is not one. */
  startLine(b: Uint8Array, s: number, e: number): boolean {
    return this.kind === "request" ? this.requestLine(b, s, e) : this.statusLine(b, s, e);
  }

  /** `METHOD SP target SP version`; the target runs to the last space, so one with spaces in it still parses. */
  private requestLine(b: Uint8Array, s: number, e: number): boolean {
    let sp1 = s;
    while (sp1 < e && sp1 - s <= MAX_METHOD && b[sp1]! < 128 && TCHAR[b[sp1]!] === 1) sp1++;
    if (sp1 === s || sp1 >= e || b[sp1] !== 0x20) return false;
    let sp2 = e - 1;
    while (sp2 > sp1 && b[sp2] !== 0x20) sp2--;
    if (sp2 <= sp1 + 1) return false;
    const protocol = versionAt(b, sp2 + 1, e);
    if (protocol === undefined) return false;
    this.protocol = protocol;
    this.method = printable(b, s, sp1, MAX_METHOD);
    this.uri = printable(b, sp1 + 1, sp2, this.opts.maxUriLength);
    this.version = printable(b, sp2 + 1, e, 8);
    return true;
  }

  /** `version SP 3DIGIT [SP reason]`. */
  private statusLine(b: Uint8Array, s: number, e: number): boolean {
    const protocol = versionAt(b, s, Math.min(e, s + 8));
    if (protocol === undefined || s + 12 > e || b[s + 8] !== 0x20) return false;
    let status = 0;
    for (let i = s + 9; i < s + 12; i++) {
      const c = b[i]!;
      if (c < 0x30 || c > 0x39) return false;
      status = status * 10 + (c - 0x30);
    }
    if (status < 100) return false;
    if (s + 12 < e && b[s + 12] !== 0x20) return false;
    this.protocol = protocol;
    this.version = printable(b, s, s + 8, 8);
    this.status = status;
    this.reason = s + 13 < e ? printable(b, s + 13, e, this.opts.maxValueLength) : "";
    return true;
  }

  /** One `name: value` line; false when it is malformed (the caller counts it and goes on). */
  header(b: Uint8Array, s: number, e: number): boolean {
    let colon = s;
    while (colon < e && b[colon] !== 0x3a) {
      const c = b[colon]!;
      if (c >= 128 || TCHAR[c] !== 1) return false;
      colon++;
    }
    if (colon === s || colon === e) return false;
    const [vs, ve] = trimOws(b, colon + 1, e);
    const max = this.opts.maxValueLength;
    if (this.headerList !== null) {
      const name = latin1(b, s, colon).toLowerCase();
      // Credentials never leave the parser: of Authorization headers only the scheme.
      let end = ve;
      if (name === AUTHORIZATION || name === PROXY_AUTHORIZATION) {
        end = vs;
        while (end < ve && b[end] !== 0x20) end++;
      }
      this.headerList.push(name, printable(b, vs, end, max));
    }
    switch (colon - s) {
      case 4:
        if (nameIs(b, s, HOST)) this.host = printable(b, vs, ve, max);
        else if (nameIs(b, s, CSEQ)) this.cseq = decimal(b, vs, ve);
        break;
      case 6:
        if (nameIs(b, s, SERVER)) this.server = printable(b, vs, ve, max);
        break;
      case 8:
        if (nameIs(b, s, LOCATION)) this.location = printable(b, vs, ve, max);
        break;
      case 10:
        if (nameIs(b, s, USER_AGENT)) this.userAgent = printable(b, vs, ve, max);
        break;
      case 12:
        if (nameIs(b, s, CONTENT_TYPE)) {
          this.contentType = printable(b, vs, ve, max);
          this.multipart = startsWithLower(b, vs, ve, "multipart/");
        }
        break;
      case 13:
        if (nameIs(b, s, AUTHORIZATION)) {
          // Only the scheme: the credentials must never reach a log.
          let i = vs;
          while (i < ve && b[i] !== 0x20) i++;
          this.authScheme = printable(b, vs, i, 32);
        }
        break;
      case 14:
        if (nameIs(b, s, CONTENT_LENGTH)) this.contentLengthValue(b, vs, ve);
        break;
      case 16:
        if (nameIs(b, s, WWW_AUTHENTICATE) && this.realm === undefined) {
          this.realm = parameter(b, vs, ve, "realm=", max);
        }
        break;
      case 17:
        if (nameIs(b, s, TRANSFER_ENCODING)) {
          this.teSeen = true;
          // Only the final coding decides the framing (RFC 9112 6.3).
          let i = ve;
          while (i > vs && b[i - 1] !== 0x2c) i--;
          const [ts, te] = trimOws(b, i, ve);
          this.teChunkedLast = te - ts === 7 && startsWithLower(b, ts, te, "chunked");
        }
        break;
      case 19:
        if (nameIs(b, s, CONTENT_DISPOSITION))
          this.filename = parameter(b, vs, ve, "filename=", max);
        break;
    }
    return true;
  }

  /** A Content-Length value: "N" or a list "N, N"; every value, in every such header, must agree. */
  private contentLengthValue(b: Uint8Array, s: number, e: number): void {
    let i = s;
    while (i <= e) {
      let j = i;
      while (j < e && b[j] !== 0x2c) j++;
      const [vs, ve] = trimOws(b, i, j);
      const n = ve - vs > MAX_CONTENT_LENGTH_DIGITS ? undefined : decimal(b, vs, ve);
      if (n === undefined || n > Number.MAX_SAFE_INTEGER) this.clInvalid = true;
      else if (this.contentLength === undefined) this.contentLength = n;
      else if (this.contentLength !== n) this.clConflict = true;
      i = j + 1;
    }
  }

  /** How the body is delimited, given the protocol and (for a response) the request's method. */
  framing(
    rtsp: boolean,
    requestMethod: string | undefined,
  ): Framing & { anomalies: HttpAnomaly[] } {
    const anomalies: HttpAnomaly[] = [];
    const out = (f: Framing) => Object.assign(f, { anomalies });
    if (this.kind === "response") {
      const st = this.status;
      if (st === 101) return out({ kind: "switch", reason: "upgrade" });
      if (st < 200 || st === 204 || st === 304 || requestMethod === "HEAD")
        return out({ kind: "none" });
      if (requestMethod === "CONNECT" && st < 300) return out({ kind: "switch", reason: "tunnel" });
    }
    if (this.teSeen) {
      if (this.contentLength !== undefined || this.clInvalid)
        anomalies.push("http_te_and_content_length");
      if (this.teChunkedLast) return out({ kind: "chunked" });
      if (this.kind === "request")
        return out({ kind: "invalid", anomaly: "http_transfer_encoding_invalid" });
      return out({ kind: "close" });
    }
    if (this.clInvalid) return out({ kind: "invalid", anomaly: "http_content_length_invalid" });
    if (this.clConflict) return out({ kind: "invalid", anomaly: "http_content_length_conflict" });
    if (this.contentLength !== undefined)
      return out({ kind: "length", length: this.contentLength });
    // Without a length a request has no body; so does any RTSP message (RFC 2326 12.14).
    if (this.kind === "request" || rtsp) return out({ kind: "none" });
    return out({ kind: "close" });
  }

  request(
    prefix: Uint8Array,
    prefixLen: number,
    sniff: Uint8Array | null,
    sniffLen: number,
  ): HttpRequest {
    const r: HttpRequest = {
      method: this.method,
      uri: this.uri,
      version: this.version,
      chunked: this.teSeen && this.teChunkedLast,
    };
    if (this.host !== undefined) r.host = this.host;
    if (this.userAgent !== undefined) r.user_agent = this.userAgent;
    if (this.contentType !== undefined) r.content_type = this.contentType;
    if (this.contentLength !== undefined && !this.clConflict) r.content_length = this.contentLength;
    if (this.authScheme !== undefined) r.authorization_scheme = this.authScheme;
    if (this.cseq !== undefined) r.cseq = this.cseq;
    if (prefixLen > 0) {
      r.body_prefix = toHex(prefix, 0, prefixLen);
      let magic: BodyMagic | undefined = bodyMagic(prefix, 0, prefixLen);
      if (this.multipart && sniff !== null && sniffLen > 0) {
        const part = firstPart(sniff, sniffLen, this.opts.maxValueLength);
        if (magic === undefined) magic = part.magic;
        if (part.filename !== undefined) r.filename = part.filename;
      }
      if (magic !== undefined) r.body_magic = magic;
    }
    return r;
  }

  response(prefix: Uint8Array, prefixLen: number): HttpResponse {
    const r: HttpResponse = {
      version: this.version,
      status_code: this.status,
      reason: this.reason,
      chunked: this.teSeen && this.teChunkedLast,
    };
    if (this.contentType !== undefined) r.content_type = this.contentType;
    if (this.contentLength !== undefined && !this.clConflict) r.content_length = this.contentLength;
    if (this.server !== undefined) r.server = this.server;
    if (this.realm !== undefined) r.www_authenticate_realm = this.realm;
    if (this.location !== undefined) r.location = this.location;
    if (this.cseq !== undefined) r.cseq = this.cseq;
    if (this.filename !== undefined) r.filename = this.filename;
    if (prefixLen > 0) {
      r.body_prefix = toHex(prefix, 0, prefixLen);
      const magic = bodyMagic(prefix, 0, prefixLen);
      if (magic !== undefined) r.body_magic = magic;
    }
    return r;
  }
}

/** "HTTP/1.<digit>" or "RTSP/1.0" / "RTSP/2.0" exactly filling `b[s, e)`. */
function versionAt(b: Uint8Array, s: number, e: number): HttpProtocol | undefined {
  if (e - s !== 8 || b[s + 4] !== 0x2f || b[s + 6] !== 0x2e) return undefined;
  if (b[s] === 0x48 && b[s + 1] === 0x54 && b[s + 2] === 0x54 && b[s + 3] === 0x50) {
    const minor = b[s + 7]!;
    return b[s + 5] === 0x31 && minor >= 0x30 && minor <= 0x39 ? "http" : undefined;
  }
  if (b[s] === 0x52 && b[s + 1] === 0x54 && b[s + 2] === 0x53 && b[s + 3] === 0x50) {
    const major = b[s + 5];
    return (major === 0x31 || major === 0x32) && b[s + 7] === 0x30 ? "rtsp" : undefined;
  }
  return undefined;
}

/** The header name at `s` (length already checked) equals `lower`, ignoring ASCII case. */
function nameIs(b: Uint8Array, s: number, lower: string): boolean {
  for (let k = 0; k < lower.length; k++) {
    if ((b[s + k]! | 0x20) !== lower.charCodeAt(k)) return false;
  }
  return true;
}

function startsWithLower(b: Uint8Array, s: number, e: number, lower: string): boolean {
  if (e - s < lower.length) return false;
  for (let k = 0; k < lower.length; k++) {
    const c = b[s + k]!;
    const folded = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    if (folded !== lower.charCodeAt(k)) return false;
  }
  return true;
}

/** A decimal number filling `b[s, e)`, or undefined. */
function decimal(b: Uint8Array, s: number, e: number): number | undefined {
  if (s >= e || e - s > MAX_CONTENT_LENGTH_DIGITS) return undefined;
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x39) return undefined;
    n = n * 10 + (c - 0x30);
  }
  return n;
}

/**
 * The value of `name=` (e.g. `realm=`) in a header value: quoted (to the closing quote)
 * or a token (to a comma, semicolon or space). Case-insensitive on the name.
 */
function parameter(
  b: Uint8Array,
  s: number,
  e: number,
  name: string,
  max: number,
): string | undefined {
  for (let i = s; i + name.length <= e; i++) {
    if (!startsWithLower(b, i, e, name)) continue;
    // The name must start a parameter: not "xrealm=" nor the tail of "filename*=".
    const prev = i > s ? b[i - 1]! : 0x20;
    if (prev !== 0x20 && prev !== 0x09 && prev !== 0x2c && prev !== 0x3b) continue;
    let v = i + name.length;
    if (v < e && b[v] === 0x22) {
      v++;
      let q = v;
      while (q < e && b[q] !== 0x22) q++;
      return printable(b, v, q, max);
    }
    let t = v;
    while (t < e && b[t] !== 0x2c && b[t] !== 0x3b && b[t] !== 0x20) t++;
    return printable(b, v, t, max);
  }
  return undefined;
}

/** File name and magic of the first part of a multipart body, from its first bytes. */
function firstPart(
  b: Uint8Array,
  len: number,
  max: number,
): { filename: string | undefined; magic: BodyMagic | undefined } {
  // The part's headers end at the first empty line after the boundary line.
  let end = -1;
  for (let i = 0; i + 3 < len; i++) {
    if (b[i] === 0x0d && b[i + 1] === 0x0a && b[i + 2] === 0x0d && b[i + 3] === 0x0a) {
      end = i;
      break;
    }
  }
  const headersEnd = end < 0 ? len : end;
  let filename: string | undefined;
  for (let i = 0; i < headersEnd; i++) {
    if (b[i] === 0x0a) {
      const lineEnd = indexOfByte(b, 0x0d, i + 1, headersEnd);
      if (startsWithLower(b, i + 1, lineEnd, "content-disposition:")) {
        filename = parameter(b, i + 21, lineEnd, "filename=", max);
        break;
      }
    }
  }
  const magic = end < 0 ? undefined : bodyMagic(b, end + 4, len - (end + 4));
  return { filename, magic };
}

function indexOfByte(b: Uint8Array, byte: number, from: number, end: number): number {
  for (let i = from; i < end; i++) if (b[i] === byte) return i;
  return end;
}
