/**
 * Handshake messages (type(1) length(3) body) of one direction, from the concatenated
 * contents of its handshake records: a message may span several records, and a record
 * may hold several messages. Only ClientHello (1), ServerHello (2) and Certificate (11)
 * are decoded; the rest are counted by type.
 */

import { TlsAnomalyList } from "./anomalies.js";
import { type CertificateList, parseCertificateList } from "./certificate.js";
import { parseClientHello, parseServerHello } from "./hello.js";
import type { TlsCertificateInfo, TlsClientHello, TlsServerHello } from "./record.js";

export const HandshakeType = {
  CLIENT_HELLO: 1,
  SERVER_HELLO: 2,
  CERTIFICATE: 11,
  SERVER_KEY_EXCHANGE: 12,
  SERVER_HELLO_DONE: 14,
} as const;

/** Record content types (RFC 8446 5.1). */
export const ContentType = {
  CHANGE_CIPHER_SPEC: 20,
  ALERT: 21,
  HANDSHAKE: 22,
  APPLICATION_DATA: 23,
} as const;

export interface TlsHandshakeOptions {
  /** Certificates described per Certificate message, leaf first (default 4). The rest are only counted. */
  maxCertificates?: number;
}

const DEFAULT_MAX_CERTIFICATES = 4;
/** Message types remembered per direction, for the record and for tests. */
const MAX_MESSAGE_TYPES = 32;

/** The server chose TLS 1.3 (or one of its drafts): everything after its ServerHello is encrypted. */
export function isTls13(sh: TlsServerHello): boolean {
  const v = sh.selected_version;
  return v !== undefined && (v === 0x0304 || v >> 8 === 0x7f);
}

/**
 * What the handshake messages of one direction said so far. Decides when nothing more
 * of interest can come in cleartext (`complete`).
 */
export class TlsHandshakeDecoder {
  clientHello: TlsClientHello | undefined;
  /** The ServerHello; a HelloRetryRequest until the real one follows it. */
  serverHello: TlsServerHello | undefined;
  helloRetryRequest = false;
  certificates: CertificateList | undefined;
  serverHelloDone = false;
  /** Types of the messages seen, in order (at most 32). */
  readonly messageTypes: number[] = [];
  readonly anomalies: TlsAnomalyList;
  private readonly maxCertificates: number;

  constructor(options: TlsHandshakeOptions = {}, anomalies = new TlsAnomalyList()) {
    this.maxCertificates = Math.max(0, options.maxCertificates ?? DEFAULT_MAX_CERTIFICATES);
    this.anomalies = anomalies;
  }

  /**
   * The cleartext part this direction can show is over: a client after its first
   * ClientHello; a server after a TLS 1.3 ServerHello (the rest is encrypted), its
   * Certificate, or ServerHelloDone (no certificate: anonymous or PSK suites).
   */
  get complete(): boolean {
    if (this.clientHello !== undefined) return true;
    const sh = this.serverHello;
    if (sh === undefined || sh.hello_retry_request) return false;
    if (isTls13(sh)) return true;
    return this.certificates !== undefined || this.serverHelloDone;
  }

  /** True once a ServerHello (or HRR) was seen: the direction is a server's. */
  get isServer(): boolean {
    return this.serverHello !== undefined;
  }

  /** Handles one complete message body buf[off, off + len). */
  message(type: number, buf: Uint8Array, off: number, len: number, recordVersion: number): void {
    if (this.messageTypes.length < MAX_MESSAGE_TYPES) this.messageTypes.push(type);
    switch (type) {
      case HandshakeType.CLIENT_HELLO: {
        if (this.serverHello !== undefined || this.clientHello !== undefined) {
          // A second ClientHello after a HelloRetryRequest is normal, but the first one
          // is what fingerprints describe; a ClientHello from a server is not.
          if (this.serverHello !== undefined) this.anomalies.add("tls_handshake_unexpected");
          return;
        }
        this.clientHello = parseClientHello(buf, off, len, recordVersion, this.anomalies);
        return;
      }
      case HandshakeType.SERVER_HELLO: {
        if (this.clientHello !== undefined) {
          this.anomalies.add("tls_handshake_unexpected");
          return;
        }
        if (this.serverHello !== undefined && !this.serverHello.hello_retry_request) {
          this.anomalies.add("tls_handshake_unexpected");
          return;
        }
        const sh = parseServerHello(buf, off, len, recordVersion, this.anomalies);
        if (sh === undefined) return;
        if (sh.hello_retry_request) this.helloRetryRequest = true;
        this.serverHello = sh;
        return;
      }
      case HandshakeType.CERTIFICATE: {
        if (this.serverHello === undefined || this.certificates !== undefined) {
          this.anomalies.add("tls_handshake_unexpected");
          return;
        }
        this.certificates = parseCertificateList(
          buf,
          off,
          len,
          true,
          this.maxCertificates,
          this.anomalies,
        );
        return;
      }
      case HandshakeType.SERVER_HELLO_DONE:
        this.serverHelloDone = true;
        return;
    }
  }

  /**
   * The input ended inside a Certificate message (`avail` of its body bytes arrived):
   * describe the certificates that did arrive whole.
   */
  partialCertificate(buf: Uint8Array, off: number, avail: number): void {
    if (this.serverHello === undefined || this.certificates !== undefined) return;
    this.certificates = parseCertificateList(
      buf,
      off,
      avail,
      false,
      this.maxCertificates,
      this.anomalies,
    );
  }
}

