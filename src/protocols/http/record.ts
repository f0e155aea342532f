/**
 * The HTTP/1.x (and RTSP, which shares the grammar) transaction record: one request and
 * the response paired with it, as seen on one TCP connection. Zeek's http.log is the
 * model: fields are facts read from the wire, absent when the message did not carry them.
 *
 * Strings are copies (never views of the packet buffer); bytes outside printable ASCII are
 * written as `\xNN` so a hostile header cannot inject control characters into logs; long
 * values are cut to the configured bound (see HttpOptions).
 */

/** Anomalies the HTTP/RTSP parser can report, one counter each. */
export const HTTP_ANOMALIES = [
  /** A header block (or one line in it) went past maxHeaderBytes without ending: that direction stops. */
  "http_header_too_long",
  /** More than maxHeaders header lines in one message: that direction stops. */
  "http_too_many_headers",
  /** The first line of a request is not `METHOD target HTTP/1.x|RTSP/1.0`: that direction stops. */
  "http_bad_request_line",
  /** The first line of a response is not `HTTP/1.x|RTSP/1.0 NNN reason`: that direction stops. */
  "http_bad_status_line",
  /** A header line without a colon, or with a name that is not a token: the line is ignored. */
  "http_bad_header_line",
  /** Content-Length is not a decimal number below 2^53: the body cannot be framed, that direction stops. */
  "http_content_length_invalid",
  /** Several Content-Length values that differ (a request smuggling trick): that direction stops. */
  "http_content_length_conflict",
  /** Both Transfer-Encoding and Content-Length: Transfer-Encoding wins, as RFC 9112 says, but it is a smuggling sign. */
  "http_te_and_content_length",
  /** A request whose Transfer-Encoding does not end in "chunked": its length is unknowable, that direction stops. */
  "http_transfer_encoding_invalid",
  /** A chunk-size line that is not hex (or too long, or too large): that direction stops. */
  "http_chunk_size_invalid",
  /** Chunk data not followed by CRLF: that direction stops. */
  "http_chunk_missing_crlf",
  /** More requests waiting for their responses than maxPendingRequests: pairing stops, requests are reported unanswered. */
  "http_pending_overflow",
  /** A response with no request waiting for it (capture started mid-connection, or the request direction stopped). */
  "http_response_without_request",
  /** The TCP stream had a hole (the lead's reassembly gave up): that direction stops. */
  "http_stream_gap",
  /** The connection reached maxTransactions: parsing stops for the rest of it. */
  "http_transaction_limit",
] as const;

export type HttpAnomaly = (typeof HTTP_ANOMALIES)[number];

/** Which grammar the connection speaks: decided by the version in its first start line. */
export type HttpProtocol = "http" | "rtsp";

/** Names of firmware and archive formats recognised from the first bytes of a body. */
export const BODY_MAGICS = [
  "hikvision-digicap",
  "dahua-firmware-zip",
  "zip",
  "gzip",
  "uimage",
  "squashfs",
  "elf",
] as const;
export type BodyMagic = (typeof BODY_MAGICS)[number];

/** One request, as sent by the connection's initiator. */
export interface HttpRequest {
  /** Request method as sent (case kept): GET, PUT, DESCRIBE, GET_PARAMETER... */
  method: string;
  /** Request target as sent: a path with query (`/ISAPI/System/updateFirmware`), or an absolute URI (RTSP, proxies). */
  uri: string;
  /** Protocol version from the request line: "HTTP/1.1", "HTTP/1.0", "RTSP/1.0". */
  version: string;
  /** Host header (HTTP), absent when the request had none. */
  host?: string;
  /** User-Agent header. */
  user_agent?: string;
  /** Content-Type header, as sent (parameters included). */
  content_type?: string;
  /** Content-Length header value, when present and valid. */
  content_length?: number;
  /** The body was sent with Transfer-Encoding: chunked. */
  chunked: boolean;
  /** Scheme of the Authorization header ("Basic", "Digest"...): never the credentials. */
  authorization_scheme?: string;
  /** RTSP CSeq header. */
  cseq?: number;
  /** First up to 16 bytes of the body (de-chunked), lowercase hex; absent when there is no body. */
  body_prefix?: string;
  /** Firmware or archive format recognised from the body's first bytes (or, for a multipart upload, from its first part's). */
  body_magic?: BodyMagic;
  /** File name of the first part of a multipart upload (`filename="digicap.dav"`). */
  filename?: string;
}

/** One response, as sent by the connection's responder. */
export interface HttpResponse {
  /** Protocol version from the status line: "HTTP/1.1", "RTSP/1.0"... */
  version: string;
  /** Status code (100-999). */
  status_code: number;
  /** Reason phrase, possibly empty. */
  reason: string;
  /** Content-Type header. */
  content_type?: string;
  /** Content-Length header value, when present and valid. */
  content_length?: number;
  /** The body was sent with Transfer-Encoding: chunked. */
  chunked: boolean;
  /** Server header: names camera web servers (`App-webs/`, `Hikvision-Webs`, `Dahua Rtsp Server`). */
  server?: string;
  /** realm="..." of the first WWW-Authenticate header that has one (RTSP cameras say realm="Hikvision"). */
  www_authenticate_realm?: string;
  /** Location header (redirects). */
  location?: string;
  /** RTSP CSeq header. */
  cseq?: number;
  /** First up to 16 bytes of the body (de-chunked), lowercase hex. */
  body_prefix?: string;
  /** Firmware or archive format recognised from the body's first bytes. */
  body_magic?: BodyMagic;
  /** filename from a Content-Disposition header (downloads). */
  filename?: string;
}

/** A request and its response (FIFO pairing, so pipelining works), as emitted by HttpConnection. */
export interface HttpTransaction {
  /** Packet time of the request's first byte (of the response's, when there is no request). */
  ts_sec: number;
  ts_nsec: number;
  /** The flow id the caller gave the connection. */
  flow_id: number;
  /** 1 for the connection's first transaction, 2 for the next... (Zeek's trans_depth). */
  depth: number;
  protocol: HttpProtocol;
  /**
   * The request; undefined only for a response that had no request waiting for it
   * (anomaly http_response_without_request).
   */
  request: HttpRequest | undefined;
  /** The response; undefined when none came before the connection ended (or parsing stopped). */
  response: HttpResponse | undefined;
  /** Request body bytes seen (de-chunked); may fall short of content_length when the connection ended early. */
  request_body_bytes: number;
  /** Response body bytes seen (de-chunked); for a body delimited by the connection's close, all bytes until then. */
  response_body_bytes: number;
  /** A message ended before its body was complete (connection closed, gap, or parsing stopped). */
  incomplete: boolean;
  /** Anomalies seen while parsing this transaction's messages (usually empty). */
  anomalies: HttpAnomaly[];
}
