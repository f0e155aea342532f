/**
 * The bundled ASN table as one binary file: written once at build time
 * (build-asn-cache.ts, into dist/data/), loaded with one read and typed-array views on
 * it, so opening the table does no per-row work (parsing the CSV takes ~0.5 s).
 *
 * Layout. Numbers are 32-bit words in the byte order of the machine that wrote the file
 * (the header says which; the other order is refused, and the CSV is parsed instead).
 * Every section starts on an 8-byte boundary of the file.
 *
 *   bytes 0-7    magic "EGDASN\r\n" (the CR LF catches text-mode copies)
 *   word  2      byte-order mark 0x01020304
 *   word  3      format version
 *   word  4      header bytes (the first section starts at or after it)
 *   word  5      file bytes
 *   word  6      CRC-32 of the whole file but this word
 *   word  7, 8   IPv4 rows, IPv6 rows
 *   word  9      AS numbers (infos)
 *   word 10      source-key bytes
 *   word 11      section count
 *   then         per section: offset, byte length
 *   then         the source key (UTF-8): what the table was built from
 *   sections     SECTIONS below, in that order
 *
 * asn[i] is AS number i (what row info values index); its organisation name is bytes
 * [orgEnd[i - 1], orgEnd[i]) of the UTF-8 text orgText (empty: no organisation). The
 * answer objects are made when a lookup first needs them, not at load.
 *
 * Checks on load: magic, byte order, format version, file length, CRC-32, source key,
 * section bounds and sizes. With the CRC good the file is the one the build wrote and
 * checked, so the per-row checks (every row names an AS, indexes and name offsets in
 * range) run only when the CRC cannot be checked, or when asked for (`thorough`).
 *
 * Bump ASN_CACHE_FORMAT_VERSION whenever the layout, or what the table holds for the same CSV
 * (asn-table.ts's parsing or overlap rules), changes: an older file is then refused.
 */
import * as zlib from "node:zlib";
import { type AsnColumns, type AsnFamily, AsnTable, TOP_INDEX_LENGTH } from "./asn-table.js";
import type { AsnInfo } from "./types.js";

export const ASN_CACHE_FORMAT_VERSION = 1;

const MAGIC = Buffer.from("EGDASN\r\n", "latin1");
const BYTE_ORDER_MARK = 0x01020304;
const SWAPPED_BYTE_ORDER_MARK = 0x04030201;

const W_BOM = 2;
const W_VERSION = 3;
const W_HEADER_BYTES = 4;
const W_FILE_BYTES = 5;
const W_CRC = 6;
const W_V4_ROWS = 7;
const W_V6_ROWS = 8;
const W_INFOS = 9;
const W_KEY_BYTES = 10;
const W_SECTIONS = 11;
const FIXED_WORDS = 12;

const SECTIONS = [
  "v4.start",
  "v4.end",
  "v4.info",
  "v4.index",
  "v6.start",
  "v6.end",
  "v6.info",
  "v6.index",
  "asn",
  "orgEnd",
  "orgText",
] as const;
type Section = (typeof SECTIONS)[number];

