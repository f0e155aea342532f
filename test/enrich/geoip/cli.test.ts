import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { InputError, UsageError } from "../../../src/cli/errors.js";
import { GEOIP_HELP, runGeoip } from "../../../src/cli/geoip.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/geoip");
const OPERATOR = [
  "--city-db",
  join(FIXTURES, "test-city.mmdb"),
  "--asn-db",
  join(FIXTURES, "test-asn.mmdb"),
  "--no-bundled",
];

/** Runs `egressd geoip ARGS` in-process; returns the exit code and what went to stdout. */
async function geoip(...args: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  });
  try {
    return { code: await runGeoip(args), out };
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe("egressd geoip", () => {
  it("prints scope, country and network owner with their sources, then the databases", async () => {
    const { code, out } = await geoip(
      ...OPERATOR,
      "--internet-range",
      "192.0.2.0/24",
      "192.0.2.7",
      "10.0.0.1",
      "::ffff:192.0.2.8",
      "8.8.8.8",
    );
    expect(code).toBe(0);
    const lines = out.split("\n");
    expect(lines.slice(0, 14)).toEqual([
      "192.0.2.7",
      "  scope    internet: lab internet range, 192.0.2.0/24",
      "  country  CN China, Hangzhou (GeoLite2-City)",
      "  network  AS37963 Hangzhou Alibaba Advertising Co.,Ltd. (GeoLite2-ASN)",
      "10.0.0.1",
      "  scope    private: RFC 1918 private, 10.0.0.0/8",
      "::ffff:192.0.2.8",
      "  scope    internet: lab internet range, 192.0.2.0/24 (RFC 4291 IPv4-mapped: taken as 192.0.2.8)",
      "  country  CN China, Hangzhou (GeoLite2-City)",
      "  network  AS37963 Hangzhou Alibaba Advertising Co.,Ltd. (GeoLite2-ASN)",
      "8.8.8.8",
      "  scope    internet",
      "  country  unknown (no database has this address)",
      "  network  unknown (no database has this address)",
    ]);
    expect(lines[15]).toBe("databases, in the order they are asked:");
    expect(lines[16]).toMatch(/^ {2}GeoLite2-City {2}city {5}built 2026-06-01/);
    expect(lines[17]).toBe(`    geoip2 layout, yours: ${join(FIXTURES, "test-city.mmdb")}`);
    expect(lines[18]).toMatch(/^ {2}GeoLite2-ASN {3}asn {6}built 2026-06-01/);
    expect(lines[19]).toBe(`    geoip2 layout, yours: ${join(FIXTURES, "test-asn.mmdb")}`);
    expect(lines.slice(20)).toEqual([""]);
  });

  it("writes one JSON object with --json", async () => {
    const { code, out } = await geoip(
      ...OPERATOR,
      "--json",
      "--internet-range",
      "2001:db8::/32",
      "2001:db8::1",
      "fe80::1",
    );
    expect(code).toBe(0);
    const doc = JSON.parse(out);
    expect(doc.addresses).toEqual([
      {
        address: "2001:db8::1",
        scope: "internet",
        countryIso: "CN",
        countryName: "China",
        cityName: "Hangzhou",
        countrySource: "GeoLite2-City",
        asNumber: 37963,
        asOrganization: "Hangzhou Alibaba Advertising Co.,Ltd.",
        asSource: "GeoLite2-ASN",
      },
      { address: "fe80::1", scope: "link-local", range: "RFC 4291 link-local" },
    ]);
    expect(doc.databases[0]).toMatchObject({
      name: "GeoLite2-City",
      kind: "city",
      bundled: false,
      buildTime: "2026-06-01T00:00:00.000Z",
      layout: "geoip2",
      stale: expect.any(Boolean),
    });
  });

  it("uses the shipped data by default", async () => {
    const { out } = await geoip("1.1.1.1");
    expect(out).toMatch(/network {2}AS13335 Cloudflare, Inc\. \(ip-location-db\/asn\)/);
    expect(out).toMatch(/shipped with egressd/);
  });

  it("prints help and exits 0", async () => {
    const { code, out } = await geoip("--help");
    expect(code).toBe(0);
    expect(out).toBe(GEOIP_HELP);
    expect(out).toMatch(/^Usage: egressd geoip \[options\] ADDRESS\.\.\./);
  });

  it("is a usage error (exit 2) without an address or with something else", async () => {
    await expect(geoip()).rejects.toThrow(UsageError);
    await expect(geoip("8.8.8.8", "example.com")).rejects.toThrow(
      '"example.com" is not an IPv4 or IPv6 address',
    );
    await expect(geoip("--internet-range", "192.0.2.0/33", "192.0.2.1")).rejects.toThrow(
      UsageError,
    );
    await expect(geoip("--bogus", "1.1.1.1")).rejects.toThrow();
  });

  it("is a runtime error (exit 1) naming a database it cannot use", async () => {
    const missing = join(FIXTURES, "missing.mmdb");
    await expect(geoip("--asn-db", missing, "1.1.1.1")).rejects.toThrow(InputError);
    await expect(geoip("--asn-db", missing, "1.1.1.1")).rejects.toThrow(`${missing}: no such file`);
    await expect(geoip("--asn-db", join(FIXTURES, "test-country.mmdb"), "1.1.1.1")).rejects.toThrow(
      /has no AS numbers/,
    );
  });
});
