/**
 * One device the inventory knows: its mutable state (times as packet-time seconds and
 * nanoseconds, lists bounded) and the JSON views built from it. The full view is also
 * what the store keeps, so a view read back restores the device exactly.
 */

import { type AddressWords, parseAddress } from "../enrich/geoip/address.js";
import { formatMac, formatTimestamp } from "../output/format.js";
import type {
  ClaimFinding,
  ClaimSource,
  IdentityFacts,
  MakerChoice,
  MakerClaim,
} from "./fingerprints.js";
import { CLAIM_WEIGHTS, chooseMaker } from "./fingerprints.js";
import type { DeviceGroupSpec, DeviceGroups } from "./groups.js";
import { isLocallyAdministered, parseMac } from "./mac.js";
import { makerFromRegistry } from "./makers.js";
import type { OuiInfo } from "./oui.js";

export interface InventoryLimits {
  /** Addresses kept per device; the least recently seen goes first. */
  ipsPerDevice: number;
  vlansPerDevice: number;
  /** Destination names kept per device; the least used goes first. */
  domainsPerDevice: number;
  /** Maker claims kept per device; later ones are counted, not kept. */
  claimsPerDevice: number;
  /** Firmware versions remembered per device, oldest dropped first. */
  firmwarePerDevice: number;
}

export const DEFAULT_LIMITS: InventoryLimits = {
  ipsPerDevice: 16,
  vlansPerDevice: 8,
  domainsPerDevice: 64,
  claimsPerDevice: 16,
  firmwarePerDevice: 8,
};

/** What flow records and rules need about a device: cheap, cached until it changes. */
export interface DeviceSummary {
  /** "mac:44-19-B6-12-34-56", or "ip:192.0.2.10" when no MAC is known. */
  id: string;
  mac?: string;
  /** Locally administered MAC: set by software, says nothing about the maker. */
  randomised_mac: boolean;
  group?: string;
  role?: string;
  maker?: string;
  /** What the maker was read from (oui, sadp, dhcp, http-server...), strongest first. */
  maker_sources?: ClaimSource[];
  model?: string;
}

export interface AddressView {
  ip: string;
  first_seen: string;
  last_seen: string;
}

export interface DomainView {
  name: string;
  /** DNS questions the device asked for it. */
  lookups: number;
  /** Flows the device opened to a destination of that name. */
  flows: number;
  last_seen: string;
}

export interface ClaimView {
  maker: string;
  source: ClaimSource;
  evidence: string;
  first_seen: string;
}

/** Everything the inventory knows about a device (`egressd devices --json`, the store). */
export interface DeviceView extends DeviceSummary {
  /** The MAC carried many IPv4 addresses: a router; addresses behind it are devices of their own. */
  router: boolean;
  /** Seen only behind a router's MAC: its own MAC is unknown. */
  behind_router?: boolean;
  oui?: { prefix: string; organisation: string };
  serial?: string;
  /** Firmware versions in the order seen; the last is the current one. */
  firmware?: string[];
  name?: string;
  device_class?: string;
  dhcp?: { host_name?: string; vendor_class?: string; fingerprint?: string; client_fqdn?: string };
  ips: AddressView[];
  vlans: number[];
  first_seen: string;
  last_seen: string;
  packets: { sent: number; received: number };
  bytes: { sent: number; received: number };
  flows: { initiated: number; accepted: number };
  /** Flows it opened to internet (not local) destinations; established = the other side answered. */
  internet: {
    attempted: number;
    established: number;
    /** Flows opened to it from the internet. */
    inbound: number;
    first_seen?: string;
    last_seen?: string;
  };
  domains: DomainView[];
  claims: ClaimView[];
  /** Entries a per-device bound kept out. */
  dropped: { ips: number; domains: number; claims: number };
}

interface AddressSeen {
  text: string;
  words: AddressWords;
  firstSec: number;
  firstNsec: number;
  lastSec: number;
  lastNsec: number;
}

interface DomainSeen {
  lookups: number;
  flows: number;
  lastSec: number;
  lastNsec: number;
}

/** a is after b. */
export function after(aSec: number, aNsec: number, bSec: number, bNsec: number): boolean {
  return aSec > bSec || (aSec === bSec && aNsec > bNsec);
}

