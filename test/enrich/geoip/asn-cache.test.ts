import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAddress } from "../../../src/enrich/geoip/address.js";
import {
  ASN_CACHE_FORMAT_VERSION,
  asnCacheKey,
  decodeAsnCache,
  encodeAsnCache,
} from "../../../src/enrich/geoip/asn-cache.js";
import { AsnTable } from "../../../src/enrich/geoip/asn-table.js";
import {
  BUNDLED_ASN_NAME,
  type BundledAsn,
  bundledAsn,
  bundledAsnCacheMisses,
  bundledAsnCachePath,
  loadBundledAsn,
  writeBundledAsnCache,
} from "../../../src/enrich/geoip/bundled.js";
import type { AsnInfo } from "../../../src/enrich/geoip/types.js";

const KEY = asnCacheKey("2.3.2026061719", 100, 200);

function small(v4: string, v6 = ""): AsnTable {
  return AsnTable.fromCsv(
    { v4: Buffer.from(v4), v6: Buffer.from(v6) },
    { v4: "/data/asn-ipv4.csv", v6: "/data/asn-ipv6.csv" },
    "test-asn",
  );
}

function roundTrip(t: AsnTable, key = KEY): AsnTable {
  const r = decodeAsnCache(encodeAsnCache(t, key), key, "test-asn", { thorough: true });
  if (!r.ok) throw new Error(r.reason);
  return r.table;
}

function owner(t: AsnTable, text: string): string | null {
  const a = parseAddress(text)!;
  const info = a.version === 4 ? t.lookup4(a.w3) : t.lookup6(a.w0, a.w1, a.w2, a.w3);
  return info === null ? null : `AS${info.asNumber} ${info.asOrganization ?? "-"} ${info.source}`;
}

/** xorshift32: the same sample on every run. */
function random(seed: number): () => number {
  return () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
}

const same = (a: AsnInfo | null, b: AsnInfo | null): boolean =>
  a === null || b === null
    ? a === b
    : a.asNumber === b.asNumber && a.asOrganization === b.asOrganization && a.source === b.source;

/** A copy of a cache file's bytes with header word `word` set, CRC fixed or not. */
function patched(file: Uint8Array, word: number, value: number, fixCrc: boolean): Uint8Array {
  const copy = new Uint8Array(file);
  new Uint32Array(copy.buffer, 0, 40)[word] = value;
  return fixCrc ? withCrc(copy) : copy;
}

function withCrc(file: Uint8Array): Uint8Array {
  const crc = zlib.crc32(file.subarray(28), zlib.crc32(file.subarray(0, 24))) >>> 0;
  new Uint32Array(file.buffer, file.byteOffset, 12)[6] = crc;
  return file;
}

function reason(file: Uint8Array, key = KEY, thorough = false): string {
  const r = decodeAsnCache(file, key, "test-asn", { thorough });
  return r.ok ? "ok" : r.reason;
}

