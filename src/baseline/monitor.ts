/**
 * Enforcing baselines: for a device in a group that has one, each DNS question, new flow
 * and finished flow is checked against the group's entries, and what falls outside is a
 * `baseline_drift` (src/rules/context.ts DriftFacts) with the nearest entry:
 *
 *   lookup       a name no entry or learned lookup has
 *   destination  a peer, name or address no entry targets
 *   port         a targeted destination on a port its entry does not list
 *   protocol     a protocol its entry never saw there (checked when the flow ends)
 *   volume       more bytes out in a day (packet time) than the learned maximum x factor
 *
 * Per new flow the cost is a scan of the group's entries (hundreds at most); nothing runs
 * per packet.
 */
import { IpProto } from "../decode/packet.js";
import { type Cidr, maskWord, parseCidr } from "../enrich/geoip/address.js";
import type { Flow } from "../flow/flow.js";
import { recordHasPorts, transportName } from "../output/flow-record.js";
import type { FlowApp } from "../protocols/flow-app.js";
import type { DriftFacts } from "../rules/context.js";
import { dstScope, srcScope } from "../rules/fields.js";
import type { FlowWatch } from "../rules/triggers.js";
import { formatIp } from "../util/ip-text.js";
import { describeEntry } from "./baseline-file.js";
import { type CompiledEntry, EntryIndex } from "./entry-index.js";
import type { GroupBaseline, PortSpec } from "./model.js";
import { parsePort, portMatches, portText } from "./model.js";

interface CompiledGroup {
  baseline: GroupBaseline;
  entries: EntryIndex;
  lookups: Set<string>;
  maxBytesOut: number;
}

export interface MonitorOptions {
  /** Volume drift above learned max x this. Default 2. */
  volumeFactor?: number;
}

/** Bound on TCP flows waiting for a name before their destination check. */
const MAX_DEFERRED = 100_000;

/** Bound on (device, day) byte counters kept for the volume check. */
const MAX_VOLUME_KEYS = 100_000;

export class BaselineMonitor implements FlowWatch {
  private readonly groups = new Map<string, CompiledGroup>();
  private volumeFactor: number;
  /** "device day" -> bytes out; fired: volume drift already raised for it. */
  private readonly volume = new Map<string, { bytes: number; fired: boolean }>();
  /** Flow ids whose destination check waits for a name. */
  private readonly deferred = new Map<number, true>();

  constructor(baselines: readonly GroupBaseline[], options: MonitorOptions = {}) {
    this.volumeFactor = options.volumeFactor ?? 2;
    this.replace(baselines);
  }

  /** New baselines (a reload): today's byte counts stay. */
  replace(baselines: readonly GroupBaseline[], volumeFactor = this.volumeFactor): void {
    this.volumeFactor = volumeFactor;
    this.groups.clear();
    for (const b of baselines) {
      const g = this.groups.get(b.group);
      const compiled = compileGroup(b);
      if (g === undefined) this.groups.set(b.group, compiled);
      else {
        // Several files for one group (learned + imported MUD): their union is allowed.
        for (const e of compiled.entries.all) g.entries.add(e);
        for (const l of compiled.lookups) g.lookups.add(l);
        g.maxBytesOut = Math.max(g.maxBytesOut, compiled.maxBytesOut);
      }
    }
  }

  /** Groups that have a baseline. */
  get groupNames(): string[] {
    return [...this.groups.keys()];
  }

  lookup(flow: Flow, name: string): DriftFacts | null {
    const group = flow.srcDevice?.group;
    const g = group === undefined ? undefined : this.groups.get(group);
    if (g === undefined || group === undefined) return null;
    if (g.lookups.has(name) || g.entries.hasDomain(name)) return null;
    const facts: DriftFacts = { kind: "lookup", group, what: name };
    const near = nearestName(g, name);
    if (near !== undefined) facts.nearest = near;
    return facts;
  }

  flowStarted(flow: Flow): DriftFacts | null {
    const out = this.check(flow, "out");
    // A TCP flow with no name yet may get one from its ClientHello or Host header: a
    // destination verdict waits for that (or the flow's end) when the group has names.
    if (out?.kind === "destination" && flow.proto === IpProto.TCP && flow.domain === "") {
      const g = this.groups.get(out.group);
      if (g !== undefined && g.entries.domains > 0) {
        if (this.deferred.size >= MAX_DEFERRED)
          this.deferred.delete(this.deferred.keys().next().value as number);
        this.deferred.set(flow.id, true);
        return this.check(flow, "in");
      }
    }
    return out ?? this.check(flow, "in");
  }

  /** The flow got its name (SNI, Host): a deferred destination check runs now. */
  flowNamed(flow: Flow): DriftFacts | null {
    if (!this.deferred.delete(flow.id)) return null;
    return this.check(flow, "out");
  }

