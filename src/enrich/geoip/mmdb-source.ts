/**
 * One MaxMind DB (.mmdb) file. The search tree is walked here, straight from the flow
 * table's address words: no address text to format and reparse per lookup. The `maxmind`
 * reader decodes a record the first time its data pointer is reached; the answer is then
 * cached by pointer (a country database has a few hundred distinct records), so the
 * fast path is a tree walk and one Map lookup.
 */
import { basename } from "node:path";
import { Reader, type Response } from "maxmind";
import { formatIPv4, formatIPv6 } from "../../util/ip-text.js";
import { GeoIpError } from "./errors.js";
import { type FileSignature, readFile } from "./file-read.js";
import { asnOf, countryOf, detectLayout, type Layout } from "./layout.js";
import type { AsnInfo, CountryInfo, GeoDatabaseInfo, GeoDatabaseKind } from "./types.js";

const METADATA_MARKER = Buffer.from("abcdef4d61784d696e642e636f6d", "hex");
const DATA_SECTION_SEPARATOR = 16;
/** Records decoded at open to learn the layout and prove the data section readable. */
const SAMPLE_RECORDS = 64;
const SAMPLE_NODE_VISITS = 1 << 16;
/** Bound on cached records per database (a City database has millions); cleared when hit. */
export const RECORD_CACHE_LIMIT = 1 << 16;

export interface MmdbOpenOptions {
  kind: GeoDatabaseKind;
  bundled: boolean;
  /** Overrides the name taken from database_type (the bundled files have a generic one). */
  name?: string;
}

export interface MmdbStats {
  /** Tree records pointing outside the data section, or records the reader failed on. */
  damagedRecords: number;
  /** Times a record cache reached RECORD_CACHE_LIMIT and was emptied. */
  cacheResets: number;
}

const KIND_TEXT: Record<GeoDatabaseKind, string> = {
  country: "country database",
  city: "city database",
  asn: "ASN database",
};

function damaged(path: string, what: string): GeoIpError {
  return new GeoIpError(`not a usable MaxMind DB (.mmdb) file: ${what}`, path);
}

export class MmdbSource {
  readonly info: GeoDatabaseInfo;
  readonly layout: Layout;
  readonly signature: FileSignature;
  readonly stats: MmdbStats = { damagedRecords: 0, cacheResets: 0 };

  private readonly buf: Buffer;
  private readonly reader: Reader<Response>;
  private readonly nodeCount: number;
  private readonly recordSize: number;
  private readonly ipVersion: number;
  private readonly ipv4Start: number;
  /**
   * The node (or record value) after the first 16 bits of an address: one load instead of
   * the 16 hottest steps of the walk. 256 KiB each.
   */
  private readonly jump4 = new Uint32Array(65536);
  private readonly jump6 = new Uint32Array(65536);
  /** Largest record value that points inside the data section. */
  private readonly maxPointer: number;
  private readonly countries = new Map<number, CountryInfo | null>();
  private readonly networks = new Map<number, AsnInfo | null>();

  /** Reads and checks the file; throws GeoIpError naming the path and the problem. */
  static open(path: string, options: MmdbOpenOptions): MmdbSource {
    const { buf, signature, stats } = readFile(path, KIND_TEXT[options.kind]);
    return new MmdbSource(path, buf, signature, stats.mtime, options);
  }

