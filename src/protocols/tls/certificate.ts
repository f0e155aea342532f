/**
 * The TLS 1.2 (and earlier) Certificate message and the X.509 fields egressd keeps from
 * each certificate. DER parsing is OpenSSL's (node:crypto X509Certificate): robust,
 * and done at most a few times per connection.
 */

import { createHash, X509Certificate } from "node:crypto";
import type { TlsAnomalyList } from "./anomalies.js";
import type { TlsCertificateInfo } from "./record.js";

const MAX_SAN_ENTRIES = 64;

function u24(buf: Uint8Array, i: number): number {
  return (buf[i]! << 16) | (buf[i + 1]! << 8) | buf[i + 2]!;
}

/**
 * Length of the outer DER SEQUENCE at buf[off, off + len), header included, or -1 when
 * the bytes do not start with one. Keeps PEM text or arbitrary bytes away from the X.509
 * parser, which would accept PEM.
 */
function derSequenceLength(buf: Uint8Array, off: number, len: number): number {
  if (len < 2 || buf[off] !== 0x30) return -1;
  const first = buf[off + 1]!;
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 4 || len < 2 + n) return -1;
  let body = 0;
  for (let i = 0; i < n; i++) body = body * 256 + buf[off + 2 + i]!;
  return 2 + n + body;
}

/** OpenSSL's multi-line DN (most significant RDN first) to RFC 4514 order: "CN=x,O=y,C=z". */
function rfc4514(multiline: string): string {
  return multiline.split("\n").reverse().join(",");
}

/** Value of the last CN= line of an OpenSSL multi-line DN, RFC 4514 punctuation escapes removed. */
function commonName(multiline: string): string | undefined {
  const lines = multiline.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (line.startsWith("CN=")) {
      let out = "";
      const v = line.slice(3);
      for (let j = 0; j < v.length; j++) {
        const ch = v[j]!;
        const next = v[j + 1];
        if (ch === "\\" && next !== undefined && ',+"<>;=#'.includes(next)) {
          out += next;
          j++;
        } else out += ch;
      }
      return out;
    }
  }
  return undefined;
}

/** IPv6 as OpenSSL prints it ("2001:DB8:0:0:0:0:0:1") to the compressed lower-case form. */
function compressIpv6(text: string): string {
  const groups = text.toLowerCase().split(":");
  if (groups.length !== 8) return text.toLowerCase();
  const parts = groups.map((g) => {
    const n = Number.parseInt(g, 16);
    return Number.isNaN(n) ? g : n.toString(16);
  });
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (parts[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === "0") j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return parts.join(":");
  const head = parts.slice(0, bestStart).join(":");
  const tail = parts.slice(bestStart + bestLen).join(":");
  return `${head}::${tail}`;
}

/**
 * Splits node's subjectAltName text ("DNS:a, DNS:b, IP Address:192.0.2.1"). Node quotes
 * a value holding a comma or quote as a JSON string, so a hostile name cannot smuggle in
 * an extra entry.
 */
function parseSubjectAltName(text: string, dns: string[], ips: string[]): void {
  let i = 0;
  while (i < text.length && dns.length + ips.length < 2 * MAX_SAN_ENTRIES) {
    const colon = text.indexOf(":", i);
    if (colon < 0) return;
    const kind = text.slice(i, colon);
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      let j = colon + 2;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      try {
        value = JSON.parse(text.slice(colon + 1, j + 1)) as string;
      } catch {
        return;
      }
      next = text.indexOf(", ", j + 1);
    } else {
      next = text.indexOf(", ", colon + 1);
      value = text.slice(colon + 1, next < 0 ? text.length : next);
    }
    if (kind === "DNS" && dns.length < MAX_SAN_ENTRIES) dns.push(value);
    else if (kind === "IP Address" && ips.length < MAX_SAN_ENTRIES) {
      ips.push(value.includes(":") ? compressIpv6(value) : value);
    }
    if (next < 0) return;
    i = next + 2;
  }
}

