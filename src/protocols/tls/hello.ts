/**
 * ClientHello and ServerHello bodies (after the 4-byte handshake header). Structural
 * errors in the fixed part (version, random, session id, cipher list) make the hello
 * unusable: the parser returns undefined and names the anomaly. Errors inside the
 * extensions keep what was read before them, since the fingerprints of a slightly broken
 * hello still identify the software that sent it.
 */

import { u16be as u16 } from "../../util/bytes.js";
import type { TlsAnomalyList } from "./anomalies.js";
import {
  highestOfferedVersion,
  ja3String,
  ja3sString,
  ja4Fingerprint,
  md5Hex,
} from "./fingerprint.js";
import { cipherSuiteName, isGrease, tlsVersionName } from "./names.js";
import type { TlsClientHello, TlsServerHello } from "./record.js";

const EXT_SERVER_NAME = 0;
const EXT_SUPPORTED_GROUPS = 10;
const EXT_EC_POINT_FORMATS = 11;
const EXT_SIGNATURE_ALGORITHMS = 13;
const EXT_ALPN = 16;
const EXT_SUPPORTED_VERSIONS = 43;

/** Keep at most this many ALPN names and list entries: real clients send a handful. */
const MAX_ALPN = 16;
const MAX_NAME_BYTES = 255;

/** SHA-256("HelloRetryRequest"): the random of a HelloRetryRequest (RFC 8446 4.1.3). */
const HRR_RANDOM = Buffer.from(
  "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c",
  "hex",
);

function equalsAt(buf: Uint8Array, off: number, expected: Uint8Array): boolean {
  for (let i = 0; i < expected.length; i++) if (buf[off + i] !== expected[i]) return false;
  return true;
}

/**
 * Bytes as text for a log: printable ASCII as is, anything else as \xHH (and the
 * backslash itself escaped) so that a hostile name cannot forge log structure.
 * Returns the text and whether anything had to be escaped.
 */
export function printable(
  buf: Uint8Array,
  off: number,
  len: number,
): { text: string; clean: boolean } {
  let text = "";
  let clean = true;
  for (let i = off; i < off + len; i++) {
    const b = buf[i]!;
    if (b > 0x20 && b < 0x7f && b !== 0x5c) text += String.fromCharCode(b);
    else {
      clean = false;
      text += `\\x${b.toString(16).padStart(2, "0")}`;
    }
  }
  return { text, clean };
}

/** A list of 16-bit values with a `lenBytes`-byte length prefix, occupying exactly [off, end). */
function u16List(buf: Uint8Array, off: number, end: number, lenBytes: 1 | 2): number[] | undefined {
  if (end - off < lenBytes) return undefined;
  const n = lenBytes === 2 ? u16(buf, off) : buf[off]!;
  const start = off + lenBytes;
  if (n % 2 !== 0 || start + n !== end) return undefined;
  const out: number[] = [];
  for (let i = start; i < end; i += 2) out.push(u16(buf, i));
  return out;
}

interface ClientExtensions {
  types: number[];
  serverName: string | undefined;
  hasSni: boolean;
  alpn: string[];
  firstAlpn: Uint8Array | undefined;
  supportedVersions: number[];
  groups: number[];
  pointFormats: number[];
  sigAlgs: number[];
}

function parseSni(
  buf: Uint8Array,
  off: number,
  end: number,
  ext: ClientExtensions,
  anomalies: TlsAnomalyList,
): void {
  // An empty extension body is legal only in a ServerHello; in a ClientHello it has no name.
  if (end - off < 2 || off + 2 + u16(buf, off) !== end) {
    anomalies.add("tls_sni_malformed");
    return;
  }
  let i = off + 2;
  while (i < end) {
    if (end - i < 3) {
      anomalies.add("tls_sni_malformed");
      return;
    }
    const type = buf[i]!;
    const n = u16(buf, i + 1);
    i += 3;
    if (i + n > end) {
      anomalies.add("tls_sni_malformed");
      return;
    }
    if (type === 0 && ext.serverName === undefined) {
      if (n === 0) anomalies.add("tls_sni_empty");
      else {
        const p = printable(buf, i, Math.min(n, MAX_NAME_BYTES));
        if (!p.clean || n > MAX_NAME_BYTES) anomalies.add("tls_sni_invalid");
        ext.serverName = p.text;
      }
    }
    i += n;
  }
}