  flowRecord(flow: Flow, ending: boolean): DriftFacts[] {
    const out: DriftFacts[] = [];
    if (ending && this.deferred.delete(flow.id)) {
      const d = this.check(flow, "out");
      if (d !== null) out.push(d);
    }
    out.push(...this.volumeDrifts(flow));
    if (ending) {
      for (const d of ["out", "in"] as const) {
        const p = this.protocolDrift(flow, d);
        if (p !== null) out.push(p);
      }
    }
    return out;
  }

  /** The flow against the baseline of the device at its `direction` end (out: the initiator). */
  /**
   * What a flow's end `direction` (out: the initiator) is checked against: its group's
   * baseline, the entries that target the other end, and the flow's transport and port.
   * Null when the device has no baseline, or for the responder of a flow within one group
   * (checked once, from the initiator).
   */
  private against(flow: Flow, direction: "out" | "in") {
    const device = direction === "out" ? flow.srcDevice : flow.dstDevice;
    const group = device?.group;
    const g = group === undefined ? undefined : this.groups.get(group);
    if (g === undefined || group === undefined) return null;
    if (direction === "in" && flow.srcDevice?.group === group) return null;
    const targeted = g.entries
      .candidates(flow, direction)
      .filter((e) => e.direction === direction && targets(e, flow, direction));
    const transport = transportName(flow.proto);
    const port = recordHasPorts(flow.proto) ? flow.dstPort : undefined;
    const onPort = targeted.filter((e) => e.ports.some((p) => portMatches(p, transport, port)));
    const where = `${portText(transport, port)} ${direction === "out" ? "to" : "from"} ${peerText(flow, direction)}`;
    return { group, g, targeted, onPort, transport, port, where };
  }

  private check(flow: Flow, direction: "out" | "in"): DriftFacts | null {
    const a = this.against(flow, direction);
    if (a === null || a.onPort.length > 0) return null;
    if (a.targeted.length > 0) {
      return { kind: "port", group: a.group, what: a.where, nearest: a.targeted[0]!.text };
    }
    const facts: DriftFacts = { kind: "destination", group: a.group, what: a.where };
    const near = nearestEntry(a.g, flow, direction, a.transport, a.port);
    if (near !== undefined) facts.nearest = near;
    return facts;
  }

  private protocolDrift(flow: Flow, direction: "out" | "in"): DriftFacts | null {
    const protocol = (flow.app as FlowApp | null)?.protocol;
    if (!protocol) return null;
    const a = this.against(flow, direction);
    // No entry: already a destination or port drift. An entry without protocols: anything.
    if (a === null || a.onPort.length === 0) return null;
    const allows = (e: CompiledEntry) =>
      (e.entry.protocols?.length ?? 0) === 0 || e.entry.protocols!.includes(protocol);
    if (a.onPort.some(allows)) return null;
    return {
      kind: "protocol",
      group: a.group,
      what: `${protocol} on ${a.where}`,
      nearest: a.onPort[0]!.text,
    };
  }

  /**
   * Bytes a device sent today, as the learner counts them: as the initiator (srcBytes)
   * and as the responder (dstBytes: a camera whose stream the NVR pulls).
   */
  private volumeDrifts(flow: Flow): DriftFacts[] {
    const out: DriftFacts[] = [];
    const a = this.volumeDrift(flow, flow.srcDevice, flow.srcBytes);
    if (a !== null) out.push(a);
    if (flow.dstDevice !== null && flow.dstDevice.id !== flow.srcDevice?.id) {
      const b = this.volumeDrift(flow, flow.dstDevice, flow.dstBytes);
      if (b !== null) out.push(b);
    }
    return out;
  }

  private volumeDrift(flow: Flow, device: Flow["srcDevice"], sent: number): DriftFacts | null {
    const group = device?.group;
    const g = group === undefined ? undefined : this.groups.get(group);
    if (g === undefined || group === undefined || device === null || g.maxBytesOut <= 0)
      return null;
    const day = new Date(flow.startSec * 1000).toISOString().slice(0, 10);
    const key = `${device.id} ${day}`;
    let v = this.volume.get(key);
    if (v === undefined) {
      if (this.volume.size >= MAX_VOLUME_KEYS) {
        // Oldest first (Map order): yesterday's counters go before today's.
        const first = this.volume.keys().next().value as string;
        this.volume.delete(first);
      }
      v = { bytes: 0, fired: false };
      this.volume.set(key, v);
    }
    v.bytes += sent;
    const limit = g.maxBytesOut * this.volumeFactor;
    if (v.fired || v.bytes <= limit) return null;
    v.fired = true;
    return {
      kind: "volume",
      group,
      what: `${v.bytes} bytes out on ${day}`,
      nearest: `bytes_out_per_day max ${g.maxBytesOut} (x${this.volumeFactor} allowed)`,
      value: v.bytes,
      limit,
    };
  }
}