export class Device {
  mac: number;
  randomised: boolean;
  router = false;
  behindRouter = false;
  /** Set once evicted: references still held by a caller must not revive it. */
  evicted = false;
  firstSec = 0;
  firstNsec = 0;
  lastSec = 0;
  lastNsec = 0;
  readonly ips: AddressSeen[] = [];
  readonly vlans: number[] = [];
  group: DeviceGroupSpec | null = null;
  oui: OuiInfo | null = null;
  readonly claims: MakerClaim[] = [];
  maker: MakerChoice | null = null;
  facts: IdentityFacts = {};
  readonly firmware: string[] = [];
  packetsSent = 0;
  packetsReceived = 0;
  bytesSent = 0;
  bytesReceived = 0;
  flowsInitiated = 0;
  flowsAccepted = 0;
  internetAttempted = 0;
  internetEstablished = 0;
  internetInbound = 0;
  internetFirstSec = -1;
  internetFirstNsec = 0;
  internetLastSec = -1;
  internetLastNsec = 0;
  readonly domains = new Map<string, DomainSeen>();
  dropped = { ips: 0, domains: 0, claims: 0 };
  private summaryCache: DeviceSummary | null = null;
  private seen = false;

  constructor(
    public id: string,
    mac: number,
    private readonly limits: InventoryLimits,
  ) {
    this.mac = mac;
    this.randomised = mac >= 0 && isLocallyAdministered(mac);
  }

  static idFor(mac: number, ip: string | null): string {
    return mac >= 0 ? `mac:${formatMac(mac)}` : `ip:${ip}`;
  }

  /** Widens first/last seen to include [startSec, lastSec]. */
  touch(startSec: number, startNsec: number, lastSec: number, lastNsec: number): void {
    if (!this.seen || after(this.firstSec, this.firstNsec, startSec, startNsec)) {
      this.firstSec = startSec;
      this.firstNsec = startNsec;
    }
    if (!this.seen || after(lastSec, lastNsec, this.lastSec, this.lastNsec)) {
      this.lastSec = lastSec;
      this.lastNsec = lastNsec;
    }
    this.seen = true;
  }

  /**
   * Records an address: 1 when new to the device (groups may change), 0 when known, -1
   * when the bound kept it out. `evicted` receives an address pushed out by the bound.
   */
  addIp(
    text: string,
    words: AddressWords,
    startSec: number,
    startNsec: number,
    lastSec: number,
    lastNsec: number,
    evicted: (text: string) => void,
  ): -1 | 0 | 1 {
    const known = this.ips.find((a) => a.text === text);
    if (known !== undefined) {
      if (after(known.firstSec, known.firstNsec, startSec, startNsec)) {
        known.firstSec = startSec;
        known.firstNsec = startNsec;
      }
      if (after(lastSec, lastNsec, known.lastSec, known.lastNsec)) {
        known.lastSec = lastSec;
        known.lastNsec = lastNsec;
      }
      return 0;
    }
    if (this.ips.length >= this.limits.ipsPerDevice) {
      let oldest = 0;
      for (let i = 1; i < this.ips.length; i++) {
        const a = this.ips[i]!;
        const o = this.ips[oldest]!;
        if (after(o.lastSec, o.lastNsec, a.lastSec, a.lastNsec)) oldest = i;
      }
      // Least recently seen goes, by packet time: that may be the address just reported
      // (a flow record ends long after its address was replaced).
      const o = this.ips[oldest]!;
      if (after(o.lastSec, o.lastNsec, lastSec, lastNsec)) {
        this.dropped.ips++;
        return -1;
      }
      evicted(o.text);
      this.ips.splice(oldest, 1);
      this.dropped.ips++;
    }
    this.ips.push({ text, words, firstSec: startSec, firstNsec: startNsec, lastSec, lastNsec });
    return 1;
  }

  ipv4Count(): number {
    let n = 0;
    for (const a of this.ips) if (a.words.version === 4) n++;
    return n;
  }

