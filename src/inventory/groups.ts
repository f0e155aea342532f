/**
 * Device groups from the config: who is a camera, an NVR, the DNS server... Rules match on
 * a device's group and role.
 *
 * Matching, as in a firewall rule: a group matches a device when EVERY kind of selector the
 * group declares matches (address AND MAC AND VLAN), and a kind matches when ANY of its
 * entries does. `macs` and `ouis` are one kind (the MAC selector): a device matches it by
 * its exact MAC or by a prefix. Groups are tried in declaration order; the first match
 * wins, so put narrow groups (the NVR by MAC) before broad ones (the camera VLAN).
 *
 * Specs are checked once, here, and compiled to numbers so that matching is a few integer
 * comparisons. A bad spec throws a GroupSpecError naming the group and the field (`path`
 * lets the config loader point at file:line:col).
 */

import IPCIDR from "ip-cidr";
import { type AddressWords, maskWord } from "../enrich/geoip/address.js";
import { formatIp } from "../util/ip-text.js";
import { wordsOfBigInt } from "./addresses.js";
import { macHexDigits, macPrefix, parseMac } from "./mac.js";

export interface DeviceGroupSpec {
  name: string;
  role: string;
  description?: string;
  /** Addresses or ranges, "192.0.2.0/24", "2001:db8:1::/48", "192.0.2.7" (= /32). */
  cidrs?: string[];
  /** Exact MACs, "44:19:B6:12:34:56" (also with '-', Cisco dots, or bare hex). */
  macs?: string[];
  /** MAC prefixes: 24-bit OUIs "44:19:B6", or 28/36-bit MA-M/MA-S blocks "70:B3:D5:1". */
  ouis?: string[];
  /** 802.1Q VLAN ids (1-4094) the device's traffic is tagged with. */
  vlans?: number[];
}

/**
 * Roles rules can rely on. A fixed list, so that a typo ("camra") is an error at load time
 * rather than a rule that silently never matches.
 */
export const DEVICE_ROLES = [
  "camera",
  "nvr",
  "vms",
  "dns",
  "ntp",
  "dhcp",
  "management",
  "gateway",
  "server",
  "workstation",
  "iot",
  "other",
] as const;

export type DeviceRole = (typeof DEVICE_ROLES)[number];

const SPEC_FIELDS = new Set(["name", "role", "description", "cidrs", "macs", "ouis", "vlans"]);
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export class GroupSpecError extends Error {
  constructor(
    /** Where in the groups list: [groupIndex, field, entryIndex?]. */
    readonly path: (string | number)[],
    readonly groupName: string | undefined,
    detail: string,
  ) {
    const [index, ...rest] = path;
    const where = `device group ${Number(index) + 1}${groupName ? ` "${groupName}"` : ""}`;
    const field =
      rest.length > 0
        ? `, ${rest.map((p) => (typeof p === "number" ? `[${p}]` : p)).join("")}`
        : "";
    super(`${where}${field}: ${detail}`);
    this.name = "GroupSpecError";
  }
}

interface V6Range {
  net: [number, number, number, number];
  mask: [number, number, number, number];
}

interface CompiledGroup {
  spec: DeviceGroupSpec;
  /** IPv4 [start, end] pairs, unsigned; null when the group selects no addresses. */
  v4: number[] | null;
  v6: V6Range[] | null;
  macs: Set<number> | null;
  /** Prefixes by length in bits (24, 28, 36). */
  prefixes: { bits: number; value: number }[] | null;
  vlans: Set<number> | null;
}

export class DeviceGroups {
  readonly specs: readonly DeviceGroupSpec[];
  private readonly compiled: CompiledGroup[];

  constructor(specs: readonly DeviceGroupSpec[] = []) {
    if (!Array.isArray(specs)) throw new GroupSpecError([0], undefined, "groups must be a list");
    const names = new Set<string>();
    this.compiled = specs.map((spec, i) => compile(spec, i, names));
    this.specs = this.compiled.map((c) => c.spec);
  }