  private constructor(
    path: string,
    buf: Buffer,
    signature: FileSignature,
    mtime: Date,
    options: MmdbOpenOptions,
  ) {
    this.buf = buf;
    this.signature = signature;
    if (buf.length === 0) throw damaged(path, "the file is empty");
    if (buf[0] === 0x1f && buf[1] === 0x8b) {
      throw damaged(path, "it is gzip-compressed; unpack it first (tar xzf / gunzip)");
    }
    const markerAt = buf.lastIndexOf(METADATA_MARKER);
    if (markerAt < 0) {
      throw damaged(
        path,
        "no metadata marker (\\xAB\\xCD\\xEFMaxMind.com) found; the download may be truncated, or this is another kind of file",
      );
    }
    try {
      this.reader = new Reader<Response>(buf);
    } catch (err) {
      throw damaged(path, `its metadata section is damaged (${(err as Error).message})`);
    }
    const md = this.reader.metadata;
    if (md.binaryFormatMajorVersion !== 2) {
      throw damaged(path, `binary format version ${md.binaryFormatMajorVersion} (egressd reads 2)`);
    }
    if (md.ipVersion !== 4 && md.ipVersion !== 6) {
      throw damaged(path, `metadata ip_version is ${md.ipVersion}, not 4 or 6`);
    }
    if (!Number.isInteger(md.nodeCount) || md.nodeCount <= 0) {
      throw damaged(path, `metadata node_count is ${md.nodeCount}`);
    }
    this.nodeCount = md.nodeCount;
    this.recordSize = md.recordSize;
    this.ipVersion = md.ipVersion;
    const treeEnd = md.searchTreeSize + DATA_SECTION_SEPARATOR;
    if (treeEnd > markerAt) {
      throw damaged(
        path,
        `the search tree (${md.nodeCount} nodes of ${md.nodeByteSize} bytes) runs past the data section; the file is truncated or damaged`,
      );
    }
    for (let i = md.searchTreeSize; i < treeEnd; i++) {
      if (buf[i] !== 0) {
        throw damaged(path, "no data section separator after the search tree; the file is damaged");
      }
    }
    this.maxPointer = this.nodeCount + (markerAt - md.searchTreeSize) - 1;

    let node = 0;
    if (this.ipVersion === 6) {
      for (let i = 0; i < 96 && node < this.nodeCount; i++) node = this.child(node, 0);
    }
    this.ipv4Start = node;
    for (let k = 0; k < 65536; k++) {
      this.jump4[k] = this.descend(this.ipv4Start, k);
      this.jump6[k] = this.ipVersion === 6 ? this.descend(0, k) : this.nodeCount;
    }

    const databaseType = typeof md.databaseType === "string" ? md.databaseType : "";
    const samples = this.sampleRecords(path);
    const layout = detectLayout(databaseType, samples);
    if (layout === null) {
      throw new GeoIpError(
        `records have none of the fields egressd reads (country.iso_code, country_code, autonomous_system_number, asn); database_type is "${databaseType}"`,
        path,
      );
    }
    this.layout = layout;
    const name =
      options.name ??
      (/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(databaseType)
        ? databaseType
        : basename(path).replace(/\.mmdb$/i, ""));
    const usable =
      options.kind === "asn"
        ? samples.some((r) => asnOf(layout, r, name) !== null)
        : samples.some((r) => countryOf(layout, r, name) !== null);
    if (!usable) {
      throw new GeoIpError(
        `has no ${options.kind === "asn" ? "AS numbers" : "countries"} (database_type "${databaseType}", ${layout} layout); is it the right file for the ${KIND_TEXT[options.kind]}?`,
        path,
      );
    }
    const built = md.buildEpoch;
    this.info = {
      name,
      kind: options.kind,
      path,
      bundled: options.bundled,
      // build_epoch is required by the spec; a file without one is dated by its mtime.
      buildTime: built instanceof Date && !Number.isNaN(built.getTime()) ? built : mtime,
      layout,
    };
  }

