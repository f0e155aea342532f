import { cidr, path } from "../kinds.js";
import { array, boolean, field, type Infer, integer, object, optional } from "../schema.js";

export const geoipSection = object({
  country_db: optional(
    path(),
    "MaxMind GeoLite2/GeoIP2 Country database (.mmdb). Takes precedence over the bundled data.",
  ),
  city_db: optional(path(), "MaxMind GeoLite2/GeoIP2 City database (.mmdb), for city names."),
  asn_db: optional(path(), "MaxMind GeoLite2 ASN database (.mmdb)."),
  bundled: field(
    boolean(),
    "Use the bundled open-licence country and ASN data where no database is configured.",
    { default: true },
  ),
  internet_ranges: field(
    array(cidr(), { expected: "a list of networks" }),
    "Special-purpose ranges to treat as internet destinations, for labs that use the documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) as their internet.",
  ),
  max_age_days: field(
    integer({ min: 1 }),
    "Warn when a configured database file is older than this many days (MaxMind updates weekly).",
    { default: 60 },
  ),
});

export type GeoipConfig = Infer<typeof geoipSection>;
