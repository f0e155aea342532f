/**
 * Device groups: firewall-style matching (every declared selector kind must match, any
 * entry of a kind), first match in declaration order, and errors that name the group and
 * the field for every way a spec can be wrong.
 */

import { describe, expect, it } from "vitest";
import { parseAddress } from "../../src/enrich/geoip/address.js";
import { type DeviceGroupSpec, DeviceGroups, GroupSpecError } from "../../src/inventory/groups.js";
import { parseMac } from "../../src/inventory/mac.js";

/** Matches a device given as text; "" for no address, -1 VLAN for untagged. */
function groupOf(groups: DeviceGroups, ip: string, mac: string | null, vlan = -1): string | null {
  const a = ip === "" ? { version: 0, w0: 0, w1: 0, w2: 0, w3: 0 } : parseAddress(ip)!;
  const m = mac === null ? -1 : parseMac(mac)!;
  return groups.match(a.version, a.w0, a.w1, a.w2, a.w3, m, vlan)?.name ?? null;
}

const SITE: DeviceGroupSpec[] = [
  { name: "nvr", role: "nvr", macs: ["02:00:00:00:00:aa"] },
  { name: "hik-cams-vlan20", role: "camera", ouis: ["44:19:B6", "C0-56-E3"], vlans: [20] },
  { name: "cameras", role: "camera", cidrs: ["192.0.2.0/25", "2001:db8:20::/48"] },
  { name: "dns", role: "dns", cidrs: ["198.51.100.53"] },
  { name: "ma-m", role: "iot", ouis: ["10:06:48:0"] },
];

describe("matching", () => {
  const groups = new DeviceGroups(SITE);

  it("first match in declaration order: the NVR by MAC before the camera range", () => {
    expect(groupOf(groups, "192.0.2.10", "02:00:00:00:00:aa")).toBe("nvr");
    expect(groupOf(groups, "192.0.2.10", "02:00:00:00:00:ab")).toBe("cameras");
  });

  it("every declared kind must match: a Hikvision OUI off VLAN 20 is not in the VLAN group", () => {
    expect(groupOf(groups, "203.0.113.5", "44:19:b6:12:34:56", 20)).toBe("hik-cams-vlan20");
    expect(groupOf(groups, "203.0.113.5", "c0:56:e3:00:00:01", 20)).toBe("hik-cams-vlan20");
    expect(groupOf(groups, "203.0.113.5", "44:19:b6:12:34:56", 30)).toBeNull();
    expect(groupOf(groups, "203.0.113.5", "44:19:b6:12:34:56")).toBeNull();
    expect(groupOf(groups, "192.0.2.20", "44:19:b6:12:34:56", 30)).toBe("cameras");
  });

  it("CIDR edges, both families, a bare address as /32", () => {
    expect(groupOf(groups, "192.0.2.0", null)).toBe("cameras");
    expect(groupOf(groups, "192.0.2.127", null)).toBe("cameras");
    expect(groupOf(groups, "192.0.2.128", null)).toBeNull();
    expect(groupOf(groups, "2001:db8:20:ffff:ffff:ffff:ffff:ffff", null)).toBe("cameras");
    expect(groupOf(groups, "2001:db8:21::1", null)).toBeNull();
    expect(groupOf(groups, "198.51.100.53", null)).toBe("dns");
    expect(groupOf(groups, "198.51.100.54", null)).toBeNull();
  });

  it("no address: groups with cidrs cannot match; MAC-only groups still can", () => {
    expect(groupOf(groups, "", "02:00:00:00:00:aa")).toBe("nvr");
    expect(groupOf(groups, "", "02:00:00:00:00:ab")).toBeNull();
  });

  it("28-bit MA-M prefixes", () => {
    expect(groupOf(groups, "", "10:06:48:0f:ff:ff")).toBe("ma-m");
    expect(groupOf(groups, "", "10:06:48:10:00:00")).toBeNull();
  });

  it("IPv4 words are unsigned: addresses above 128.0.0.0 match", () => {
    const g = new DeviceGroups([
      { name: "high", role: "other", cidrs: ["203.0.113.0/24", "0.0.0.0/0"] },
    ]);
    expect(groupOf(g, "255.255.255.254", null)).toBe("high");
    const all = new DeviceGroups([{ name: "all", role: "other", cidrs: ["::/0"] }]);
    expect(groupOf(all, "ffff::1", null)).toBe("all");
    expect(groupOf(all, "192.0.2.1", null)).toBeNull();
  });

  it("an empty group list matches nothing", () => {
    expect(groupOf(new DeviceGroups(), "192.0.2.1", "44:19:b6:00:00:01", 20)).toBeNull();
  });
});