function parseAlpn(
  buf: Uint8Array,
  off: number,
  end: number,
  out: { alpn: string[]; firstAlpn: Uint8Array | undefined },
  anomalies: TlsAnomalyList,
): void {
  if (end - off < 2 || off + 2 + u16(buf, off) !== end) {
    anomalies.add("tls_alpn_malformed");
    return;
  }
  let i = off + 2;
  while (i < end) {
    const n = buf[i]!;
    i += 1;
    if (n === 0 || i + n > end) {
      anomalies.add("tls_alpn_malformed");
      return;
    }
    if (out.firstAlpn === undefined) out.firstAlpn = Uint8Array.prototype.slice.call(buf, i, i + n);
    if (out.alpn.length < MAX_ALPN) out.alpn.push(printable(buf, i, n).text);
    i += n;
  }
}

/**
 * Walks the extensions block [off, end) of a hello and calls `each` for every
 * extension that fits; stops at the first extension whose length lies.
 */
function walkExtensions(
  buf: Uint8Array,
  off: number,
  end: number,
  anomalies: TlsAnomalyList,
  each: (type: number, dataOff: number, dataEnd: number) => void,
): void {
  // A hello may end right after the compression methods: no extensions at all.
  if (off === end) return;
  if (end - off < 2) {
    anomalies.add("tls_extensions_length_overflow");
    return;
  }
  const blockLen = u16(buf, off);
  let i = off + 2;
  let blockEnd = i + blockLen;
  if (blockEnd > end) {
    anomalies.add("tls_extensions_length_overflow");
    blockEnd = end;
  } else if (blockEnd < end) {
    anomalies.add("tls_hello_trailing_bytes");
  }
  const seen = new Set<number>();
  while (i < blockEnd) {
    if (blockEnd - i < 4) {
      anomalies.add("tls_extension_length_overflow");
      return;
    }
    const type = u16(buf, i);
    const n = u16(buf, i + 2);
    i += 4;
    if (i + n > blockEnd) {
      anomalies.add("tls_extension_length_overflow");
      return;
    }
    if (seen.has(type)) anomalies.add("tls_extension_duplicate");
    else seen.add(type);
    each(type, i, i + n);
    i += n;
  }
}

function parseClientExtensions(
  buf: Uint8Array,
  off: number,
  end: number,
  anomalies: TlsAnomalyList,
): ClientExtensions {
  const ext: ClientExtensions = {
    types: [],
    serverName: undefined,
    hasSni: false,
    alpn: [],
    firstAlpn: undefined,
    supportedVersions: [],
    groups: [],
    pointFormats: [],
    sigAlgs: [],
  };
  walkExtensions(buf, off, end, anomalies, (type, s, e) => {
    ext.types.push(type);
    switch (type) {
      case EXT_SERVER_NAME:
        ext.hasSni = true;
        parseSni(buf, s, e, ext, anomalies);
        break;
      case EXT_ALPN:
        parseAlpn(buf, s, e, ext, anomalies);
        break;
      case EXT_SUPPORTED_VERSIONS: {
        const list = u16List(buf, s, e, 1);
        if (list === undefined) anomalies.add("tls_extension_malformed");
        else for (const v of list) if (!isGrease(v)) ext.supportedVersions.push(v);
        break;
      }
      case EXT_SUPPORTED_GROUPS: {
        const list = u16List(buf, s, e, 2);
        if (list === undefined) anomalies.add("tls_extension_malformed");
        else ext.groups = list;
        break;
      }
      case EXT_SIGNATURE_ALGORITHMS: {
        const list = u16List(buf, s, e, 2);
        if (list === undefined) anomalies.add("tls_extension_malformed");
        else ext.sigAlgs = list;
        break;
      }
      case EXT_EC_POINT_FORMATS: {
        const n = e > s ? buf[s]! : -1;
        if (n < 0 || s + 1 + n !== e) anomalies.add("tls_extension_malformed");
        else for (let i = s + 1; i < e; i++) ext.pointFormats.push(buf[i]!);
        break;
      }
    }
  });
  return ext;
}

/** The common prefix of both hellos: version, random, session id. Returns the offset after it. */
function helloPrefix(
  buf: Uint8Array,
  off: number,
  end: number,
  anomalies: TlsAnomalyList,
): { version: number; sessionIdLength: number; next: number } | undefined {
  if (end - off < 35) {
    anomalies.add("tls_hello_truncated");
    return undefined;
  }
  const version = u16(buf, off);
  const sessionIdLength = buf[off + 34]!;
  const next = off + 35 + sessionIdLength;
  if (sessionIdLength > 32) anomalies.add("tls_session_id_too_long");
  if (next > end) {
    anomalies.add("tls_hello_truncated");
    return undefined;
  }
  return { version, sessionIdLength, next };
}

