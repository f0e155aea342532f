import type { RawPacket } from "../capture/source.js";
import { type DecodedPacket, IpProto, TcpFlag } from "../decode/packet.js";
import { u32be } from "../util/bytes.js";
import { Flow } from "./flow.js";
import { FragmentTable } from "./fragments.js";
import { flowHash, icmpPortEquivalent } from "./key.js";
import type { FlowOptions } from "./options.js";
import {
  initialTcpState,
  isSyn,
  isTerminalTcpState,
  TcpState,
  tcpInitiatorIsReceiver,
  updateTcpState,
} from "./tcp-state.js";

export const FLOW_END_REASONS = [
  "idle_timeout",
  "active_timeout",
  "tcp_closed",
  "tcp_reset",
  "evicted",
  "end_of_capture",
] as const;
export type FlowEndReason = (typeof FLOW_END_REASONS)[number];

export interface FlowSink {
  /** Called synchronously; the Flow object is recycled as soon as this returns. */
  flowEnded(flow: Flow, reason: FlowEndReason): void;
}

/**
 * Sees flows as they start and, while `flow.inspect` is set, every packet of them:
 * protocol parsing and naming hook in here, so flows that need no inspection (the
 * video bulk) cost nothing beyond a flag test.
 */
export interface FlowObserver {
  flowStarted(flow: Flow, pkt: DecodedPacket, raw: RawPacket, fromSource: boolean): void;
  packet(flow: Flow, pkt: DecodedPacket, raw: RawPacket, fromSource: boolean): void;
  /** Packet time moved on (called once per sweep): expire pending protocol state. */
  tick(nowMs: number): void;
  /** The responder's first packet, while flow.watchOutcome is set (the observer clears it). */
  outcome?(flow: Flow, nowMs: number): void;
  /** A watched byte count or time was reached (the observer moves the watches on). */
  threshold?(flow: Flow, nowMs: number): void;
}

export interface FlowStats {
  created: number;
  active: number;
  ended: Record<FlowEndReason, number>;
  /** Flows pushed out because the table hit maxFlows (also in ended.evicted). */
  evicted: number;
  fragmentsAttributed: number;
  fragmentsUnattributed: number;
  fragmentEntriesEvicted: number;
  icmpErrorsAttributed: number;
}

/** Idle lists, one per timeout class. Each is ordered by last packet, oldest first. */
const LIST_TCP_NEW = 0;
const LIST_TCP = 1;
const LIST_TCP_CLOSED = 2;
const LIST_UDP = 3;
const LIST_ICMP = 4;
const LIST_OTHER = 5;
const LIST_COUNT = 6;

/** Expiry is checked each time packet time crosses a tick; a second is fine-grained enough. */
const SWEEP_INTERVAL_MS = 1000;

/** ICMP "destination unreachable": the quoted connection attempt was refused or blocked. */
function isUnreachable(ipVersion: number, type: number): boolean {
  return ipVersion === 4 ? type === 3 : type === 1;
}

/** Adds one packet to the flow's counters for its direction and extends the record's end. */
function countPacket(
  flow: Flow,
  fromSource: boolean,
  ipLength: number,
  payloadLength: number,
  raw: RawPacket,
): void {
  if (fromSource) {
    flow.srcPackets++;
    flow.srcBytes += ipLength;
    flow.srcPayloadBytes += payloadLength;
  } else {
    flow.dstPackets++;
    flow.dstBytes += ipLength;
    flow.dstPayloadBytes += payloadLength;
  }
  // Packet time can step back across pcapng interfaces; keep the record's end the latest.
  if (raw.tsSec > flow.lastSec || (raw.tsSec === flow.lastSec && raw.tsNsec > flow.lastNsec)) {
    flow.lastSec = raw.tsSec;
    flow.lastNsec = raw.tsNsec;
  }
}

function readMac(buf: Buffer, off: number): number {
  return ((buf[off]! << 8) | buf[off + 1]!) * 0x1_0000_0000 + u32be(buf, off + 2);
}

