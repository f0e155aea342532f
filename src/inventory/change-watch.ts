/**
 * The firmware-change heuristic (device_changed_after_update): a device that received an
 * update (a large transfer in, or a firmware image in an HTTP body), went quiet (a
 * reboot), and came back with a TLS ClientHello (JA4), User-Agent, DHCP vendor class or
 * HTTP Server banner it never showed before.
 *
 * Per device it keeps a few strings and times: the fingerprints seen (up to
 * MAX_VALUES per kind, so a device with two TLS clients does not "change" when the other
 * speaks first), the last update-like event, its last activity, the flows it has open
 * (up to MAX_OPEN) and at most one armed watch. Devices are bounded by maxDevices, the
 * least recently active forgotten first. Time is packet time only: a replay finds the
 * same changes.
 *
 * The flow table shows a device's activity when a flow starts (the initiator's first
 * packet) and in flow records (the last packet, either way). A silence is counted from
 * those, and open flows the device sent in are checked when it returns, so a long video
 * stream keeps its camera from looking quiet. A peer that keeps retransmitting into a
 * dead connection can hide a silence: that misses a change, it never invents one.
 *
 * A watch arms when the device comes back after >= quietSeconds of silence and an update
 * was seen at most lookbackSeconds before the silence began; the update is then used up.
 * Fingerprints seen in the windowSeconds after the return are compared with the ones
 * remembered from before. The first flow record that shows a value never seen before (of
 * a kind the device had shown) raises one change naming every such difference in that
 * record; the watch ends there, so an update raises at most one change.
 */

import type { Flow } from "../flow/flow.js";
import type { FlowApp } from "../protocols/flow-app.js";
import type { ChangeFacts } from "../rules/context.js";
import { formatIp } from "../util/ip-text.js";
import type { DeviceSummary } from "./device.js";
import { parseMac } from "./mac.js";

export interface ChangeWatchOptions {
  /** Silence that counts as the device going away (a reboot after an update). */
  quietSeconds: number;
  /** Bytes in to the device in one flow that count as an update. */
  updateBytes: number;
  /** The update must have been seen at most this long before the silence began. */
  lookbackSeconds: number;
  /** After the return, how long fingerprints are compared with the old ones. */
  windowSeconds: number;
  /** Devices remembered; the least recently active is forgotten first. */
  maxDevices: number;
}

export const DEFAULT_CHANGE_WATCH: ChangeWatchOptions = {
  quietSeconds: 300,
  updateBytes: 1_000_000,
  lookbackSeconds: 3600,
  windowSeconds: 600,
  maxDevices: 100_000,
};

/** A change found: the device, the facts, and the packet time of the evidence. */
export interface ChangeFound {
  device: DeviceSummary;
  change: ChangeFacts;
  tsSec: number;
  tsNsec: number;
}

type Kind = "ja4" | "user_agent" | "dhcp_vendor_class" | "http_server";

/** Values remembered per fingerprint kind, the most recent last. */
const MAX_VALUES = 16;
/** An update flow brings in at least this many times what the device sent in it. */
const UPDATE_ASYMMETRY = 4;
/** Open flows remembered per device; more than that and it does not count as quiet. */
const MAX_OPEN = 8;
/** Values are quoted from the wire: kept short. */
const MAX_VALUE_LENGTH = 200;

interface Watch {
  /** The last activity before the silence; the end of the window (packet-time seconds). */
  since: number;
  until: number;
  quietSeconds: number;
  update: string;
}

interface DeviceState {
  /** Last activity, -1 when none yet. */
  last: number;
  /** Last update-like event and what it was, -1 when none pending. */
  updateAt: number;
  update: string;
  watch: Watch | null;
  known: Partial<Record<Kind, string[]>>;
  /** Flows open with this device as an endpoint, with the flow id (flows are pooled). */
  open: Flow[];
  openIds: number[];
  /** Open flows beyond MAX_OPEN. */
  untracked: number;
}

/** One fingerprint seen in a flow record, with when it was shown. */
interface Seen {
  kind: Kind;
  value: string;
  sec: number;
  nsec: number;
}

const at = (sec: number, nsec: number) => sec + nsec / 1e9;

export class ChangeWatch {
  private readonly options: ChangeWatchOptions;
  /** By device id, least recently active first (Map keeps insertion order). */
  private readonly states = new Map<string, DeviceState>();

  constructor(
    options: Partial<ChangeWatchOptions>,
    /** The inventory's device for a MAC (a DHCP client named by its chaddr). */
    private readonly deviceByMac: (mac: number) => DeviceSummary | null,
  ) {
    this.options = { ...DEFAULT_CHANGE_WATCH, ...options };
  }

  /** Devices remembered now. */
  get size(): number {
    return this.states.size;
  }

  /** A new flow, its devices known: the initiator is active (and may be back from silence). */
  flowStarted(flow: Flow): void {
    const src = flow.srcDevice;
    const dst = flow.dstDevice;
    if (src !== null) {
      const s = this.state(src.id);
      this.active(s, src.id, at(flow.startSec, flow.startNsec), flow);
      this.addOpen(s, flow);
    }
    if (dst !== null && dst.id !== src?.id) this.addOpen(this.state(dst.id), flow);
  }

