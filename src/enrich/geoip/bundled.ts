/**
 * The data shipped in npm packages, used where no operator database answers, so egressd
 * knows countries and network owners with no licence key and no network access:
 *
 * - @ip-location-db/geo-whois-asn-country-mmdb (CC0): country per address, one .mmdb
 *   for IPv4 and IPv6.
 * - @ip-location-db/asn (CC BY 4.0: RouteViews, DB-IP, NRO): AS number and organisation
 *   per range, CSV. Its build date is the one in the package version (2.3.YYYYMMDDHH):
 *   npm does not keep file times. Parsing the CSV takes ~0.5 s, so `npm run build`
 *   (build-asn-cache.ts) writes the table to dist/data/asn-table.bin once, and it is
 *   loaded from there when it was built from the CSV files installed (same package
 *   version and sizes); otherwise the CSV is parsed as before. Nothing is written at
 *   run time.
 *
 * Each is built once per process and shared by every GeoIp until its files change.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { asnCacheKey, decodeAsnCache, encodeAsnCache } from "./asn-cache.js";
import { AsnTable } from "./asn-table.js";
import { GeoIpError } from "./errors.js";
import { type FileSignature, readFile, statFile } from "./file-read.js";
import { MmdbSource } from "./mmdb-source.js";
import type { GeoDatabaseInfo } from "./types.js";

export const BUNDLED_COUNTRY_NAME = "ip-location-db/geo-whois-asn-country";
export const BUNDLED_ASN_NAME = "ip-location-db/asn";
const COUNTRY_PACKAGE = "@ip-location-db/geo-whois-asn-country-mmdb";
const ASN_PACKAGE = "@ip-location-db/asn";

const require = createRequire(import.meta.url);

function packageDir(name: string): string {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    throw new GeoIpError(
      `the bundled GeoIP data is missing: npm package ${name} is not installed (reinstall egressd, or pass bundled: false / --no-bundled with your own databases)`,
    );
  }
}

/** "2.3.2026061719" -> 2026-06-17T19:00Z; null if the version has no date. */
export function versionDate(version: string): Date | null {
  const m = /^\d+\.\d+\.(\d{4})(\d{2})(\d{2})(\d{2})$/.exec(version);
  if (m === null) return null;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!));
  return Number.isNaN(d.getTime()) || d.getUTCDate() !== +m[3]! ? null : d;
}

export function bundledCountryPath(): string {
  return join(packageDir(COUNTRY_PACKAGE), "geo-whois-asn-country.mmdb");
}

export function bundledAsnPaths(): { v4: string; v6: string; packageJson: string } {
  const dir = packageDir(ASN_PACKAGE);
  return {
    v4: join(dir, "asn-ipv4.csv"),
    v6: join(dir, "asn-ipv6.csv"),
    packageJson: join(dir, "package.json"),
  };
}

/**
 * Where `npm run build` writes the ASN table and where it is looked for:
 * <package>/dist/data/asn-table.bin, which is three folders up from this module both as
 * dist/enrich/geoip/bundled.js and as src/enrich/geoip/bundled.ts (tests).
 */
export function bundledAsnCachePath(): string {
  return fileURLToPath(new URL("../../../dist/data/asn-table.bin", import.meta.url));
}

export interface BundledAsn {
  table: AsnTable;
  info: GeoDatabaseInfo;
  signature: FileSignature;
  /** Milliseconds spent reading and building the table. */
  buildMs: number;
  /** Where the table came from: the build-time cache file, or the CSV files parsed now. */
  from: "cache" | "csv";
  /** With "csv": why the cache file was not used (missing, built from other data, damaged). */
  cacheMiss?: string;
}

let countryCache: MmdbSource | null = null;
let asnCache: BundledAsn | null = null;

/** The bundled country database, reread only if its file changed. */
export function bundledCountry(): MmdbSource {
  const path = bundledCountryPath();
  const { signature } = statFile(path, "bundled country database");
  if (countryCache?.signature !== signature) {
    countryCache = MmdbSource.open(path, {
      kind: "country",
      bundled: true,
      name: BUNDLED_COUNTRY_NAME,
    });
  }
  return countryCache;
}

let cacheMisses = 0;