  get size(): number {
    return this.compiled.length;
  }

  /**
   * Index of the first group matching the device, or -1. `ipVersion` 0 means no address
   * (a DHCP client that has none yet): groups with cidrs cannot match it. `mac` -1 and
   * `vlan` -1 (untagged) likewise fail the MAC and VLAN selectors.
   */
  matchIndex(
    ipVersion: number,
    w0: number,
    w1: number,
    w2: number,
    w3: number,
    mac: number,
    vlan: number,
  ): number {
    const groups = this.compiled;
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (g.vlans !== null && !g.vlans.has(vlan)) continue;
      if ((g.macs !== null || g.prefixes !== null) && !macMatches(g, mac)) continue;
      if ((g.v4 !== null || g.v6 !== null) && !addressMatches(g, ipVersion, w0, w1, w2, w3))
        continue;
      return i;
    }
    return -1;
  }

  match(
    ipVersion: number,
    w0: number,
    w1: number,
    w2: number,
    w3: number,
    mac: number,
    vlan: number,
  ): DeviceGroupSpec | null {
    const i = this.matchIndex(ipVersion, w0, w1, w2, w3, mac, vlan);
    return i < 0 ? null : this.compiled[i]!.spec;
  }
}

function macMatches(g: CompiledGroup, mac: number): boolean {
  if (mac < 0) return false;
  if (g.macs?.has(mac)) return true;
  if (g.prefixes !== null) {
    for (const p of g.prefixes) if (macPrefix(mac, p.bits) === p.value) return true;
  }
  return false;
}

function addressMatches(
  g: CompiledGroup,
  v: number,
  w0: number,
  w1: number,
  w2: number,
  w3: number,
): boolean {
  if (v === 4 && g.v4 !== null) {
    const a = w3 >>> 0;
    const r = g.v4;
    for (let i = 0; i < r.length; i += 2) if (a >= r[i]! && a <= r[i + 1]!) return true;
  } else if (v === 6 && g.v6 !== null) {
    for (const { net, mask } of g.v6) {
      if (
        (w0 & mask[0]) >>> 0 === net[0] &&
        (w1 & mask[1]) >>> 0 === net[1] &&
        (w2 & mask[2]) >>> 0 === net[2] &&
        (w3 & mask[3]) >>> 0 === net[3]
      )
        return true;
    }
  }
  return false;
}

