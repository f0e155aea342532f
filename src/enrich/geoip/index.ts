/** GeoIP/ASN enrichment: scope, country and network owner of an address. */
export { type AddressWords, type Cidr, parseAddress, parseCidr } from "./address.js";
export { BUNDLED_ASN_NAME, BUNDLED_COUNTRY_NAME } from "./bundled.js";
export { GeoIpError } from "./errors.js";
export { DEFAULT_MAX_AGE_DAYS, GeoIp } from "./geoip.js";
export { ScopeClassifier, type ScopeRule, SPECIAL_RANGES, type SpecialRange } from "./scope.js";
export type {
  AsnInfo,
  CountryInfo,
  GeoAnswer,
  GeoDatabaseInfo,
  GeoDatabaseKind,
  GeoIpOptions,
  Scope,
} from "./types.js";
