import { describe, expect, test } from "vitest";
import { parseCidr } from "../../src/enrich/geoip/address.js";
import { CidrSet } from "../../src/rules/match/cidr.js";
import { DomainMatcher } from "../../src/rules/match/domain.js";
import { compileGlob, type GlobStats, globMatch } from "../../src/rules/match/glob.js";
import { formatAmount, parseAmount, parseNumTest } from "../../src/rules/units.js";

describe("glob", () => {
  const m = (p: string, s: string, sep: "" | "." | "/" = ".") => globMatch(compileGlob(p, sep), s);

  test("* stays within a label, ** crosses, ? is one character", () => {
    expect(m("vtm*.ezvizlife.com", "vtm3.ezvizlife.com")).toBe(true);
    expect(m("vtm*.ezvizlife.com", "vtm.ezvizlife.com")).toBe(true);
    expect(m("vtm*.ezvizlife.com", "vtm3.x.ezvizlife.com")).toBe(false);
    expect(m("*.ys7.com", "a.ys7.com")).toBe(true);
    expect(m("*.ys7.com", "a.b.ys7.com")).toBe(false);
    expect(m("**.ys7.com", "a.b.ys7.com")).toBe(true);
    expect(m("**.ys7.com", "ys7.com")).toBe(false);
    expect(m("dev?.ys7.com", "dev1.ys7.com")).toBe(true);
    expect(m("dev?.ys7.com", "dev.ys7.com")).toBe(false);
    expect(m("a?b", "a.b")).toBe(false); // ? does not match the separator either
    expect(m("exact.example", "exact.example")).toBe(true);
    expect(m("exact.example", "exact.examples")).toBe(false);
    expect(m("*", "")).toBe(true);
    expect(m("?", "")).toBe(false);
  });

  test("without a separator * matches anything; with / it stops at path segments", () => {
    expect(m("*curl*", "Mozilla curl/8", "")).toBe(true);
    expect(m("/ISAPI/*", "/ISAPI/System/x", "/")).toBe(false);
    expect(m("/ISAPI/**", "/ISAPI/System/x", "/")).toBe(true);
    expect(m("/ISAPI/*/x", "/ISAPI/System/x", "/")).toBe(true);
  });

  test("a pathological pattern on a long name takes linear steps, not exponential", () => {
    // A backtracking matcher needs about C(n, k) tries here: astronomically many.
    // (The trailing "x" gets past the literal-suffix shortcut, so the automaton does run.)
    const pattern = `${"*a".repeat(20)}*b*x`;
    const name = `${"a".repeat(5000)}x`;
    const g = compileGlob(pattern, "");
    const stats: GlobStats = { steps: 0 };
    expect(globMatch(g, name, stats)).toBe(false);
    const tokens = g.tokens.length;
    expect(stats.steps).toBeGreaterThan(0);
    expect(stats.steps).toBeLessThanOrEqual((tokens + 1) * name.length);
    // The same bound with label separators in play, and on a match.
    const dotted = compileGlob(`${"*a".repeat(15)}**`, ".");
    const s2: GlobStats = { steps: 0 };
    const text = `${"a".repeat(100)}.`.repeat(40);
    expect(globMatch(dotted, text, s2)).toBe(true);
    expect(s2.steps).toBeLessThanOrEqual((dotted.tokens.length + 1) * text.length);
  });

  test("steps grow linearly with the text", () => {
    const g = compileGlob("**x**y**z", "");
    const count = (n: number) => {
      const s: GlobStats = { steps: 0 };
      globMatch(g, `${"x".repeat(n)}z`, s);
      return s.steps;
    };
    expect(count(2000) / count(1000)).toBeLessThan(2.1);
  });
});

