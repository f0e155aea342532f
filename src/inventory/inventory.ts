/**
 * The device inventory: every local device seen on the wire, who made it, what group it is
 * in, how much it sent, whether it tried the internet and which names it used. Fed by the
 * pipeline once per flow start and once per flow record (never per packet); time comes
 * from packet timestamps only, so a replay builds the same inventory every time.
 *
 * Devices are keyed by MAC when the link layer has one, else by IP. A MAC that carries
 * more than `routerAddresses` IPv4 addresses is a router (the capture sees routed hosts
 * with the router's MAC): it is marked so, and the addresses seen behind it from then on
 * become devices of their own, keyed by IP. Bounded: at most `maxDevices`; the device
 * seen least recently is evicted and counted. Per-device lists are bounded too.
 */

import { type AddressWords, parseAddress } from "../enrich/geoip/address.js";
import type { Flow } from "../flow/flow.js";
import { TcpState } from "../flow/tcp-state.js";
import { formatTimestamp } from "../output/format.js";
import type { FlowApp } from "../protocols/flow-app.js";
import { formatIp } from "../util/ip-text.js";
import { isGroupAddress, isLinkLocal, isUnspecified } from "./addresses.js";
import {
  DEFAULT_LIMITS,
  Device,
  type DeviceSummary,
  type DeviceView,
  type InventoryLimits,
} from "./device.js";
import {
  type ClaimFinding,
  dhcpFindings,
  discoveryFindings,
  httpClaims,
  isDeviceAnnouncement,
  ouiClaim,
} from "./fingerprints.js";
import type { DeviceGroups } from "./groups.js";
import { isGroupMac, isLocallyAdministered, parseMac } from "./mac.js";
import { lookupOui } from "./oui.js";

export type IsLocal = (
  ipVersion: number,
  w0: number,
  w1: number,
  w2: number,
  w3: number,
) => boolean;

export interface InventoryOptions {
  maxDevices: number;
  groups: DeviceGroups;
  /** Is this address on our side (not the internet)? From the GeoIP scope. */
  isLocal: IsLocal;
  limits?: Partial<InventoryLimits>;
  /** IPv4 addresses one MAC may carry before it is taken for a router. Default 4. */
  routerAddresses?: number;
  /** Where save() writes and what the inventory was loaded from (openInventory sets it). */
  store?: InventoryStore | null;
}

export interface InventoryStats {
  /** Devices known now. */
  devices: number;
  /** Devices learned since start (not counting those loaded from the store). */
  learned: number;
  /** Devices evicted by maxDevices since start. */
  evicted: number;
}

/** Persistence for the inventory (src/store/devices.ts implements it with SQLite). */
export interface InventoryStore {
  /** Devices least recently seen first, and evictions counted before this run. */
  load(): { devices: DeviceView[]; evictedTotal: number };
  /** Writes changed devices, deletes removed ones, in one transaction. */
  save(changed: DeviceView[], removed: string[], evictedTotal: number): void;
  close(): void;
}

/** Ports the discovery protocols answer from, to tell which end of a flow a reply came from. */
const DISCOVERY_PORTS: Record<string, number> = {
  sadp: 37020,
  dhip: 37810,
  "ws-discovery": 3702,
  dvrip: 5050,
};

const DHCP_ACK = 5;

/** An endpoint of a flow, as learn() takes it. */
interface Endpoint {
  v: number;
  w0: number;
  w1: number;
  w2: number;
  w3: number;
  mac: number;
}

export class Inventory {
  readonly stats: InventoryStats = { devices: 0, learned: 0, evicted: 0 };
  /** Told the id of every device learned (not loaded from the store): device_first_seen. */
  onDeviceLearned: ((id: string) => void) | null = null;
  /** Evictions over the store's whole life, this run included. */
  evictedTotal = 0;
  private groups: DeviceGroups;
  private readonly isLocal: IsLocal;
  private readonly maxDevices: number;
  private readonly limits: InventoryLimits;
  private readonly routerAddresses: number;
  private readonly store: InventoryStore | null;
  /** Every device by id, least recently touched first (Map keeps insertion order). */
  private readonly order = new Map<string, Device>();
  private readonly byMac = new Map<number, Device>();
  /** Devices keyed by IP (no MAC known, or behind a router). */
  private readonly byIpKey = new Map<string, Device>();
  /** Address -> the device most recently seen with it. */
  private readonly ipIndex = new Map<string, Device>();
  private readonly dirty = new Set<Device>();
  private readonly removed = new Set<string>();

