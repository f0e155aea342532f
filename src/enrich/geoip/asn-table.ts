/**
 * The network-owner table built once from ip-location-db's ASN CSV files
 * (`start,end,asn,"organisation"`, inclusive ranges): sorted range starts and ends in
 * typed arrays and a binary search, so a lookup is ~20 comparisons in flat memory and
 * allocates nothing. A 65,536-entry index on the top 16 bits narrows each search to the
 * rows that can hold the address. Rows point at one shared AsnInfo per AS number.
 *
 * The bundled table is also saved whole at build time (asn-cache.ts): a change to what
 * fromCsv() builds from the same CSV must bump ASN_CACHE_FORMAT_VERSION there.
 */
import { parseIPv6Into } from "./address.js";
import { GeoIpError } from "./errors.js";
import type { AsnInfo } from "./types.js";

/** One address family: row i covers [start(i), end(i)] and belongs to infos[info[i]]. */
export interface AsnFamily {
  rows: number;
  /** IPv4: one word per row; IPv6: four. */
  start: Uint32Array;
  end: Uint32Array;
  info: Uint32Array;
}

/** What the overlap sweep needs of a key type (number for IPv4, bigint for IPv6). */
interface KeyOps<K> {
  key(a: Uint32Array, row: number): K;
  succ(k: K): K;
  pred(k: K): K;
  words(k: K, out: number[]): void;
}

const NUMBER_KEYS: KeyOps<number> = {
  key: (a, row) => a[row]!,
  succ: (k) => k + 1,
  pred: (k) => k - 1,
  words: (k, out) => {
    out[0] = k;
  },
};

const BIGINT_KEYS: KeyOps<bigint> = {
  key: (a, row) => {
    const o = row * 4;
    return (
      (BigInt(a[o]!) << 96n) |
      (BigInt(a[o + 1]!) << 64n) |
      (BigInt(a[o + 2]!) << 32n) |
      BigInt(a[o + 3]!)
    );
  },
  succ: (k) => k + 1n,
  pred: (k) => k - 1n,
  words: (k, out) => {
    for (let i = 0; i < 4; i++) out[i] = Number((k >> BigInt(96 - 32 * i)) & 0xffffffffn);
  },
};

