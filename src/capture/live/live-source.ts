/**
 * Live capture from network interfaces through the pcap_live addon.
 *
 * LiveSource captures one interface and keeps capturing: an interface that is missing,
 * down or removed mid-capture is reopened with exponential backoff, reported through
 * onState. Only problems no retry can fix (permission, libpcap, a bad filter) end run().
 * MultiSource runs several LiveSources into one sink. defaultRouteInterface() names the
 * interface `egressd run` captures when none is given.
 */

import { readFileSync } from "node:fs";
import { endianness } from "node:os";
import type { PacketSink, PacketSource, RawPacket, SourceResult } from "../source.js";
import { openError } from "./errors.js";
import { loadPcapAddon, type PcapHandle, RECORD_HEADER_LEN } from "./pcap-binding.js";

export type LiveState = "capturing" | "down" | "stopped";

export interface LiveSourceOptions {
  /** Interface name, as `ip link` shows it. */
  interface: string;
  /** Interface index within the capture, for the sink (default 0). */
  interfaceId?: number;
  /** BPF filter (tcpdump syntax). */
  filter?: string;
  /** Bytes kept of each frame (default 262144, libpcap's). */
  snaplen?: number;
  /** Default true. */
  promiscuous?: boolean;
  /** Kernel ring size in bytes (default 32 MiB: a 100 ms stall at 300k small packets/s). */
  bufferBytes?: number;
  /** Hand over each packet at once instead of in kernel blocks (default false). */
  immediate?: boolean;
  /** With immediate off, the longest a packet waits in a part-filled kernel block (default 100). */
  timeoutMs?: number;
  /** Size of the batch buffer one wakeup fills (default 4 MiB). */
  batchBytes?: number;
  /** Reopen backoff: initialMs doubling up to maxMs, with jitter (default 500 .. 30000). */
  retry?: { initialMs: number; maxMs: number };
  onState?: (state: LiveState, detail?: string) => void;
}

export interface LiveStats {
  /** Packets the kernel saw for this capture (pcap ps_recv, summed over every open). */
  received: number;
  /** Dropped because the capture buffer was full (ps_drop). */
  droppedKernel: number;
  /** Dropped by the interface or its driver (ps_ifdrop). */
  droppedInterface: number;
  /** Packets handed to the sink. */
  packets: number;
  /** Wire bytes of those packets. */
  bytes: number;
  /** Successful opens after the first. */
  reopens: number;
}

const DEFAULTS = {
  interfaceId: 0,
  snaplen: 262_144,
  promiscuous: true,
  bufferBytes: 32 << 20,
  immediate: false,
  timeoutMs: 100,
  batchBytes: 4 << 20,
  retry: { initialMs: 500, maxMs: 30_000 },
};

export class LiveSource implements PacketSource {
  readonly name: string;
  readonly totalBytes = undefined;
  bytesRead = 0;
  private readonly opts: Required<Omit<LiveSourceOptions, "filter" | "onState">> &
    Pick<LiveSourceOptions, "filter" | "onState">;
  private handle: PcapHandle | null = null;
  private batch: ArrayBuffer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private opened = 0;
  private attempt = 0;
  /** Counters of handles already closed: pcap_stats start again at 0 on each open. */
  /**
   * libpcap's counters summed over every open of the interface. They are 32-bit per
   * handle and wrap (after 2^32 packets: hours at a few hundred thousand packets/s), so
   * each poll adds the difference since the last one, modulo 2^32, never the raw value.
   */
  private totals = { received: 0, dropped: 0, ifdropped: 0 };
  private lastRaw = { received: 0, dropped: 0, ifdropped: 0 };

  private addRaw(s: { received: number; dropped: number; ifdropped: number }): void {
    for (const k of ["received", "dropped", "ifdropped"] as const) {
      this.totals[k] += (s[k] - this.lastRaw[k]) >>> 0;
      this.lastRaw[k] = s[k];
    }
  }
  private packets = 0;
  private bytes = 0;
  private finish: ((r: SourceResult) => void) | null = null;
  private fail: ((e: Error) => void) | null = null;