  constructor(options: InventoryOptions) {
    if (!Number.isInteger(options.maxDevices) || options.maxDevices < 1)
      throw new Error(`maxDevices must be a positive integer, got ${options.maxDevices}`);
    this.maxDevices = options.maxDevices;
    this.groups = options.groups;
    this.isLocal = options.isLocal;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.routerAddresses = options.routerAddresses ?? 4;
    this.store = options.store ?? null;
    if (this.store !== null) {
      const { devices, evictedTotal } = this.store.load();
      this.evictedTotal = evictedTotal;
      this.restore(devices);
    }
  }

  // --- what the pipeline calls ---------------------------------------------

  /** A new flow: learns its local endpoints, so rules at flow start know the device. */
  flowStarted(flow: Flow): void {
    const s = flow.startSec;
    const n = flow.startNsec;
    this.learn(source(flow), flow.vlanOuter, s, n, s, n);
    this.learn(destination(flow), flow.vlanOuter, s, n, s, n);
  }

  /** A flow record: counters, internet use, names, and fingerprints from its protocols. */
  flowEnded(flow: Flow, _reason: string): void {
    const vlan = flow.vlanOuter;
    const s0 = flow.startSec;
    const n0 = flow.startNsec;
    const s1 = flow.lastSec;
    const n1 = flow.lastNsec;
    const srcEnd = source(flow);
    const dstEnd = destination(flow);
    const src = this.learn(srcEnd, vlan, s0, n0, s1, n1);
    const dst = this.learn(dstEnd, vlan, s0, n0, s1, n1);
    // A record continuing one cut by the active timeout adds bytes, not another flow.
    const newFlow = !flow.continued;
    if (src !== null) {
      src.packetsSent += flow.srcPackets;
      src.bytesSent += flow.srcBytes;
      src.packetsReceived += flow.dstPackets;
      src.bytesReceived += flow.dstBytes;
      if (newFlow) src.flowsInitiated++;
      if (newFlow && this.isInternet(dstEnd)) {
        src.internetAttempted++;
        if (reachedOtherSide(flow)) src.internetEstablished++;
        src.internetSeen(s0, n0);
        src.internetSeen(s1, n1);
      }
      // Only names the device itself used (its own lookup, SNI, Host): an address another
      // device resolved may be shared hosting, not this device asking for that name.
      if (newFlow && flow.domain !== "" && flow.nameSource !== "dns-other-client")
        src.addDomain(flow.domain.toLowerCase(), 0, 1, s0, n0);
      this.changed(src);
    }
    if (dst !== null) {
      dst.packetsSent += flow.dstPackets;
      dst.bytesSent += flow.dstBytes;
      dst.packetsReceived += flow.srcPackets;
      dst.bytesReceived += flow.srcBytes;
      if (newFlow) dst.flowsAccepted++;
      if (newFlow && this.isInternet(srcEnd)) {
        dst.internetInbound++;
        dst.internetSeen(s0, n0);
      }
      this.changed(dst);
    }
    const app = flow.app as FlowApp | null;
    if (app !== null) this.fingerprints(flow, app, src, dst, vlan, newFlow);
  }

  /** The device at an address (and MAC, when known), for flow records and rules. */
  deviceFor(
    ipVersion: number,
    w0: number,
    w1: number,
    w2: number,
    w3: number,
    mac: number,
  ): DeviceSummary | null {
    let viaRouter = false;
    if (mac >= 0 && !isGroupMac(mac)) {
      const d = this.byMac.get(mac);
      if (d !== undefined && !d.router) return d.summary();
      viaRouter = d !== undefined;
    }
    if (ipVersion !== 4 && ipVersion !== 6) return null;
    if (isUnspecified(ipVersion, w0, w1, w2, w3) || isGroupAddress(ipVersion, w0, w3)) return null;
    const text = formatIp(ipVersion, w0, w1, w2, w3);
    const d = viaRouter ? this.byIpKey.get(text) : this.ipIndex.get(text);
    return d === undefined ? null : d.summary();
  }

