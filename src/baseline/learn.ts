/**
 * Learning a baseline: watches every flow record and DNS question of devices in a group
 * and keeps, per group, each destination (peer group, name, or address when it had no
 * name) with its ports, protocols, countries, ASNs, counts, first/last seen and the
 * devices that used it; the names looked up; and bytes per device per day (packet time).
 * Bounded: at most maxEntries destinations and lookups per group (the rest are counted as
 * dropped and reported).
 */
import type { Flow } from "../flow/flow.js";
import { recordHasPorts, transportName } from "../output/flow-record.js";
import { formatTimestamp } from "../output/format.js";
import type { FlowApp } from "../protocols/flow-app.js";
import { dstScope, srcScope } from "../rules/fields.js";
import type { FlowWatch } from "../rules/triggers.js";
import { formatIp } from "../util/ip-text.js";
import { entryKey, MAX_DEVICES_LISTED } from "./baseline-file.js";
import type { Baseline, BaselineEntry, GroupBaseline, LookupEntry } from "./model.js";
import { portText } from "./model.js";

interface EntryState {
  entry: BaselineEntry;
  ports: Set<string>;
  protocols: Set<string>;
  countries: Set<string>;
  asns: Set<number>;
  devices: Set<string>;
  firstSec: number;
  lastSec: number;
}

interface GroupState {
  role: string | undefined;
  entries: Map<string, EntryState>;
  lookups: Map<
    string,
    { queries: number; firstSec: number; lastSec: number; devices: Set<string> }
  >;
  /** "device day" -> bytes out / in. */
  bytesOut: Map<string, number>;
  bytesIn: Map<string, number>;
  devices: Set<string>;
  flows: number;
  dropped: number;
}

export interface LearnOptions {
  /** Destinations (and lookups) kept per group. Default 5000. */
  maxEntries?: number;
}

export class BaselineLearner implements FlowWatch {
  private readonly groups = new Map<string, GroupState>();
  private readonly maxEntries: number;
  private firstSec = Number.POSITIVE_INFINITY;
  private lastSec = 0;

  constructor(options: LearnOptions = {}) {
    this.maxEntries = options.maxEntries ?? 5000;
  }

  lookup(flow: Flow, name: string, tsSec: number): null {
    const device = flow.srcDevice;
    if (device?.group === undefined) return null;
    const g = this.group(device.group, device.role);
    let l = g.lookups.get(name);
    if (l === undefined) {
      if (g.lookups.size >= this.maxEntries) {
        g.dropped++;
        return null;
      }
      l = { queries: 0, firstSec: tsSec, lastSec: tsSec, devices: new Set() };
      g.lookups.set(name, l);
    }
    l.queries++;
    l.lastSec = Math.max(l.lastSec, tsSec);
    if (l.devices.size < MAX_DEVICES_LISTED) l.devices.add(device.id);
    return null;
  }

  flowRecord(flow: Flow, ending: boolean): [] {
    this.firstSec = Math.min(this.firstSec, flow.startSec);
    this.lastSec = Math.max(this.lastSec, flow.lastSec);
    const src = flow.srcDevice;
    const dst = flow.dstDevice;
    // The group's device opened it (out), or another end opened it to the device (in).
    if (src?.group !== undefined) this.record(src.group, src.role, src.id, flow, "out", ending);
    if (dst?.group !== undefined && dst.id !== src?.id)
      this.record(dst.group, dst.role, dst.id, flow, "in", ending);
    return [];
  }

  private record(
    group: string,
    role: string | undefined,
    device: string,
    flow: Flow,
    direction: "out" | "in",
    ending: boolean,
  ): void {
    const g = this.group(group, role);
    g.devices.add(device);
    const day = new Date(flow.startSec * 1000).toISOString().slice(0, 10);
    const dayKey = `${device} ${day}`;
    const out = direction === "out" ? flow.srcBytes : flow.dstBytes;
    const inb = direction === "out" ? flow.dstBytes : flow.srcBytes;
    g.bytesOut.set(dayKey, (g.bytesOut.get(dayKey) ?? 0) + out);
    g.bytesIn.set(dayKey, (g.bytesIn.get(dayKey) ?? 0) + inb);
    // An active-timeout report is the same flow again: count it once, at its end.
    if (!ending) return;
    g.flows++;
    const entry = targetOf(flow, direction);
    const key = entryKey(entry);
    let s = g.entries.get(key);
    if (s === undefined) {
      if (g.entries.size >= this.maxEntries) {
        g.dropped++;
        return;
      }
      s = {
        entry,
        ports: new Set(),
        protocols: new Set(),
        countries: new Set(),
        asns: new Set(),
        devices: new Set(),
        firstSec: flow.startSec,
        lastSec: flow.lastSec,
      };
      g.entries.set(key, s);
    }
    const transport = transportName(flow.proto);
    const servicePort = recordHasPorts(flow.proto) ? flow.dstPort : undefined;
    s.ports.add(portText(transport, servicePort));
    const protocol = (flow.app as FlowApp | null)?.protocol;
    if (protocol) s.protocols.add(protocol);
    const peerGeo = direction === "out" ? flow.dstGeo : flow.srcGeo;
    if (peerGeo?.countryIso !== undefined) s.countries.add(peerGeo.countryIso);
    if (peerGeo?.asNumber !== undefined) s.asns.add(peerGeo.asNumber);
    if (s.devices.size < MAX_DEVICES_LISTED) s.devices.add(device);
    s.firstSec = Math.min(s.firstSec, flow.startSec);
    s.lastSec = Math.max(s.lastSec, flow.lastSec);
    if (s.entry.flows === undefined) s.entry.flows = 0;
    s.entry.flows++;
  }