function compileGroup(b: GroupBaseline): CompiledGroup {
  const entries = new EntryIndex();
  for (const entry of b.destinations) {
    entries.add({
      entry,
      direction: entry.direction ?? "out",
      network: entry.network !== undefined ? parseCidr(entry.network) : null,
      ports: entry.ports.map(parsePort).filter((p): p is PortSpec => p !== null),
      text: describeEntry(entry),
    });
  }
  return {
    baseline: b,
    entries,
    lookups: new Set(b.lookups.map((l) => l.name.toLowerCase())),
    maxBytesOut: b.volume?.bytes_out_per_day?.max ?? 0,
  };
}

/** "*.example.org" matches names below example.org; anything else matches exactly. */
function domainMatches(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  if (p.startsWith("*.")) return name.endsWith(p.slice(1));
  return p === name;
}

function targets(e: CompiledEntry, flow: Flow, direction: "out" | "in"): boolean {
  const own = direction === "out" ? flow.srcDevice : flow.dstDevice;
  const peer = direction === "out" ? flow.dstDevice : flow.srcDevice;
  const x = e.entry;
  if (x.group !== undefined) return peer?.group === x.group;
  if (x.domain !== undefined)
    return direction === "out" && flow.domain !== "" && domainMatches(x.domain, flow.domain);
  if (x.scope === "local")
    return (direction === "out" ? dstScope(flow) : srcScope(flow)) !== "internet";
  if (x.same_maker === true) return own?.maker !== undefined && peer?.maker === own.maker;
  if (e.network !== null) return inCidr(e.network, flow, direction === "out" ? "dst" : "src");
  return false;
}

function inCidr(c: Cidr, f: Flow, side: "src" | "dst"): boolean {
  if (c.version !== f.ipVersion) return false;
  const w = side === "src" ? [f.src0, f.src1, f.src2, f.src3] : [f.dst0, f.dst1, f.dst2, f.dst3];
  const cw = [c.w0, c.w1, c.w2, c.w3];
  if (c.version === 4) return ((w[3]! ^ cw[3]!) & maskWord(c.prefix, 0)) === 0;
  for (let i = 0; i < 4; i++)
    if (((w[i]! ^ cw[i]!) & maskWord(c.prefix, i)) >>> 0 !== 0) return false;
  return true;
}

function peerText(flow: Flow, direction: "out" | "in"): string {
  const peer = direction === "out" ? flow.dstDevice : flow.srcDevice;
  const ip =
    direction === "out"
      ? formatIp(flow.ipVersion, flow.dst0, flow.dst1, flow.dst2, flow.dst3)
      : formatIp(flow.ipVersion, flow.src0, flow.src1, flow.src2, flow.src3);
  if (direction === "out" && flow.domain !== "") return `${flow.domain} (${ip})`;
  if (peer?.group !== undefined) return `${peer.group} ${ip}`;
  return ip;
}

/** Labels shared at the end of two names ("a.ys7.com", "b.ys7.com" -> 2). */
function sharedLabels(a: string, b: string): number {
  const x = a.split(".").reverse();
  const y = b.split(".").reverse();
  let n = 0;
  while (n < x.length && n < y.length && x[n] === y[n]) n++;
  return n;
}

/** The entry or lookup whose name shares the most labels (at least two: same site). */
function nearestName(g: CompiledGroup, name: string): string | undefined {
  let best: string | undefined;
  let bestN = 1;
  for (const e of g.entries.all) {
    if (e.entry.domain === undefined) continue;
    const n = sharedLabels(e.entry.domain.replace(/^\*\./, ""), name);
    if (n > bestN) {
      bestN = n;
      best = e.text;
    }
  }
  for (const l of g.lookups) {
    const n = sharedLabels(l, name);
    if (n > bestN) {
      bestN = n;
      best = `lookup ${l}`;
    }
  }
  return best;
}

/** Nearest for a destination: a name at the same site, else the same port, else the same country. */
function nearestEntry(
  g: CompiledGroup,
  flow: Flow,
  direction: "out" | "in",
  transport: string,
  port: number | undefined,
): string | undefined {
  if (direction === "out" && flow.domain !== "") {
    const byName = nearestName(g, flow.domain);
    if (byName !== undefined) return byName;
  }
  const candidates = g.entries.all.filter((e) => e.direction === direction);
  const samePort = candidates.find((e) =>
    e.ports.some((p) => p.lo === p.hi && portMatches(p, transport, port)),
  );
  if (samePort !== undefined) return samePort.text;
  const country = (direction === "out" ? flow.dstGeo : flow.srcGeo)?.countryIso;
  if (country !== undefined) {
    const sameCountry = candidates.find((e) => e.entry.countries?.includes(country));
    if (sameCountry !== undefined) return sameCountry.text;
  }
  return undefined;
}