describe("domain matcher", () => {
  test("exact, suffix (on label boundaries) and glob, with what matched", () => {
    const d = new DomainMatcher();
    d.addExact("exact.example");
    d.addSuffix("hik-connect.com");
    d.addSuffix("ys7.com.");
    d.addGlob("vtm*.ezvizlife.com");
    expect(d.match("exact.example")).toEqual({ how: "exact", entry: "exact.example" });
    expect(d.match("sub.exact.example")).toBeNull();
    expect(d.match("hik-connect.com")).toEqual({ how: "entry", entry: "hik-connect.com" });
    expect(d.match("a.b.hik-connect.com")).toEqual({ how: "suffix", entry: "hik-connect.com" });
    expect(d.match("xhik-connect.com")).toBeNull();
    expect(d.match("dev.ys7.com")).toEqual({ how: "suffix", entry: "ys7.com" });
    expect(d.match("vtm1.ezvizlife.com")).toEqual({ how: "glob", entry: "vtm*.ezvizlife.com" });
    expect(d.test("com")).toBe(false);
    expect(d.size).toBe(4);
  });

  test("deep names against shallow entries and the reverse", () => {
    const d = new DomainMatcher();
    d.addSuffix("a.b.c.d.example");
    expect(d.test("x.a.b.c.d.example")).toBe(true);
    expect(d.test("b.c.d.example")).toBe(false);
    expect(d.test("example")).toBe(false);
  });
});

describe("CIDR set", () => {
  const set = (...nets: string[]) => {
    const s = new CidrSet();
    for (const n of nets) expect(s.addText(n)).toBe(true);
    return s;
  };
  const at = (s: CidrSet, ip: string) => {
    const c = parseCidr(ip)!;
    const i = s.lookup(c.version, c.w0, c.w1, c.w2, c.w3);
    return i < 0 ? null : s.entries[i];
  };

  test("longest prefix wins, IPv4 and IPv6 kept apart", () => {
    const s = set(
      "10.0.0.0/8",
      "10.20.0.0/16",
      "10.20.0.13",
      "2001:db8::/32",
      "2001:db8:1::/48",
      "0.0.0.0/0",
    );
    expect(at(s, "10.20.0.13")).toBe("10.20.0.13");
    expect(at(s, "10.20.0.14")).toBe("10.20.0.0/16");
    expect(at(s, "10.99.0.1")).toBe("10.0.0.0/8");
    expect(at(s, "192.0.2.1")).toBe("0.0.0.0/0");
    expect(at(s, "2001:db8:1::5")).toBe("2001:db8:1::/48");
    expect(at(s, "2001:db8:2::5")).toBe("2001:db8::/32");
    expect(at(s, "2001:db9::1")).toBeNull();
  });

  test("a network added twice is one entry; not-a-network is refused", () => {
    const s = set("192.0.2.0/24", "192.0.2.0/24");
    expect(s.size).toBe(1);
    expect(s.addText("192.0.2.300")).toBe(false);
    expect(s.addText("bad")).toBe(false);
  });

  test("many networks", () => {
    const s = new CidrSet();
    for (let i = 0; i < 5000; i++) s.addText(`100.${(i >> 8) & 255}.${i & 255}.0/24`);
    expect(s.size).toBe(5000);
    expect(at(s, "100.19.135.7")).toBe("100.19.135.0/24");
    expect(at(s, "100.20.0.7")).toBeNull();
  });
});

describe("amounts", () => {
  test("bytes in SI and IEC units; durations; counts", () => {
    expect(parseAmount("50MB", "bytes")).toBe(50_000_000);
    expect(parseAmount("10KiB", "bytes")).toBe(10_240);
    expect(parseAmount("1.5GiB", "bytes")).toBe(1_610_612_736);
    expect(parseAmount(1500, "bytes")).toBe(1500);
    expect(parseAmount("50mb", "bytes")).toBe(
      'unknown byte unit "mb" in "50mb"; did you mean "50MB"?',
    );
    expect(parseAmount("1h30m", "seconds")).toBe(5400);
    expect(parseAmount("90", "seconds")).toBe(90);
    expect(parseAmount("1.5", "seconds")).toBe(1.5);
    expect(parseAmount("10MB", "count")).toBe(
      'expected a plain number, found "10MB" (no unit here)',
    );
  });

  test("comparisons and ranges", () => {
    expect(parseNumTest("> 50MB", "bytes")).toMatchObject({
      lo: 50_000_000,
      loOpen: true,
      hi: Infinity,
    });
    expect(parseNumTest("<=1h", "seconds")).toMatchObject({ hi: 3600, hiOpen: false });
    expect(parseNumTest("7660-7665", "count")).toMatchObject({ lo: 7660, hi: 7665 });
    expect(parseNumTest("10-5", "count")).toBe('range "10-5" is empty: 10 is above 5');
    expect(formatAmount(52_430_000, "bytes")).toBe("52430000 (52.4 MB)");
    expect(formatAmount(3700, "seconds")).toBe("3700 s (1h1m40s)");
  });
});
