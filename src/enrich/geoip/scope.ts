/**
 * Special-purpose address ranges (IANA IPv4/IPv6 Special-Purpose Address Registries,
 * plus multicast, limited broadcast, class E and IPv6 space outside 2000::/3), and the
 * classifier that tells an address's scope in a few nanoseconds: a 65,536-entry index on
 * the top 16 bits points at the short list of ranges that can contain the address;
 * most internet addresses hit an empty slot.
 */
import { type Cidr, maskWord, parseCidr } from "./address.js";
import { specialAnswer } from "./answer.js";
import { GeoIpError } from "./errors.js";
import type { GeoAnswer, Scope } from "./types.js";

/** What a range means for a lookup. */
export const RULE_INTERNET = 0;
export const RULE_SPECIAL = 1;
/** IPv4-mapped and NAT64 addresses: classified and looked up as the IPv4 address in w3. */
export const RULE_EMBEDDED_IPV4 = 2;

export interface SpecialRange {
  cidr: string;
  /** "internet" marks a globally reachable hole in a special block (IANA "Globally Reachable: True"). */
  scope: Scope | "embedded-ipv4";
  name: string;
}

/**
 * The more specific range wins (longest prefix), whatever the order here. Names start
 * with the RFC that set the range aside, so an analyst can look it up.
 */
export const SPECIAL_RANGES: readonly SpecialRange[] = [
  { cidr: "0.0.0.0/32", scope: "unspecified", name: "RFC 1122 unspecified address" },
  { cidr: "0.0.0.0/8", scope: "reserved", name: 'RFC 791 "this network"' },
  { cidr: "10.0.0.0/8", scope: "private", name: "RFC 1918 private" },
  { cidr: "100.64.0.0/10", scope: "shared", name: "RFC 6598 shared address space (CGNAT)" },
  { cidr: "127.0.0.0/8", scope: "loopback", name: "RFC 1122 loopback" },
  { cidr: "169.254.0.0/16", scope: "link-local", name: "RFC 3927 link-local" },
  { cidr: "172.16.0.0/12", scope: "private", name: "RFC 1918 private" },
  { cidr: "192.0.0.0/24", scope: "reserved", name: "RFC 6890 IETF protocol assignments" },
  { cidr: "192.0.0.9/32", scope: "internet", name: "RFC 7723 PCP anycast" },
  { cidr: "192.0.0.10/32", scope: "internet", name: "RFC 8155 TURN anycast" },
  { cidr: "192.0.2.0/24", scope: "documentation", name: "RFC 5737 documentation (TEST-NET-1)" },
  { cidr: "192.88.99.0/24", scope: "reserved", name: "RFC 7526 deprecated 6to4 relay anycast" },
  { cidr: "192.168.0.0/16", scope: "private", name: "RFC 1918 private" },
  { cidr: "198.18.0.0/15", scope: "benchmarking", name: "RFC 2544 benchmarking" },
  { cidr: "198.51.100.0/24", scope: "documentation", name: "RFC 5737 documentation (TEST-NET-2)" },
  { cidr: "203.0.113.0/24", scope: "documentation", name: "RFC 5737 documentation (TEST-NET-3)" },
  { cidr: "224.0.0.0/4", scope: "multicast", name: "RFC 5771 multicast" },
  { cidr: "240.0.0.0/4", scope: "reserved", name: "RFC 1112 reserved (former class E)" },
  { cidr: "255.255.255.255/32", scope: "broadcast", name: "RFC 919 limited broadcast" },

  { cidr: "::/128", scope: "unspecified", name: "RFC 4291 unspecified address" },
  { cidr: "::1/128", scope: "loopback", name: "RFC 4291 loopback" },
  { cidr: "::ffff:0:0/96", scope: "embedded-ipv4", name: "RFC 4291 IPv4-mapped" },
  { cidr: "64:ff9b::/96", scope: "embedded-ipv4", name: "RFC 6052 NAT64 well-known prefix" },
  {
    cidr: "64:ff9b:1::/48",
    scope: "private",
    name: "RFC 8215 local-use IPv4/IPv6 translation",
  },
  { cidr: "100::/64", scope: "reserved", name: "RFC 6666 discard-only" },
  { cidr: "2001::/23", scope: "reserved", name: "RFC 2928 IETF protocol assignments" },
  { cidr: "2001::/32", scope: "internet", name: "RFC 4380 Teredo" },
  { cidr: "2001:1::1/128", scope: "internet", name: "RFC 7723 PCP anycast" },
  { cidr: "2001:1::2/128", scope: "internet", name: "RFC 8155 TURN anycast" },
  { cidr: "2001:1::3/128", scope: "internet", name: "RFC 9665 DNS-SD SRP anycast" },
  { cidr: "2001:2::/48", scope: "benchmarking", name: "RFC 5180 benchmarking" },
  { cidr: "2001:3::/32", scope: "internet", name: "RFC 7450 AMT" },
  { cidr: "2001:4:112::/48", scope: "internet", name: "RFC 7535 AS112-v6" },
  { cidr: "2001:10::/28", scope: "reserved", name: "RFC 4843 deprecated ORCHID" },
  { cidr: "2001:20::/28", scope: "internet", name: "RFC 7343 ORCHIDv2" },
  { cidr: "2001:30::/28", scope: "internet", name: "RFC 9374 DRIP DET" },
  { cidr: "2001:db8::/32", scope: "documentation", name: "RFC 3849 documentation" },
  { cidr: "3fff::/20", scope: "documentation", name: "RFC 9637 documentation" },
  { cidr: "5f00::/16", scope: "reserved", name: "RFC 9602 SRv6 SIDs" },
  { cidr: "fc00::/7", scope: "unique-local", name: "RFC 4193 unique local" },
  { cidr: "fe80::/10", scope: "link-local", name: "RFC 4291 link-local" },
  { cidr: "fec0::/10", scope: "reserved", name: "RFC 3879 deprecated site-local" },
  { cidr: "ff00::/8", scope: "multicast", name: "RFC 4291 multicast" },
  // Only 2000::/3 is allocated for global unicast (IANA IPv6 Address Space registry).
  { cidr: "::/3", scope: "reserved", name: "IANA reserved IPv6 space (outside 2000::/3)" },
  { cidr: "4000::/2", scope: "reserved", name: "IANA reserved IPv6 space (outside 2000::/3)" },
  { cidr: "8000::/1", scope: "reserved", name: "IANA reserved IPv6 space (outside 2000::/3)" },
];