  /** Records the VLAN (-1 untagged is not a VLAN); true when new to the device. */
  addVlan(vlan: number): boolean {
    if (vlan < 0) return false;
    const i = this.vlans.indexOf(vlan);
    if (i === this.vlans.length - 1 && i >= 0) return false;
    if (i >= 0) this.vlans.splice(i, 1);
    else if (this.vlans.length >= this.limits.vlansPerDevice) this.vlans.shift();
    this.vlans.push(vlan);
    return i < 0;
  }

  /** First group (declaration order) matching any of the device's (address, VLAN) pairs. */
  evaluateGroup(groups: DeviceGroups): boolean {
    const vlans = this.vlans.length > 0 ? this.vlans : [-1];
    let best = -1;
    for (const vlan of vlans) {
      if (this.ips.length === 0) {
        const i = groups.matchIndex(0, 0, 0, 0, 0, this.mac, vlan);
        if (i >= 0 && (best < 0 || i < best)) best = i;
      }
      for (const a of this.ips) {
        const w = a.words;
        const i = groups.matchIndex(w.version, w.w0, w.w1, w.w2, w.w3, this.mac, vlan);
        if (i >= 0 && (best < 0 || i < best)) best = i;
      }
    }
    const group = best < 0 ? null : groups.specs[best]!;
    if (group === this.group) return false;
    this.group = group;
    this.summaryCache = null;
    return true;
  }

  /** Adds a claim unless the same maker from the same source is known; true when added. */
  addClaim(c: ClaimFinding, firstSeen: string | (() => string)): boolean {
    if (this.claims.some((k) => k.maker === c.maker && k.source === c.source)) return false;
    if (this.claims.length >= this.limits.claimsPerDevice) {
      this.dropped.claims++;
      return false;
    }
    this.claims.push({ ...c, firstSeen: typeof firstSeen === "string" ? firstSeen : firstSeen() });
    this.maker = chooseMaker(this.claims);
    this.summaryCache = null;
    return true;
  }

  /** Merges identity facts; true when anything changed. */
  addFacts(f: IdentityFacts): boolean {
    let changed = false;
    for (const [k, v] of Object.entries(f) as [keyof IdentityFacts, string][]) {
      if (v === undefined || v === "" || this.facts[k] === v) continue;
      this.facts[k] = v;
      changed = true;
      if (k === "firmware" && this.firmware[this.firmware.length - 1] !== v) {
        this.firmware.push(v);
        if (this.firmware.length > this.limits.firmwarePerDevice) this.firmware.shift();
      }
    }
    if (changed) this.summaryCache = null;
    return changed;
  }

  /** A DNS lookup or a named flow; the least used name makes room when full. */
  addDomain(name: string, lookups: number, flows: number, sec: number, nsec: number): void {
    let d = this.domains.get(name);
    if (d === undefined) {
      if (this.domains.size >= this.limits.domainsPerDevice) {
        let victim: string | null = null;
        let vd: DomainSeen | null = null;
        for (const [n, x] of this.domains) {
          if (
            vd === null ||
            x.lookups + x.flows < vd.lookups + vd.flows ||
            (x.lookups + x.flows === vd.lookups + vd.flows &&
              after(vd.lastSec, vd.lastNsec, x.lastSec, x.lastNsec))
          ) {
            victim = n;
            vd = x;
          }
        }
        this.domains.delete(victim!);
        this.dropped.domains++;
      }
      d = { lookups: 0, flows: 0, lastSec: sec, lastNsec: nsec };
      this.domains.set(name, d);
    }
    d.lookups += lookups;
    d.flows += flows;
    if (after(sec, nsec, d.lastSec, d.lastNsec)) {
      d.lastSec = sec;
      d.lastNsec = nsec;
    }
  }

  internetSeen(sec: number, nsec: number): void {
    if (
      this.internetFirstSec < 0 ||
      after(this.internetFirstSec, this.internetFirstNsec, sec, nsec)
    ) {
      this.internetFirstSec = sec;
      this.internetFirstNsec = nsec;
    }
    if (this.internetLastSec < 0 || after(sec, nsec, this.internetLastSec, this.internetLastNsec)) {
      this.internetLastSec = sec;
      this.internetLastNsec = nsec;
    }
  }

  /** The identity changed in a way flow records show (MAC adopted, router). */
  invalidate(): void {
    this.summaryCache = null;
  }