  /** A flow record (ending, or an active-timeout report): activity, updates, fingerprints. */
  flowRecord(flow: Flow, ending: boolean): ChangeFound[] {
    const src = flow.srcDevice;
    const dst = flow.dstDevice;
    const app = flow.app as FlowApp | null;
    const lastAt = at(flow.lastSec, flow.lastNsec);
    const seen = new Map<string, { device: DeviceSummary; list: Seen[] }>();
    const add = (device: DeviceSummary, kind: Kind, value: string, sec: number, nsec: number) => {
      let e = seen.get(device.id);
      if (e === undefined) {
        e = { device, list: [] };
        seen.set(device.id, e);
      }
      e.list.push({ kind, value: value.slice(0, MAX_VALUE_LENGTH), sec, nsec });
    };
    if (src !== null) {
      const s = this.state(src.id);
      if (ending) this.removeOpen(s, flow);
      if (flow.srcPackets > 0) s.last = Math.max(s.last, lastAt);
      this.updateEvidence(s, flow, app, "src");
    }
    if (dst !== null && dst.id !== src?.id) {
      const s = this.state(dst.id);
      if (ending) this.removeOpen(s, flow);
      // A responder back from silence shows up here first (a camera that only answers).
      if (!flow.continued && flow.dstPackets > 0) {
        this.active(s, dst.id, at(flow.startSec, flow.startNsec), flow);
      }
      if (flow.dstPackets > 0) s.last = Math.max(s.last, lastAt);
      this.updateEvidence(s, flow, app, "dst");
    }
    if (app !== null) {
      // The ClientHello and the first transaction are in the flow's first record.
      if (!flow.continued) {
        const hello = app.tls?.client.decoder.clientHello ?? null;
        const ja4 = hello?.ja4 ?? app.tlsInfo?.client_hello?.ja4;
        if (src !== null && ja4 !== undefined) add(src, "ja4", ja4, flow.startSec, flow.startNsec);
        const t = app.httpFirst;
        const ua = t?.request?.user_agent;
        if (t !== null && src !== null && ua) add(src, "user_agent", ua, t.ts_sec, t.ts_nsec);
        const server = t?.response?.server;
        if (t !== null && dst !== null && server) {
          add(dst, "http_server", server, t.ts_sec, t.ts_nsec);
        }
      }
      // DHCP records carry no time of their own: the record's last packet stands for it.
      for (const r of app.dhcp ?? []) {
        if (r.op !== 1 || !r.vendor_class || r.mac === undefined) continue;
        const mac = parseMac(r.mac);
        const device = mac === null ? null : this.deviceByMac(mac);
        if (device !== null) {
          add(device, "dhcp_vendor_class", r.vendor_class, flow.lastSec, flow.lastNsec);
        }
      }
    }
    const found: ChangeFound[] = [];
    for (const { device, list } of seen.values()) {
      const change = this.compare(this.state(device.id), list);
      if (change !== null) found.push({ device, ...change });
    }
    return found;
  }

  // --- per device ------------------------------------------------------------

  private state(id: string): DeviceState {
    let s = this.states.get(id);
    if (s === undefined) {
      s = {
        last: -1,
        updateAt: -1,
        update: "",
        watch: null,
        known: {},
        open: [],
        openIds: [],
        untracked: 0,
      };
      while (this.states.size >= this.options.maxDevices) {
        this.states.delete(this.states.keys().next().value as string);
      }
    } else {
      this.states.delete(id);
    }
    this.states.set(id, s);
    return s;
  }

  /** The device did something at `t`: arms a watch when that ends a silence after an update. */
  private active(s: DeviceState, id: string, t: number, current: Flow): void {
    const quiet = this.options.quietSeconds;
    if (s.last >= 0 && t - s.last >= quiet && s.untracked === 0) {
      let last = s.last;
      let updateAt = s.updateAt;
      let update = s.update;
      // Open flows: one the device sent in since counts as activity (a video stream); one
      // still carrying an update in is the update (a push whose flow has not ended yet).
      for (let i = 0; i < s.open.length; i++) {
        const f = s.open[i]!;
        if (f === current || f.id !== s.openIds[i] || at(f.startSec, f.startNsec) >= t) continue;
        const fLast = Math.min(at(f.lastSec, f.lastNsec), t);
        const side = f.srcDevice?.id === id ? "src" : "dst";
        const sent = side === "src" ? f.srcPackets > 0 : f.dstPackets > 0;
        if (sent) last = Math.max(last, fLast);
        const u = this.updateIn(f, f.app as FlowApp | null, side);
        if (u !== null && fLast > updateAt) {
          updateAt = fLast;
          update = u;
        }
      }
      if (t - last >= quiet && updateAt >= 0 && last - updateAt <= this.options.lookbackSeconds) {
        s.watch = {
          since: last,
          until: t + this.options.windowSeconds,
          quietSeconds: Math.round((t - last) * 1000) / 1000,
          update,
        };
        s.updateAt = -1;
        s.update = "";
      }
    }
    s.last = Math.max(s.last, t);
  }