/** How many times this process parsed the ASN CSV because the cache file could not be used. */
export function bundledAsnCacheMisses(): number {
  return cacheMisses;
}

/** The bundled ASN table, rebuilt only if a CSV file changed. */
export function bundledAsn(): BundledAsn {
  const paths = bundledAsnPaths();
  const what = "bundled ASN data";
  const signature = `${statFile(paths.v4, what).signature}|${statFile(paths.v6, what).signature}`;
  if (asnCache?.signature === signature) return asnCache;
  asnCache = loadBundledAsn(bundledAsnCachePath());
  if (asnCache.from === "csv") cacheMisses++;
  return asnCache;
}

function packageVersion(path: string): string {
  try {
    return String(JSON.parse(readFile(path, "bundled ASN data").buf.toString("utf8")).version);
  } catch {
    return ""; // No readable version: no cache, and the build date falls back on the file time.
  }
}

/**
 * The bundled ASN table from the cache file at `cachePath` (null: none) when it was
 * built from the CSV files installed, else from the CSV files. Not cached: bundledAsn()
 * is the shared one.
 */
export function loadBundledAsn(cachePath: string | null): BundledAsn {
  const paths = bundledAsnPaths();
  const what = "bundled ASN data";
  const started = performance.now();
  const v4 = statFile(paths.v4, what);
  const v6 = statFile(paths.v6, what);
  const version = packageVersion(paths.packageJson);
  const info: GeoDatabaseInfo = {
    name: BUNDLED_ASN_NAME,
    kind: "asn",
    path: paths.v4,
    bundled: true,
    buildTime: versionDate(version) ?? v4.stats.mtime,
    layout: "ip-location-db-csv",
  };
  let cacheMiss: string;
  if (cachePath === null) {
    cacheMiss = "no cache file";
  } else if (version === "") {
    cacheMiss = `no version in ${paths.packageJson}`;
  } else {
    let file: Buffer | null = null;
    try {
      file = readFileSync(cachePath);
      cacheMiss = "";
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      cacheMiss = e.code === "ENOENT" ? `no cache file ${cachePath}` : `${cachePath}: ${e.message}`;
    }
    if (file !== null) {
      const key = asnCacheKey(version, v4.stats.size, v6.stats.size);
      const cached = decodeAsnCache(file, key, BUNDLED_ASN_NAME);
      if (cached.ok) {
        return {
          table: cached.table,
          signature: `${v4.signature}|${v6.signature}`,
          buildMs: performance.now() - started,
          from: "cache",
          info,
        };
      }
      cacheMiss = `${cachePath}: ${cached.reason}`;
    }
  }
  const v4csv = readFile(paths.v4, what);
  const v6csv = readFile(paths.v6, what);
  const table = AsnTable.fromCsv({ v4: v4csv.buf, v6: v6csv.buf }, paths, BUNDLED_ASN_NAME);
  return {
    table,
    signature: `${v4csv.signature}|${v6csv.signature}`,
    buildMs: performance.now() - started,
    from: "csv",
    cacheMiss,
    info,
  };
}

/**
 * Parses the installed CSV files and writes the table to `path` (a temporary file, then
 * a rename, so a reader never sees half a file). For build-asn-cache.ts and tests.
 */
export function writeBundledAsnCache(path: string = bundledAsnCachePath()): {
  path: string;
  bytes: number;
  key: string;
  rows: { v4: number; v6: number };
  asNumbers: number;
} {
  const paths = bundledAsnPaths();
  const what = "bundled ASN data";
  const version = packageVersion(paths.packageJson);
  if (version === "")
    throw new GeoIpError("no package version to key the cache on", paths.packageJson);
  const v4 = readFile(paths.v4, what);
  const v6 = readFile(paths.v6, what);
  const table = AsnTable.fromCsv({ v4: v4.buf, v6: v6.buf }, paths, BUNDLED_ASN_NAME);
  const key = asnCacheKey(version, v4.buf.length, v6.buf.length);
  const bytes = encodeAsnCache(table, key);
  const back = decodeAsnCache(bytes, key, BUNDLED_ASN_NAME, { thorough: true });
  if (!back.ok) throw new Error(`the ASN cache just encoded does not decode: ${back.reason}`);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return { path, bytes: bytes.length, key, rows: table.rows, asNumbers: table.infos.length };
}
