/**
 * Client and server fingerprints: JA3/JA3S (Salesforce) and JA4 (FoxIO, JA4.md in
 * FoxIO-LLC/ja4 technical_details). Both are computed once per hello, from numbers the
 * hello parser already extracted.
 */

import { createHash } from "node:crypto";
import { isGrease } from "./names.js";

/** The parts of a ClientHello JA3 and JA4 look at. Lists are raw (GREASE kept). */
export interface ClientHelloFingerprintInput {
  legacyVersion: number;
  supportedVersions: readonly number[];
  ciphers: readonly number[];
  extensions: readonly number[];
  groups: readonly number[];
  pointFormats: readonly number[];
  signatureAlgorithms: readonly number[];
  /** Raw bytes of the first ALPN protocol name, or undefined without ALPN. */
  firstAlpn: Uint8Array | undefined;
  /** True when the server_name extension is present (JA4 looks at the extension, not the name). */
  hasSni: boolean;
}

export function md5Hex(s: string): string {
  return createHash("md5").update(s).digest("hex");
}

function decimalList(values: readonly number[], dropGrease: boolean): string {
  let out = "";
  for (const v of values) {
    if (dropGrease && isGrease(v)) continue;
    out = out === "" ? String(v) : `${out}-${v}`;
  }
  return out;
}

/** JA3 string: SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats. */
export function ja3String(h: ClientHelloFingerprintInput): string {
  return [
    String(h.legacyVersion),
    decimalList(h.ciphers, true),
    decimalList(h.extensions, true),
    decimalList(h.groups, true),
    // Point formats are single bytes: GREASE (two equal bytes) cannot occur there.
    decimalList(h.pointFormats, false),
  ].join(",");
}

/** JA3S string: SSLVersion,Cipher,Extensions (the server hello's legacy version, like Wireshark and ja3s.py). */
export function ja3sString(
  legacyVersion: number,
  cipher: number,
  extensions: readonly number[],
): string {
  return `${legacyVersion},${cipher},${decimalList(extensions, false)}`;
}

// JA4 version codes (JA4.md "TLS and DTLS Version").
function ja4Version(v: number): string {
  switch (v) {
    case 0x0304:
      return "13";
    case 0x0303:
      return "12";
    case 0x0302:
      return "11";
    case 0x0301:
      return "10";
    case 0x0300:
      return "s3";
    case 0x0002:
    case 0x0200:
      return "s2";
    case 0x0100:
      return "s1";
    case 0xfeff:
      return "d1";
    case 0xfefd:
      return "d2";
    case 0xfefc:
      return "d3";
    default:
      return "00";
  }
}

/** Highest non-GREASE value of supported_versions, else the legacy version (JA4.md). */
export function highestOfferedVersion(
  legacyVersion: number,
  supportedVersions: readonly number[],
): number {
  let best = -1;
  for (const v of supportedVersions) if (!isGrease(v) && v > best) best = v;
  return best >= 0 ? best : legacyVersion;
}

function isAlnum(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

const HEX = "0123456789abcdef";

/**
 * JA4's two ALPN characters: first and last byte of the first protocol name, or, when
 * either is not alphanumeric, the first and last hex digit of the whole name; "00"
 * without ALPN or with an empty first name.
 */
export function ja4AlpnChars(first: Uint8Array | undefined): string {
  if (first === undefined || first.length === 0) return "00";
  const a = first[0]!;
  const z = first[first.length - 1]!;
  if (isAlnum(a) && isAlnum(z)) return String.fromCharCode(a) + String.fromCharCode(z);
  return HEX[a >> 4]! + HEX[z & 0x0f]!;
}

function hex4List(values: readonly number[]): string[] {
  const out: string[] = [];
  for (const v of values) if (!isGrease(v)) out.push(v.toString(16).padStart(4, "0"));
  return out;
}

function twoDigits(n: number): string {
  return n > 99 ? "99" : n.toString().padStart(2, "0");
}

/** First 12 hex digits of SHA-256, or twelve zeros for an empty input (JA4+ general rule). */
export function sha256Prefix12(s: string): string {
  if (s === "") return "000000000000";
  return createHash("sha256").update(s).digest("hex").slice(0, 12);
}

/** JA4 (hashed) and JA4_r (raw, sorted) for a ClientHello over TCP. */
export function ja4Fingerprint(h: ClientHelloFingerprintInput): { ja4: string; ja4_r: string } {
  const ciphers = hex4List(h.ciphers);
  const allExtensions = hex4List(h.extensions);
  const version = ja4Version(highestOfferedVersion(h.legacyVersion, h.supportedVersions));
  const a =
    `t${version}${h.hasSni ? "d" : "i"}${twoDigits(ciphers.length)}` +
    `${twoDigits(allExtensions.length)}${ja4AlpnChars(h.firstAlpn)}`;

  // Hex strings of equal width sort like the numbers they spell.
  const cipherList = ciphers.sort().join(",");
  const extList = allExtensions
    .filter((e) => e !== "0000" && e !== "0010")
    .sort()
    .join(",");
  const sigs = hex4List(h.signatureAlgorithms).join(",");
  // "If there are no signature algorithms ... the string ends without an underscore."
  const c = sigs === "" ? extList : `${extList}_${sigs}`;
  const b = sha256Prefix12(cipherList);
  // An empty extension list hashes to zeros even when signature algorithms exist: they
  // can only come from an extension, so that case is a malformed hello anyway.
  const cHash = extList === "" ? "000000000000" : sha256Prefix12(c);
  return { ja4: `${a}_${b}_${cHash}`, ja4_r: `${a}_${cipherList}_${c}` };
}