describe("ASN cache file format", () => {
  const t = small(
    [
      '1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."',
      "1.0.4.0,1.0.7.255,38803,Société Générale – ñ 日本 🚀",
      '2.26.200.0,2.26.215.255,201907,"LLC ""SPUTNIK"""',
      "8.8.8.0,8.8.8.255,15169,Google LLC",
      "9.0.0.0,9.0.0.255,15169,Google LLC",
      "10.0.0.0,10.0.255.255,1,outer",
      "10.0.16.0,10.0.16.255,2,nested",
      "255.255.255.0,255.255.255.255,64512,",
    ].join("\n"),
    [
      "2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project",
      "2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC",
      "2a00:1450:4001:800::1,2a00:1450:4001:800::1,64513,",
    ].join("\n"),
  );
  const file = encodeAsnCache(t, KEY);

  it("round-trips names (quotes, UTF-8, none), overlaps and both families", () => {
    const c = roundTrip(t);
    for (const a of [
      "1.0.0.0",
      "1.0.3.255",
      "1.0.5.1",
      "2.26.201.1",
      "8.8.8.8",
      "9.0.0.1",
      "10.0.16.1",
      "10.0.17.1",
      "255.255.255.255",
      "0.0.0.0",
      "2001:200::1",
      "2001:4860:4860::8888",
      "2a00:1450:4001:800::1",
      "2a00:1450:4001:800::2",
      "::",
    ]) {
      expect(owner(c, a), a).toBe(owner(t, a));
    }
    expect(owner(c, "1.0.5.1")).toBe("AS38803 Société Générale – ñ 日本 🚀 test-asn");
    expect(owner(c, "255.255.255.255")).toBe("AS64512 - test-asn");
    expect(c.rows).toEqual(t.rows);
    expect(c.infos).toEqual(t.infos);
  });

  it("shares one answer per AS number, made once", () => {
    const c = roundTrip(t);
    const a = c.lookup4(parseAddress("8.8.8.8")!.w3);
    expect(c.lookup4(parseAddress("9.0.0.1")!.w3)).toBe(a);
    expect(c.lookup6(0x20014860, 0, 0, 1)).toBe(a);
    expect(c.infos).toContain(a);
  });

  it("round-trips an empty table", () => {
    const c = roundTrip(small(""));
    expect(c.rows).toEqual({ v4: 0, v6: 0 });
    expect(c.lookup4(0x08080808)).toBeNull();
    expect(c.lookup6(0x20014860, 0, 0, 1)).toBeNull();
  });

  it("loads from a buffer that is not 8-byte aligned", () => {
    const shifted = Buffer.alloc(file.length + 1);
    file.copy(shifted, 1);
    const r = decodeAsnCache(shifted.subarray(1), KEY, "test-asn");
    expect(r.ok).toBe(true);
    if (r.ok) expect(owner(r.table, "1.0.5.1")).toBe(owner(t, "1.0.5.1"));
  });

  it("refuses files that are not whole, not this format, or built from other data", () => {
    expect(reason(file)).toBe("ok");
    expect(reason(new Uint8Array(0))).toBe("empty file");
    expect(reason(file.subarray(0, 20))).toMatch(/truncated header/);
    expect(reason(Buffer.from("<html>404</html> and then some more text"))).toMatch(
      /not an ASN cache file/,
    );
    expect(reason(file.subarray(0, file.length - 8))).toMatch(/truncated/);
    expect(reason(Buffer.concat([file, Buffer.alloc(8)]))).toMatch(/the file has/);
    expect(reason(file, asnCacheKey("2.3.2026070100", 100, 200))).toMatch(
      /built from @ip-location-db\/asn@2\.3\.2026061719 asn-ipv4\.csv=100 asn-ipv6\.csv=200, the data installed is @ip-location-db\/asn@2\.3\.2026070100/,
    );
    expect(reason(file, asnCacheKey("2.3.2026061719", 100, 201))).toMatch(/built from/);
    expect(reason(patched(file, 3, ASN_CACHE_FORMAT_VERSION + 1, true))).toMatch(
      /format version 2, this egressd reads 1/,
    );
    expect(reason(patched(file, 2, 0x04030201, true))).toMatch(/other byte order/);
    expect(reason(patched(file, 11, 3, true))).toMatch(/3 sections/);
    expect(reason(patched(file, 4, file.length + 8, true))).toMatch(/bad header length/);
  });

  it("refuses a damaged file by its CRC", () => {
    for (const at of [9, 30, 200, file.length - 1]) {
      const bad = new Uint8Array(file);
      bad[at]! ^= 0x10;
      expect(reason(bad), `byte ${at}`).toMatch(/CRC mismatch|not an ASN cache|byte-order mark/);
    }
  });

  it("refuses sections out of bounds, misaligned or of the wrong size", () => {
    // Words 12.. hold (offset, length) per section; the first is v4.start.
    expect(reason(patched(file, 12, file.length + 8, true))).toMatch(
      /section v4\.start lies outside the file or is misaligned/,
    );
    expect(reason(patched(file, 12, 4, true))).toMatch(/section v4\.start lies outside/);
    expect(reason(patched(file, 13, 4, true))).toBe(
      `section v4.start has 4 bytes, expected ${t.rows.v4 * 4}`,
    );
  });

  it("checks every row when asked (or without a CRC to check)", () => {
    // Point row 0's info (first word of v4.info) past the last AS number.
    const bad = new Uint8Array(file);
    const v4InfoOffset = new Uint32Array(bad.buffer, 0, 20)[16]!;
    new Uint32Array(bad.buffer, v4InfoOffset, 1)[0] = t.infos.length;
    withCrc(bad);
    expect(reason(bad, KEY, true)).toMatch(/a row names no AS/);
    expect(reason(bad, KEY, false)).toBe("ok");
  });
});