  private group(name: string, role: string | undefined): GroupState {
    let g = this.groups.get(name);
    if (g === undefined) {
      g = {
        role,
        entries: new Map(),
        lookups: new Map(),
        bytesOut: new Map(),
        bytesIn: new Map(),
        devices: new Set(),
        flows: 0,
        dropped: 0,
      };
      this.groups.set(name, g);
    }
    return g;
  }

  /** Entries and lookups not kept because a group reached maxEntries. */
  dropped(): Record<string, number> {
    return Object.fromEntries([...this.groups].map(([n, g]) => [n, g.dropped]));
  }

  /** What was learned, groups and entries in a stable order (the file diffs well). */
  result(): Baseline {
    const iso = (sec: number) => formatTimestamp(sec, 0).replace(/\.0+Z$/, "Z");
    const groups: GroupBaseline[] = [...this.groups.keys()].sort().map((name) => {
      const g = this.groups.get(name)!;
      const destinations = [...g.entries.values()]
        .sort((a, b) => entryKey(a.entry).localeCompare(entryKey(b.entry)))
        .map((s) => {
          // Key order is the file's: what, which way, how, what was seen, when, who.
          const x = s.entry;
          const e = {} as BaselineEntry;
          if (x.group !== undefined) e.group = x.group;
          if (x.domain !== undefined) e.domain = x.domain;
          if (x.network !== undefined) e.network = x.network;
          if (x.direction !== undefined) e.direction = x.direction;
          if (x.name_source !== undefined) e.name_source = x.name_source;
          e.ports = [...s.ports].sort();
          if (s.protocols.size > 0) e.protocols = [...s.protocols].sort();
          if (s.countries.size > 0) e.countries = [...s.countries].sort();
          if (s.asns.size > 0) e.asns = [...s.asns].sort((a, b) => a - b);
          e.flows = x.flows ?? 0;
          e.first_seen = iso(s.firstSec);
          e.last_seen = iso(s.lastSec);
          e.devices = [...s.devices].sort();
          return e;
        });
      const lookups: LookupEntry[] = [...g.lookups]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([n, l]) => ({
          name: n,
          queries: l.queries,
          first_seen: iso(l.firstSec),
          last_seen: iso(l.lastSec),
          devices: [...l.devices].sort(),
        }));
      const out: GroupBaseline = {
        group: name,
        ...(g.role !== undefined ? { role: g.role } : {}),
        learned: {
          from: iso(this.firstSec),
          to: iso(this.lastSec),
          devices: g.devices.size,
          flows: g.flows,
        },
        destinations,
        lookups,
      };
      const range = (m: Map<string, number>) => {
        const v = [...m.values()];
        if (v.length === 0) return undefined;
        // A loop, not Math.min(...v): a big learn has more device-days than a call's arguments.
        let min = Number.POSITIVE_INFINITY;
        let max = 0;
        for (const x of v) {
          if (x < min) min = x;
          if (x > max) max = x;
        }
        return { min, max, days: v.length };
      };
      const bo = range(g.bytesOut);
      const bi = range(g.bytesIn);
      if (bo !== undefined || bi !== undefined) {
        out.volume = {};
        if (bo !== undefined) out.volume.bytes_out_per_day = bo;
        if (bi !== undefined) out.volume.bytes_in_per_day = bi;
      }
      return out;
    });
    return { version: 1, groups };
  }
}

/** The other end of a flow as a baseline target: its group, its name, or its address. */
export function targetOf(flow: Flow, direction: "out" | "in"): BaselineEntry {
  const peer = direction === "out" ? flow.dstDevice : flow.srcDevice;
  const base: BaselineEntry = direction === "in" ? { direction: "in", ports: [] } : { ports: [] };
  if (peer?.group !== undefined) return { ...base, group: peer.group };
  // Names are the destination's (flow.domain): only for what the device reached.
  if (direction === "out" && flow.domain !== "") {
    return { ...base, domain: flow.domain, name_source: flow.nameSource };
  }
  const side = direction === "out" ? "dst" : "src";
  const ip =
    side === "dst"
      ? formatIp(flow.ipVersion, flow.dst0, flow.dst1, flow.dst2, flow.dst3)
      : formatIp(flow.ipVersion, flow.src0, flow.src1, flow.src2, flow.src3);
  return { ...base, network: `${ip}/${flow.ipVersion === 4 ? 32 : 128}` };
}

/** Is the flow's other end outside the local networks? (for messages) */
export function peerIsInternet(flow: Flow, direction: "out" | "in"): boolean {
  return (direction === "out" ? dstScope(flow) : srcScope(flow)) === "internet";
}