/** Sign of a[ra] - b[rb], comparing `width` unsigned words. */
function compareRows(
  a: Uint32Array,
  ra: number,
  b: Uint32Array,
  rb: number,
  width: number,
): number {
  for (let i = 0; i < width; i++) {
    const x = a[ra * width + i]!;
    const y = b[rb * width + i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Collects the rows of one family while the CSV is read; `width` words per address. */
class FamilyBuilder {
  rows = 0;
  start: Uint32Array;
  end: Uint32Array;
  info: Uint32Array;

  constructor(
    private readonly width: number,
    capacity: number,
  ) {
    this.start = new Uint32Array(capacity * width);
    this.end = new Uint32Array(capacity * width);
    this.info = new Uint32Array(capacity);
  }

  add(start: ArrayLike<number>, end: ArrayLike<number>, info: number): void {
    if (this.rows === this.info.length) this.grow();
    const o = this.rows * this.width;
    for (let i = 0; i < this.width; i++) {
      this.start[o + i] = start[i]!;
      this.end[o + i] = end[i]!;
    }
    this.info[this.rows++] = info;
  }

  /** add() for IPv4, the 400,000-row hot path of start-up. */
  add1(start: number, end: number, info: number): void {
    if (this.rows === this.info.length) this.grow();
    this.start[this.rows] = start;
    this.end[this.rows] = end;
    this.info[this.rows++] = info;
  }

  private grow(): void {
    const cap = Math.max(1024, this.info.length * 2);
    const start = new Uint32Array(cap * this.width);
    start.set(this.start);
    const end = new Uint32Array(cap * this.width);
    end.set(this.end);
    const info = new Uint32Array(cap);
    info.set(this.info);
    this.start = start;
    this.end = end;
    this.info = info;
  }

  /** Checks order and overlap; on trouble, rebuilds the rows so that none overlap. */
  finish(): AsnFamily {
    let sorted = true;
    let clean = true;
    for (let r = 1; r < this.rows && sorted; r++) {
      const order = compareRows(this.start, r - 1, this.start, r, this.width);
      if (order > 0 || (order === 0 && compareRows(this.end, r - 1, this.end, r, this.width) < 0)) {
        sorted = false;
      } else if (compareRows(this.start, r, this.end, r - 1, this.width) <= 0) {
        clean = false;
      }
    }
    for (let r = 0; r < this.rows && clean; r++) {
      if (compareRows(this.start, r, this.end, r, this.width) > 0) clean = false;
    }
    if (!sorted || !clean) {
      if (this.width === 1) this.normalise(NUMBER_KEYS, sorted);
      else this.normalise(BIGINT_KEYS, sorted);
    }
    const n = this.rows;
    return {
      rows: n,
      start: this.start.slice(0, n * this.width),
      end: this.end.slice(0, n * this.width),
      info: this.info.slice(0, n),
    };
  }

  /**
   * The data has a few overlapping rows (a range, then another inside or across it).
   * The inner or later-starting range wins and what is left of the outer one keeps its
   * owner. Rows are taken in (start, longest first) order; a row that overlaps nothing
   * is copied, and each cluster of overlapping rows goes through a sweep with a stack
   * of the ranges still open.
   */
  private normalise<K extends number | bigint>(ops: KeyOps<K>, sorted: boolean): void {
    const w = this.width;
    const order = new Uint32Array(this.rows);
    for (let r = 0; r < this.rows; r++) order[r] = r;
    if (!sorted) {
      order.sort((x, y) => {
        const c = compareRows(this.start, x, this.start, y, w);
        return c !== 0 ? c : compareRows(this.end, y, this.end, x, w);
      });
    }
    const from = { start: this.start, end: this.end, info: this.info, rows: this.rows };
    this.rows = 0;
    this.start = new Uint32Array(from.start.length);
    this.end = new Uint32Array(from.end.length);
    this.info = new Uint32Array(from.info.length);
    for (let i = 0; i < from.rows; ) {
      let last = order[i]!; // the row with the furthest end in this cluster
      let j = i + 1;
      while (j < from.rows && compareRows(from.start, order[j]!, from.end, last, w) <= 0) {
        if (compareRows(from.end, order[j]!, from.end, last, w) > 0) last = order[j]!;
        j++;
      }
      if (j === i + 1) {
        const r = order[i]!;
        this.add(
          from.start.subarray(r * w, r * w + w),
          from.end.subarray(r * w, r * w + w),
          from.info[r]!,
        );
      } else {
        this.sweep(ops, from, order.subarray(i, j));
      }
      i = j;
    }
  }

  private sweep<K extends number | bigint>(
    ops: KeyOps<K>,
    from: { start: Uint32Array; end: Uint32Array; info: Uint32Array },
    cluster: Uint32Array,
  ): void {
    type Row = { s: K; e: K; info: number };
    const sw = new Array<number>(this.width);
    const ew = new Array<number>(this.width);
    const emit = (s: K, e: K, info: number) => {
      if (s > e) return;
      ops.words(s, sw);
      ops.words(e, ew);
      this.add(sw, ew, info);
    };
    const open: Row[] = [];
    let cursor: K | null = null; // first address not yet written out
    const close = (t: Row) => {
      emit(cursor === null || cursor < t.s ? t.s : cursor, t.e, t.info);
      const after = ops.succ(t.e);
      if (cursor === null || after > cursor) cursor = after;
    };
    for (const r of cluster) {
      const row: Row = { s: ops.key(from.start, r), e: ops.key(from.end, r), info: from.info[r]! };
      if (row.s > row.e) continue;
      while (open.length > 0 && open[open.length - 1]!.e < row.s) close(open.pop()!);
      // What is still open contains row.s: its part before row.s is written now.
      const top = open[open.length - 1];
      if (top !== undefined) {
        emit(cursor === null || cursor < top.s ? top.s : cursor, ops.pred(row.s), top.info);
      }
      cursor = row.s;
      open.push(row);
    }
    while (open.length > 0) close(open.pop()!);
  }
}

/** AS number -> info index, open addressing on typed arrays: a Map costs more per row. */
class AsnIndex {
  private slots = new Int32Array(1 << 17).fill(-1);
  private shift = 32 - 17;
  private asns: number[] = [];

  /** The index for `asn`, or -1. */
  get(asn: number): number {
    const mask = this.slots.length - 1;
    for (let h = this.hash(asn); ; h = (h + 1) & mask) {
      const id = this.slots[h]!;
      if (id < 0 || this.asns[id] === asn) return id;
    }
  }

  add(asn: number): number {
    if (this.asns.length * 2 >= this.slots.length) this.rehash();
    const id = this.asns.length;
    this.asns.push(asn);
    this.place(asn, id);
    return id;
  }

  /** Fibonacci hashing: the product's top bits, which depend on every bit of the key. */
  private hash(asn: number): number {
    return Math.imul(asn, 0x9e3779b1) >>> this.shift;
  }

  private place(asn: number, id: number): void {
    const mask = this.slots.length - 1;
    let h = this.hash(asn);
    while (this.slots[h]! >= 0) h = (h + 1) & mask;
    this.slots[h] = id;
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2).fill(-1);
    this.shift--;
    for (let id = 0; id < this.asns.length; id++) this.place(this.asns[id]!, id);
  }
}

/** index[k] = first row whose first word is >= k << 16, for k = 0..65536. */
function topIndex(start: Uint32Array, width: number, rows: number): Uint32Array {
  const index = new Uint32Array(TOP_INDEX_LENGTH);
  let row = 0;
  for (let k = 0; k <= 65536; k++) {
    while (row < rows && start[row * width]! < k * 65536) row++;
    index[k] = row;
  }
  return index;
}

/**
 * The arrays a table searches: what asn-cache.ts writes to and reads from its file.
 * Row info values index the table's AS numbers (infos).
 */
export interface AsnColumns {
  v4: AsnFamily;
  v6: AsnFamily;
  /** v4Index[k] = first IPv4 row whose start is >= k << 16 (k = 0..65536). */
  v4Index: Uint32Array;
  /** The same on the top 16 bits of IPv6 starts. */
  v6Index: Uint32Array;
}

/** Entries in v4Index and v6Index. */
export const TOP_INDEX_LENGTH = 65537;

export class AsnTable {
  private readonly v4: AsnFamily;
  private readonly v6: AsnFamily;
  private readonly v4Index: Uint32Array;
  private readonly v6Index: Uint32Array;
  /** One AsnInfo per AS number, shared by its answers; made on first use if makeInfo is set. */
  private readonly infoList: (AsnInfo | undefined)[];
  private readonly makeInfo: ((id: number) => AsnInfo) | null;

  private constructor(
    columns: AsnColumns,
    infos: (AsnInfo | undefined)[],
    makeInfo: ((id: number) => AsnInfo) | null,
  ) {
    this.v4 = columns.v4;
    this.v6 = columns.v6;
    this.v4Index = columns.v4Index;
    this.v6Index = columns.v6Index;
    this.infoList = infos;
    this.makeInfo = makeInfo;
  }

  /**
   * A table on columns taken as they are (asn-cache.ts checks them first): rows sorted,
   * none overlapping, indexes as topIndex() makes them, every info value < infoCount.
   * `makeInfo(id)` is called once per AS number, when an answer first needs it.
   */
  static fromColumns(
    columns: AsnColumns,
    infoCount: number,
    makeInfo: (id: number) => AsnInfo,
  ): AsnTable {
    return new AsnTable(columns, new Array<AsnInfo | undefined>(infoCount), makeInfo);
  }

  /** The arrays behind the table, not copies: callers must not change them. */
  columns(): AsnColumns {
    return { v4: this.v4, v6: this.v6, v4Index: this.v4Index, v6Index: this.v6Index };
  }

  /** One answer per AS number; row info values index it. */
  get infos(): readonly AsnInfo[] {
    for (let id = 0; id < this.infoList.length; id++) this.info(id);
    return this.infoList as AsnInfo[];
  }

  private info(id: number): AsnInfo {
    let info = this.infoList[id];
    if (info === undefined) {
      info = this.makeInfo!(id);
      this.infoList[id] = info;
    }
    return info;
  }

  get rows(): { v4: number; v6: number } {
    return { v4: this.v4.rows, v6: this.v6.rows };
  }

  /** Bytes held in typed arrays (the organisation strings come on top). */
  get byteLength(): number {
    const f = (x: AsnFamily) => x.start.byteLength + x.end.byteLength + x.info.byteLength;
    return f(this.v4) + f(this.v6) + this.v4Index.byteLength + this.v6Index.byteLength;
  }

  lookup4(w: number): AsnInfo | null {
    const { start, end, info } = this.v4;
    const k = w >>> 16;
    // The row that holds w starts at or before it: in this /16, or the last one before it.
    let lo = this.v4Index[k]!;
    if (lo > 0) lo--;
    let hi = this.v4Index[k + 1]! - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (start[mid]! <= w) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0 || w > end[found]!) return null;
    return this.info(info[found]!);
  }

  lookup6(w0: number, w1: number, w2: number, w3: number): AsnInfo | null {
    const { start, end, info } = this.v6;
    const k = w0 >>> 16;
    let lo = this.v6Index[k]!;
    if (lo > 0) lo--;
    let hi = this.v6Index[k + 1]! - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const o = mid * 4;
      let le: boolean;
      if (start[o]! !== w0) le = start[o]! < w0;
      else if (start[o + 1]! !== w1) le = start[o + 1]! < w1;
      else if (start[o + 2]! !== w2) le = start[o + 2]! < w2;
      else le = start[o + 3]! <= w3;
      if (le) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return null;
    const o = found * 4;
    let inside: boolean;
    if (end[o]! !== w0) inside = end[o]! > w0;
    else if (end[o + 1]! !== w1) inside = end[o + 1]! > w1;
    else if (end[o + 2]! !== w2) inside = end[o + 2]! > w2;
    else inside = end[o + 3]! >= w3;
    return inside ? this.info(info[found]!) : null;
  }

  /**
   * Builds the table from the two CSV files' bytes. `source` is what answers say
   * (asSource). Throws GeoIpError naming the file and line of the first bad row.
   */
  static fromCsv(
    files: { v4: Buffer; v6: Buffer },
    paths: { v4: string; v6: string },
    source: string,
  ): AsnTable {
    const infos: AsnInfo[] = [];
    const byAsn = new AsnIndex();
    // Capacity from the file size (~55 bytes a row); the builders grow if it is short.
    const v4 = new FamilyBuilder(1, 1 + Math.ceil(files.v4.length / 40));
    const v6 = new FamilyBuilder(4, 1 + Math.ceil(files.v6.length / 60));
    const intern = (asn: number, buf: Buffer, from: number, to: number): number => {
      let id = byAsn.get(asn);
      if (id < 0) {
        id = byAsn.add(asn);
        infos.push({ asNumber: asn, asOrganization: organisation(buf, from, to), source });
      }
      return id;
    };
    parseCsv(files.v4, paths.v4, 4, v4, intern);
    parseCsv(files.v6, paths.v6, 6, v6, intern);
    const f4 = v4.finish();
    const f6 = v6.finish();
    const columns = {
      v4: f4,
      v6: f6,
      v4Index: topIndex(f4.start, 1, f4.rows),
      v6Index: topIndex(f6.start, 4, f6.rows),
    };
    return new AsnTable(columns, infos, null);
  }
}

class CsvError extends Error {}

const COMMA = 0x2c;
const NL = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const DOT = 0x2e;

/** Dotted quad from bytes [from, to), or -1. */
function ipv4At(buf: Buffer, from: number, to: number): number {
  let word = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x39) {
      part = part * 10 + c - 0x30;
      if (++digits > 3 || part > 255) return -1;
    } else if (c === DOT && digits > 0 && dots < 3) {
      word = word * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  return dots === 3 && digits > 0 ? word * 256 + part : -1;
}

/** One pass over the bytes; the organisation is decoded only for an AS number not seen yet. */
function parseCsv(
  buf: Buffer,
  path: string,
  version: 4 | 6,
  out: FamilyBuilder,
  intern: (asn: number, buf: Buffer, from: number, to: number) => number,
): void {
  const s6 = new Uint32Array(4);
  const e6 = new Uint32Array(4);
  const len = buf.length;
  let line = 0;
  let pos = 0;
  try {
    for (; pos < len; pos++) {
      line++;
      // Fields 1-3 hold no commas; the organisation (field 4) may, inside quotes.
      let c1 = pos;
      while (c1 < len && buf[c1] !== COMMA && buf[c1] !== NL) c1++;
      let c2 = c1 + 1;
      while (c2 < len && buf[c2] !== COMMA && buf[c2] !== NL) c2++;
      let c3 = c2 + 1;
      while (c3 < len && buf[c3] !== COMMA && buf[c3] !== NL) c3++;
      let eol = c1 >= len || buf[c1] === NL ? c1 : c2 >= len || buf[c2] === NL ? c2 : c3;
      while (eol < len && buf[eol] !== NL) eol++;
      let stop = eol;
      if (stop > pos && buf[stop - 1] === CR) stop--;
      if (stop === pos) {
        pos = eol;
        continue;
      }
      if (c3 >= stop) throw new CsvError("expected start,end,asn,organisation");
      if (c3 === c2 + 1 || c3 - c2 - 1 > 10) throw new CsvError("the AS number is not a number");
      let asn = 0;
      for (let i = c2 + 1; i < c3; i++) {
        const d = buf[i]! - 0x30;
        if (d < 0 || d > 9) throw new CsvError("the AS number is not a number");
        asn = asn * 10 + d;
      }
      if (asn > 0xffffffff) throw new CsvError("the AS number is out of range");
      const id = intern(asn, buf, c3 + 1, stop);
      if (version === 4) {
        const s4 = ipv4At(buf, pos, c1);
        const e4 = ipv4At(buf, c1 + 1, c2);
        if (s4 < 0 || e4 < 0) throw new CsvError("the range is not two IPv4 addresses");
        out.add1(s4, e4, id);
      } else {
        if (
          !parseIPv6Into(buf.toString("latin1", pos, c1), s6) ||
          !parseIPv6Into(buf.toString("latin1", c1 + 1, c2), e6)
        ) {
          throw new CsvError("the range is not two IPv6 addresses");
        }
        out.add(s6, e6, id);
      }
      pos = eol;
    }
  } catch (err) {
    if (err instanceof CsvError) throw new GeoIpError(`line ${line}: ${err.message}`, path);
    throw err;
  }
}

/** The organisation field: bare, or quoted with "" for a quote. Empty: undefined. */
function organisation(buf: Buffer, from: number, to: number): string | undefined {
  if (from >= to) return undefined;
  if (buf[from] !== QUOTE) return buf.toString("utf8", from, to);
  if (to - from < 2 || buf[to - 1] !== QUOTE)
    throw new CsvError("unterminated quoted organisation");
  const text = buf.toString("utf8", from + 1, to - 1).replaceAll('""', '"');
  return text === "" ? undefined : text;
}