  /** The record of `bit` (0 left, 1 right) in tree node `node`. */
  private child(node: number, bit: number): number {
    const b = this.buf;
    switch (this.recordSize) {
      case 24: {
        const o = node * 6 + bit * 3;
        return (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
      }
      case 28: {
        const o = node * 7;
        if (bit === 0)
          return ((b[o + 3]! & 0xf0) << 20) | (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
        return ((b[o + 3]! & 0x0f) << 24) | (b[o + 4]! << 16) | (b[o + 5]! << 8) | b[o + 6]!;
      }
      default: {
        const o = node * 8 + bit * 4;
        return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
      }
    }
  }

  /** Walks the 16 bits of `top` from `node`; stops early at a record that is not a node. */
  private descend(node: number, top: number): number {
    for (let i = 15; i >= 0 && node < this.nodeCount; i--) node = this.child(node, (top >>> i) & 1);
    return node;
  }

  /** A record value that points into the data section, or 0 (not in the database). */
  private pointer(record: number): number {
    if (record <= this.nodeCount) return 0; // == nodeCount: no data; < : tree deeper than the address
    if (record < this.nodeCount + DATA_SECTION_SEPARATOR || record > this.maxPointer) {
      this.stats.damagedRecords++;
      return 0;
    }
    return record;
  }

  private walk4(w: number): number {
    const n = this.nodeCount;
    let node = this.jump4[w >>> 16]!;
    for (let i = 15; i >= 0 && node < n; i--) node = this.child(node, (w >>> i) & 1);
    return this.pointer(node);
  }

  private walk6(w0: number, w1: number, w2: number, w3: number): number {
    if (this.ipVersion !== 6) return 0;
    const n = this.nodeCount;
    let node = this.jump6[w0 >>> 16]!;
    for (let i = 15; i >= 0 && node < n; i--) node = this.child(node, (w0 >>> i) & 1);
    for (let i = 31; i >= 0 && node < n; i--) node = this.child(node, (w1 >>> i) & 1);
    for (let i = 31; i >= 0 && node < n; i--) node = this.child(node, (w2 >>> i) & 1);
    for (let i = 31; i >= 0 && node < n; i--) node = this.child(node, (w3 >>> i) & 1);
    return this.pointer(node);
  }

  /**
   * The tree record value an address leads to (> node count: a data pointer), or 0 when
   * the database has nothing for it. For tests, which hold it against the reader's walk.
   */
  recordFor(ipVersion: number, w0: number, w1: number, w2: number, w3: number): number {
    return ipVersion === 4 ? this.walk4(w3 >>> 0) : this.walk6(w0, w1, w2, w3);
  }

  /** Decodes the record at an address through the reader (first sight of a pointer only). */
  private decode(text: string): unknown {
    try {
      return this.reader.get(text);
    } catch {
      this.stats.damagedRecords++;
      return null;
    }
  }

  private remember<T>(cache: Map<number, T>, pointer: number, value: T): T {
    if (cache.size >= RECORD_CACHE_LIMIT) {
      cache.clear();
      this.stats.cacheResets++;
    }
    cache.set(pointer, value);
    return value;
  }

  country4(w: number): CountryInfo | null {
    const p = this.walk4(w);
    if (p === 0) return null;
    const hit = this.countries.get(p);
    if (hit !== undefined) return hit;
    const info = countryOf(this.layout, this.decode(formatIPv4(w)), this.info.name);
    return this.remember(this.countries, p, info);
  }

  country6(w0: number, w1: number, w2: number, w3: number): CountryInfo | null {
    const p = this.walk6(w0, w1, w2, w3);
    if (p === 0) return null;
    const hit = this.countries.get(p);
    if (hit !== undefined) return hit;
    const record = this.decode(formatIPv6(w0, w1, w2, w3));
    return this.remember(this.countries, p, countryOf(this.layout, record, this.info.name));
  }

  asn4(w: number): AsnInfo | null {
    const p = this.walk4(w);
    if (p === 0) return null;
    const hit = this.networks.get(p);
    if (hit !== undefined) return hit;
    const info = asnOf(this.layout, this.decode(formatIPv4(w)), this.info.name);
    return this.remember(this.networks, p, info);
  }

  asn6(w0: number, w1: number, w2: number, w3: number): AsnInfo | null {
    const p = this.walk6(w0, w1, w2, w3);
    if (p === 0) return null;
    const hit = this.networks.get(p);
    if (hit !== undefined) return hit;
    const record = this.decode(formatIPv6(w0, w1, w2, w3));
    return this.remember(this.networks, p, asnOf(this.layout, record, this.info.name));
  }

  /**
   * Decodes the first records found depth-first, with the address that leads to each, so
   * the layout can be told and a damaged data section is refused at open, not mid-capture.
   */
  private sampleRecords(path: string): unknown[] {
    const depthMax = this.ipVersion === 6 ? 128 : 32;
    const seen = new Set<number>();
    const records: unknown[] = [];
    // Stack of [node, depth, w0, w1, w2, w3]; the address's bits so far are set in the words.
    const stack: number[][] = [[0, 0, 0, 0, 0, 0]];
    let visits = 0;
    while (stack.length > 0 && records.length < SAMPLE_RECORDS && visits < SAMPLE_NODE_VISITS) {
      const [node, depth, ...words] = stack.pop()!;
      visits++;
      for (const bit of [1, 0]) {
        const next = this.child(node!, bit);
        const w = [...words];
        if (bit === 1) {
          const bitIndex = this.ipVersion === 6 ? depth! : depth! + 96;
          w[bitIndex >>> 5] = (w[bitIndex >>> 5]! | (1 << (31 - (bitIndex & 31)))) >>> 0;
        }
        if (next < this.nodeCount) {
          if (depth! + 1 < depthMax) stack.push([next, depth! + 1, ...w]);
          continue;
        }
        const p = this.pointer(next);
        if (p === 0 || seen.has(p)) continue;
        seen.add(p);
        const text =
          this.ipVersion === 6 ? formatIPv6(w[0]!, w[1]!, w[2]!, w[3]!) : formatIPv4(w[3]!);
        let record: unknown;
        try {
          record = this.reader.get(text);
        } catch (err) {
          throw damaged(path, `the data section is damaged (${(err as Error).message})`);
        }
        records.push(record);
      }
    }
    if (this.stats.damagedRecords > 0) {
      throw damaged(path, "search tree records point outside the data section");
    }
    if (records.length === 0) throw damaged(path, "the search tree leads to no records");
    return records;
  }
}