/**
 * The bidirectional flow table: a chained hash table over pooled Flow objects, with
 * intrusive idle lists for timeouts and eviction. One call per decoded packet, no
 * allocation on the per-packet path except when a brand-new flow needs an object the
 * pool does not have.
 */
export class FlowTable {
  private readonly buckets: (Flow | null)[];
  private readonly mask: number;
  private readonly listHead: (Flow | null)[] = new Array(LIST_COUNT).fill(null);
  private readonly listTail: (Flow | null)[] = new Array(LIST_COUNT).fill(null);
  private readonly listTimeoutMs: number[];
  private readonly activeTimeoutMs: number;
  private readonly pool: Flow[] = [];
  private readonly fragments: FragmentTable;
  private nextFlowId = 1;
  private count = 0;
  /** The table clock: the latest packet time seen, in ms. Never goes backwards. */
  private nowMs = Number.NEGATIVE_INFINITY;
  private nextSweepMs = Number.NEGATIVE_INFINITY;
  private observer: FlowObserver | null = null;

  readonly stats: FlowStats = {
    created: 0,
    active: 0,
    ended: {
      idle_timeout: 0,
      active_timeout: 0,
      tcp_closed: 0,
      tcp_reset: 0,
      evicted: 0,
      end_of_capture: 0,
    },
    evicted: 0,
    fragmentsAttributed: 0,
    fragmentsUnattributed: 0,
    fragmentEntriesEvicted: 0,
    icmpErrorsAttributed: 0,
  };

  constructor(
    private readonly options: FlowOptions,
    private readonly sink: FlowSink,
  ) {
    let size = 1024;
    while (size < options.maxFlows) size <<= 1;
    this.buckets = new Array<Flow | null>(size).fill(null);
    this.mask = size - 1;
    const t = options.timeouts;
    this.listTimeoutMs = [t.tcp_new, t.tcp, t.tcp_closed, t.udp, t.icmp, t.other].map(
      (s) => s * 1000,
    );
    this.activeTimeoutMs = t.active * 1000;
    this.fragments = new FragmentTable(options.maxFragments, t.udp * 1000);
  }

  get size(): number {
    return this.count;
  }

  /** Most flows the table holds (flows.max_flows): beyond it the longest-idle is evicted. */
  get capacity(): number {
    return this.options.maxFlows;
  }

  /** The table clock: the latest packet time seen, in ms. */
  get clockMs(): number {
    return this.nowMs;
  }

  setObserver(observer: FlowObserver): void {
    this.observer = observer;
  }

  /** Moves the table clock forward (live capture calls this on quiet links) and expires flows. */
  advanceTime(ms: number): void {
    if (ms > this.nowMs) {
      this.nowMs = ms;
      if (ms >= this.nextSweepMs) this.sweep();
    }
  }

