/**
 * What egressd tells about a destination address: its scope (internet, or the special
 * range it is in), its country and network owner, and which database said so.
 */

/**
 * The words of Rust's `std::net` `is_*` predicates (`is_shared` is CGNAT, `is_unique_local`
 * is fc00::/7): the best-known vocabulary for the IANA special-purpose registries.
 * `internet` is a globally reachable address, the only scope looked up in the databases.
 */
export type Scope =
  | "internet"
  | "private"
  | "shared"
  | "loopback"
  | "link-local"
  | "multicast"
  | "broadcast"
  | "unique-local"
  | "documentation"
  | "benchmarking"
  | "reserved"
  | "unspecified";

/**
 * One lookup's answer. Answers are shared between lookups (special ranges) or built for
 * the caller; callers never mutate them. Every answer has all the fields (unknown ones
 * undefined) so they share one shape.
 */
export interface GeoAnswer {
  readonly scope: Scope;
  /** Name of the special range, when not internet: "RFC 1918 private". */
  readonly range?: string;
  /** ISO 3166-1 alpha-2: "CN". */
  readonly countryIso?: string;
  /** English name, when the database has names (GeoLite2/GeoIP2 do). */
  readonly countryName?: string;
  readonly cityName?: string;
  /** The database that answered the country: "GeoLite2-City", "ip-location-db/geo-whois-asn-country". */
  readonly countrySource?: string;
  readonly asNumber?: number;
  readonly asOrganization?: string;
  readonly asSource?: string;
}

export interface GeoIpOptions {
  /** Operator MaxMind DB files, GeoLite2/GeoIP2 or ip-location-db layout. */
  countryDb?: string;
  cityDb?: string;
  asnDb?: string;
  /** Default true: the npm-shipped data answers where no operator database does. */
  bundled?: boolean;
  /** CIDRs classified `internet` and looked up even if special (labs use documentation ranges). */
  internetRanges?: string[];
  /** stale() lists databases built longer ago than this. Default 60. */
  maxAgeDays?: number;
  /** Default false. True: reload when a database file changes. */
  watch?: boolean;
  /** With watch: wait this long after the last change before reloading (ms, default 500), so a file being written is not read half-way. */
  watchDelayMs?: number;
}

export type GeoDatabaseKind = "country" | "city" | "asn";

export interface GeoDatabaseInfo {
  /** What `countrySource`/`asSource` say for this database. */
  name: string;
  kind: GeoDatabaseKind;
  path: string;
  bundled: boolean;
  /** mmdb metadata build_epoch; for the ASN CSV, the date in its npm package version. */
  buildTime: Date;
  /** Record layout: "geoip2", "ip-location-db", "ipinfo", or "ip-location-db-csv". */
  layout: string;
}

/** A country answer from one database record, cached per record. */
export interface CountryInfo {
  readonly iso: string;
  readonly name: string | undefined;
  readonly city: string | undefined;
  readonly source: string;
}

/** A network-owner answer from one database record, cached per record. */
export interface AsnInfo {
  readonly asNumber: number;
  readonly asOrganization: string | undefined;
  readonly source: string;
}
