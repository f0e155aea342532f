import { isIP } from "node:net";
import { describe, expect, it } from "vitest";
import {
  parseAddress,
  parseCidr,
  parseIPv4,
  parseIPv6,
} from "../../../src/enrich/geoip/address.js";
import { formatIPv6 } from "../../../src/util/ip-text.js";

describe("address text to flow words", () => {
  it("reads IPv4 like inet_pton: four decimal parts, no leading zeros", () => {
    expect(parseIPv4("192.0.2.1")).toBe(0xc0000201);
    expect(parseIPv4("255.255.255.255")).toBe(0xffffffff);
    expect(parseIPv4("0.0.0.0")).toBe(0);
    for (const bad of [
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.2.3.4",
      "1..2.3",
      "1.2.3.4 ",
      "",
      "a.b.c.d",
      "1.2.3.-4",
    ]) {
      expect(parseIPv4(bad), bad).toBe(-1);
    }
  });

  it("reads every IPv6 form and writes it back in RFC 5952 form", () => {
    const cases: [string, string][] = [
      ["2001:db8::1", "2001:db8::1"],
      ["2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
      ["::", "::"],
      ["::1", "::1"],
      ["1::", "1::"],
      ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
      ["::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"],
      ["::ffff:192.0.2.1", "::ffff:192.0.2.1"],
      ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
      ["fe80::1%eth0", "fe80::1"],
      ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ];
    for (const [text, canonical] of cases) {
      const w = parseIPv6(text);
      expect(w, text).not.toBeNull();
      expect(formatIPv6(...w!)).toBe(canonical);
    }
  });

  it("refuses what node:net refuses", () => {
    const bad = [
      ":::",
      "1:::2",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "12345::",
      "g::",
      ":1::",
      "1:",
      "1.2.3.4::",
      "::1.2.3",
      "1:2:3:4:5:6:7:1.2.3.4",
      "fe80::1%",
      "",
    ];
    for (const text of bad) {
      expect(parseIPv6(text), text).toBeNull();
      expect(isIP(text), text).toBe(0);
    }
  });

  it("agrees with node:net on which strings are addresses", () => {
    const samples = [
      "10.0.0.1",
      "::ffff:10.0.0.1",
      "2001:db8:0:0:1::",
      "1.2.3.04",
      "x",
      "::ffff:1.2.3.256",
    ];
    for (const s of samples) {
      const a = parseAddress(s);
      expect(a === null ? 0 : a.version, s).toBe(isIP(s));
    }
  });

  it("reads CIDRs, clearing host bits, and bare addresses as single hosts", () => {
    expect(parseCidr("192.0.2.77/24")).toEqual({
      version: 4,
      w0: 0,
      w1: 0,
      w2: 0,
      w3: 0xc0000200,
      prefix: 24,
    });
    expect(parseCidr("10.1.2.3")).toMatchObject({ w3: 0x0a010203, prefix: 32 });
    expect(parseCidr("2001:db8:ffff::/32")).toMatchObject({
      version: 6,
      w0: 0x20010db8,
      w1: 0,
      prefix: 32,
    });
    expect(parseCidr("::/0")).toMatchObject({ prefix: 0, w0: 0 });
    for (const bad of [
      "10.0.0.0/33",
      "::/129",
      "10.0.0.0/",
      "10.0.0.0/08",
      "10.0.0.0/x",
      "foo/8",
    ]) {
      expect(parseCidr(bad), bad).toBeNull();
    }
  });
});