  /** Accounts one decoded IP packet. Hot path. */
  process(pkt: DecodedPacket, raw: RawPacket): void {
    const ms = raw.tsSec * 1000 + raw.tsNsec / 1e6;
    if (ms > this.nowMs) {
      this.nowMs = ms;
      if (ms >= this.nextSweepMs) this.sweep();
    }

    if (pkt.isLaterFragment) {
      this.attributeFragment(pkt, raw);
      return;
    }

    const proto = pkt.proto;
    let sPort = 0;
    let dPort = 0;
    if (pkt.hasPorts) {
      sPort = pkt.srcPort;
      dPort = pkt.dstPort;
    } else if (pkt.icmpType >= 0) {
      if (pkt.hasQuote && this.attributeIcmpError(pkt)) return;
      sPort = pkt.icmpType;
      dPort = icmpPortEquivalent(proto === IpProto.ICMPV6, pkt.icmpType, pkt.icmpCode);
    }

    const hash = flowHash(
      proto,
      pkt.vlanOuter,
      pkt.vlanInner,
      pkt.src0,
      pkt.src1,
      pkt.src2,
      pkt.src3,
      sPort,
      pkt.dst0,
      pkt.dst1,
      pkt.dst2,
      pkt.dst3,
      dPort,
    );

    let fromSource = true;
    let flow: Flow | null = this.buckets[hash & this.mask]!;
    while (flow !== null) {
      if (
        flow.hash === hash &&
        flow.proto === proto &&
        flow.vlanOuter === pkt.vlanOuter &&
        flow.vlanInner === pkt.vlanInner &&
        flow.ipVersion === pkt.ipVersion
      ) {
        if (
          flow.src3 === pkt.src3 &&
          flow.dst3 === pkt.dst3 &&
          flow.srcPort === sPort &&
          flow.dstPort === dPort &&
          flow.src0 === pkt.src0 &&
          flow.src1 === pkt.src1 &&
          flow.src2 === pkt.src2 &&
          flow.dst0 === pkt.dst0 &&
          flow.dst1 === pkt.dst1 &&
          flow.dst2 === pkt.dst2
        ) {
          break;
        }
        if (
          flow.src3 === pkt.dst3 &&
          flow.dst3 === pkt.src3 &&
          flow.srcPort === dPort &&
          flow.dstPort === sPort &&
          flow.src0 === pkt.dst0 &&
          flow.src1 === pkt.dst1 &&
          flow.src2 === pkt.dst2 &&
          flow.dst0 === pkt.src0 &&
          flow.dst1 === pkt.src1 &&
          flow.dst2 === pkt.src2
        ) {
          fromSource = false;
          break;
        }
      }
      flow = flow.nextInBucket!;
    }

    const isTcp = proto === IpProto.TCP && pkt.hasPorts;
    if (flow !== null && isTcp && isTerminalTcpState(flow.tcpState) && isSyn(pkt.tcpFlags)) {
      // A new connection reusing the ports of one that just closed: report the old one.
      this.end(flow, flow.tcpState === TcpState.CLOSED ? "tcp_closed" : "tcp_reset");
      flow = null;
    }

    let created = false;
    if (flow === null) {
      const flip = isTcp && tcpInitiatorIsReceiver(pkt.tcpFlags, sPort, dPort);
      flow = this.create(pkt, raw, hash, sPort, dPort, flip);
      fromSource = !flip;
      if (isTcp) flow.tcpState = initialTcpState(pkt.tcpFlags);
      created = true;
    } else if (this.nowMs - flow.recordStartMs >= this.activeTimeoutMs) {
      this.reportActive(flow, raw);
    }

    countPacket(flow, fromSource, pkt.ipLength, pkt.payloadLength, raw);

    let list: number;
    if (isTcp) {
      updateTcpState(flow, fromSource, pkt.tcpFlags);
      const state = flow.tcpState;
      list =
        state === TcpState.SYN_SENT
          ? LIST_TCP_NEW
          : state >= TcpState.CLOSED
            ? LIST_TCP_CLOSED
            : LIST_TCP;
    } else if (proto === IpProto.UDP) list = LIST_UDP;
    else if (proto === IpProto.ICMP || proto === IpProto.ICMPV6) list = LIST_ICMP;
    else list = LIST_OTHER;
    this.touch(flow, list);

    const observer = this.observer;
    if (observer !== null) {
      if (created) observer.flowStarted(flow, pkt, raw, fromSource);
      if (flow.inspect) observer.packet(flow, pkt, raw, fromSource);
      if (flow.watchOutcome && !fromSource) observer.outcome?.(flow, this.nowMs);
      // Rule thresholds: three compares per packet against Infinity unless a rule wants them.
      if (
        flow.srcBytes >= flow.watchBytesOut ||
        flow.dstBytes >= flow.watchBytesIn ||
        this.nowMs >= flow.watchAtMs
      ) {
        observer.threshold?.(flow, this.nowMs);
      }
    }

    if (pkt.isFragment) {
      this.fragments.remember(pkt, flow, fromSource, this.nowMs);
      this.stats.fragmentEntriesEvicted = this.fragments.evictions;
    }
  }