  /** Every device, least recently seen first. */
  devices(): DeviceView[] {
    return [...this.order.values()].map((d) => d.view());
  }

  /** New config: re-evaluates every device's group. */
  setGroups(groups: DeviceGroups): void {
    this.groups = groups;
    for (const d of this.order.values()) if (d.evaluateGroup(groups)) this.changed(d);
  }

  /** Writes what changed since the last save to the store (no-op without one). */
  save(): void {
    if (this.store === null) return;
    const changed = [...this.dirty].filter((d) => !d.evicted).map((d) => d.view());
    this.store.save(changed, [...this.removed], this.evictedTotal);
    this.dirty.clear();
    this.removed.clear();
  }

  /** Saves and closes the store. */
  close(): void {
    this.save();
    this.store?.close();
  }

  // --- learning --------------------------------------------------------------

  private isInternet(e: Endpoint): boolean {
    const { v, w0, w1, w2, w3 } = e;
    if (v !== 4 && v !== 6) return false;
    if (isUnspecified(v, w0, w1, w2, w3) || isGroupAddress(v, w0, w3) || isLinkLocal(v, w0, w3))
      return false;
    return !this.isLocal(v, w0, w1, w2, w3);
  }

  /**
   * The device at a flow endpoint, created or updated; null when the endpoint is not a
   * local device (internet address, multicast, broadcast, unspecified without a MAC).
   */
  private learn(
    e: Endpoint,
    vlan: number,
    s0: number,
    n0: number,
    s1: number,
    n1: number,
  ): Device | null {
    const { v, w0, w1, w2, w3, mac } = e;
    if (mac >= 0 && isGroupMac(mac)) return null;
    const hasIp = v === 4 || v === 6;
    if (hasIp && isGroupAddress(v, w0, w3)) return null;
    const noAddress = !hasIp || isUnspecified(v, w0, w1, w2, w3);
    if (noAddress && mac < 0) return null;
    if (!noAddress && !isLinkLocal(v, w0, w3) && !this.isLocal(v, w0, w1, w2, w3)) return null;
    const text = noAddress ? null : formatIp(v, w0, w1, w2, w3);
    const words: AddressWords | null = noAddress ? null : { version: v as 4 | 6, w0, w1, w2, w3 };
    return this.place(mac, text, words, vlan, s0, n0, s1, n1);
  }

  /** Finds or creates the device for (MAC, address) and records the sighting. */
  private place(
    mac: number,
    text: string | null,
    words: AddressWords | null,
    vlan: number,
    s0: number,
    n0: number,
    s1: number,
    n1: number,
  ): Device {
    const d = this.resolve(mac, text);
    d.touch(s0, n0, s1, n1);
    this.bump(d);
    if (d.oui !== null && !d.claims.some((c) => c.source === "oui")) {
      d.addClaim(ouiClaim(d.oui), formatTimestamp(s0, n0));
    }
    let regroup = d.addVlan(vlan);
    if (text !== null && words !== null) {
      const added = d.addIp(text, words, s0, n0, s1, n1, (gone) => {
        if (this.ipIndex.get(gone) === d) this.ipIndex.delete(gone);
      });
      if (added === 1) regroup = true;
      if (added >= 0) this.ipIndex.set(text, d);
      if (d.mac >= 0 && !d.router && d.ipv4Count() > this.routerAddresses) {
        d.router = true;
        d.invalidate();
      }
    }
    if (regroup) d.evaluateGroup(this.groups);
    this.changed(d);
    return d;
  }

  private resolve(mac: number, text: string | null): Device {
    if (mac >= 0) {
      const d = this.byMac.get(mac);
      if (d !== undefined && !d.router) return d;
      if (d === undefined) {
        // The same device seen earlier without its MAC (another interface, a raw capture).
        const known = text === null ? undefined : this.byIpKey.get(text);
        if (known !== undefined && known.mac < 0 && !known.behindRouter) {
          this.rekey(known, mac);
          return known;
        }
        return this.create(mac, null, false);
      }
      // Behind a router: the address is the device.
      if (text === null) return d;
      return this.byIpKey.get(text) ?? this.create(-1, text, true);
    }
    return this.ipIndex.get(text!) ?? this.byIpKey.get(text!) ?? this.create(-1, text, false);
  }

