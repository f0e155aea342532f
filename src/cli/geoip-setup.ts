import type { GeoipConfig } from "../config/config.js";
import { GeoIp, GeoIpError, type GeoIpOptions } from "../enrich/geoip/index.js";
import { InputError } from "./errors.js";

/** The config file's geoip section as GeoIp options. */
function geoIpOptions(config: GeoipConfig): GeoIpOptions {
  const options: GeoIpOptions = {
    bundled: config.bundled,
    internetRanges: [...config.internet_ranges],
    maxAgeDays: config.max_age_days,
  };
  if (config.country_db !== undefined) options.countryDb = config.country_db;
  if (config.city_db !== undefined) options.cityDb = config.city_db;
  if (config.asn_db !== undefined) options.asnDb = config.asn_db;
  return options;
}

/**
 * Opens the GeoIP databases for a command; a missing or damaged database is the
 * operator's input error (exit 1) with the database's own message, not a stack trace.
 * Databases older than the configured age are named on stderr: stale country or ASN
 * data puts flows in the wrong place without any other sign.
 */
export function openGeoIp(
  config: GeoipConfig,
  command: string,
  warnStale = true,
  watch = false,
): GeoIp {
  let geoip: GeoIp;
  try {
    geoip = GeoIp.open({ ...geoIpOptions(config), watch });
  } catch (err) {
    if (err instanceof GeoIpError) throw new InputError(err.message);
    throw err;
  }
  for (const db of warnStale ? geoip.stale(new Date()) : []) {
    const days = Math.floor((Date.now() - db.buildTime.getTime()) / 86_400_000);
    const how = db.bundled
      ? "update the @ip-location-db packages (npm update) or configure MaxMind databases"
      : "update it (MaxMind publishes new files weekly)";
    process.stderr.write(
      `egressd ${command}: warning: GeoIP database ${db.name} was built ${days} days ago (more than ${config.max_age_days}): ${how}\n`,
    );
  }
  return geoip;
}
