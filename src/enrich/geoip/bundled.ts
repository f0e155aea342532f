/**
 * The data shipped in npm packages, used where no operator database answers, so egressd
 * knows countries and network owners with no licence key and no network access:
 *
 * - @ip-location-db/geo-whois-asn-country-mmdb (CC0): country per address, one .mmdb
 *   for IPv4 and IPv6.
 * - @ip-location-db/asn (CC BY 4.0: RouteViews, DB-IP, NRO): AS number and organisation
 *   per range, CSV. Its build date is the one in the package version (2.3.YYYYMMDDHH):
 *   npm does not keep file times.
 *
 * Each is built once per process and shared by every GeoIp until its files change.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
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

export interface BundledAsn {
  table: AsnTable;
  info: GeoDatabaseInfo;
  signature: FileSignature;
  /** Milliseconds spent reading and building the table. */
  buildMs: number;
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

/** The bundled ASN table, rebuilt only if a CSV file changed. */
export function bundledAsn(): BundledAsn {
  const paths = bundledAsnPaths();
  const what = "bundled ASN data";
  const signature = `${statFile(paths.v4, what).signature}|${statFile(paths.v6, what).signature}`;
  if (asnCache?.signature === signature) return asnCache;
  const started = performance.now();
  const v4 = readFile(paths.v4, what);
  const v6 = readFile(paths.v6, what);
  const table = AsnTable.fromCsv({ v4: v4.buf, v6: v6.buf }, paths, BUNDLED_ASN_NAME);
  let version = "";
  try {
    version = String(JSON.parse(readFile(paths.packageJson, what).buf.toString("utf8")).version);
  } catch {
    // No readable version: fall back on the file time below.
  }
  asnCache = {
    table,
    signature: `${v4.signature}|${v6.signature}`,
    buildMs: performance.now() - started,
    info: {
      name: BUNDLED_ASN_NAME,
      kind: "asn",
      path: paths.v4,
      bundled: true,
      buildTime: versionDate(version) ?? v4.stats.mtime,
      layout: "ip-location-db-csv",
    },
  };
  return asnCache;
}