describe("bundled ASN table from the cache file and from the CSV", () => {
  let dir: string;
  let cachePath: string;
  let csv: BundledAsn;
  let cached: BundledAsn;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "egressd-asn-cache-"));
    cachePath = join(dir, "data", "asn-table.bin");
    csv = loadBundledAsn(null);
    writeBundledAsnCache(cachePath);
    cached = loadBundledAsn(cachePath);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("loads from the cache with the CSV's build date, signature and rows", () => {
    expect(csv.from).toBe("csv");
    expect(csv.cacheMiss).toBe("no cache file");
    expect(cached.from).toBe("cache");
    expect(cached.cacheMiss).toBeUndefined();
    expect(cached.info).toEqual(csv.info);
    expect(cached.signature).toBe(csv.signature);
    expect(cached.table.rows).toEqual(csv.table.rows);
    expect(cached.table.rows.v4).toBeGreaterThan(100_000);
    expect(cached.table.rows.v6).toBeGreaterThan(10_000);
  });

  it("holds the same arrays and AS numbers as the CSV", () => {
    const a = csv.table.columns();
    const b = cached.table.columns();
    const bytes = (x: Uint32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    for (const [name, x, y] of [
      ["v4.start", a.v4.start, b.v4.start],
      ["v4.end", a.v4.end, b.v4.end],
      ["v4.info", a.v4.info, b.v4.info],
      ["v4Index", a.v4Index, b.v4Index],
      ["v6.start", a.v6.start, b.v6.start],
      ["v6.end", a.v6.end, b.v6.end],
      ["v6.info", a.v6.info, b.v6.info],
      ["v6Index", a.v6Index, b.v6Index],
    ] as const) {
      expect(bytes(y).equals(bytes(x)), name).toBe(true);
    }
    const x = csv.table.infos;
    const y = cached.table.infos;
    expect(y.length).toBe(x.length);
    const differ = x.filter((info, i) => !same(info, y[i]!)).slice(0, 5);
    expect(differ).toEqual([]);
  });

  it("answers 300,000 random IPv4 addresses and range edges as the CSV does", () => {
    const rand = random(0x9e3779b9);
    const { v4 } = csv.table.columns();
    const words: number[] = [];
    for (let i = 0; i < 200_000; i++) words.push(rand());
    for (let i = 0; i < 25_000; i++) {
      const r = rand() % v4.rows;
      const s = v4.start[r]!;
      const e = v4.end[r]!;
      words.push(s, e, (s - 1) >>> 0, (e + 1) >>> 0);
    }
    let hits = 0;
    const bad: string[] = [];
    for (const w of words) {
      const a = csv.table.lookup4(w);
      const b = cached.table.lookup4(w);
      if (a !== null) hits++;
      if (!same(a, b) && bad.length < 5) bad.push(`${w >>> 0}: ${a?.asNumber} vs ${b?.asNumber}`);
    }
    expect(bad).toEqual([]);
    expect(hits).toBeGreaterThan(words.length / 2);
  });

  it("answers 300,000 random IPv6 addresses and range edges as the CSV does", () => {
    const rand = random(0x2545f491);
    const { v6 } = csv.table.columns();
    const toWords = (k: bigint) =>
      [96n, 64n, 32n, 0n].map((s) => Number((k >> s) & 0xffffffffn)) as [
        number,
        number,
        number,
        number,
      ];
    const key = (a: Uint32Array, r: number) =>
      (BigInt(a[r * 4]!) << 96n) |
      (BigInt(a[r * 4 + 1]!) << 64n) |
      (BigInt(a[r * 4 + 2]!) << 32n) |
      BigInt(a[r * 4 + 3]!);
    const max = (1n << 128n) - 1n;
    const addresses: [number, number, number, number][] = [];
    for (let i = 0; i < 100_000; i++) {
      // Anywhere, in global unicast 2000::/3, and under the first 32 bits of a real range.
      addresses.push([rand(), rand(), rand(), rand()]);
      addresses.push([(0x20000000 | (rand() >>> 3)) >>> 0, rand(), rand(), rand()]);
      addresses.push([v6.start[(rand() % v6.rows) * 4]!, rand(), rand(), rand()]);
    }
    for (let i = 0; i < 5_000; i++) {
      const r = rand() % v6.rows;
      const s = key(v6.start, r);
      const e = key(v6.end, r);
      addresses.push(toWords(s), toWords(e), toWords(s === 0n ? max : s - 1n));
      addresses.push(toWords(e === max ? 0n : e + 1n));
    }
    let hits = 0;
    const bad: string[] = [];
    for (const [w0, w1, w2, w3] of addresses) {
      const a = csv.table.lookup6(w0, w1, w2, w3);
      const b = cached.table.lookup6(w0, w1, w2, w3);
      if (a !== null) hits++;
      if (!same(a, b) && bad.length < 5)
        bad.push(`${[w0, w1, w2, w3]}: ${a?.asNumber} vs ${b?.asNumber}`);
    }
    expect(bad).toEqual([]);
    expect(hits).toBeGreaterThan(50_000);
  });

  it("falls back on the CSV, saying why, when the cache file is missing, damaged or stale", () => {
    const good = readFileSync(cachePath);
    const damaged = join(dir, "damaged.bin");
    const flipped = Buffer.from(good);
    flipped[flipped.length >> 1]! ^= 1;
    writeFileSync(damaged, flipped);
    const stale = join(dir, "stale.bin");
    writeFileSync(stale, encodeAsnCache(cached.table, asnCacheKey("2.3.2000010100", 1, 2)));
    const cases: [string, RegExp][] = [
      [join(dir, "nope.bin"), /^no cache file .*nope\.bin$/],
      [damaged, /damaged\.bin: CRC mismatch/],
      [stale, /stale\.bin: built from @ip-location-db\/asn@2\.3\.2000010100 asn-ipv4\.csv=1 /],
      [dir, /EISDIR/],
    ];
    for (const [path, why] of cases) {
      const b = loadBundledAsn(path);
      expect(b.from, path).toBe("csv");
      expect(b.cacheMiss, path).toMatch(why);
      expect(b.info).toEqual(csv.info);
      expect(owner(b.table, "8.8.8.8")).toBe(owner(cached.table, "8.8.8.8"));
      expect(owner(b.table, "2001:4860:4860::8888")).toBe(
        owner(cached.table, "2001:4860:4860::8888"),
      );
    }
  });

  it.skipIf(!existsSync(bundledAsnCachePath()))(
    "uses the cache npm run build wrote into dist/data/",
    () => {
      const b = bundledAsn();
      expect(b.cacheMiss, "dist/data/asn-table.bin is stale: run npm run build").toBeUndefined();
      expect(b.from).toBe("cache");
      expect(bundledAsnCacheMisses()).toBe(0);
      expect(b.info).toEqual(csv.info);
      expect(owner(b.table, "1.1.1.1")).toBe(`AS13335 Cloudflare, Inc. ${BUNDLED_ASN_NAME}`);
    },
  );
});
