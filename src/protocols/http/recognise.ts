/**
 * Is this the start of an HTTP/1.x or RTSP stream? Decided from a flow's first payload
 * bytes, whatever the port: cameras serve HTTP on 80, 8000, 8080, 49152... and RTSP on 554
 * or anywhere. Byte loops only, bounded by RECOGNISE_SCAN_BYTES.
 */

import type { HttpProtocol } from "./record.js";

/** At most this many bytes of the first line are looked at. */
export const RECOGNISE_SCAN_BYTES = 4096;

const HTTP_ONLY = new Set(["GET", "POST", "PUT", "HEAD", "DELETE", "PATCH", "CONNECT", "TRACE"]);
const RTSP_ONLY = new Set([
  "DESCRIBE",
  "SETUP",
  "PLAY",
  "PAUSE",
  "TEARDOWN",
  "ANNOUNCE",
  "RECORD",
  "GET_PARAMETER",
  "SET_PARAMETER",
  "REDIRECT",
]);
/** Longest method name above ("GET_PARAMETER"). */
const MAX_METHOD = 13;

/**
 * "http" or "rtsp" when `buf[off, off + len)` starts like a request: a known method, a
 * space, a printable target, and (once the first line is complete) a space and
 * HTTP/1.x or RTSP/1.0. On an incomplete first line the method (and for OPTIONS, an
 * rtsp:// target) decides.
 */
export function looksLikeHttpRequest(
  buf: Uint8Array,
  off: number,
  len: number,
): HttpProtocol | null {
  const end = off + Math.min(len, RECOGNISE_SCAN_BYTES);
  let i = off;
  while (i < end && i - off <= MAX_METHOD) {
    const c = buf[i]!;
    if ((c >= 0x41 && c <= 0x5a) || c === 0x5f) i++;
    else break;
  }
  if (i === off || i >= end || buf[i] !== 0x20) return null;
  const method = String.fromCharCode(...buf.subarray(off, i));
  const rtspOnly = RTSP_ONLY.has(method);
  if (!rtspOnly && !HTTP_ONLY.has(method) && method !== "OPTIONS") return null;

  const targetStart = ++i;
  while (i < end && buf[i]! > 0x20 && buf[i]! < 0x7f) i++;
  if (i === targetStart) return i < end ? null : guess(method, buf, targetStart, i);
  if (i >= end) return guess(method, buf, targetStart, i);
  if (buf[i] !== 0x20) return null; // a control byte or non-ASCII inside the target
  i++;
  const version = versionAt(buf, i, end);
  if (version === "incomplete") return guess(method, buf, targetStart, i - 1);
  if (version === null) return null;
  // The method must belong to the protocol the version names (OPTIONS belongs to both).
  if (version === "rtsp" && HTTP_ONLY.has(method)) return null;
  if (version === "http" && rtspOnly) return null;
  return version;
}

/** "http" or "rtsp" when the bytes start like a status line: `HTTP/1.x NNN` or `RTSP/1.0 NNN`. */
export function looksLikeHttpResponse(
  buf: Uint8Array,
  off: number,
  len: number,
): HttpProtocol | null {
  const end = off + Math.min(len, RECOGNISE_SCAN_BYTES);
  const version = versionAt(buf, off, end);
  if (version === null || version === "incomplete") {
    // A first segment shorter than a status line still counts when what is there matches.
    return version === "incomplete" && len >= 5 ? prefixProtocol(buf, off, end) : null;
  }
  let i = off + 8;
  if (i >= end) return version;
  if (buf[i] !== 0x20) return null;
  i++;
  for (let n = 0; n < 3; n++, i++) {
    if (i >= end) return version;
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) return null;
  }
  if (i < end && buf[i] !== 0x20 && buf[i] !== 0x0d && buf[i] !== 0x0a) return null;
  return version;
}

/** Version at `i`: "HTTP/1.<digit>" or "RTSP/1.0", null if not, "incomplete" if cut short. */
function versionAt(buf: Uint8Array, i: number, end: number): HttpProtocol | null | "incomplete" {
  const have = end - i;
  const n = Math.min(have, 8);
  const isHttp = matches(buf, i, n, "HTTP/1.");
  const isRtsp = matches(buf, i, n, "RTSP/1.0");
  if (!isHttp && !isRtsp) return null;
  if (have < 8) return "incomplete";
  if (isHttp) {
    const d = buf[i + 7]!;
    return d >= 0x30 && d <= 0x39 ? "http" : null;
  }
  return "rtsp";
}

function prefixProtocol(buf: Uint8Array, i: number, end: number): HttpProtocol | null {
  const n = end - i;
  if (matches(buf, i, n, "HTTP/1.")) return "http";
  if (matches(buf, i, n, "RTSP/1.0")) return "rtsp";
  return null;
}

/** The first min(n, text.length) bytes at `i` equal text's. */
function matches(buf: Uint8Array, i: number, n: number, text: string): boolean {
  const m = Math.min(n, text.length);
  for (let k = 0; k < m; k++) if (buf[i + k] !== text.charCodeAt(k)) return false;
  return true;
}

function guess(
  method: string,
  buf: Uint8Array,
  targetStart: number,
  targetEnd: number,
): HttpProtocol {
  if (RTSP_ONLY.has(method)) return "rtsp";
  if (method === "OPTIONS") {
    const n = targetEnd - targetStart;
    if (n >= 5 && matches(buf, targetStart, n, "rtsp:")) return "rtsp";
    if (n >= 6 && matches(buf, targetStart, n, "rtsps:")) return "rtsp";
  }
  return "http";
}
