import type { DecodedPacket } from "../decode/packet.js";
import type { Flow } from "./flow.js";

interface FragmentEntry {
  flow: Flow;
  flowId: number;
  fromSource: boolean;
  expiresMs: number;
}

/**
 * Remembers which flow each fragmented datagram belongs to (by addresses, protocol and
 * IP id, from its first fragment) so later fragments, which carry no ports, are counted
 * on the right flow. Fragments are rare, so a string-keyed Map is fine here; it is
 * bounded and evicts oldest first.
 */
export class FragmentTable {
  private readonly entries = new Map<string, FragmentEntry>();
  evictions = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  remember(pkt: DecodedPacket, flow: Flow, fromSource: boolean, nowMs: number): void {
    const key = fragmentKey(pkt);
    if (!this.entries.has(key) && this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.evictions++;
    }
    this.entries.set(key, { flow, flowId: flow.id, fromSource, expiresMs: nowMs + this.ttlMs });
  }

  /** The flow a later fragment belongs to, or null when its first fragment was not seen. */
  lookup(pkt: DecodedPacket, nowMs: number): { flow: Flow; fromSource: boolean } | null {
    const key = fragmentKey(pkt);
    const entry = this.entries.get(key);
    if (entry === undefined) return null;
    // A pooled Flow object may have been reused for another flow since.
    if (entry.flow.id !== entry.flowId || entry.expiresMs < nowMs) {
      this.entries.delete(key);
      return null;
    }
    return entry;
  }
}

function fragmentKey(pkt: DecodedPacket): string {
  return `${pkt.ipVersion}|${pkt.proto}|${pkt.fragmentId}|${pkt.src0},${pkt.src1},${pkt.src2},${pkt.src3}|${pkt.dst0},${pkt.dst1},${pkt.dst2},${pkt.dst3}`;
}
