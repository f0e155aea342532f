/**
 * Record layouts of the .mmdb files egressd reads, and how to get a country and a network
 * owner out of each:
 *
 * - geoip2: MaxMind GeoIP2/GeoLite2 (and DB-IP lite): `country.iso_code`,
 *   `country.names.en`, `city.names.en`, `autonomous_system_number` and
 *   `autonomous_system_organization`. A record without `country` (anycast, satellite)
 *   falls back on `registered_country`, where the network is registered.
 * - ip-location-db: flat `country_code`, `city`, and the same two ASN keys as GeoLite2.
 * - ipinfo: flat `country_code`, `country` (the name), `city`, `asn` ("AS13335") and `as_name`.
 */
import type { AsnInfo, CountryInfo } from "./types.js";

export type Layout = "geoip2" | "ip-location-db" | "ipinfo";

type Rec = Record<string, unknown>;

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function obj(v: unknown): Rec | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Rec) : undefined;
}

function englishName(v: unknown): string | undefined {
  return str(obj(obj(v)?.names)?.en);
}

function isoCode(v: unknown): string | undefined {
  const s = str(v);
  return s !== undefined && /^[A-Za-z]{2}$/.test(s) ? s.toUpperCase() : undefined;
}

/** The layout from database_type, else from the keys of sample records; null if unknown. */
export function detectLayout(databaseType: string, samples: readonly unknown[]): Layout | null {
  if (/^(GeoIP2|GeoLite2|GeoIP|DBIP)\b/i.test(databaseType)) return "geoip2";
  const records = samples.map(obj).filter((r): r is Rec => r !== undefined);
  if (records.some((r) => obj(r.country) ?? obj(r.registered_country) ?? obj(r.city))) {
    return "geoip2";
  }
  if (records.some((r) => typeof r.asn === "string" || r.as_name !== undefined)) return "ipinfo";
  if (records.some((r) => r.country_code !== undefined)) return "ip-location-db";
  if (records.some((r) => r.autonomous_system_number !== undefined)) {
    return /ip-?location-?db|ipvall|asn/i.test(databaseType) ? "ip-location-db" : "geoip2";
  }
  return null;
}

/** Country (and city) from one record, or null if the record has no country. */
export function countryOf(layout: Layout, record: unknown, source: string): CountryInfo | null {
  const r = obj(record);
  if (r === undefined) return null;
  let iso: string | undefined;
  let name: string | undefined;
  let city: string | undefined;
  if (layout === "geoip2") {
    const country = obj(r.country) ?? obj(r.registered_country);
    iso = isoCode(country?.iso_code);
    name = englishName(country);
    city = englishName(r.city);
  } else {
    iso = isoCode(r.country_code);
    name = layout === "ipinfo" ? str(r.country) : str(r.country_name);
    city = str(r.city);
  }
  if (iso === undefined) return null;
  return Object.freeze({ iso, name, city, source });
}

function asNumberOf(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === "bigint" && v >= 0n && v <= 0xffffffffn) return Number(v);
  if (typeof v === "string") {
    const m = /^(?:AS)?([0-9]{1,10})$/i.exec(v);
    if (m !== null) return Number(m[1]);
  }
  return undefined;
}

/** AS number and organisation from one record, or null if it has no AS number. */
export function asnOf(layout: Layout, record: unknown, source: string): AsnInfo | null {
  const r = obj(record);
  if (r === undefined) return null;
  const asNumber = layout === "ipinfo" ? asNumberOf(r.asn) : asNumberOf(r.autonomous_system_number);
  if (asNumber === undefined) return null;
  const asOrganization =
    layout === "ipinfo" ? str(r.as_name) : str(r.autonomous_system_organization);
  return Object.freeze({ asNumber, asOrganization, source });
}