  /** Calls `fn` for every active flow (not on the per-packet path: reloads, /api/flows). */
  forEachActive(fn: (flow: Flow) => void): void {
    for (let i = 0; i < LIST_COUNT; i++) {
      for (let f = this.listHead[i]!; f !== null; f = f.idleNext!) fn(f);
    }
  }

  /** Ends every flow (end of capture, shutdown), oldest first. */
  flush(reason: FlowEndReason = "end_of_capture"): void {
    const all: Flow[] = [];
    this.forEachActive((f) => all.push(f));
    all.sort((a, b) => a.id - b.id);
    for (const f of all) this.end(f, reason);
  }

  private create(
    pkt: DecodedPacket,
    raw: RawPacket,
    hash: number,
    sPort: number,
    dPort: number,
    flip: boolean,
  ): Flow {
    if (this.count >= this.options.maxFlows) this.evictOldest();
    const flow = this.pool.pop() ?? new Flow();
    flow.id = this.nextFlowId++;
    flow.hash = hash;
    flow.ipVersion = pkt.ipVersion;
    flow.proto = pkt.proto;
    flow.vlanOuter = pkt.vlanOuter;
    flow.vlanInner = pkt.vlanInner;
    flow.interfaceId = raw.interfaceId;
    const srcMac = pkt.srcMacOffset >= 0 ? readMac(raw.buf, pkt.srcMacOffset) : -1;
    const dstMac = pkt.dstMacOffset >= 0 ? readMac(raw.buf, pkt.dstMacOffset) : -1;
    if (!flip) {
      flow.src0 = pkt.src0;
      flow.src1 = pkt.src1;
      flow.src2 = pkt.src2;
      flow.src3 = pkt.src3;
      flow.srcPort = sPort;
      flow.dst0 = pkt.dst0;
      flow.dst1 = pkt.dst1;
      flow.dst2 = pkt.dst2;
      flow.dst3 = pkt.dst3;
      flow.dstPort = dPort;
      flow.srcMac = srcMac;
      flow.dstMac = dstMac;
    } else {
      flow.src0 = pkt.dst0;
      flow.src1 = pkt.dst1;
      flow.src2 = pkt.dst2;
      flow.src3 = pkt.dst3;
      flow.srcPort = dPort;
      flow.dst0 = pkt.src0;
      flow.dst1 = pkt.src1;
      flow.dst2 = pkt.src2;
      flow.dst3 = pkt.src3;
      flow.dstPort = sPort;
      flow.srcMac = dstMac;
      flow.dstMac = srcMac;
    }
    flow.icmpType = pkt.icmpType;
    flow.icmpCode = pkt.icmpCode;
    flow.startSec = flow.lastSec = raw.tsSec;
    flow.startNsec = flow.lastNsec = raw.tsNsec;
    flow.touchedMs = flow.recordStartMs = this.nowMs;
    this.resetCounters(flow);
    flow.tcpState = 0;
    flow.srcTcpFlags = 0;
    flow.dstTcpFlags = 0;
    flow.midstream = pkt.proto === IpProto.TCP && (pkt.tcpFlags & TcpFlag.SYN) === 0;
    flow.continued = false;
    flow.communityId = "";
    flow.inspect = true;
    flow.app = null;
    flow.domain = "";
    flow.nameSource = "none";
    flow.srcGeo = flow.dstGeo = null;
    flow.watchBytesOut = flow.watchBytesIn = flow.watchAtMs = Number.POSITIVE_INFINITY;
    flow.watchOutcome = false;
    flow.reportedBytesOut = flow.reportedBytesIn = 0;
    flow.openedMs = this.nowMs;
    flow.srcDevice = flow.dstDevice = null;
    flow.idleList = -1;
    flow.idlePrev = flow.idleNext = null;

    const bucket = hash & this.mask;
    flow.nextInBucket = this.buckets[bucket]!;
    this.buckets[bucket] = flow;
    this.count++;
    this.stats.created++;
    this.stats.active = this.count;
    return flow;
  }