/** Parses a ClientHello body buf[off, off + len). */
export function parseClientHello(
  buf: Uint8Array,
  off: number,
  len: number,
  recordVersion: number,
  anomalies: TlsAnomalyList,
): TlsClientHello | undefined {
  const end = off + len;
  const prefix = helloPrefix(buf, off, end, anomalies);
  if (prefix === undefined) return undefined;
  let i = prefix.next;

  if (end - i < 2) {
    anomalies.add("tls_hello_truncated");
    return undefined;
  }
  const cipherBytes = u16(buf, i);
  i += 2;
  if (i + cipherBytes > end) {
    anomalies.add("tls_cipher_list_overflow");
    return undefined;
  }
  if (cipherBytes % 2 !== 0) anomalies.add("tls_cipher_list_odd");
  if (cipherBytes < 2) anomalies.add("tls_cipher_list_empty");
  const ciphers: number[] = [];
  for (let j = i; j + 1 < i + cipherBytes; j += 2) ciphers.push(u16(buf, j));
  i += cipherBytes;

  if (end - i < 1) {
    anomalies.add("tls_hello_truncated");
    return undefined;
  }
  const compressionCount = buf[i]!;
  i += 1;
  if (i + compressionCount > end) {
    anomalies.add("tls_cipher_list_overflow");
    return undefined;
  }
  if (compressionCount === 0) anomalies.add("tls_cipher_list_empty");
  const compression: number[] = [];
  for (let j = i; j < i + compressionCount; j++) compression.push(buf[j]!);
  i += compressionCount;

  const ext = parseClientExtensions(buf, i, end, anomalies);
  const fp = {
    legacyVersion: prefix.version,
    supportedVersions: ext.supportedVersions,
    ciphers,
    extensions: ext.types,
    groups: ext.groups,
    pointFormats: ext.pointFormats,
    signatureAlgorithms: ext.sigAlgs,
    firstAlpn: ext.firstAlpn,
    hasSni: ext.hasSni,
  };
  const ja3 = ja3String(fp);
  const ja4 = ja4Fingerprint(fp);
  const hello: TlsClientHello = {
    record_version: recordVersion,
    legacy_version: prefix.version,
    supported_versions: ext.supportedVersions,
    version: tlsVersionName(highestOfferedVersion(prefix.version, ext.supportedVersions)),
    alpn: ext.alpn,
    cipher_suites: ciphers,
    extensions: ext.types,
    supported_groups: ext.groups,
    ec_point_formats: ext.pointFormats,
    signature_algorithms: ext.sigAlgs,
    session_id_length: prefix.sessionIdLength,
    compression_methods: compression,
    grease:
      ciphers.some(isGrease) ||
      ext.types.some(isGrease) ||
      ext.groups.some(isGrease) ||
      ext.sigAlgs.some(isGrease),
    ja3,
    ja3_hash: md5Hex(ja3),
    ja4: ja4.ja4,
    ja4_r: ja4.ja4_r,
  };
  if (ext.serverName !== undefined) hello.server_name = ext.serverName;
  return hello;
}

/** Parses a ServerHello (or HelloRetryRequest) body buf[off, off + len). */
export function parseServerHello(
  buf: Uint8Array,
  off: number,
  len: number,
  recordVersion: number,
  anomalies: TlsAnomalyList,
): TlsServerHello | undefined {
  const end = off + len;
  const prefix = helloPrefix(buf, off, end, anomalies);
  if (prefix === undefined) return undefined;
  let i = prefix.next;
  if (end - i < 3) {
    anomalies.add("tls_hello_truncated");
    return undefined;
  }
  const cipher = u16(buf, i);
  const compression = buf[i + 2]!;
  i += 3;

  const types: number[] = [];
  let selected: number | undefined;
  const alpnOut = { alpn: [] as string[], firstAlpn: undefined as Uint8Array | undefined };
  walkExtensions(buf, i, end, anomalies, (type, s, e) => {
    types.push(type);
    if (type === EXT_SUPPORTED_VERSIONS) {
      if (e - s === 2) selected = u16(buf, s);
      else anomalies.add("tls_extension_malformed");
    } else if (type === EXT_ALPN) {
      parseAlpn(buf, s, e, alpnOut, anomalies);
    }
  });

  const ja3s = ja3sString(prefix.version, cipher, types);
  const hello: TlsServerHello = {
    record_version: recordVersion,
    legacy_version: prefix.version,
    version: tlsVersionName(selected ?? prefix.version),
    cipher_suite: cipher,
    compression_method: compression,
    extensions: types,
    session_id_length: prefix.sessionIdLength,
    hello_retry_request: equalsAt(buf, off + 2, HRR_RANDOM),
    ja3s,
    ja3s_hash: md5Hex(ja3s),
  };
  if (selected !== undefined) hello.selected_version = selected;
  const name = cipherSuiteName(cipher);
  if (name !== undefined) hello.cipher_suite_name = name;
  if (alpnOut.alpn.length > 0) hello.alpn = alpnOut.alpn[0]!;
  return hello;
}