  /** A flow record that carried an update to this device: remembered as pending. */
  private updateEvidence(s: DeviceState, flow: Flow, app: FlowApp | null, side: "src" | "dst") {
    const u = this.updateIn(flow, app, side);
    if (u === null) return;
    const t = at(flow.lastSec, flow.lastNsec);
    if (t >= s.updateAt) {
      s.updateAt = t;
      s.update = u;
    }
  }

  /** What update the flow carried to its `side` device, or null. */
  private updateIn(flow: Flow, app: FlowApp | null, side: "src" | "dst"): string | null {
    const fromSrc = side === "dst";
    const peer = () =>
      fromSrc
        ? formatIp(flow.ipVersion, flow.src0, flow.src1, flow.src2, flow.src3)
        : formatIp(flow.ipVersion, flow.dst0, flow.dst1, flow.dst2, flow.dst3);
    if (app !== null && app.bodyMagics.length > 0) {
      // The first transaction says which way its body went (an upload reaches the
      // responder, a download the initiator); later ones count for both ends.
      const t = app.httpFirst;
      const toHere = fromSrc ? t?.request?.body_magic : t?.response?.body_magic;
      const toThere = fromSrc ? t?.response?.body_magic : t?.request?.body_magic;
      const magic =
        toHere !== undefined && FIRMWARE_MAGICS.has(toHere)
          ? toHere
          : app.bodyMagics.find((m) => m !== toThere && FIRMWARE_MAGICS.has(m));
      if (magic !== undefined) {
        return `${magic} image ${fromSrc ? "pushed by" : "downloaded from"} ${peer()}`;
      }
    }
    const bytes = fromSrc ? flow.totalBytesOut : flow.totalBytesIn;
    const sent = fromSrc ? flow.totalBytesIn : flow.totalBytesOut;
    if (bytes < this.options.updateBytes) return null;
    // A transfer in, not the ACKs of a stream out: a camera streaming 4 Mbit/s receives
    // a megabyte of ACKs in minutes, which is no update.
    if (bytes < UPDATE_ASYMMETRY * sent) return null;
    return `${(bytes / 1e6).toFixed(1)} MB in from ${peer()}`;
  }

  /**
   * Fingerprints from one record: each compared with what the device showed before when
   * its watch covers the time it was shown, then remembered.
   */
  private compare(
    s: DeviceState,
    list: Seen[],
  ): { change: ChangeFacts; tsSec: number; tsNsec: number } | null {
    const w = s.watch;
    const what: string[] = [];
    const before: Record<string, string> = {};
    const after: Record<string, string> = {};
    let tsSec = 0;
    let tsNsec = 0;
    for (const v of list) {
      const known = s.known[v.kind];
      const t = at(v.sec, v.nsec);
      const watched = w !== null && t > w.since && t <= w.until;
      if (watched && known !== undefined && !known.includes(v.value) && !what.includes(v.kind)) {
        what.push(v.kind);
        before[v.kind] = known.join(", ");
        after[v.kind] = v.value;
        if (what.length === 1 || at(tsSec, tsNsec) < t) {
          tsSec = v.sec;
          tsNsec = v.nsec;
        }
      }
      remember(s, v.kind, v.value);
    }
    if (w === null || what.length === 0) return null;
    s.watch = null;
    const change = { what, before, after, quietSeconds: w.quietSeconds, update: w.update };
    return { change, tsSec, tsNsec };
  }

  private addOpen(s: DeviceState, flow: Flow): void {
    if (s.open.length >= MAX_OPEN) {
      // Make room from flows that ended unseen (their object was recycled).
      for (let i = s.open.length - 1; i >= 0; i--) {
        if (s.open[i]!.id !== s.openIds[i]) {
          s.open.splice(i, 1);
          s.openIds.splice(i, 1);
        }
      }
    }
    if (s.open.length >= MAX_OPEN) {
      s.untracked++;
      return;
    }
    s.open.push(flow);
    s.openIds.push(flow.id);
  }

  private removeOpen(s: DeviceState, flow: Flow): void {
    const i = s.open.indexOf(flow);
    if (i >= 0 && s.openIds[i] === flow.id) {
      s.open.splice(i, 1);
      s.openIds.splice(i, 1);
    } else if (s.untracked > 0) {
      s.untracked--;
    }
  }
}

/** Body formats that are firmware images (zip, gzip and elf are too common to count). */
const FIRMWARE_MAGICS = new Set<string>([
  "hikvision-digicap",
  "dahua-firmware-zip",
  "uimage",
  "squashfs",
]);

function remember(s: DeviceState, kind: Kind, value: string): void {
  let known = s.known[kind];
  if (known === undefined) s.known[kind] = known = [];
  const i = known.indexOf(value);
  if (i === known.length - 1 && i >= 0) return;
  if (i >= 0) known.splice(i, 1);
  else if (known.length >= MAX_VALUES) known.shift();
  known.push(value);
}