  constructor(options: LiveSourceOptions) {
    this.opts = { ...DEFAULTS, ...options };
    this.name = options.interface;
  }

  get interfaceId(): number {
    return this.opts.interfaceId;
  }

  /** Captures until stop(); rejects only with a fatal LiveCaptureError (or a sink error). */
  run(sink: PacketSink): Promise<SourceResult> {
    if (this.finish !== null) return Promise.reject(new Error(`${this.name}: already running`));
    const addon = loadPcapAddon();
    // Headroom for two full records, so a large snaplen still batches several packets.
    const size = Math.max(this.opts.batchBytes, 2 * (RECORD_HEADER_LEN + this.opts.snaplen));
    this.batch = new ArrayBuffer(size);
    this.stopped = false;
    return new Promise<SourceResult>((resolve, reject) => {
      this.finish = resolve;
      this.fail = reject;
      const open = () => {
        this.timer = null;
        if (this.stopped) return;
        let handle: PcapHandle;
        try {
          handle = addon.open(
            {
              device: this.opts.interface,
              snaplen: this.opts.snaplen,
              promiscuous: this.opts.promiscuous,
              bufferBytes: this.opts.bufferBytes,
              immediate: this.opts.immediate,
              timeoutMs: this.opts.timeoutMs,
              filter: this.opts.filter,
            },
            this.batch as ArrayBuffer,
          );
        } catch (e) {
          const err = openError(e, this.opts.interface, this.opts.filter);
          // A generic failure while the interface comes and goes (it vanished between
          // libpcap's steps) is still "down"; on the first open it is a real problem.
          const transient =
            err.kind === "no-device" ||
            err.kind === "down" ||
            (err.kind === "libpcap" && this.attempt > 0);
          if (transient) this.down(err.message, open);
          else this.abort(err);
          return;
        }
        this.handle = handle;
        this.opened++;
        this.attempt = 0;
        sink.interface?.(this.opts.interfaceId, handle.linkType, handle.snaplen);
        handle.start(this.batchHandler(sink), (message) => {
          this.closeHandle();
          this.down(`${this.opts.interface}: ${message}`, open);
        });
        this.opts.onState?.("capturing", handle.warning ?? undefined);
      };
      open();
    });
  }

  /** Cumulative over every open of the interface. */
  stats(): LiveStats {
    if (this.handle !== null) {
      try {
        this.addRaw(this.handle.stats());
      } catch {
        // The socket is going away (interface removed): the next reopen starts afresh.
      }
    }
    const t = this.totals;
    return {
      received: t.received,
      droppedKernel: t.dropped,
      droppedInterface: t.ifdropped,
      packets: this.packets,
      bytes: this.bytes,
      reopens: Math.max(0, this.opened - 1),
    };
  }

  /** Ends the capture; run() then resolves. Safe to call twice. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.closeHandle();
    this.opts.onState?.("stopped");
    const finish = this.finish;
    this.finish = this.fail = null;
    finish?.({ packets: this.packets, bytesRead: this.bytesRead });
  }

  /**
   * The per-batch loop. Zero-copy: the RawPacket points into the batch buffer itself,
   * which the addon overwrites only on its next wakeup, after this returns; that is
   * exactly the RawPacket contract (valid until sink.packet() returns).
   */
  private batchHandler(sink: PacketSink): (bytes: number, count: number) => void {
    const ab = this.batch as ArrayBuffer;
    const buf = Buffer.from(ab);
    const dv = new DataView(ab);
    // The addon writes the record headers in host byte order.
    const le = endianness() === "LE";
    const pkt: RawPacket = {
      buf,
      offset: 0,
      capLen: 0,
      origLen: 0,
      tsSec: 0,
      tsNsec: 0,
      linkType: (this.handle as PcapHandle).linkType,
      interfaceId: this.opts.interfaceId,
      recordOffset: 0,
    };
    return (used, count) => {
      let p = 0;
      let bytes = 0;
      try {
        for (let i = 0; i < count; i++) {
          const capLen = dv.getUint32(p + 8, le);
          pkt.tsSec = dv.getUint32(p, le);
          pkt.tsNsec = dv.getUint32(p + 4, le);
          pkt.capLen = capLen;
          pkt.origLen = dv.getUint32(p + 12, le);
          pkt.offset = p + RECORD_HEADER_LEN;
          // No stream to point into: the running packet count says which packet it was.
          pkt.recordOffset = this.packets + i;
          bytes += pkt.origLen;
          sink.packet(pkt);
          p += RECORD_HEADER_LEN + capLen;
        }
      } catch (e) {
        this.abort(e as Error);
        return;
      }
      if (p !== used) {
        this.abort(new Error(`${this.name}: batch of ${count} records is ${p} bytes, not ${used}`));
        return;
      }
      this.packets += count;
      this.bytes += bytes;
      this.bytesRead += used - count * RECORD_HEADER_LEN;
    };
  }