  private resetCounters(flow: Flow): void {
    flow.srcPackets = flow.srcBytes = flow.srcPayloadBytes = 0;
    flow.dstPackets = flow.dstBytes = flow.dstPayloadBytes = 0;
    flow.fragments = 0;
    flow.icmpErrors = 0;
    flow.lastIcmpError = -1;
  }

  /** Active timeout: report what the flow did so far and start a new record for it. */
  private reportActive(flow: Flow, raw: RawPacket): void {
    this.sink.flowEnded(flow, "active_timeout");
    this.stats.ended.active_timeout++;
    // Byte watches count the whole flow, not the record the counters restart for.
    flow.watchBytesOut -= flow.srcBytes;
    flow.watchBytesIn -= flow.dstBytes;
    flow.reportedBytesOut += flow.srcBytes;
    flow.reportedBytesIn += flow.dstBytes;
    this.resetCounters(flow);
    flow.continued = true;
    flow.startSec = flow.lastSec = raw.tsSec;
    flow.startNsec = flow.lastNsec = raw.tsNsec;
    flow.recordStartMs = this.nowMs;
  }

  /** Moves the flow to the tail of `list` (most recently used). */
  private touch(flow: Flow, list: number): void {
    flow.touchedMs = this.nowMs;
    if (flow.idleList === list && flow.idleNext === null) return;
    if (flow.idleList >= 0) this.unlinkIdle(flow);
    const tail = this.listTail[list]!;
    flow.idleList = list;
    flow.idlePrev = tail;
    flow.idleNext = null;
    if (tail !== null) tail.idleNext = flow;
    else this.listHead[list] = flow;
    this.listTail[list] = flow;
  }

  private unlinkIdle(flow: Flow): void {
    const list = flow.idleList;
    const prev = flow.idlePrev;
    const next = flow.idleNext;
    if (prev !== null) prev.idleNext = next;
    else this.listHead[list] = next;
    if (next !== null) next.idlePrev = prev;
    else this.listTail[list] = prev;
    flow.idlePrev = flow.idleNext = null;
    flow.idleList = -1;
  }

  private sweep(): void {
    this.nextSweepMs = this.nowMs + SWEEP_INTERVAL_MS;
    this.observer?.tick(this.nowMs);
    for (let list = 0; list < LIST_COUNT; list++) {
      const deadline = this.nowMs - this.listTimeoutMs[list]!;
      let flow = this.listHead[list]!;
      while (flow !== null && flow.touchedMs <= deadline) {
        const next = flow.idleNext!;
        this.end(flow, this.timeoutReason(flow, list));
        flow = next;
      }
    }
  }

  private timeoutReason(flow: Flow, list: number): FlowEndReason {
    if (list !== LIST_TCP_CLOSED) return "idle_timeout";
    return flow.tcpState === TcpState.CLOSED ? "tcp_closed" : "tcp_reset";
  }

  /** Table full: the flow idle the longest, whichever list it is in, makes room. */
  private evictOldest(): void {
    let oldest: Flow | null = null;
    for (let list = 0; list < LIST_COUNT; list++) {
      const head = this.listHead[list]!;
      if (head !== null && (oldest === null || head.touchedMs < oldest.touchedMs)) oldest = head;
    }
    if (oldest === null) return;
    this.stats.evicted++;
    this.end(oldest, "evicted");
  }

  private end(flow: Flow, reason: FlowEndReason): void {
    this.sink.flowEnded(flow, reason);
    this.stats.ended[reason]++;
    if (flow.idleList >= 0) this.unlinkIdle(flow);
    const bucket = flow.hash & this.mask;
    let f = this.buckets[bucket]!;
    if (f === flow) {
      this.buckets[bucket] = flow.nextInBucket;
    } else {
      while (f !== null && f.nextInBucket !== flow) f = f.nextInBucket!;
      if (f !== null) f.nextInBucket = flow.nextInBucket;
    }
    flow.nextInBucket = null;
    flow.id = 0;
    // Pooled flows must not keep their parsers (buffers, transactions) alive.
    flow.app = null;
    this.count--;
    this.stats.active = this.count;
    this.pool.push(flow);
  }