/** zlib.crc32 came in Node 20.15; without it the CRC is not checked (the rest still is). */
const crc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** What the file was built from: the CSV files' package version and sizes. */
export function asnCacheKey(packageVersion: string, v4Bytes: number, v6Bytes: number): string {
  return `@ip-location-db/asn@${packageVersion} asn-ipv4.csv=${v4Bytes} asn-ipv6.csv=${v6Bytes}`;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** CRC-32 of the file, skipping the CRC word itself. */
function fileCrc(bytes: Uint8Array, crc: (data: Uint8Array, value?: number) => number): number {
  const at = W_CRC * 4;
  return crc(bytes.subarray(at + 4), crc(bytes.subarray(0, at))) >>> 0;
}

/** The table as the cache file's bytes. Throws if it cannot be written faithfully. */
export function encodeAsnCache(table: AsnTable, key: string): Buffer {
  if (crc32 === undefined)
    throw new Error("writing the ASN cache needs zlib.crc32 (Node >= 20.15)");
  const c = table.columns();
  const infos = table.infos;
  const asn = new Uint32Array(infos.length);
  const orgEnd = new Uint32Array(infos.length);
  const names: Buffer[] = [];
  let end = 0;
  infos.forEach((info, i) => {
    const org = info.asOrganization ?? "";
    if (info.asOrganization === "") {
      throw new Error(`AS${info.asNumber} has an empty organisation name`);
    }
    const bytes = Buffer.from(org, "utf8");
    if (bytes.toString("utf8") !== org) {
      throw new Error(`AS${info.asNumber}: the organisation name does not survive UTF-8`);
    }
    asn[i] = info.asNumber;
    names.push(bytes);
    end += bytes.length;
    orgEnd[i] = end;
  });
  const textBytes = Buffer.concat(names, end);
  const parts: Record<Section, Uint8Array> = {
    "v4.start": bytesOf(c.v4.start),
    "v4.end": bytesOf(c.v4.end),
    "v4.info": bytesOf(c.v4.info),
    "v4.index": bytesOf(c.v4Index),
    "v6.start": bytesOf(c.v6.start),
    "v6.end": bytesOf(c.v6.end),
    "v6.info": bytesOf(c.v6.info),
    "v6.index": bytesOf(c.v6Index),
    asn: bytesOf(asn),
    orgEnd: bytesOf(orgEnd),
    orgText: textBytes,
  };
  const keyBytes = Buffer.from(key, "utf8");
  const headerBytes = align8((FIXED_WORDS + 2 * SECTIONS.length) * 4 + keyBytes.length);
  let at = headerBytes;
  const offsets = SECTIONS.map((s) => {
    const offset = at;
    at = align8(at + parts[s].length);
    return offset;
  });
  const fileBytes = at;
  const out = Buffer.alloc(fileBytes);
  const words = new Uint32Array(out.buffer, out.byteOffset, FIXED_WORDS + 2 * SECTIONS.length);
  MAGIC.copy(out, 0);
  words[W_BOM] = BYTE_ORDER_MARK;
  words[W_VERSION] = ASN_CACHE_FORMAT_VERSION;
  words[W_HEADER_BYTES] = headerBytes;
  words[W_FILE_BYTES] = fileBytes;
  words[W_V4_ROWS] = c.v4.rows;
  words[W_V6_ROWS] = c.v6.rows;
  words[W_INFOS] = infos.length;
  words[W_KEY_BYTES] = keyBytes.length;
  words[W_SECTIONS] = SECTIONS.length;
  SECTIONS.forEach((s, i) => {
    words[FIXED_WORDS + 2 * i] = offsets[i]!;
    words[FIXED_WORDS + 2 * i + 1] = parts[s].length;
    out.set(parts[s], offsets[i]!);
  });
  keyBytes.copy(out, (FIXED_WORDS + 2 * SECTIONS.length) * 4);
  words[W_CRC] = fileCrc(out, crc32);
  return out;
}

function bytesOf(a: Uint32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export type AsnCacheResult = { ok: true; table: AsnTable } | { ok: false; reason: string };

/**
 * The table in a cache file's bytes, if they are whole and were built from `key`;
 * otherwise why not. `source` is what answers say (asSource). Never throws on bad bytes.
 * The table's arrays are views on `file` (or on an aligned copy when `file` does not
 * start on an 8-byte boundary). `thorough`: check every row even with a good CRC.
 */
export function decodeAsnCache(
  file: Uint8Array,
  key: string,
  source: string,
  options: { thorough?: boolean } = {},
): AsnCacheResult {
  const fail = (reason: string): AsnCacheResult => ({ ok: false, reason });
  const fixed = FIXED_WORDS * 4;
  if (file.length === 0) return fail("empty file");
  if (!MAGIC.equals(file.subarray(0, MAGIC.length))) return fail("not an ASN cache file");
  if (file.length < fixed) return fail(`truncated header (${file.length} bytes)`);
  if (file.byteOffset % 8 !== 0) {
    const copy = new Uint8Array(file.length);
    copy.set(file);
    file = copy;
  }
  const head = new Uint32Array(file.buffer, file.byteOffset, FIXED_WORDS);
  if (head[W_BOM] === SWAPPED_BYTE_ORDER_MARK)
    return fail("written on a machine of the other byte order");
  if (head[W_BOM] !== BYTE_ORDER_MARK) return fail("bad byte-order mark");
  if (head[W_VERSION] !== ASN_CACHE_FORMAT_VERSION) {
    return fail(
      `format version ${head[W_VERSION]}, this egressd reads ${ASN_CACHE_FORMAT_VERSION}`,
    );
  }
  const headerBytes = head[W_HEADER_BYTES]!;
  const fileBytes = head[W_FILE_BYTES]!;
  if (fileBytes !== file.length) {
    return fail(`the header says ${fileBytes} bytes, the file has ${file.length} (truncated?)`);
  }
  if (head[W_SECTIONS] !== SECTIONS.length)
    return fail(`${head[W_SECTIONS]} sections, expected ${SECTIONS.length}`);
  const tableBytes = (FIXED_WORDS + 2 * SECTIONS.length) * 4;
  const keyBytes = head[W_KEY_BYTES]!;
  if (tableBytes + keyBytes > headerBytes || headerBytes > fileBytes)
    return fail("bad header length");
  const crcChecked = crc32 !== undefined;
  if (crcChecked && fileCrc(file, crc32) !== head[W_CRC])
    return fail("CRC mismatch (damaged file)");
  const cachedKey = Buffer.from(file.buffer, file.byteOffset + tableBytes, keyBytes).toString(
    "utf8",
  );
  if (cachedKey !== key) return fail(`built from ${cachedKey}, the data installed is ${key}`);

  const v4Rows = head[W_V4_ROWS]!;
  const v6Rows = head[W_V6_ROWS]!;
  const infoCount = head[W_INFOS]!;
  const expected: Record<Section, number | null> = {
    "v4.start": v4Rows * 4,
    "v4.end": v4Rows * 4,
    "v4.info": v4Rows * 4,
    "v4.index": TOP_INDEX_LENGTH * 4,
    "v6.start": v6Rows * 16,
    "v6.end": v6Rows * 16,
    "v6.info": v6Rows * 4,
    "v6.index": TOP_INDEX_LENGTH * 4,
    asn: infoCount * 4,
    orgEnd: infoCount * 4,
    orgText: null,
  };
  const dir = new Uint32Array(file.buffer, file.byteOffset + FIXED_WORDS * 4, 2 * SECTIONS.length);
  const at = {} as Record<Section, { offset: number; length: number }>;
  for (let i = 0; i < SECTIONS.length; i++) {
    const s = SECTIONS[i]!;
    const offset = dir[2 * i]!;
    const length = dir[2 * i + 1]!;
    if (offset % 8 !== 0 || offset < headerBytes || offset + length > fileBytes) {
      return fail(`section ${s} lies outside the file or is misaligned`);
    }
    const want = expected[s];
    if (want !== null && length !== want)
      return fail(`section ${s} has ${length} bytes, expected ${want}`);
    at[s] = { offset, length };
  }
  const words = (s: Section) =>
    new Uint32Array(file.buffer, file.byteOffset + at[s].offset, at[s].length / 4);
  const v4: AsnFamily = {
    rows: v4Rows,
    start: words("v4.start"),
    end: words("v4.end"),
    info: words("v4.info"),
  };
  const v6: AsnFamily = {
    rows: v6Rows,
    start: words("v6.start"),
    end: words("v6.end"),
    info: words("v6.info"),
  };
  const v4Index = words("v4.index");
  const v6Index = words("v6.index");
  const asn = words("asn");
  const orgEnd = words("orgEnd");
  const text = at.orgText;
  if (!crcChecked || options.thorough) {
    // Keep a well-formed but wrong file from sending a lookup out of bounds.
    const indexOk = (a: Uint32Array, rows: number) =>
      ascending(a, rows) && a[a.length - 1] === rows;
    if (!indexOk(v4Index, v4Rows) || !indexOk(v6Index, v6Rows)) return fail("bad range index");
    if (!below(v4.info, infoCount) || !below(v6.info, infoCount)) return fail("a row names no AS");
    if (!ascending(orgEnd, text.length)) return fail("bad organisation offsets");
  }
  const bytes = Buffer.from(file.buffer, file.byteOffset, file.length);
  const makeInfo = (id: number): AsnInfo => {
    const from = text.offset + (id === 0 ? 0 : orgEnd[id - 1]!);
    const to = text.offset + orgEnd[id]!;
    const org = to > from ? bytes.toString("utf8", from, to) : undefined;
    return { asNumber: asn[id]!, asOrganization: org, source };
  };
  const columns: AsnColumns = { v4, v6, v4Index, v6Index };
  return { ok: true, table: AsnTable.fromColumns(columns, infoCount, makeInfo) };
}

/** Values never decrease and stay <= max. */
function ascending(a: Uint32Array, max: number): boolean {
  let last = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (v < last || v > max) return false;
    last = v;
  }
  return true;
}

function below(a: Uint32Array, count: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i]! >= count) return false;
  return true;
}
