import { describe, expect, test } from "vitest";
import {
  formatDuration,
  parseCidr,
  parseDuration,
  parseMac,
  parseOui,
} from "../../src/config/kinds.js";
import { Failure } from "../../src/config/schema.js";
import { closest } from "../../src/config/suggest.js";

const ok = (v: unknown) => (v instanceof Failure ? `failure: ${v.message}` : v);

describe("durations", () => {
  test.each([
    ["30s", 30],
    ["5m", 300],
    ["1h", 3600],
    ["2d", 172_800],
    ["1h30m", 5400],
    ["1d2h3m4s", 93_784],
    ["90s", 90],
    ["0s", 0],
  ])("%s is %i seconds", (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  test.each(["", "30", "5min", "1.5h", "30m1h", "-5s", "5 m", "1h1h", "s"])(
    "%j is not a duration",
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );

  test("formatting gives the shortest exact text, and reads back", () => {
    expect(formatDuration(30)).toBe("30s");
    expect(formatDuration(300)).toBe("5m");
    expect(formatDuration(1800)).toBe("30m");
    expect(formatDuration(5400)).toBe("1h30m");
    expect(formatDuration(86_400)).toBe("1d");
    for (const s of [1, 59, 61, 3599, 3601, 90_061]) {
      expect(parseDuration(formatDuration(s))).toBe(s);
    }
    expect(() => formatDuration(1.5)).toThrow(RangeError);
  });
});

describe("networks", () => {
  test.each([
    ["10.20.0.0/24", "10.20.0.0/24"],
    ["10.0.0.0/08", "10.0.0.0/8"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["192.0.2.7", "192.0.2.7/32"],
    ["2001:DB8::/32", "2001:db8::/32"],
    ["2001:db8:0:0::/48", "2001:db8::/48"],
    ["fd00::53", "fd00::53/128"],
    ["::/0", "::/0"],
  ])("%s -> %s", (text, canonical) => {
    expect(ok(parseCidr(text))).toBe(canonical);
  });

  test.each([
    ["10.0.0.1/8", '"10.0.0.1/8" has host bits set; did you mean 10.0.0.0/8?'],
    ["10.0.0.0/33", 'expected a prefix length from 0 to 32 after "/" in "10.0.0.0/33", found "33"'],
    [
      "2001:db8::/129",
      'expected a prefix length from 0 to 128 after "/" in "2001:db8::/129", found "129"',
    ],
    ["10.0.0.0/", 'expected a prefix length from 0 to 32 after "/" in "10.0.0.0/", found ""'],
    ["10.0.0/8", "IPv4 or IPv6 network"],
    ["010.0.0.0/8", "IPv4 or IPv6 network"],
    ["256.0.0.0/8", "IPv4 or IPv6 network"],
    ["camera.local", "IPv4 or IPv6 network"],
    ["::ffff:10.0.0.0/104", "IPv4 or IPv6 network"],
  ])("%s is refused", (text, message) => {
    const r = parseCidr(text);
    expect(r).toBeInstanceOf(Failure);
    expect((r as Failure).message).toContain(message);
  });
});

describe("MAC addresses and OUIs", () => {
  test("MACs take : or - and come back uppercase with :", () => {
    expect(parseMac("44:19:b6:12:34:5a")).toBe("44:19:B6:12:34:5A");
    expect(parseMac("44-19-B6-12-34-5A")).toBe("44:19:B6:12:34:5A");
    for (const bad of [
      "44:19:b6:12:34",
      "44:19:b6:12:34:5a:00",
      "44:19-b6:12:34:5a",
      "4419b612345a",
      "gg:19:b6:12:34:5a",
    ]) {
      expect(parseMac(bad)).toBeInstanceOf(Failure);
    }
  });

  test("OUIs are 24-bit, or 28/36-bit IEEE blocks", () => {
    expect(parseOui("44:19:b6")).toBe("44:19:B6");
    expect(parseOui("44-19-B6")).toBe("44:19:B6");
    expect(parseOui("4419b6")).toBe("44:19:B6");
    expect(parseOui("70:B3:D5:1")).toBe("70:B3:D5:1");
    expect(parseOui("70-b3-d5-00-1")).toBe("70:B3:D5:00:1");
    expect(parseOui("70B3D5001")).toBe("70:B3:D5:00:1");
    for (const bad of ["44:19", "44:19:B6:1:2", "44:19:B6:12", "44:19-B6", "4419B6F0"]) {
      expect(parseOui(bad), bad).toBeInstanceOf(Failure);
    }
  });

  test("a MAC in the OUI list and an OUI in the MAC list say where they belong", () => {
    expect((parseOui("44:19:b6:12:34:56") as Failure).message).toContain("list it under macs");
    expect((parseMac("44:19:b6") as Failure).message).toContain("list it under ouis");
  });
});

describe("did-you-mean", () => {
  const keys = ["max_devices", "store", "groups"];
  test.each([
    ["max_device", "max_devices"],
    ["max_devcies", "max_devices"],
    ["MAX-DEVICES", "max_devices"],
    ["stor", "store"],
    ["group", "groups"],
  ])("%s -> %s", (typo, meant) => {
    expect(closest(typo, keys)).toBe(meant);
  });

  test("nothing close, no guess", () => {
    expect(closest("colour", keys)).toBeUndefined();
    expect(closest("tcp", ["udp", "icmp"])).toBeUndefined();
    expect(closest("x", keys)).toBeUndefined();
  });
});