  /** Interface missing, down or gone: tell, and try again after a backoff with jitter. */
  private down(reason: string, reopen: () => void): void {
    if (this.stopped) return;
    this.opts.onState?.("down", reason);
    const { initialMs, maxMs } = this.opts.retry;
    const backoff = Math.min(maxMs, initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    // Half to full backoff, so several egressd instances do not retry in lockstep.
    const delay = backoff * (0.5 + Math.random() * 0.5);
    this.timer = setTimeout(reopen, delay);
  }

  private closeHandle(): void {
    const h = this.handle;
    if (h === null) return;
    this.handle = null;
    try {
      this.addRaw(h.stats());
    } catch {
      // The socket is already dead (interface removed): its last counts are lost.
    }
    // A new handle counts from zero.
    this.lastRaw = { received: 0, dropped: 0, ifdropped: 0 };
    h.close();
  }

  private abort(error: Error): void {
    const fail = this.fail;
    this.finish = this.fail = null;
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.closeHandle();
    this.opts.onState?.("stopped", error.message);
    fail?.(error);
  }
}

/** Several interfaces into one sink; source i is interface id i. */
export class MultiSource implements PacketSource {
  readonly name: string;
  readonly totalBytes = undefined;
  readonly sources: LiveSource[];

  constructor(options: Omit<LiveSourceOptions, "interfaceId">[]) {
    this.sources = options.map((o, i) => new LiveSource({ ...o, interfaceId: i }));
    this.name = this.sources.map((s) => s.name).join(",");
  }

  get bytesRead(): number {
    return this.sources.reduce((n, s) => n + s.bytesRead, 0);
  }

  /** Resolves after stop(); the first fatal error stops every interface and rejects. */
  async run(sink: PacketSink): Promise<SourceResult> {
    try {
      const results = await Promise.all(
        this.sources.map((s) =>
          s.run(sink).catch((e: unknown) => {
            this.stop();
            throw e;
          }),
        ),
      );
      return {
        packets: results.reduce((n, r) => n + r.packets, 0),
        bytesRead: results.reduce((n, r) => n + r.bytesRead, 0),
      };
    } catch (e) {
      this.stop();
      throw e;
    }
  }

  /** One entry per interface, in interface id order. */
  stats(): LiveStats[] {
    return this.sources.map((s) => s.stats());
  }

  stop(): void {
    for (const s of this.sources) s.stop();
  }
}

/**
 * The interface of the default IPv4 route (destination and mask 00000000 in
 * /proc/net/route, lowest metric first), or null when there is none.
 */
export function defaultRouteInterface(routeFile = "/proc/net/route"): string | null {
  let text: string;
  try {
    text = readFileSync(routeFile, "utf8");
  } catch {
    return null;
  }
  let best: { iface: string; metric: number } | null = null;
  for (const line of text.split("\n").slice(1)) {
    // Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, dest, , flags, , , metric, mask] = f as [string, ...string[]];
    const up = (Number.parseInt(flags ?? "0", 16) & 0x1) !== 0;
    if (dest !== "00000000" || mask !== "00000000" || !up) continue;
    const m = Number(metric);
    if (best === null || m < best.metric) best = { iface, metric: m };
  }
  return best?.iface ?? null;
}