/** Where draining stopped: `next` is the first byte of an incomplete message. */
export interface DrainResult {
  next: number;
  /** The incomplete message at `next` declares a length above `maxMessageLength`. */
  tooLong: boolean;
}

/**
 * Feeds every complete message in buf[start, end) to the decoder, stopping early once
 * the decoder is complete. `maxMessageLength` bounds what the caller is prepared to wait for.
 */
export function drainMessages(
  decoder: TlsHandshakeDecoder,
  buf: Uint8Array,
  start: number,
  end: number,
  recordVersion: number,
  maxMessageLength: number,
): DrainResult {
  let i = start;
  while (end - i >= 4 && !decoder.complete) {
    const type = buf[i]!;
    const len = (buf[i + 1]! << 16) | (buf[i + 2]! << 8) | buf[i + 3]!;
    if (len > maxMessageLength) return { next: i, tooLong: true };
    if (end - i - 4 < len) break;
    decoder.message(type, buf, i + 4, len, recordVersion);
    i += 4 + len;
  }
  return { next: i, tooLong: false };
}

/**
 * If an incomplete message at buf[at, end) is a Certificate, describes the certificates
 * in what arrived of it. Called when no more bytes will come.
 */
export function salvageCertificate(
  decoder: TlsHandshakeDecoder,
  buf: Uint8Array,
  at: number,
  end: number,
): void {
  if (end - at >= 4 && buf[at] === HandshakeType.CERTIFICATE) {
    const len = (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!;
    decoder.partialCertificate(buf, at + 4, Math.min(len, end - at - 4));
  }
}

/** One direction's handshake, decoded from complete input (a test, a file, a datagram). */
export interface TlsHandshakeResult {
  client_hello?: TlsClientHello;
  server_hello?: TlsServerHello;
  hello_retry_request: boolean;
  /** Certificates of the Certificate message, leaf first (empty when none was seen). */
  certificates: TlsCertificateInfo[];
  /** Entries in the Certificate message, when there was one. */
  certificate_count?: number;
  /** Types of the handshake messages seen, in order. */
  message_types: number[];
  anomalies: string[];
}

function result(decoder: TlsHandshakeDecoder): TlsHandshakeResult {
  const r: TlsHandshakeResult = {
    hello_retry_request: decoder.helloRetryRequest,
    certificates: decoder.certificates?.certificates ?? [],
    message_types: [...decoder.messageTypes],
    anomalies: [...decoder.anomalies.names],
  };
  if (decoder.clientHello !== undefined) r.client_hello = decoder.clientHello;
  if (decoder.serverHello !== undefined) r.server_hello = decoder.serverHello;
  if (decoder.certificates !== undefined) r.certificate_count = decoder.certificates.count;
  return r;
}

/**
 * Decodes handshake messages from buf[off, off + len): the contents of one direction's
 * handshake records, concatenated (record headers removed). `recordVersion` is what the
 * first record header said (reported in the hellos).
 */
export function parseHandshakeMessages(
  buf: Uint8Array,
  off: number,
  len: number,
  recordVersion = 0,
  options: TlsHandshakeOptions = {},
): TlsHandshakeResult {
  const decoder = new TlsHandshakeDecoder(options);
  const end = off + len;
  const { next } = drainMessages(decoder, buf, off, end, recordVersion, len);
  if (!decoder.complete && end - next >= 1) {
    decoder.anomalies.add("tls_handshake_truncated");
    salvageCertificate(decoder, buf, next, end);
  }
  return result(decoder);
}

/**
 * Decodes one direction's handshake from buf[off, off + len) holding whole TLS records
 * (5-byte headers included), as a TCP payload or a reassembled stream prefix does. Stops
 * at the first ChangeCipherSpec or application data record: what follows is encrypted.
 */
export function parseHandshakeRecords(
  buf: Uint8Array,
  off: number,
  len: number,
  options: TlsHandshakeOptions = {},
): TlsHandshakeResult {
  const anomalies = new TlsAnomalyList();
  const payload = new Uint8Array(len);
  let used = 0;
  let recordVersion = 0;
  const end = off + len;
  let i = off;
  while (end - i >= 5) {
    const type = buf[i]!;
    const version = (buf[i + 1]! << 8) | buf[i + 2]!;
    const n = (buf[i + 3]! << 8) | buf[i + 4]!;
    if (buf[i + 1] !== 3) {
      anomalies.add("tls_record_version_invalid");
      break;
    }
    if (type !== ContentType.HANDSHAKE) {
      if (type < ContentType.CHANGE_CIPHER_SPEC || type > ContentType.APPLICATION_DATA) {
        anomalies.add("tls_unexpected_content_type");
      }
      break;
    }
    if (recordVersion === 0) recordVersion = version;
    if (n === 0) anomalies.add("tls_record_length_invalid");
    const take = Math.min(n, end - i - 5);
    if (take < n) anomalies.add("tls_handshake_truncated");
    payload.set(buf.subarray(i + 5, i + 5 + take), used);
    used += take;
    i += 5 + n;
  }
  const decoder = new TlsHandshakeDecoder(options, anomalies);
  const { next } = drainMessages(decoder, payload, 0, used, recordVersion, used);
  if (!decoder.complete && used - next >= 1) {
    anomalies.add("tls_handshake_truncated");
    salvageCertificate(decoder, payload, next, used);
  }
  return result(decoder);
}