function isoDate(text: string): string | undefined {
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/**
 * Certificates already described, by SHA-256 of their DER. Devices reconnect to the same
 * few servers all day, and parsing plus verifying a certificate costs ~70 µs (most of a
 * TLS 1.2 handshake's cost) against ~2 µs for the hash. Bounded, oldest out first.
 */
const CERTIFICATE_CACHE_SIZE = 1024;
const certificateCache = new Map<string, { info: TlsCertificateInfo; unparsable: boolean }>();
export const certificateCacheStats = { hits: 0, evictions: 0 };

/** Describes one DER certificate. Unparsable bytes give a record with only the hash and length. */
export function describeCertificate(
  buf: Uint8Array,
  off: number,
  len: number,
  anomalies: TlsAnomalyList,
): TlsCertificateInfo {
  const sha256 = createHash("sha256")
    .update(buf.subarray(off, off + len))
    .digest("hex")
    .toUpperCase();
  const cached = certificateCache.get(sha256);
  if (cached !== undefined) {
    certificateCacheStats.hits++;
    if (cached.unparsable) anomalies.add("tls_certificate_unparsable");
    return { ...cached.info, san_dns: [...cached.info.san_dns], san_ip: [...cached.info.san_ip] };
  }
  const before = anomalies.has("tls_certificate_unparsable");
  const info = describeUncached(buf, off, len, sha256, anomalies);
  if (certificateCache.size >= CERTIFICATE_CACHE_SIZE) {
    certificateCache.delete(certificateCache.keys().next().value as string);
    certificateCacheStats.evictions++;
  }
  const unparsable = !before && anomalies.has("tls_certificate_unparsable");
  certificateCache.set(sha256, { info, unparsable });
  return { ...info, san_dns: [...info.san_dns], san_ip: [...info.san_ip] };
}

function describeUncached(
  buf: Uint8Array,
  off: number,
  len: number,
  sha256: string,
  anomalies: TlsAnomalyList,
): TlsCertificateInfo {
  const der = Buffer.from(buf.subarray(off, off + len));
  const info: TlsCertificateInfo = {
    san_dns: [],
    san_ip: [],
    self_signed: false,
    sha256,
    der_length: len,
  };
  if (derSequenceLength(der, 0, len) !== len) {
    anomalies.add("tls_certificate_unparsable");
    return info;
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    anomalies.add("tls_certificate_unparsable");
    return info;
  }
  try {
    info.subject = rfc4514(cert.subject);
    info.issuer = rfc4514(cert.issuer);
    const scn = commonName(cert.subject);
    if (scn !== undefined) info.subject_cn = scn;
    const icn = commonName(cert.issuer);
    if (icn !== undefined) info.issuer_cn = icn;
    if (cert.subjectAltName !== undefined) {
      parseSubjectAltName(cert.subjectAltName, info.san_dns, info.san_ip);
    }
    const nb = isoDate(cert.validFrom);
    if (nb !== undefined) info.not_before = nb;
    const na = isoDate(cert.validTo);
    if (na !== undefined) info.not_after = na;
    info.serial = cert.serialNumber.toUpperCase();
    info.is_ca = cert.ca;
  } catch {
    anomalies.add("tls_certificate_unparsable");
    return info;
  }
  let selfSigned = info.subject === info.issuer;
  try {
    const key = cert.publicKey;
    if (key.asymmetricKeyType !== undefined) info.key_type = key.asymmetricKeyType;
    const details = key.asymmetricKeyDetails;
    if (details?.modulusLength !== undefined) info.key_bits = details.modulusLength;
    if (details?.namedCurve !== undefined) info.key_curve = details.namedCurve;
    if (selfSigned) selfSigned = cert.verify(key);
  } catch {
    // A key type OpenSSL cannot load or verify with: the names alone decide.
  }
  info.self_signed = selfSigned;
  return info;
}

/** Result of reading a Certificate message body. */
export interface CertificateList {
  /** Certificates described, leaf first, at most the limit asked for. */
  certificates: TlsCertificateInfo[];
  /** Complete certificate entries found (may exceed `certificates.length`). */
  count: number;
}

/**
 * Reads a TLS 1.2 Certificate body: a 3-byte list length, then entries of a 3-byte
 * length and DER. `len` is what is available; `complete` says whether that is the whole
 * message (false when the reassembly window or the stream ended inside it: the entries
 * that did arrive are still described).
 */
export function parseCertificateList(
  buf: Uint8Array,
  off: number,
  len: number,
  complete: boolean,
  maxCertificates: number,
  anomalies: TlsAnomalyList,
): CertificateList {
  const out: CertificateList = { certificates: [], count: 0 };
  if (len < 3) {
    anomalies.add(complete ? "tls_certificate_list_malformed" : "tls_certificate_truncated");
    return out;
  }
  const listLen = u24(buf, off);
  let end = off + 3 + listLen;
  if (complete && end !== off + len) anomalies.add("tls_certificate_list_malformed");
  if (end > off + len) end = off + len;
  let i = off + 3;
  while (i < end) {
    if (end - i < 3) {
      anomalies.add(complete ? "tls_certificate_list_malformed" : "tls_certificate_truncated");
      break;
    }
    const n = u24(buf, i);
    i += 3;
    if (n === 0 || i + n > end) {
      const truncated = !complete && i + n > end && end === off + len;
      anomalies.add(truncated ? "tls_certificate_truncated" : "tls_certificate_list_malformed");
      break;
    }
    if (out.certificates.length < maxCertificates) {
      out.certificates.push(describeCertificate(buf, i, n, anomalies));
    }
    out.count++;
    i += n;
  }
  if (!complete) anomalies.add("tls_certificate_truncated");
  return out;
}