function compile(spec: DeviceGroupSpec, index: number, names: Set<string>): CompiledGroup {
  const name = typeof spec?.name === "string" ? spec.name : undefined;
  const fail = (path: (string | number)[], detail: string): never => {
    throw new GroupSpecError([index, ...path], name, detail);
  };
  if (spec === null || typeof spec !== "object" || Array.isArray(spec))
    fail([], "must be a mapping with name, role and selectors");
  for (const key of Object.keys(spec)) {
    if (!SPEC_FIELDS.has(key)) fail([key], `unknown field; known: ${[...SPEC_FIELDS].join(", ")}`);
  }
  if (name === undefined || !NAME.test(name))
    fail(["name"], "needs a name of letters, digits, '.', '_' or '-' (at most 64)");
  if (names.has(name!)) fail(["name"], `"${name}" is already the name of an earlier group`);
  names.add(name!);
  if (typeof spec.role !== "string" || !(DEVICE_ROLES as readonly string[]).includes(spec.role))
    fail(["role"], `must be one of ${DEVICE_ROLES.join(", ")}; got ${JSON.stringify(spec.role)}`);
  if (spec.description !== undefined && typeof spec.description !== "string")
    fail(["description"], "must be text");

  const list = <T>(
    field: keyof DeviceGroupSpec,
    item: (v: unknown, i: number) => T,
  ): T[] | null => {
    const v = spec[field];
    if (v === undefined) return null;
    if (!Array.isArray(v)) fail([field], "must be a list");
    if ((v as unknown[]).length === 0) fail([field], "is empty; leave it out to not select on it");
    return (v as unknown[]).map((x, i) => item(x, i));
  };

  const ranges = list("cidrs", (v, i) => cidr(v, (d) => fail(["cidrs", i], d)));
  const macs = list("macs", (v, i) => {
    const mac = typeof v === "string" ? parseMac(v) : null;
    if (mac === null)
      fail(["macs", i], `${JSON.stringify(v)} is not a MAC address (44:19:B6:12:34:56)`);
    return mac!;
  });
  const prefixes = list("ouis", (v, i) => {
    const hex = typeof v === "string" ? macHexDigits(v) : null;
    if (hex === null || ![6, 7, 9].includes(hex.length))
      fail(
        ["ouis", i],
        `${JSON.stringify(v)} is not a MAC prefix: 24-bit OUI "44:19:B6", or 28/36-bit "70:B3:D5:1", "70:B3:D5:12:3"`,
      );
    return { bits: hex!.length * 4, value: Number.parseInt(hex!, 16) };
  });
  const vlans = list("vlans", (v, i) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 4094)
      fail(["vlans", i], `${JSON.stringify(v)} is not a VLAN id (1-4094)`);
    return v as number;
  });
  if (ranges === null && macs === null && prefixes === null && vlans === null)
    fail(
      [],
      'selects nothing: give cidrs, macs, ouis or vlans (for every address: cidrs: [0.0.0.0/0, "::/0"])',
    );

  const v4 = ranges?.filter((r) => r.version === 4) ?? [];
  const v6 = ranges?.filter((r) => r.version === 6) ?? [];
  const hasMac = macs !== null || prefixes !== null;
  return {
    spec,
    v4: ranges === null ? null : v4.flatMap((r) => [r.start.w3, r.end.w3]),
    v6:
      ranges === null
        ? null
        : v6.map((r) => ({
            net: [r.start.w0, r.start.w1, r.start.w2, r.start.w3],
            mask: [0, 1, 2, 3].map((w) => maskWord(r.prefix, w)) as V6Range["mask"],
          })),
    macs: hasMac ? new Set(macs ?? []) : null,
    prefixes: hasMac ? (prefixes ?? []) : null,
    vlans: vlans === null ? null : new Set(vlans),
  };
}

interface Range {
  version: 4 | 6;
  prefix: number;
  start: AddressWords;
  end: AddressWords;
}

function cidr(v: unknown, fail: (detail: string) => never): Range {
  if (typeof v !== "string") return fail(`${JSON.stringify(v)} is not an address range`);
  const text = v.trim();
  if (/^::ffff:/i.test(text)) return fail(`write IPv4-mapped ranges as IPv4 ("${text.slice(7)}")`);
  const v6 = text.includes(":");
  const withPrefix = text.includes("/") ? text : `${text}/${v6 ? 128 : 32}`;
  if (!IPCIDR.isValidCIDR(withPrefix))
    return fail(`"${text}" is not an address or range (192.0.2.0/24, 2001:db8::/32)`);
  const c = new IPCIDR(withPrefix);
  const version = c.address.v4 ? 4 : 6;
  const prefix = Number(withPrefix.slice(withPrefix.indexOf("/") + 1));
  const start = c.start<bigint>({ type: "bigInteger" });
  const given = IPCIDR.createAddress(withPrefix.slice(0, withPrefix.indexOf("/")));
  // A typo like 192.0.2.5/24 would silently widen to the whole /24: say so instead.
  const words = wordsOfBigInt(version, start);
  if (BigInt(given.bigInteger().toString()) !== start) {
    const net = formatIp(version, words.w0, words.w1, words.w2, words.w3);
    const host = text.slice(0, text.indexOf("/"));
    return fail(
      `"${text}" has host bits set: did you mean ${net}/${prefix} or ${host}/${version === 4 ? 32 : 128}?`,
    );
  }
  return {
    version,
    prefix,
    start: words,
    end: wordsOfBigInt(version, c.end<bigint>({ type: "bigInteger" })),
  };
}
