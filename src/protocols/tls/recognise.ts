/**
 * Is this the first payload of a TLS connection? Cheap checks on the first bytes, for
 * deciding which parser a new flow gets (TLS runs on any port: 443, 8443, 7663, 6500...).
 */

/** Largest record TLS allows: 2^14 plaintext + 2048 expansion (RFC 5246 6.2.3). */
export const MAX_RECORD_LENGTH = 16384 + 2048;

export interface LooksLikeTlsOptions {
  /** Also accept an SSLv2-compatible ClientHello (old clients; off by default). */
  sslv2?: boolean;
}

/**
 * True when buf[off, off + len) starts like a TLS handshake record: content type 22,
 * version 3.0 to 3.4, a length from 4 to 2^14 + 2048 and, when that byte arrived, a
 * ClientHello (1) or ServerHello (2) as first message. Fewer than 3 bytes are not
 * enough evidence: false.
 */
export function looksLikeTls(
  buf: Uint8Array,
  off: number,
  len: number,
  options: LooksLikeTlsOptions = {},
): boolean {
  if (len < 3) return false;
  if (options.sslv2 === true && looksLikeSslv2Hello(buf, off, len)) return true;
  if (buf[off] !== 0x16 || buf[off + 1] !== 0x03 || buf[off + 2]! > 0x04) return false;
  if (len >= 5) {
    const n = (buf[off + 3]! << 8) | buf[off + 4]!;
    if (n < 4 || n > MAX_RECORD_LENGTH) return false;
  }
  if (len >= 6) {
    const t = buf[off + 5]!;
    if (t !== 1 && t !== 2) return false;
  }
  return true;
}

/**
 * An SSLv2-compatible ClientHello (RFC 5246 appendix E.2): a 2-byte header with the
 * high bit set, message type 1, version SSL 2.0 or 3.x, and a length that can hold the
 * fixed fields.
 */
export function looksLikeSslv2Hello(buf: Uint8Array, off: number, len: number): boolean {
  if (len < 5) return false;
  const b0 = buf[off]!;
  if ((b0 & 0x80) === 0 || buf[off + 2] !== 0x01) return false;
  const n = ((b0 & 0x7f) << 8) | buf[off + 1]!;
  const major = buf[off + 3]!;
  const minor = buf[off + 4]!;
  const versionOk = (major === 0x00 && minor === 0x02) || (major === 0x03 && minor <= 0x04);
  return versionOk && n >= 9;
}
