import type { AsnInfo, CountryInfo, GeoAnswer, Scope } from "./types.js";

/**
 * Every answer is built here with all fields in one order, so V8 gives them one hidden
 * class and the callers' property reads stay monomorphic.
 */
function answer(
  scope: Scope,
  range: string | undefined,
  country: CountryInfo | null,
  asn: AsnInfo | null,
): GeoAnswer {
  return {
    scope,
    range,
    countryIso: country?.iso,
    countryName: country?.name,
    cityName: country?.city,
    countrySource: country?.source,
    asNumber: asn?.asNumber,
    asOrganization: asn?.asOrganization,
    asSource: asn?.source,
  };
}

/** Shared by every address in the range, so frozen. */
export function specialAnswer(scope: Scope, range: string): GeoAnswer {
  return Object.freeze(answer(scope, range, null, null));
}

/** An internet address that no database covers. */
export const INTERNET_UNKNOWN: GeoAnswer = Object.freeze(answer("internet", undefined, null, null));

/** Not built per lookup when neither part is known. */
export function internetAnswer(country: CountryInfo | null, asn: AsnInfo | null): GeoAnswer {
  if (country === null && asn === null) return INTERNET_UNKNOWN;
  return answer("internet", undefined, country, asn);
}