  private attributeFragment(pkt: DecodedPacket, raw: RawPacket): void {
    const found = this.fragments.lookup(pkt, this.nowMs);
    if (found === null) {
      this.stats.fragmentsUnattributed++;
      return;
    }
    const flow = found.flow;
    flow.fragments++;
    // The fragment's bytes are all transport payload (its header was in the first fragment).
    countPacket(flow, found.fromSource, pkt.ipLength, pkt.l4End - pkt.l4Offset, raw);
    this.touch(flow, flow.idleList >= 0 ? flow.idleList : LIST_OTHER);
    this.stats.fragmentsAttributed++;
  }

  /**
   * An ICMP error quotes the packet it reports on; the quote's sender is the flow's
   * sender, so the flow is looked up with the quoted tuple as is. Returns false when no
   * flow matches (the ICMP packet then becomes a flow of its own).
   */
  private attributeIcmpError(pkt: DecodedPacket): boolean {
    const proto = pkt.quoteProto;
    let sPort = pkt.quoteSrcPort;
    let dPort = pkt.quoteDstPort;
    if (proto === IpProto.ICMP || proto === IpProto.ICMPV6) {
      dPort = icmpPortEquivalent(proto === IpProto.ICMPV6, sPort, dPort);
    } else if (proto !== IpProto.TCP && proto !== IpProto.UDP && proto !== IpProto.SCTP) {
      sPort = dPort = 0;
    }
    const hash = flowHash(
      proto,
      pkt.vlanOuter,
      pkt.vlanInner,
      pkt.quoteSrc0,
      pkt.quoteSrc1,
      pkt.quoteSrc2,
      pkt.quoteSrc3,
      sPort,
      pkt.quoteDst0,
      pkt.quoteDst1,
      pkt.quoteDst2,
      pkt.quoteDst3,
      dPort,
    );
    for (let flow = this.buckets[hash & this.mask]!; flow !== null; flow = flow.nextInBucket!) {
      if (
        flow.hash !== hash ||
        flow.proto !== proto ||
        flow.ipVersion !== pkt.quoteIpVersion ||
        flow.vlanOuter !== pkt.vlanOuter ||
        flow.vlanInner !== pkt.vlanInner
      ) {
        continue;
      }
      const forward =
        flow.src0 === pkt.quoteSrc0 &&
        flow.src1 === pkt.quoteSrc1 &&
        flow.src2 === pkt.quoteSrc2 &&
        flow.src3 === pkt.quoteSrc3 &&
        flow.dst0 === pkt.quoteDst0 &&
        flow.dst1 === pkt.quoteDst1 &&
        flow.dst2 === pkt.quoteDst2 &&
        flow.dst3 === pkt.quoteDst3 &&
        flow.srcPort === sPort &&
        flow.dstPort === dPort;
      const reverse =
        flow.src0 === pkt.quoteDst0 &&
        flow.src1 === pkt.quoteDst1 &&
        flow.src2 === pkt.quoteDst2 &&
        flow.src3 === pkt.quoteDst3 &&
        flow.dst0 === pkt.quoteSrc0 &&
        flow.dst1 === pkt.quoteSrc1 &&
        flow.dst2 === pkt.quoteSrc2 &&
        flow.dst3 === pkt.quoteSrc3 &&
        flow.srcPort === dPort &&
        flow.dstPort === sPort;
      if (!forward && !reverse) continue;
      flow.icmpErrors++;
      flow.lastIcmpError = (pkt.icmpType << 8) | pkt.icmpCode;
      this.stats.icmpErrorsAttributed++;
      if (
        forward &&
        flow.tcpState === TcpState.SYN_SENT &&
        isUnreachable(pkt.ipVersion, pkt.icmpType)
      ) {
        flow.tcpState = TcpState.REJECTED;
        this.touch(flow, LIST_TCP_CLOSED);
      }
      return true;
    }
    return false;
  }
}