describe("errors name the group and the field", () => {
  const err = (specs: unknown[]): string => {
    try {
      new DeviceGroups(specs as DeviceGroupSpec[]);
    } catch (e) {
      expect(e).toBeInstanceOf(GroupSpecError);
      return (e as Error).message;
    }
    throw new Error("no error");
  };
  const cam = { name: "cams", role: "camera", cidrs: ["192.0.2.0/24"] };

  it.each([
    [
      [{ ...cam, cidrs: ["192.0.2.0/33"] }],
      'device group 1 "cams", cidrs[0]: "192.0.2.0/33" is not an address or range',
    ],
    [
      [{ ...cam, cidrs: ["192.0.2.5/24"] }],
      "has host bits set: did you mean 192.0.2.0/24 or 192.0.2.5/32?",
    ],
    [[{ ...cam, cidrs: ["2001:db8::1/32"] }], "did you mean 2001:db8::/32 or 2001:db8::1/128?"],
    [[{ ...cam, cidrs: ["::ffff:192.0.2.0/120"] }], "write IPv4-mapped ranges as IPv4"],
    [[{ ...cam, cidrs: [] }], "cidrs: is empty"],
    [[{ ...cam, cidrs: "192.0.2.0/24" }], "cidrs: must be a list"],
    [[{ ...cam, macs: ["44:19:b6"] }], 'macs[0]: "44:19:b6" is not a MAC address'],
    [[{ ...cam, ouis: ["44:19"] }], 'ouis[0]: "44:19" is not a MAC prefix'],
    [[{ ...cam, ouis: ["44:19:b6:1:2"] }], "is not a MAC prefix"],
    [[{ ...cam, vlans: [0] }], "vlans[0]: 0 is not a VLAN id (1-4094)"],
    [[{ ...cam, vlans: ["20"] }], 'vlans[0]: "20" is not a VLAN id'],
    [[{ ...cam, role: "camra" }], "role: must be one of camera, nvr,"],
    [[{ ...cam, name: "" }], "device group 1, name: needs a name"],
    [
      [cam, { ...cam, cidrs: ["198.51.100.0/24"] }],
      'device group 2 "cams", name: "cams" is already the name of an earlier group',
    ],
    [[{ name: "x", role: "camera" }], 'device group 1 "x": selects nothing'],
    [[{ ...cam, cidr: ["192.0.2.0/24"] }], "cidr: unknown field; known: name, role"],
    [[{ ...cam, description: 5 }], "description: must be text"],
    [[null], "device group 1: must be a mapping"],
  ])("%j", (specs, message) => {
    expect(err(specs)).toContain(message);
  });

  it("the error carries a path the config loader can point at", () => {
    try {
      new DeviceGroups([cam, { name: "nvr", role: "nvr", macs: ["02:00:00:00:00:01", "zz"] }]);
    } catch (e) {
      expect((e as GroupSpecError).path).toEqual([1, "macs", 1]);
      expect((e as GroupSpecError).groupName).toBe("nvr");
    }
  });

  it("MACs in every common notation", () => {
    const g = new DeviceGroups([
      { name: "a", role: "nvr", macs: ["44-19-B6-00-00-01", "4419.b600.0002", "4419b6000003"] },
    ]);
    for (const m of ["44:19:b6:00:00:01", "44:19:b6:00:00:02", "44:19:b6:00:00:03"])
      expect(groupOf(g, "", m)).toBe("a");
  });
});