export interface ScopeRule {
  readonly kind: number;
  readonly cidr: string;
  /** Range name; "lab internet range" for an internetRanges entry. */
  readonly name: string;
  /** The shared answer for RULE_SPECIAL, null otherwise. */
  readonly answer: GeoAnswer | null;
  readonly prefix: number;
  // Network and mask words as int32, so `(w & m) === n` needs no unsigned conversion.
  readonly n0: number;
  readonly n1: number;
  readonly n2: number;
  readonly n3: number;
  readonly m0: number;
  readonly m1: number;
  readonly m2: number;
  readonly m3: number;
}

function rule(c: Cidr, cidr: string, kind: number, name: string, answer: GeoAnswer | null) {
  // IPv4 networks live in word 3, like the flow table's addresses.
  const p = c.version === 4 ? c.prefix + 96 : c.prefix;
  const m = [maskWord(p, 0), maskWord(p, 1), maskWord(p, 2), maskWord(p, 3)];
  return {
    kind,
    cidr,
    name,
    answer,
    prefix: c.prefix,
    n0: (c.w0 & m[0]!) | 0,
    n1: (c.w1 & m[1]!) | 0,
    n2: (c.w2 & m[2]!) | 0,
    n3: (c.w3 & m[3]!) | 0,
    m0: m[0]! | 0,
    m1: m[1]! | 0,
    m2: m[2]! | 0,
    m3: m[3]! | 0,
  } satisfies ScopeRule;
}

/** Top-16-bit slot -> the rules that can match there, in priority order. */
class SlotIndex {
  readonly slots = new Uint16Array(65536);
  readonly lists: ScopeRule[][] = [[]];

