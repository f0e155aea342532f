import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Reader, type Response } from "maxmind";
import { describe, expect, it } from "vitest";
import { FIXTURES, fixtureBytes } from "../../fixtures/geoip/make-fixtures.js";

const DIR = join(import.meta.dirname, "../../fixtures/geoip");
const HAVE_MMDBLOOKUP = spawnSync("mmdblookup", ["--version"]).status === 0;

/** What the fixtures promise the tests that use them (see the README beside them). */
const EXPECTED: [string, string, number][] = [
  ["192.0.2.1", "CN", 37963],
  ["192.0.2.254", "CN", 37963],
  ["198.51.100.1", "US", 15169],
  ["203.0.113.9", "RU", 12389],
  ["2001:db8::1", "CN", 37963],
  ["2001:db8:ffff::1", "CN", 37963],
];

describe("GeoIP test fixtures", () => {
  it("are exactly what make-fixtures.ts writes (regenerate: bash test/fixtures/geoip/make-fixtures.sh)", () => {
    const committed = readdirSync(DIR)
      .filter((f) => f.endsWith(".mmdb"))
      .sort();
    expect(committed).toEqual(Object.keys(FIXTURES).sort());
    for (const name of committed) {
      expect(readFileSync(join(DIR, name)).equals(fixtureBytes(name)), name).toBe(true);
    }
  });

  it("read back with the maxmind reader as documented", () => {
    const get = (name: string, ip: string) =>
      new Reader<Response>(readFileSync(join(DIR, name))).get(ip) as Record<string, any> | null;
    for (const [ip, iso, asn] of EXPECTED) {
      expect(get("test-country.mmdb", ip)?.country.iso_code, ip).toBe(iso);
      expect(get("test-city.mmdb", ip)?.country.iso_code, ip).toBe(iso);
      expect(get("test-ip-location-db-country.mmdb", ip)?.country_code, ip).toBe(iso);
      expect(get("test-asn.mmdb", ip)?.autonomous_system_number, ip).toBe(asn);
    }
    expect(get("test-city.mmdb", "198.51.100.1")?.city.names.en).toBe("Mountain View");
    expect(get("test-country.mmdb", "192.0.3.1")).toBeNull();
    expect(get("test-asn.mmdb", "8.8.8.8")).toBeNull();
  });

  it.skipIf(!HAVE_MMDBLOOKUP)("read back with libmaxminddb's mmdblookup", () => {
    const lookup = (name: string, ip: string, ...path: string[]) =>
      spawnSync("mmdblookup", ["--file", join(DIR, name), "--ip", ip, ...path], {
        encoding: "utf8",
      }).stdout;
    for (const [ip, iso, asn] of EXPECTED) {
      expect(lookup("test-country.mmdb", ip, "country", "iso_code")).toContain(
        `"${iso}" <utf8_string>`,
      );
      expect(lookup("test-city.mmdb", ip, "country", "iso_code")).toContain(
        `"${iso}" <utf8_string>`,
      );
      expect(lookup("test-ip-location-db-country.mmdb", ip, "country_code")).toContain(
        `"${iso}" <utf8_string>`,
      );
      expect(lookup("test-asn.mmdb", ip, "autonomous_system_number")).toContain(`${asn} <uint32>`);
    }
  });
});
