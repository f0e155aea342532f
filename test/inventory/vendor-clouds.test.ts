/**
 * rules/sets/vendor_clouds.txt: the shipped list parses, covers the hosts named in
 * camera-indicators.md section 1, matches by suffix on label boundaries, and a bad line
 * is reported with file, line and column.
 */

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { VENDOR_CLOUDS_PATH, VendorClouds } from "../../src/inventory/vendor-clouds.js";

describe("the shipped vendor cloud list", () => {
  const clouds = VendorClouds.load();

  it.each([
    ["litedev.hik-connect.com", "Hikvision"],
    ["apiieu.hik-connect.com", "Hikvision"],
    ["dev.ezvizlife.com", "EZVIZ"],
    ["vtm3.ezvizlife.com", "EZVIZ"],
    ["devcl.ys7.com", "EZVIZ"],
    ["www.easy4ipcloud.com", "Dahua"],
    ["iotaccess.easy4ipcloud.com", "Dahua"],
    ["www.dahuap2pcloud.com", "Dahua"],
    ["openapi-fk.easy4ip.com", "Imou"],
    ["openapi.lechange.cn", "Imou"],
    ["p2p.amcrestview.com", "Amcrest"],
    ["global.ezcloud.uniview.com", "Uniview"],
    ["global.star4live.com", "Uniview"],
    ["LITEDEV.HIK-CONNECT.COM.", "Hikvision"],
  ])("%s is %s's cloud", (name, vendor) => {
    expect(clouds.match(name)?.vendor).toBe(vendor);
  });

  it.each([
    "hik-connect.com.example.test",
    "nothik-connect.com",
    "www.uniview.com",
    "pool.ntp.org",
    "com",
  ])("%s is not", (name) => {
    expect(clouds.match(name)).toBeNull();
  });

  it("every entry is a plain suffix line a set loader can read", () => {
    const values = readFileSync(VENDOR_CLOUDS_PATH, "utf8")
      .split("\n")
      .map((l) => l.replace(/#.*/, "").trim())
      .filter((l) => l !== "");
    expect(values).toEqual(clouds.entries.map((e) => e.suffix));
    expect(values).toHaveLength(13);
  });
});

describe("the format", () => {
  it("vendor comments apply to the entries below them", () => {
    const c = VendorClouds.parse(
      "a.example.test\n# vendor: Acme\nb.example.test # inline\n",
      "x.txt",
    );
    expect(c.entries).toEqual([
      { suffix: "a.example.test", vendor: null },
      { suffix: "b.example.test", vendor: "Acme" },
    ]);
  });

  it("a bad entry names file, line and column", () => {
    expect(() => VendorClouds.parse("# ok\n  hik connect.com\n", "sets/v.txt")).toThrow(
      'sets/v.txt:2:3: "hik connect.com" is not a domain suffix',
    );
    expect(() => VendorClouds.parse("*.ys7.com\n", "v.txt")).toThrow("v.txt:1:1:");
  });
});