  private create(mac: number, text: string | null, behindRouter: boolean): Device {
    const d = new Device(Device.idFor(mac, text), mac, this.limits);
    d.behindRouter = behindRouter;
    if (mac >= 0) {
      this.byMac.set(mac, d);
      const oui = lookupOui(mac);
      if (oui !== null) d.oui = oui;
    } else {
      this.byIpKey.set(text!, d);
    }
    this.order.set(d.id, d);
    this.removed.delete(d.id);
    this.stats.learned++;
    this.stats.devices = this.order.size;
    this.evictBeyondBound(d);
    this.onDeviceLearned?.(d.id);
    return d;
  }

  /** An IP-keyed device whose MAC turned up: it becomes the MAC's device. */
  private rekey(d: Device, mac: number): void {
    this.byIpKey.delete(d.id.slice(3));
    this.order.delete(d.id);
    this.removed.add(d.id);
    d.id = Device.idFor(mac, null);
    d.mac = mac;
    d.randomised = isLocallyAdministered(mac);
    d.oui = lookupOui(mac);
    d.invalidate();
    this.byMac.set(mac, d);
    this.order.set(d.id, d);
    this.removed.delete(d.id);
  }

  /** Marks a device most recently seen (the end of the eviction order). */
  private bump(d: Device): void {
    this.order.delete(d.id);
    this.order.set(d.id, d);
  }

  private evictBeyondBound(keep: Device): void {
    while (this.order.size > this.maxDevices) {
      const oldest = this.order.values().next().value as Device;
      if (oldest === keep) break;
      this.evict(oldest);
    }
  }

  private evict(d: Device): void {
    d.evicted = true;
    this.order.delete(d.id);
    if (d.mac >= 0 && this.byMac.get(d.mac) === d) this.byMac.delete(d.mac);
    if (d.id.startsWith("ip:") && this.byIpKey.get(d.id.slice(3)) === d)
      this.byIpKey.delete(d.id.slice(3));
    for (const a of d.ips) if (this.ipIndex.get(a.text) === d) this.ipIndex.delete(a.text);
    this.dirty.delete(d);
    this.removed.add(d.id);
    this.stats.evicted++;
    this.evictedTotal++;
    this.stats.devices = this.order.size;
  }

  private changed(d: Device): void {
    if (!d.evicted) this.dirty.add(d);
  }

  // --- fingerprints ----------------------------------------------------------

  private fingerprints(
    flow: Flow,
    app: FlowApp,
    src: Device | null,
    dst: Device | null,
    vlan: number,
    newFlow: boolean,
  ): void {
    // Claims are rare: the time text is made only when one is added.
    const seen = () => formatTimestamp(flow.startSec, flow.startNsec);
    // The first DNS question of a flow the device asked (mDNS and LLMNR name local things).
    const q = app.dns;
    if (src !== null && newFlow && q !== null && q.kind === "dns" && q.queryName !== undefined) {
      src.addDomain(q.queryName, 1, 0, flow.startSec, flow.startNsec);
    }
    const d = app.discovery;
    if (d !== null && isDeviceAnnouncement(d)) {
      const sender = this.discoverySender(flow, d.protocol, d.fields.mac, d.fields.ipv4, src, dst);
      if (sender !== null) {
        const { claim, facts } = discoveryFindings(d);
        if (claim !== null) this.claim(sender, claim, seen);
        if (sender.addFacts(facts)) this.changed(sender);
      }
    }
    const t = app.httpFirst;
    if (t !== null && dst !== null) for (const c of httpClaims(t)) this.claim(dst, c, seen);
    if (app.dhcp !== null) {
      for (const r of app.dhcp) {
        const mac = r.mac === undefined ? null : parseMac(r.mac);
        if (mac === null || isGroupMac(mac)) continue;
        if (r.op === 1) {
          // The client is the chaddr, whatever address (often 0.0.0.0) the packet came from.
          const client = this.place(
            mac,
            null,
            null,
            vlan,
            flow.startSec,
            flow.startNsec,
            flow.lastSec,
            flow.lastNsec,
          );
          const { claims, facts } = dhcpFindings(r);
          for (const c of claims) this.claim(client, c, seen);
          if (client.addFacts(facts)) this.changed(client);
        } else if (r.message_type === DHCP_ACK && r.yiaddr !== undefined) {
          // The server's ACK ties the assigned address to the client's MAC.
          const w = parseAddress(r.yiaddr);
          if (w === null || !this.isLocal(4, 0, 0, 0, w.w3)) continue;
          this.place(
            mac,
            r.yiaddr,
            w,
            vlan,
            flow.startSec,
            flow.startNsec,
            flow.lastSec,
            flow.lastNsec,
          );
        }
      }
    }
  }