  summary(): DeviceSummary {
    if (this.summaryCache !== null) return this.summaryCache;
    const s = { id: this.id } as DeviceSummary;
    if (this.mac >= 0) s.mac = formatMac(this.mac);
    s.randomised_mac = this.randomised;
    if (this.group !== null) {
      s.group = this.group.name;
      s.role = this.group.role;
    }
    if (this.maker !== null) {
      s.maker = this.maker.maker;
      s.maker_sources = [...this.maker.sources];
    }
    if (this.facts.model !== undefined) s.model = this.facts.model;
    this.summaryCache = s;
    return s;
  }

  view(): DeviceView {
    // Filled in field order (it is the JSON order); every required field is set below.
    const v = { ...this.summary(), router: this.router } as DeviceView;
    if (this.behindRouter) v.behind_router = true;
    if (this.oui !== null) v.oui = { prefix: this.oui.prefix, organisation: this.oui.organisation };
    const f = this.facts;
    if (f.serial !== undefined) v.serial = f.serial;
    if (this.firmware.length > 0) v.firmware = [...this.firmware];
    if (f.name !== undefined) v.name = f.name;
    if (f.device_class !== undefined) v.device_class = f.device_class;
    const dhcp: NonNullable<DeviceView["dhcp"]> = {};
    if (f.host_name !== undefined) dhcp.host_name = f.host_name;
    if (f.vendor_class !== undefined) dhcp.vendor_class = f.vendor_class;
    if (f.dhcp_fingerprint !== undefined) dhcp.fingerprint = f.dhcp_fingerprint;
    if (f.client_fqdn !== undefined) dhcp.client_fqdn = f.client_fqdn;
    if (Object.keys(dhcp).length > 0) v.dhcp = dhcp;
    v.ips = this.ips.map((a) => ({
      ip: a.text,
      first_seen: formatTimestamp(a.firstSec, a.firstNsec),
      last_seen: formatTimestamp(a.lastSec, a.lastNsec),
    }));
    v.vlans = [...this.vlans];
    v.first_seen = formatTimestamp(this.firstSec, this.firstNsec);
    v.last_seen = formatTimestamp(this.lastSec, this.lastNsec);
    v.packets = { sent: this.packetsSent, received: this.packetsReceived };
    v.bytes = { sent: this.bytesSent, received: this.bytesReceived };
    v.flows = { initiated: this.flowsInitiated, accepted: this.flowsAccepted };
    v.internet = {
      attempted: this.internetAttempted,
      established: this.internetEstablished,
      inbound: this.internetInbound,
    };
    if (this.internetFirstSec >= 0) {
      v.internet.first_seen = formatTimestamp(this.internetFirstSec, this.internetFirstNsec);
      v.internet.last_seen = formatTimestamp(this.internetLastSec, this.internetLastNsec);
    }
    v.domains = [...this.domains].map(([name, d]) => ({
      name,
      lookups: d.lookups,
      flows: d.flows,
      last_seen: formatTimestamp(d.lastSec, d.lastNsec),
    }));
    v.claims = this.claims.map((c) => ({
      maker: c.maker,
      source: c.source,
      evidence: c.evidence,
      first_seen: c.firstSeen,
    }));
    v.dropped = { ...this.dropped };
    return v;
  }

