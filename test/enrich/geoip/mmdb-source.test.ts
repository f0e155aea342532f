import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Reader, type Response } from "maxmind";
import { afterAll, describe, expect, it } from "vitest";
import { parseAddress } from "../../../src/enrich/geoip/address.js";
import { GeoIpError } from "../../../src/enrich/geoip/errors.js";
import { MmdbSource } from "../../../src/enrich/geoip/mmdb-source.js";
import { formatIp } from "../../../src/util/ip-text.js";
import {
  type MmdbNetwork,
  type MmdbWriterOptions,
  uint32,
  writeMmdb,
} from "../../helpers/mmdb-writer.js";

const dir = mkdtempSync(join(tmpdir(), "egressd-mmdb-source-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function file(buf: Buffer | string): string {
  const path = join(dir, `db${files++}.mmdb`);
  writeFileSync(path, buf);
  return path;
}

function db(networks: MmdbNetwork[], options: Partial<MmdbWriterOptions> = {}): string {
  return file(writeMmdb(networks, { databaseType: "Test", ...options }));
}

const country = (path: string) => MmdbSource.open(path, { kind: "country", bundled: false });
const asn = (path: string) => MmdbSource.open(path, { kind: "asn", bundled: false });

function country_(source: MmdbSource, text: string) {
  const a = parseAddress(text)!;
  return a.version === 4 ? source.country4(a.w3) : source.country6(a.w0, a.w1, a.w2, a.w3);
}

/** The record value mmdb-lib's own walk reaches (0 for none), to hold ours against. */
function readerRecord(reader: Reader<Response>, text: string): number {
  const [record] = (reader as any).findAddressInTree(text) as [number | null, number];
  return record ?? 0;
}

function openError(path: string, kind: "country" | "asn" = "country"): GeoIpError {
  try {
    MmdbSource.open(path, { kind, bundled: false });
  } catch (err) {
    expect(err).toBeInstanceOf(GeoIpError);
    return err as GeoIpError;
  }
  throw new Error("opened");
}

let seed = 99;
function rand(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}

describe("MaxMind DB source: the tree walk from flow words", () => {
  for (const recordSize of [24, 28, 32] as const) {
    for (const ipVersion of [4, 6] as const) {
      it(`answers what the maxmind reader answers (${recordSize}-bit records, IPv${ipVersion} tree)`, () => {
        const networks: MmdbNetwork[] = [];
        const codes = ["CN", "US", "RU", "DE", "FR", "JP"];
        for (let i = 0; i < 1500; i++) {
          const len = 4 + (rand() % 29);
          const w = rand();
          const text = `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}/${len}`;
          networks.push({
            network: text,
            data: { country_code: codes[i % codes.length]!, n: uint32(i % 7) },
          });
        }
        if (ipVersion === 6) {
          for (let i = 0; i < 500; i++) {
            const len = 8 + (rand() % 57);
            const g = [rand() & 0xffff, rand() & 0xffff, rand() & 0xffff, rand() & 0xffff];
            networks.push({
              network: `${g.map((x) => x.toString(16)).join(":")}::/${len}`,
              data: { country_code: codes[i % 3]! },
            });
          }
        }
        const path = db(networks, { recordSize, ipVersion });
        const source = country(path);
        const reader = new Reader<Response>(
          Buffer.from(writeMmdb(networks, { databaseType: "Test", recordSize, ipVersion })),
        );
        let found = 0;
        for (let i = 0; i < 20_000; i++) {
          const v6 = ipVersion === 6 && i % 3 === 0;
          const w = [rand(), rand(), rand(), rand()];
          // Aim some IPv6 draws at the networks written above.
          if (v6 && i % 2 === 0) w[0] = ((rand() & 0xffff) << 16) >>> 0;
          const text = formatIp(v6 ? 6 : 4, w[0]!, w[1]!, w[2]!, w[3]!);
          const expected = (reader.get(text) as { country_code?: string } | null)?.country_code;
          const got = v6 ? source.country6(w[0]!, w[1]!, w[2]!, w[3]!) : source.country4(w[3]!);
          expect(got?.iso, text).toBe(expected);
          // Answers are cached by record: the walk must reach the reader's record exactly.
          expect(source.recordFor(v6 ? 6 : 4, w[0]!, w[1]!, w[2]!, w[3]!), text).toBe(
            readerRecord(reader, text),
          );
          if (got !== null) found++;
        }
        expect(found).toBeGreaterThan(1000);
        expect(source.stats.damagedRecords).toBe(0);
      });
    }
  }

  for (const recordSize of [28, 32] as const) {
    it(`reads record values past 2^24 (${recordSize}-bit records: the high bits)`, () => {
      // A 17 MiB record first puts the later records' data pointers above 2^24.
      const networks: MmdbNetwork[] = [
        { network: "10.0.0.0/8", data: { filler: new Uint8Array(17 * 2 ** 20) } },
        { network: "192.0.2.0/24", data: { country_code: "CN" } },
        { network: "2001:db8::/32", data: { country_code: "RU" } },
        { network: "198.51.100.0/24", data: { country_code: "US" } },
        // Networks ending in a 1 bit beside an empty sibling: pointers in right-hand records.
        { network: "192.0.5.0/24", data: { country_code: "JP" } },
        { network: "2001:dbb::/32", data: { country_code: "DE" } },
      ];
      const bytes = writeMmdb(networks, { databaseType: "Test", recordSize });
      const source = country(file(bytes));
      const reader = new Reader<Response>(bytes);
      for (const text of ["192.0.2.1", "198.51.100.1", "2001:db8::1", "192.0.5.1", "2001:dbb::1"]) {
        const a = parseAddress(text)!;
        const record = source.recordFor(a.version, a.w0, a.w1, a.w2, a.w3);
        expect(record, text).toBeGreaterThan(2 ** 24);
        expect(record, text).toBe(readerRecord(reader, text));
      }
      expect(country_(source, "192.0.2.1")?.iso).toBe("CN");
      expect(country_(source, "198.51.100.1")?.iso).toBe("US");
      expect(country_(source, "2001:db8::1")?.iso).toBe("RU");
      expect(country_(source, "192.0.5.1")?.iso).toBe("JP");
      expect(country_(source, "2001:dbb::1")?.iso).toBe("DE");
      expect(country_(source, "10.1.1.1")).toBeNull();
      expect(() => writeMmdb(networks, { databaseType: "Test", recordSize: 24 })).toThrow(
        /does not fit 24 bits/,
      );
    });
  }

  it("returns the same frozen answer for every address of a record", () => {
    const source = country(db([{ network: "192.0.2.0/24", data: { country_code: "CN" } }]));
    const a = country_(source, "192.0.2.1");
    expect(a).toEqual({ iso: "CN", name: undefined, city: undefined, source: "Test" });
    expect(country_(source, "192.0.2.200")).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(country_(source, "192.0.3.1")).toBeNull();
  });

  it("has no IPv6 answers in an IPv4-only database", () => {
    const source = country(
      db([{ network: "1.0.0.0/8", data: { country_code: "AU" } }], { ipVersion: 4 }),
    );
    expect(country_(source, "1.2.3.4")?.iso).toBe("AU");
    expect(country_(source, "2001:db8::1")).toBeNull();
  });
});

describe("record layouts", () => {
  const geoip2 = {
    country: { iso_code: "CN", names: { en: "China", de: "China" } },
    registered_country: { iso_code: "CN", names: { en: "China" } },
    city: { names: { en: "Hangzhou" } },
  };

  it("reads GeoLite2/GeoIP2 records: country.iso_code, English names, city", () => {
    const s = country(
      db([{ network: "192.0.2.0/24", data: geoip2 }], { databaseType: "GeoIP2-City" }),
    );
    expect(s.layout).toBe("geoip2");
    expect(s.info).toMatchObject({ name: "GeoIP2-City", layout: "geoip2", kind: "country" });
    expect(country_(s, "192.0.2.1")).toMatchObject({
      iso: "CN",
      name: "China",
      city: "Hangzhou",
      source: "GeoIP2-City",
    });
  });

  it("tells the GeoIP2 layout by record shape when database_type says nothing", () => {
    const s = country(
      db([{ network: "192.0.2.0/24", data: geoip2 }], { databaseType: "custom-city" }),
    );
    expect(s.layout).toBe("geoip2");
  });

  it("falls back on registered_country when a GeoIP2 record has no country (anycast)", () => {
    const s = country(
      db(
        [
          {
            network: "192.0.2.0/24",
            data: { registered_country: { iso_code: "AU", names: { en: "Australia" } } },
          },
        ],
        {
          databaseType: "GeoLite2-Country",
        },
      ),
    );
    expect(country_(s, "192.0.2.1")).toMatchObject({ iso: "AU", name: "Australia" });
  });

  it("reads ip-location-db records: country_code, city", () => {
    const s = country(
      db([{ network: "192.0.2.0/24", data: { country_code: "ru", city: "Moscow" } }], {
        databaseType: "city ipvAll",
      }),
    );
    expect(s.layout).toBe("ip-location-db");
    // A database_type that is not a name falls back on the file name.
    expect(s.info.name).toMatch(/^db\d+$/);
    expect(country_(s, "192.0.2.1")).toMatchObject({ iso: "RU", city: "Moscow", name: undefined });
  });

  it("reads ipinfo records: country_code, country name, asn as AS-text, as_name", () => {
    const rec = {
      country_code: "US",
      country: "United States",
      asn: "AS15169",
      as_name: "Google LLC",
      as_domain: "google.com",
    };
    const path = db([{ network: "198.51.100.0/24", data: rec }], {
      databaseType: "ipinfo lite.mmdb",
    });
    expect(country(path).layout).toBe("ipinfo");
    expect(country_(country(path), "198.51.100.1")).toMatchObject({
      iso: "US",
      name: "United States",
    });
    const a = asn(path);
    const w = parseAddress("198.51.100.1")!.w3;
    expect(a.asn4(w)).toEqual({
      asNumber: 15169,
      asOrganization: "Google LLC",
      source: a.info.name,
    });
  });

  it("reads GeoLite2-ASN records", () => {
    const a = asn(
      db(
        [
          {
            network: "2001:db8::/32",
            data: {
              autonomous_system_number: uint32(37963),
              autonomous_system_organization: "Hangzhou Alibaba Advertising Co.,Ltd.",
            },
          },
        ],
        { databaseType: "GeoLite2-ASN" },
      ),
    );
    const x = parseAddress("2001:db8::77")!;
    expect(a.asn6(x.w0, x.w1, x.w2, x.w3)).toEqual({
      asNumber: 37963,
      asOrganization: "Hangzhou Alibaba Advertising Co.,Ltd.",
      source: "GeoLite2-ASN",
    });
  });
});

describe("databases that cannot be used", () => {
  const good = writeMmdb([{ network: "192.0.2.0/24", data: { country_code: "CN" } }], {
    databaseType: "Test",
  });

  it("names the path and the problem, without a stack trace from the reader", () => {
    const cases: [string, RegExp][] = [
      [join(dir, "missing.mmdb"), /missing\.mmdb: no such file \(the country database\)$/],
      [file(""), /the file is empty/],
      [file(gzipSync(good)), /gzip-compressed; unpack it first/],
      [file("country_code,CN\n"), /no metadata marker .* truncated/],
      [file(good.subarray(0, good.length - 40)), /no metadata marker|metadata section is damaged/],
    ];
    mkdirSync(join(dir, "a-directory.mmdb"));
    cases.push([join(dir, "a-directory.mmdb"), /is a directory/]);
    for (const [path, message] of cases) {
      const err = openError(path);
      expect(err.message, path).toMatch(message);
      expect(err.message.startsWith(`${path}: `)).toBe(true);
      expect(err.path).toBe(path);
      expect(err.message).not.toMatch(/ at .*\.js/);
    }
  });

  it("refuses a search tree that points outside the data section", () => {
    const damaged = Buffer.from(good);
    damaged.fill(0xee, 0, 60); // the first nodes' records now point far past the end
    expect(openError(file(damaged)).message).toMatch(
      /search tree records point outside the data section/,
    );
  });

  it("refuses a damaged data section", () => {
    const damaged = Buffer.from(good);
    const marker = damaged.lastIndexOf(Buffer.from("abcdef4d61784d696e642e636f6d", "hex"));
    const records = marker - 16; // the record is the last thing before the metadata
    damaged.fill(0x00, records, marker); // extended type 0: invalid
    expect(openError(file(damaged)).message).toMatch(/the data section is damaged \(/);
  });

  it("refuses a database of the wrong kind, saying what it is", () => {
    const countryDb = db([{ network: "192.0.2.0/24", data: { country: { iso_code: "CN" } } }], {
      databaseType: "GeoLite2-Country",
    });
    expect(openError(countryDb, "asn").message).toMatch(
      /has no AS numbers \(database_type "GeoLite2-Country", geoip2 layout\)/,
    );
    const asnDb = db([{ network: "192.0.2.0/24", data: { autonomous_system_number: uint32(1) } }], {
      databaseType: "GeoLite2-ASN",
    });
    expect(openError(asnDb, "country").message).toMatch(/has no countries/);
  });

  it("refuses records it cannot read anything from", () => {
    const odd = db([{ network: "192.0.2.0/24", data: { connection_type: "Cable/DSL" } }], {
      databaseType: "Odd",
    });
    expect(openError(odd).message).toMatch(/records have none of the fields egressd reads/);
  });
});