  private claim(d: Device, c: ClaimFinding, seen: () => string): void {
    if (!d.evicted && d.addClaim(c, seen)) this.changed(d);
  }

  /**
   * Which end of the flow sent a device's own discovery message: the end whose MAC or IPv4
   * the message names; else the source when the destination is a group address (SADP,
   * DHIP and WS-Discovery announce by multicast); else the end on the protocol's port.
   */
  private discoverySender(
    flow: Flow,
    protocol: string,
    mac: string | undefined,
    ipv4: string | undefined,
    src: Device | null,
    dst: Device | null,
  ): Device | null {
    const m = mac === undefined ? null : parseMac(mac);
    if (m !== null) {
      if (m === flow.srcMac) return src;
      if (m === flow.dstMac) return dst;
    }
    const a = ipv4 === undefined ? null : parseAddress(ipv4);
    if (a !== null && a.version === 4 && flow.ipVersion === 4) {
      if (a.w3 === flow.src3 >>> 0) return src;
      if (a.w3 === flow.dst3 >>> 0) return dst;
    }
    if (protocol === "dahua-p2p") return src;
    if (isGroupAddress(flow.ipVersion, flow.dst0, flow.dst3) || isGroupMac(flow.dstMac)) return src;
    const port = DISCOVERY_PORTS[protocol];
    if (port !== undefined && flow.dstPort === port && flow.srcPort !== port) return dst;
    return src;
  }

  // --- store -------------------------------------------------------------------

  /** Loads stored devices (least recently seen first), keeping the newest maxDevices. */
  private restore(views: DeviceView[]): void {
    for (const v of views) {
      let d: Device;
      try {
        d = Device.fromView(v, this.limits);
      } catch (err) {
        throw new Error(`stored device ${JSON.stringify(v?.id)}: ${(err as Error).message}`);
      }
      this.order.delete(d.id);
      this.order.set(d.id, d);
      if (d.mac >= 0) this.byMac.set(d.mac, d);
      else this.byIpKey.set(d.id.slice(3), d);
      for (const a of d.ips) this.ipIndex.set(a.text, d);
      // The config may have changed since the inventory was saved.
      d.evaluateGroup(this.groups);
      if (d.group?.name !== v.group || d.group?.role !== v.role) this.dirty.add(d);
      this.stats.devices = this.order.size;
      this.evictBeyondBound(d);
    }
  }
}

function source(f: Flow): Endpoint {
  return { v: f.ipVersion, w0: f.src0, w1: f.src1, w2: f.src2, w3: f.src3, mac: f.srcMac };
}

function destination(f: Flow): Endpoint {
  return { v: f.ipVersion, w0: f.dst0, w1: f.dst1, w2: f.dst2, w3: f.dst3, mac: f.dstMac };
}

/**
 * Did the attempt get through? TCP: the handshake completed (or data flowed mid-stream);
 * a SYN with no answer, a RST or an ICMP unreachable means the fence held. Other
 * protocols: the responder sent something back (ICMP errors are not counted as packets).
 */
function reachedOtherSide(f: Flow): boolean {
  if (f.proto === 6) {
    const s = f.tcpState;
    return (
      s === TcpState.ESTABLISHED ||
      s === TcpState.MIDSTREAM ||
      s === TcpState.CLOSED ||
      s === TcpState.RESET
    );
  }
  return f.dstPackets > 0;
}