  /** Rebuilds a device from its stored view; throws naming the field that is damaged. */
  static fromView(v: DeviceView, limits: InventoryLimits): Device {
    const bad = (field: string): never => {
      throw new Error(`field ${field} is missing or damaged`);
    };
    if (typeof v?.id !== "string") bad("id");
    const mac = v.mac === undefined ? -1 : parseMac(v.mac);
    if (mac === null) bad("mac");
    const d = new Device(v.id, mac!, limits);
    d.router = v.router === true;
    d.behindRouter = v.behind_router === true;
    const [fs, fn] = time(v.first_seen) ?? bad("first_seen");
    const [ls, ln] = time(v.last_seen) ?? bad("last_seen");
    d.touch(fs, fn, ls, ln);
    for (const a of v.ips ?? bad("ips")) {
      const words = parseAddress(a.ip) ?? bad("ips.ip");
      const [s1, n1] = time(a.first_seen) ?? bad("ips.first_seen");
      const [s2, n2] = time(a.last_seen) ?? bad("ips.last_seen");
      d.ips.push({ text: a.ip, words, firstSec: s1, firstNsec: n1, lastSec: s2, lastNsec: n2 });
    }
    for (const vlan of v.vlans ?? bad("vlans")) d.vlans.push(Number(vlan));
    if (v.oui !== undefined) {
      const organisation = String(v.oui.organisation);
      d.oui = {
        prefix: String(v.oui.prefix),
        organisation,
        maker: makerFromRegistry(organisation),
      };
    }
    for (const c of v.claims ?? bad("claims")) {
      if (!(c.source in CLAIM_WEIGHTS) || typeof c.maker !== "string") bad("claims");
      d.claims.push({
        maker: c.maker,
        source: c.source,
        evidence: String(c.evidence),
        firstSeen: String(c.first_seen),
      });
    }
    d.maker = chooseMaker(d.claims);
    const facts: IdentityFacts = {};
    if (v.model !== undefined) facts.model = v.model;
    if (v.serial !== undefined) facts.serial = v.serial;
    if (v.name !== undefined) facts.name = v.name;
    if (v.device_class !== undefined) facts.device_class = v.device_class;
    if (v.dhcp?.host_name !== undefined) facts.host_name = v.dhcp.host_name;
    if (v.dhcp?.vendor_class !== undefined) facts.vendor_class = v.dhcp.vendor_class;
    if (v.dhcp?.fingerprint !== undefined) facts.dhcp_fingerprint = v.dhcp.fingerprint;
    if (v.dhcp?.client_fqdn !== undefined) facts.client_fqdn = v.dhcp.client_fqdn;
    if (v.firmware !== undefined && v.firmware.length > 0) {
      d.firmware.push(...v.firmware.map(String));
      facts.firmware = d.firmware[d.firmware.length - 1]!;
    }
    d.facts = facts;
    const num = (x: unknown, field: string): number =>
      typeof x === "number" && Number.isFinite(x) && x >= 0 ? x : bad(field);
    d.packetsSent = num(v.packets?.sent, "packets.sent");
    d.packetsReceived = num(v.packets?.received, "packets.received");
    d.bytesSent = num(v.bytes?.sent, "bytes.sent");
    d.bytesReceived = num(v.bytes?.received, "bytes.received");
    d.flowsInitiated = num(v.flows?.initiated, "flows.initiated");
    d.flowsAccepted = num(v.flows?.accepted, "flows.accepted");
    d.internetAttempted = num(v.internet?.attempted, "internet.attempted");
    d.internetEstablished = num(v.internet?.established, "internet.established");
    d.internetInbound = num(v.internet?.inbound, "internet.inbound");
    if (v.internet.first_seen !== undefined) {
      [d.internetFirstSec, d.internetFirstNsec] =
        time(v.internet.first_seen) ?? bad("internet.first_seen");
      [d.internetLastSec, d.internetLastNsec] =
        time(v.internet.last_seen) ?? bad("internet.last_seen");
    }
    for (const x of v.domains ?? bad("domains")) {
      const [s, n] = time(x.last_seen) ?? bad("domains.last_seen");
      d.domains.set(String(x.name), {
        lookups: num(x.lookups, "domains.lookups"),
        flows: num(x.flows, "domains.flows"),
        lastSec: s,
        lastNsec: n,
      });
    }
    if (v.dropped !== undefined) {
      d.dropped = {
        ips: num(v.dropped.ips, "dropped.ips"),
        domains: num(v.dropped.domains, "dropped.domains"),
        claims: num(v.dropped.claims, "dropped.claims"),
      };
    }
    return d;
  }
}

/** "2026-11-22T06:48:54.900103000Z" -> [seconds, nanoseconds]; null when not that shape. */
export function time(iso: unknown): [number, number] | null {
  if (typeof iso !== "string") return null;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})Z$/.exec(iso);
  if (m === null) return null;
  const ms = Date.parse(`${m[1]}Z`);
  return Number.isNaN(ms) ? null : [ms / 1000, Number(m[2])];
}
