/**
 * OUI lookups against the IEEE registry as oui-data ships it: camera makers' prefixes from
 * camera-indicators.md section 4, the 28/36-bit MA-M/MA-S blocks (longest prefix wins),
 * locally administered MACs (never a maker), and short maker names.
 */

import { describe, expect, it } from "vitest";
import { parseMac } from "../../src/inventory/mac.js";
import { makerFromRegistry, makerFromText } from "../../src/inventory/makers.js";
import { lookupOui } from "../../src/inventory/oui.js";

const oui = (mac: string) => lookupOui(parseMac(mac)!);

describe("OUI lookups", () => {
  it.each([
    ["44:19:B6:12:34:56", "Hikvision", "Hangzhou Hikvision Digital Technology Co.,Ltd."],
    ["BC:AD:28:00:00:01", "Hikvision", "Hangzhou Hikvision Digital Technology Co.,Ltd."],
    ["0C:A6:4C:00:00:01", "EZVIZ", "Hangzhou Ezviz Software Co.,Ltd."],
    ["4C:11:BF:C2:0B:9D", "Dahua", "Zhejiang Dahua Technology Co., Ltd."],
    ["E0:50:8B:00:00:01", "Dahua", "Zhejiang Dahua Technology Co., Ltd."],
    ["1C:4D:89:00:00:01", "Imou", "Hangzhou Huacheng Network Technology Co.,Ltd"],
    ["48:EA:63:00:00:01", "Uniview", "Zhejiang Uniview Technologies Co., Ltd."],
    ["9C:8E:CD:00:00:01", "Amcrest", "Amcrest Technologies"],
    ["00:1F:54:A9:2E:58", "Lorex", "Lorex Technology Inc."],
    ["3C:DA:6D:00:00:01", "Tiandy", "Tiandy Technologies Co.,LTD"],
  ])("%s is %s", (mac, maker, organisation) => {
    expect(oui(mac)).toMatchObject({
      maker,
      organisation,
      prefix: mac.replace(/:/g, "").slice(0, 6),
    });
  });

  it("a maker outside the camera table keeps its registry name and no short name", () => {
    expect(oui("44:D9:E7:00:00:01")).toEqual({
      prefix: "44D9E7",
      organisation: "Ubiquiti Inc",
      maker: "Ubiquiti",
    });
    expect(oui("00:00:0C:00:00:01")?.maker).toBeNull();
    expect(oui("00:00:0C:00:00:01")?.organisation).toMatch(/cisco/i);
  });

  it("MA-M (28-bit) and MA-S (36-bit) blocks win over their MA-L parent", () => {
    // 10:06:48 is "IEEE Registration Authority"; 10:06:48:0 is one MA-M holder.
    expect(oui("10:06:48:01:02:03")).toMatchObject({ prefix: "1006480" });
    expect(oui("10:06:48:01:02:03")?.organisation).not.toBe("IEEE Registration Authority");
    expect(oui("00:1B:C5:00:01:23")).toMatchObject({
      prefix: "001BC5000",
      organisation: "Converging Systems Inc.",
    });
    expect(oui("00:1B:C5:00:11:23")).toMatchObject({ prefix: "001BC5001" });
  });

  it("locally administered (randomised) and unknown MACs have no registry entry", () => {
    expect(oui("46:19:B6:12:34:56")).toBeNull(); // 44:19:B6 with the local bit set
    expect(oui("02:00:00:00:00:01")).toBeNull();
    expect(lookupOui(-1)).toBeNull();
  });

  it("short names from the registry do not catch unrelated companies", () => {
    expect(makerFromRegistry("Shanghai Dahua Scale Factory")).toBeNull();
    expect(makerFromRegistry("Robert Bosch GmbH")).toBeNull();
    expect(makerFromRegistry("Bosch Security Systems, Inc.")).toBe("Bosch");
    expect(makerFromRegistry("HUAWEI TECHNOLOGIES CO.,LTD")).toBe("Huawei");
    expect(makerFromRegistry("SAMSUNG TECHWIN CO.,LTD")).toBe("Hanwha");
    expect(makerFromRegistry("TP-LINK TECHNOLOGIES CO.,LTD.")).toBe("TP-Link");
  });

  it("what devices say about themselves", () => {
    expect(makerFromText("HIKVISION")).toBe("Hikvision");
    expect(makerFromText("HIKVISION-DS-2CD2043")).toBe("Hikvision");
    expect(makerFromText("axis-accc8e012345")).toBe("Axis");
    expect(makerFromText("Apache-Axis2/1.6")).toBeNull();
    expect(makerFromText("Tapo C200")).toBe("TP-Link");
    expect(makerFromText("udhcp 1.35.0")).toBeNull();
  });
});