  constructor(rules: readonly ScopeRule[], topWord: (r: ScopeRule) => number) {
    // Rules narrower than a slot are listed per slot; a rule as wide as a slot or wider
    // "covers" it and ends its list (nothing after it in priority is ever reached).
    const cover = new Int32Array(65536).fill(-1);
    const narrow = new Map<number, number[]>();
    rules.forEach((r, i) => {
      const first = topWord(r) >>> 16;
      if (r.prefix > 16) {
        const list = narrow.get(first) ?? [];
        list.push(i);
        narrow.set(first, list);
        return;
      }
      const last = first + 2 ** (16 - r.prefix);
      for (let s = first; s < last; s++) if (cover[s]! < 0) cover[s] = i;
    });
    const byCover = new Map<number, number>();
    const byKey = new Map<string, number>();
    for (let s = 0; s < 65536; s++) {
      const c = cover[s]!;
      const listed = narrow.get(s);
      const ids = listed === undefined ? [] : listed.filter((i) => c < 0 || i < c);
      if (ids.length === 0) {
        if (c < 0) continue;
        let id = byCover.get(c);
        if (id === undefined) {
          id = this.lists.push([rules[c]!]) - 1;
          byCover.set(c, id);
        }
        this.slots[s] = id;
        continue;
      }
      if (c >= 0) ids.push(c);
      const key = ids.join(",");
      let id = byKey.get(key);
      if (id === undefined) {
        id = this.lists.push(ids.map((i) => rules[i]!)) - 1;
        byKey.set(key, id);
      }
      this.slots[s] = id;
    }
  }
}

/** Longest prefix first; the lab's internet ranges before everything. */
function ordered(overrides: ScopeRule[], specials: ScopeRule[]): ScopeRule[] {
  return [...overrides, ...[...specials].sort((a, b) => b.prefix - a.prefix)];
}

export class ScopeClassifier {
  private readonly v4: SlotIndex;
  private readonly v6: SlotIndex;

  /** Throws GeoIpError if an internet range is not a CIDR. */
  constructor(internetRanges: readonly string[] = []) {
    const over4: ScopeRule[] = [];
    const over6: ScopeRule[] = [];
    for (const text of internetRanges) {
      const c = parseCidr(text.trim());
      if (c === null) {
        throw new GeoIpError(
          `internet range "${text}" is not a CIDR (like 192.0.2.0/24 or 2001:db8::/32)`,
        );
      }
      (c.version === 4 ? over4 : over6).push(
        rule(c, text.trim(), RULE_INTERNET, "lab internet range", null),
      );
    }
    const sp4: ScopeRule[] = [];
    const sp6: ScopeRule[] = [];
    for (const range of SPECIAL_RANGES) {
      const c = parseCidr(range.cidr)!;
      const kind =
        range.scope === "internet"
          ? RULE_INTERNET
          : range.scope === "embedded-ipv4"
            ? RULE_EMBEDDED_IPV4
            : RULE_SPECIAL;
      const answer = kind === RULE_SPECIAL ? specialAnswer(range.scope as Scope, range.name) : null;
      (c.version === 4 ? sp4 : sp6).push(rule(c, range.cidr, kind, range.name, answer));
    }
    this.v4 = new SlotIndex(ordered(over4, sp4), (r) => r.n3);
    this.v6 = new SlotIndex(ordered(over6, sp6), (r) => r.n0);
  }

  /** The range an IPv4 word is in, or null for an ordinary internet address. */
  classify4(w: number): ScopeRule | null {
    const slot = this.v4.slots[w >>> 16]!;
    if (slot === 0) return null;
    const list = this.v4.lists[slot]!;
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!;
      if ((w & r.m3) === r.n3) return r;
    }
    return null;
  }

  /** The range an IPv6 address is in, or null for an ordinary internet address. */
  classify6(w0: number, w1: number, w2: number, w3: number): ScopeRule | null {
    const slot = this.v6.slots[w0 >>> 16]!;
    if (slot === 0) return null;
    const list = this.v6.lists[slot]!;
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!;
      if (
        (w0 & r.m0) === r.n0 &&
        (w1 & r.m1) === r.n1 &&
        (w2 & r.m2) === r.n2 &&
        (w3 & r.m3) === r.n3
      ) {
        return r;
      }
    }
    return null;
  }
}
