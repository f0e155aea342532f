import { describe, expect, it } from "vitest";
import { parseCidr } from "../../../src/enrich/geoip/address.js";
import { GeoIpError } from "../../../src/enrich/geoip/errors.js";
import {
  RULE_EMBEDDED_IPV4,
  RULE_INTERNET,
  RULE_SPECIAL,
  ScopeClassifier,
  type ScopeRule,
  SPECIAL_RANGES,
} from "../../../src/enrich/geoip/scope.js";

const c = new ScopeClassifier();

function classify(cl: ScopeClassifier, text: string): ScopeRule | null {
  const a = parseCidr(text)!;
  return a.version === 4 ? cl.classify4(a.w3) : cl.classify6(a.w0, a.w1, a.w2, a.w3);
}

function scopeOf(text: string, cl = c): string {
  const r = classify(cl, text);
  if (r === null || r.kind === RULE_INTERNET) return "internet";
  if (r.kind === RULE_EMBEDDED_IPV4) return "embedded-ipv4";
  return r.answer!.scope;
}

const REFERENCE = SPECIAL_RANGES.map((range) => {
  const net = parseCidr(range.cidr)!;
  const value =
    net.version === 4
      ? BigInt(net.w3)
      : (BigInt(net.w0) << 96n) |
        (BigInt(net.w1) << 64n) |
        (BigInt(net.w2) << 32n) |
        BigInt(net.w3);
  const shift = BigInt((net.version === 4 ? 32 : 128) - net.prefix);
  return {
    version: net.version,
    prefix: net.prefix,
    shift,
    top: value >> shift,
    scope: range.scope,
  };
});

/** Brute force over the table with BigInt, the longest prefix winning: the reference. */
function reference(version: 4 | 6, value: bigint): string {
  let best: { prefix: number; scope: string } | null = null;
  for (const r of REFERENCE) {
    if (r.version !== version || value >> r.shift !== r.top) continue;
    if (best === null || r.prefix > best.prefix) best = r;
  }
  return best?.scope ?? "internet";
}

