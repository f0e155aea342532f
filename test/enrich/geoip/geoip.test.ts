import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { versionDate } from "../../../src/enrich/geoip/bundled.js";
import { type GeoAnswer, GeoIp, GeoIpError } from "../../../src/enrich/geoip/index.js";
import { uint32, writeMmdb } from "../../helpers/mmdb-writer.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/geoip");
const CITY = join(FIXTURES, "test-city.mmdb");
const COUNTRY = join(FIXTURES, "test-country.mmdb");
const ASN = join(FIXTURES, "test-asn.mmdb");
const IPLDB = join(FIXTURES, "test-ip-location-db-country.mmdb");
/** The documentation ranges stand in for the internet in tests, as in the lab. */
const LAB = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"];

const dir = mkdtempSync(join(tmpdir(), "egressd-geoip-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CN_ALIBABA = {
  scope: "internet",
  countryIso: "CN",
  asNumber: 37963,
  asOrganization: "Hangzhou Alibaba Advertising Co.,Ltd.",
};

describe("GeoIp with operator databases (GeoLite2 layout)", () => {
  const geo = GeoIp.open({
    cityDb: CITY,
    countryDb: COUNTRY,
    asnDb: ASN,
    bundled: false,
    internetRanges: LAB,
  });

  it("answers country, city and network owner, naming the databases", () => {
    expect(geo.lookupText("192.0.2.10")).toEqual({
      ...CN_ALIBABA,
      countryName: "China",
      cityName: "Hangzhou",
      countrySource: "GeoLite2-City",
      asSource: "GeoLite2-ASN",
    });
    expect(geo.lookupText("198.51.100.1")).toMatchObject({
      countryIso: "US",
      cityName: "Mountain View",
      asNumber: 15169,
      asOrganization: "Google LLC",
    });
    expect(geo.lookupText("203.0.113.254")).toMatchObject({ countryIso: "RU", asNumber: 12389 });
  });

  it("answers IPv6, and IPv4-mapped and NAT64 addresses as their IPv4 address", () => {
    expect(geo.lookupText("2001:db8:1234::1")).toMatchObject({
      ...CN_ALIBABA,
      cityName: "Hangzhou",
    });
    const v4 = geo.lookupText("198.51.100.7");
    expect(geo.lookupText("::ffff:198.51.100.7")).toEqual(v4);
    expect(geo.lookupText("64:ff9b::198.51.100.7")).toEqual(v4);
  });

  it("takes the flow table's words: IPv4 in w3, IPv6 in w0..w3", () => {
    expect(geo.lookup(4, 0, 0, 0, 0xc000020a)).toEqual(geo.lookupText("192.0.2.10"));
    // w0..w2 are ignored for IPv4, as the flow table leaves them zero or stale.
    expect(geo.lookup(4, 7, 7, 7, 0xc000020a)).toEqual(geo.lookupText("192.0.2.10"));
    expect(geo.lookup(6, 0x20010db8, 0, 0, 1)).toEqual(geo.lookupText("2001:db8::1"));
    expect(geo.lookup(6, 0, 0, 0xffff, 0xc6336407)).toEqual(geo.lookupText("198.51.100.7"));
    expect(geo.lookup(5, 0, 0, 0, 0)).toMatchObject({ scope: "reserved" });
    // Signed words (from | and <<) are the same address.
    expect(geo.lookup(4, 0, 0, 0, 0xc000020a | 0)).toEqual(geo.lookupText("192.0.2.10"));
  });

  it("knows nothing of an internet address no database has", () => {
    expect(geo.lookupText("8.8.8.8")).toEqual({ scope: "internet" });
    expect(geo.lookupText("not an address")).toBeNull();
    expect(geo.lookupText("192.0.2.1/24")).toBeNull();
  });

  it("lists its databases in the order they are asked, with build dates", () => {
    expect(geo.databases().map((d) => [d.name, d.kind, d.layout, d.bundled])).toEqual([
      ["GeoLite2-City", "city", "geoip2", false],
      ["GeoLite2-Country", "country", "geoip2", false],
      ["GeoLite2-ASN", "asn", "geoip2", false],
    ]);
    expect(geo.databases()[0]!.buildTime.toISOString()).toBe("2026-06-01T00:00:00.000Z");
    expect(geo.databases()[0]!.path).toBe(CITY);
  });

  it("tells which databases are older than maxAgeDays (default 60)", () => {
    expect(geo.stale(new Date("2026-07-30T00:00:00Z"))).toEqual([]);
    expect(geo.stale(new Date("2026-08-01T00:00:00Z")).map((d) => d.name)).toEqual([
      "GeoLite2-City",
      "GeoLite2-Country",
      "GeoLite2-ASN",
    ]);
    const strict = GeoIp.open({ asnDb: ASN, bundled: false, maxAgeDays: 10 });
    expect(strict.stale(new Date("2026-06-10T00:00:00Z"))).toEqual([]);
    expect(strict.stale(new Date("2026-06-12T00:00:00Z"))).toHaveLength(1);
  });
});

describe("GeoIp, other layouts and precedence", () => {
  it("reads the ip-location-db layout (country_code)", () => {
    const geo = GeoIp.open({ countryDb: IPLDB, bundled: false, internetRanges: LAB });
    expect(geo.lookupText("203.0.113.1")).toEqual({
      scope: "internet",
      countryIso: "RU",
      countrySource: "test-ip-location-db-country",
    });
    expect(geo.databases()[0]).toMatchObject({ layout: "ip-location-db", kind: "country" });
  });

  it("asks the city database first, then the country database, per address", () => {
    const city = join(dir, "partial-city.mmdb");
    writeFileSync(
      city,
      writeMmdb(
        [
          {
            network: "192.0.2.0/25",
            data: { country: { iso_code: "JP" }, city: { names: { en: "Osaka" } } },
          },
        ],
        {
          databaseType: "GeoIP2-City",
        },
      ),
    );
    const geo = GeoIp.open({
      cityDb: city,
      countryDb: COUNTRY,
      bundled: false,
      internetRanges: LAB,
    });
    expect(geo.lookupText("192.0.2.1")).toMatchObject({
      countryIso: "JP",
      cityName: "Osaka",
      countrySource: "GeoIP2-City",
    });
    expect(geo.lookupText("192.0.2.200")).toMatchObject({
      countryIso: "CN",
      countrySource: "GeoLite2-Country",
    });
    expect(geo.lookupText("192.0.2.200")?.cityName).toBeUndefined();
  });
});

describe("special ranges", () => {
  const geo = GeoIp.open({ cityDb: CITY, asnDb: ASN, bundled: false });

  it("never gets a country, even where a database has one", () => {
    expect(geo.lookupText("192.0.2.10")).toEqual({
      scope: "documentation",
      range: "RFC 5737 documentation (TEST-NET-1)",
    });
    expect(geo.lookupText("2001:db8::1")).toEqual({
      scope: "documentation",
      range: "RFC 3849 documentation",
    });
    expect(geo.lookupText("::ffff:203.0.113.1")).toMatchObject({ scope: "documentation" });
  });

  it.each([
    ["10.1.2.3", "private", "RFC 1918 private"],
    ["100.100.1.1", "shared", "RFC 6598 shared address space (CGNAT)"],
    ["127.0.0.1", "loopback", "RFC 1122 loopback"],
    ["169.254.1.1", "link-local", "RFC 3927 link-local"],
    ["239.255.255.250", "multicast", "RFC 5771 multicast"],
    ["255.255.255.255", "broadcast", "RFC 919 limited broadcast"],
    ["198.18.0.1", "benchmarking", "RFC 2544 benchmarking"],
    ["240.0.0.1", "reserved", "RFC 1112 reserved (former class E)"],
    ["0.0.0.0", "unspecified", "RFC 1122 unspecified address"],
    ["::", "unspecified", "RFC 4291 unspecified address"],
    ["::1", "loopback", "RFC 4291 loopback"],
    ["fe80::1", "link-local", "RFC 4291 link-local"],
    ["fd00::1", "unique-local", "RFC 4193 unique local"],
    ["ff05::2", "multicast", "RFC 4291 multicast"],
    ["3fff::1", "documentation", "RFC 9637 documentation"],
    ["2001:2::1", "benchmarking", "RFC 5180 benchmarking"],
    ["::ffff:192.168.1.1", "private", "RFC 1918 private"],
    ["64:ff9b::a00:1", "private", "RFC 1918 private"],
  ])("%s is %s (%s)", (address, scope, range) => {
    const a = geo.lookupText(address)!;
    expect(a).toEqual({ scope, range });
    expect(Object.isFrozen(a)).toBe(true);
    // Every address of the range shares one answer.
    expect(geo.lookupText(address)).toBe(a);
  });
});

describe("bundled data (npm packages, no licence key, no network)", () => {
  const geo = GeoIp.open({});

  it("answers well-known addresses", () => {
    expect(geo.lookupText("1.1.1.1")).toMatchObject({
      scope: "internet",
      asNumber: 13335,
      asOrganization: "Cloudflare, Inc.",
      countrySource: "ip-location-db/geo-whois-asn-country",
      asSource: "ip-location-db/asn",
    });
    expect(geo.lookupText("8.8.8.8")).toMatchObject({
      countryIso: "US",
      asNumber: 15169,
      asOrganization: "Google LLC",
    });
    expect(geo.lookupText("2001:4860:4860::8888")).toMatchObject({
      countryIso: "US",
      asNumber: 15169,
    });
    expect(geo.lookupText("::ffff:8.8.4.4")).toMatchObject({ countryIso: "US", asNumber: 15169 });
  });

  it("takes signed IPv6 words as well as unsigned", () => {
    const text = "2001:4860:8000::8001";
    const signed = [0x20014860, 0x80000000 | 0, 0, 0x8001];
    expect(geo.lookup(6, signed[0]!, signed[1]!, signed[2]!, signed[3]!)).toEqual(
      geo.lookupText(text),
    );
    expect(geo.lookupText(text)?.asNumber).toBe(15169);
  });

  it("dates the ASN CSV by its package version and the country .mmdb by its build_epoch", () => {
    const require = createRequire(import.meta.url);
    const version = require("@ip-location-db/asn/package.json").version as string;
    const [country, asn] = geo.databases();
    expect(asn).toMatchObject({
      name: "ip-location-db/asn",
      kind: "asn",
      bundled: true,
      layout: "ip-location-db-csv",
    });
    expect(asn!.buildTime).toEqual(versionDate(version));
    expect(country).toMatchObject({
      name: "ip-location-db/geo-whois-asn-country",
      kind: "country",
      bundled: true,
    });
    expect(country!.buildTime.getUTCFullYear()).toBeGreaterThanOrEqual(2025);
    expect(versionDate("2.3.2026061719")?.toISOString()).toBe("2026-06-17T19:00:00.000Z");
    expect(versionDate("2.3.2")).toBeNull();
  });

  it("answers where the operator's databases do not, naming who answered", () => {
    const mixed = GeoIp.open({ countryDb: COUNTRY, asnDb: ASN, internetRanges: LAB });
    expect(mixed.lookupText("192.0.2.1")).toMatchObject({
      countrySource: "GeoLite2-Country",
      asSource: "GeoLite2-ASN",
    });
    expect(mixed.lookupText("8.8.8.8")).toMatchObject({
      countryIso: "US",
      countrySource: "ip-location-db/geo-whois-asn-country",
      asNumber: 15169,
      asSource: "ip-location-db/asn",
    });
    expect(mixed.databases().map((d) => d.name)).toEqual([
      "GeoLite2-Country",
      "ip-location-db/geo-whois-asn-country",
      "GeoLite2-ASN",
      "ip-location-db/asn",
    ]);
  });
});

describe("opening", () => {
  it("names a missing or unusable database", () => {
    const missing = join(dir, "nope", "GeoLite2-City.mmdb");
    expect(() => GeoIp.open({ cityDb: missing })).toThrow(GeoIpError);
    expect(() => GeoIp.open({ cityDb: missing })).toThrow(
      `${missing}: no such file (the city database)`,
    );
    expect(() => GeoIp.open({ asnDb: COUNTRY, bundled: false })).toThrow(
      /test-country\.mmdb: has no AS numbers/,
    );
    const notDb = join(dir, "not-a-db.mmdb");
    writeFileSync(notDb, "<html>404</html>");
    expect(() => GeoIp.open({ countryDb: notDb, bundled: false })).toThrow(
      /not-a-db\.mmdb: not a usable MaxMind DB/,
    );
  });

  it("refuses bad options", () => {
    expect(() => GeoIp.open({ bundled: false, internetRanges: ["192.0.2.0/99"] })).toThrow(
      GeoIpError,
    );
    expect(() => GeoIp.open({ bundled: false, maxAgeDays: 0 })).toThrow(/maxAgeDays/);
  });

  it("without databases still tells scope", () => {
    const bare = GeoIp.open({ bundled: false });
    expect(bare.databases()).toEqual([]);
    expect(bare.lookupText("10.0.0.1")?.scope).toBe("private");
    expect(bare.lookupText("8.8.8.8")).toEqual({ scope: "internet" });
  });
});

/** A country database mapping the lab range to one country. */
function countryDb(iso: string): Buffer {
  return writeMmdb([{ network: "192.0.2.0/24", data: { country: { iso_code: iso } } }], {
    databaseType: "GeoLite2-Country",
  });
}

/** Writes a file the way updaters do: a temp file renamed over the old one. */
function replace(path: string, bytes: Buffer | string): void {
  writeFileSync(`${path}.tmp`, bytes);
  renameSync(`${path}.tmp`, path);
}

describe("reload", () => {
  it("swaps in changed databases; a damaged file keeps the old ones and says why", () => {
    const path = join(dir, "reload-country.mmdb");
    writeFileSync(path, countryDb("CN"));
    const geo = GeoIp.open({ countryDb: path, asnDb: ASN, bundled: false, internetRanges: LAB });
    expect(geo.lookupText("192.0.2.1")?.countryIso).toBe("CN");

    replace(path, countryDb("US"));
    geo.reload();
    expect(geo.lookupText("192.0.2.1")).toMatchObject({ countryIso: "US", asNumber: 37963 });

    replace(path, readFileSync(path).subarray(0, 50));
    expect(() => geo.reload()).toThrow(GeoIpError);
    try {
      geo.reload();
    } catch (err) {
      expect((err as GeoIpError).path).toBe(path);
      expect((err as Error).message).toMatch(/reload-country\.mmdb: not a usable MaxMind DB/);
    }
    expect(geo.lookupText("192.0.2.1")).toMatchObject({ countryIso: "US", asNumber: 37963 });
    expect(geo.databases().map((d) => d.name)).toEqual(["GeoLite2-Country", "GeoLite2-ASN"]);

    rmSync(path);
    expect(() => geo.reload()).toThrow(/no such file/);
    expect(geo.lookupText("192.0.2.1")?.countryIso).toBe("US");
  });

  it("reloads by itself when a watched file changes, without stopping lookups", async () => {
    const path = join(dir, "watched-country.mmdb");
    const asnPath = join(dir, "watched-asn.mmdb");
    writeFileSync(path, countryDb("CN"));
    copyFileSync(ASN, asnPath);
    const geo = GeoIp.open({
      countryDb: path,
      asnDb: asnPath,
      bundled: false,
      internetRanges: LAB,
      watch: true,
      watchDelayMs: 20,
    });
    const reloads: (GeoIpError | null)[] = [];
    let waiting: (() => void) | null = null;
    geo.onReload = (err) => {
      reloads.push(err);
      waiting?.();
    };
    const nextReload = () => new Promise<void>((resolve) => (waiting = resolve));

    // Lookups keep running (on every turn of the event loop) while files change.
    const seen = new Set<string>();
    let running = true;
    let inconsistent: GeoAnswer | null = null;
    const spin = () => {
      const a = geo.lookupText("192.0.2.1")!;
      // Every answer comes whole from one set of databases: never half a reload.
      if (
        a.countrySource !== "GeoLite2-Country" ||
        (a.asNumber !== 37963 && a.asNumber !== 64500)
      ) {
        inconsistent ??= a;
      }
      seen.add(a.countryIso ?? "none");
      if (running) setImmediate(spin);
    };
    spin();

    let reloaded = nextReload();
    replace(path, countryDb("RU"));
    await reloaded;
    expect(reloads).toEqual([null]);
    expect(geo.lookupText("192.0.2.1")?.countryIso).toBe("RU");

    reloaded = nextReload();
    replace(path, "truncated download");
    await reloaded;
    expect(reloads[1]).toBeInstanceOf(GeoIpError);
    expect(reloads[1]?.path).toBe(path);
    expect(geo.lookupText("192.0.2.1")?.countryIso).toBe("RU");

    reloaded = nextReload();
    replace(path, countryDb("DE"));
    await reloaded;
    expect(reloads[2]).toBeNull();
    expect(geo.lookupText("192.0.2.1")?.countryIso).toBe("DE");

    // A change to the other watched file reloads too; the unchanged one is kept.
    reloaded = nextReload();
    replace(
      asnPath,
      writeMmdb([{ network: "192.0.2.0/24", data: { autonomous_system_number: uint32(64500) } }], {
        databaseType: "GeoLite2-ASN",
      }),
    );
    await reloaded;
    expect(geo.lookupText("192.0.2.1")).toMatchObject({ countryIso: "DE", asNumber: 64500 });

    running = false;
    geo.close();
    expect(inconsistent).toBeNull();
    expect([...seen].sort()).toEqual(expect.arrayContaining(["CN", "DE", "RU"]));

    // Closed: changes are no longer picked up.
    replace(path, countryDb("FR"));
    await new Promise((r) => setTimeout(r, 200));
    expect(reloads).toHaveLength(4);
    expect(geo.lookupText("192.0.2.1")?.countryIso).toBe("DE");
  });
});
