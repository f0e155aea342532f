import { describe, expect, it } from "vitest";
import { parseAddress } from "../../../src/enrich/geoip/address.js";
import { AsnTable } from "../../../src/enrich/geoip/asn-table.js";
import { GeoIpError } from "../../../src/enrich/geoip/errors.js";

const PATHS = { v4: "/data/asn-ipv4.csv", v6: "/data/asn-ipv6.csv" };

function table(v4: string, v6 = ""): AsnTable {
  return AsnTable.fromCsv({ v4: Buffer.from(v4), v6: Buffer.from(v6) }, PATHS, "test-asn");
}

function owner(t: AsnTable, text: string): string | null {
  const a = parseAddress(text)!;
  const info = a.version === 4 ? t.lookup4(a.w3) : t.lookup6(a.w0, a.w1, a.w2, a.w3);
  return info === null ? null : `AS${info.asNumber} ${info.asOrganization ?? "-"}`;
}

describe("ASN table from ip-location-db CSV", () => {
  it("finds the range holding an address, inclusive at both ends, and nothing in gaps", () => {
    const t = table(
      [
        '1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."',
        "1.0.4.0,1.0.7.255,38803,Gtelecom Pty Ltd",
        '2.26.200.0,2.26.215.255,201907,"LLC ""SPUTNIK"""',
        "8.8.8.0,8.8.8.255,15169,Google LLC",
        "255.255.255.0,255.255.255.255,64512,",
      ].join("\n"),
    );
    expect(owner(t, "1.0.0.0")).toBe("AS13335 Cloudflare, Inc.");
    expect(owner(t, "1.0.0.255")).toBe("AS13335 Cloudflare, Inc.");
    expect(owner(t, "1.0.1.0")).toBeNull();
    expect(owner(t, "1.0.3.255")).toBeNull();
    expect(owner(t, "1.0.4.0")).toBe("AS38803 Gtelecom Pty Ltd");
    expect(owner(t, "2.26.201.1")).toBe('AS201907 LLC "SPUTNIK"');
    expect(owner(t, "8.8.8.8")).toBe("AS15169 Google LLC");
    expect(owner(t, "0.255.255.255")).toBeNull();
    expect(owner(t, "255.255.255.255")).toBe("AS64512 -");
    expect(t.rows).toEqual({ v4: 5, v6: 0 });
  });

  it("shares one answer per AS number", () => {
    const t = table("1.0.0.0,1.0.0.255,15169,Google LLC\n9.0.0.0,9.0.0.255,15169,Google LLC\n");
    const a = t.lookup4(parseAddress("1.0.0.1")!.w3);
    expect(t.lookup4(parseAddress("9.0.0.1")!.w3)).toBe(a);
    expect(t.infos).toHaveLength(1);
  });

  it("reads IPv6 ranges and compares all 128 bits", () => {
    const t = table(
      "",
      [
        "2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project",
        '2001:200:1ba::,2001:200:1ba:ffff:ffff:ffff:ffff:ffff,24047,"Internet Systems Consortium, Inc."',
        "2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC",
        "2a00:1450:4001:800::1,2a00:1450:4001:800::1,15169,Google LLC",
      ].join("\r\n"),
    );
    expect(owner(t, "2001:200::1")).toBe("AS2500 WIDE Project");
    expect(owner(t, "2001:200:1b9:ffff:ffff:ffff:ffff:ffff")).toBe("AS2500 WIDE Project");
    expect(owner(t, "2001:200:1ba::")).toBe("AS24047 Internet Systems Consortium, Inc.");
    expect(owner(t, "2001:200:1bb::")).toBeNull();
    expect(owner(t, "2001:4860:4860::8888")).toBe("AS15169 Google LLC");
    expect(owner(t, "2a00:1450:4001:800::1")).toBe("AS15169 Google LLC");
    expect(owner(t, "2a00:1450:4001:800::2")).toBeNull();
    expect(owner(t, "2a00:1450:4001:800::")).toBeNull();
    expect(owner(t, "::1")).toBeNull();
  });

  it("resolves overlapping rows: the inner or later-starting range wins, the rest keeps its owner", () => {
    const t = table(
      [
        "10.0.0.0,10.0.255.255,1,outer",
        "10.0.16.0,10.0.16.255,2,nested",
        "10.0.32.0,10.0.32.255,3,nested again",
        "10.1.0.0,10.1.255.255,4,first",
        "10.1.128.0,10.2.0.255,5,across",
        "10.3.0.0,10.3.0.255,6,same start long",
        "10.3.0.0,10.3.0.15,7,same start short",
      ].join("\n"),
    );
    expect(owner(t, "10.0.0.1")).toBe("AS1 outer");
    expect(owner(t, "10.0.16.1")).toBe("AS2 nested");
    expect(owner(t, "10.0.17.1")).toBe("AS1 outer");
    expect(owner(t, "10.0.32.255")).toBe("AS3 nested again");
    expect(owner(t, "10.0.33.0")).toBe("AS1 outer");
    expect(owner(t, "10.0.255.255")).toBe("AS1 outer");
    expect(owner(t, "10.1.127.255")).toBe("AS4 first");
    expect(owner(t, "10.1.128.0")).toBe("AS5 across");
    expect(owner(t, "10.2.0.255")).toBe("AS5 across");
    expect(owner(t, "10.3.0.15")).toBe("AS7 same start short");
    expect(owner(t, "10.3.0.16")).toBe("AS6 same start long");
  });

  it("sorts rows that come out of order", () => {
    const t = table("9.0.0.0,9.0.0.255,2,later\n1.0.0.0,1.0.0.255,1,earlier\n");
    expect(owner(t, "1.0.0.1")).toBe("AS1 earlier");
    expect(owner(t, "9.0.0.1")).toBe("AS2 later");
    const t6 = table("", "2001:db8:2::,2001:db8:2::ff,2,b\n2001:db8:1::,2001:db8:2::7,1,a\n");
    expect(owner(t6, "2001:db8:1::5")).toBe("AS1 a");
    expect(owner(t6, "2001:db8:2::5")).toBe("AS2 b");
    expect(owner(t6, "2001:db8:2::f0")).toBe("AS2 b");
  });

  it("matches a linear scan on random addresses", () => {
    let seed = 7;
    const rand = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    const rows: [number, number, number][] = [];
    let at = 0;
    while (at < 2 ** 32 - 2 ** 24) {
      const start = at + (rand() % 2 ** 22);
      const end = start + (rand() % 2 ** 20);
      rows.push([start, end, rows.length + 1]);
      at = end + 1;
    }
    const text = (w: number) => `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
    const t = table(rows.map(([s, e, n]) => `${text(s)},${text(e)},${n},org ${n}`).join("\n"));
    for (let i = 0; i < 5_000; i++) {
      const w = rand();
      const row = rows.find(([s, e]) => s <= w && w <= e);
      expect(t.lookup4(w)?.asNumber ?? null, text(w)).toBe(row?.[2] ?? null);
    }
  });

  it("names the file and line of a bad row", () => {
    const bad: [string, string, RegExp][] = [
      [
        "1.0.0.0,1.0.0.255,13335,x\n1.0.1.0,1.0.1.255\n",
        "",
        /asn-ipv4\.csv: line 2: expected start,end,asn,organisation/,
      ],
      [
        "1.0.0.0,1.0.0.256,13335,x\n",
        "",
        /asn-ipv4\.csv: line 1: the range is not two IPv4 addresses/,
      ],
      ["1.0.0.0,1.0.0.255,AS13335,x\n", "", /line 1: the AS number is not a number/],
      ['1.0.0.0,1.0.0.255,1,"unterminated\n', "", /line 1: unterminated quoted organisation/],
      [
        "",
        "\n\n2001:db8::,2001:db8:::,1,x\n",
        /asn-ipv6\.csv: line 3: the range is not two IPv6 addresses/,
      ],
    ];
    for (const [v4, v6, message] of bad) {
      expect(() => table(v4, v6)).toThrow(GeoIpError);
      expect(() => table(v4, v6)).toThrow(message);
    }
  });
});