describe("special ranges", () => {
  it("names every range in the table with its scope, at its first and last address", () => {
    for (const range of SPECIAL_RANGES) {
      const net = parseCidr(range.cidr)!;
      const r = classify(c, range.cidr);
      // The first address may belong to a longer range inside (0.0.0.0/32 in 0.0.0.0/8).
      const inner = SPECIAL_RANGES.some(
        (o) =>
          o !== range &&
          o.cidr.split("/")[0] === range.cidr.split("/")[0] &&
          parseCidr(o.cidr)!.prefix > net.prefix,
      );
      if (!inner) {
        expect(r?.cidr, range.cidr).toBe(range.cidr);
        expect(r?.name).toBe(range.name);
        if (r?.kind === RULE_SPECIAL)
          expect(r.answer).toMatchObject({ scope: range.scope, range: range.name });
      }
    }
  });

  it.each([
    ["10.0.0.0", "private"],
    ["10.255.255.255", "private"],
    ["11.0.0.0", "internet"],
    ["9.255.255.255", "internet"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["172.32.0.0", "internet"],
    ["172.15.255.255", "internet"],
    ["192.168.1.1", "private"],
    ["100.64.0.0", "shared"],
    ["100.127.255.255", "shared"],
    ["100.128.0.0", "internet"],
    ["127.0.0.1", "loopback"],
    ["169.254.10.10", "link-local"],
    ["224.0.0.251", "multicast"],
    ["239.255.255.250", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["255.255.255.254", "reserved"],
    ["240.0.0.1", "reserved"],
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "reserved"],
    ["192.0.2.1", "documentation"],
    ["198.51.100.1", "documentation"],
    ["203.0.113.255", "documentation"],
    ["198.18.0.1", "benchmarking"],
    ["198.19.255.255", "benchmarking"],
    ["198.20.0.0", "internet"],
    ["192.0.0.1", "reserved"],
    ["192.0.0.9", "internet"],
    ["192.88.99.1", "reserved"],
    ["8.8.8.8", "internet"],
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["::2", "reserved"],
    ["fe80::1", "link-local"],
    ["febf:ffff::1", "link-local"],
    ["fec0::1", "reserved"],
    ["fc00::1", "unique-local"],
    ["fd12:3456::1", "unique-local"],
    ["ff02::1", "multicast"],
    ["2001:db8::1", "documentation"],
    ["2001:db9::1", "internet"],
    ["3fff::1", "documentation"],
    ["3fff:fff::1", "documentation"],
    ["3fff:1000::1", "internet"],
    ["2001:2::1", "benchmarking"],
    ["2001:2:1::1", "reserved"],
    ["2001::1", "internet"],
    ["2001:1::1", "internet"],
    ["2001:1::4", "reserved"],
    ["2001:4860:4860::8888", "internet"],
    ["2a00:1450::1", "internet"],
    ["2002:c000:201::1", "internet"],
    ["::ffff:10.0.0.1", "embedded-ipv4"],
    ["64:ff9b::808:808", "embedded-ipv4"],
    ["64:ff9b:1::1", "private"],
    ["100::1", "reserved"],
    ["4000::1", "reserved"],
    ["1fff::1", "reserved"],
  ])("%s is %s", (address, scope) => {
    expect(scopeOf(address)).toBe(scope);
  });

  it("gives the human range name", () => {
    expect(classify(c, "172.20.1.1")?.answer?.range).toBe("RFC 1918 private");
    expect(classify(c, "100.64.1.1")?.answer?.range).toBe("RFC 6598 shared address space (CGNAT)");
    expect(classify(c, "203.0.113.9")?.answer?.range).toBe("RFC 5737 documentation (TEST-NET-3)");
  });

  it("agrees with a brute-force longest-prefix match on 100,000 addresses", () => {
    let seed = 12345;
    const rand = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    const interesting = [0x00, 0x0a, 0x64, 0x7f, 0xa9, 0xac, 0xc0, 0xc6, 0xcb, 0xe0, 0xf0, 0xff];
    for (let i = 0; i < 50_000; i++) {
      // Half the draws near special blocks, so their edges get hit.
      let w = rand();
      if (i % 2 === 0)
        w = ((interesting[w % interesting.length]! << 24) | (rand() & 0xffffff)) >>> 0;
      const got = c.classify4(w);
      const scope =
        got === null ? "internet" : got.kind === RULE_INTERNET ? "internet" : got.answer!.scope;
      expect(scope, w.toString(16)).toBe(reference(4, BigInt(w)));
    }
    const tops = [
      0x0000, 0x0064, 0x0100, 0x2001, 0x2002, 0x3fff, 0x5f00, 0xfc00, 0xfe80, 0xfec0, 0xff00,
      0x2a00,
    ];
    for (let i = 0; i < 50_000; i++) {
      let w0 = rand();
      if (i % 2 === 0)
        w0 =
          ((tops[w0 % tops.length]! << 16) | (i % 4 === 0 ? rand() & 0x3f : rand() & 0xffff)) >>> 0;
      const w1 = i % 3 === 0 ? 0 : rand();
      const w2 = i % 5 === 0 ? (i % 10 === 0 ? 0xffff : 0) : rand();
      const w3 = rand();
      const got = c.classify6(w0, w1, w2, w3);
      const scope =
        got === null || got.kind === RULE_INTERNET
          ? "internet"
          : got.kind === RULE_EMBEDDED_IPV4
            ? "embedded-ipv4"
            : got.answer!.scope;
      const value = (BigInt(w0) << 96n) | (BigInt(w1) << 64n) | (BigInt(w2) << 32n) | BigInt(w3);
      expect(scope, value.toString(16)).toBe(reference(6, value));
    }
  });

  it("classifies lab internet ranges as internet, before any special range", () => {
    const lab = new ScopeClassifier(["192.0.2.0/24", "2001:db8::/32", "10.9.0.0/16"]);
    expect(scopeOf("192.0.2.1", lab)).toBe("internet");
    expect(classify(lab, "192.0.2.1")?.name).toBe("lab internet range");
    expect(scopeOf("198.51.100.1", lab)).toBe("documentation");
    expect(scopeOf("2001:db8:1::1", lab)).toBe("internet");
    expect(scopeOf("3fff::1", lab)).toBe("documentation");
    expect(scopeOf("10.9.1.1", lab)).toBe("internet");
    expect(scopeOf("10.8.1.1", lab)).toBe("private");
    // A wide override covers many index slots.
    const wide = new ScopeClassifier(["0.0.0.0/0"]);
    expect(scopeOf("127.0.0.1", wide)).toBe("internet");
    expect(scopeOf("::1", wide)).toBe("loopback");
  });

  it("refuses an internet range that is not a CIDR, naming it", () => {
    expect(() => new ScopeClassifier(["192.0.2.0/33"])).toThrow(GeoIpError);
    expect(() => new ScopeClassifier(["nope"])).toThrow(/"nope" is not a CIDR/);
  });
});
