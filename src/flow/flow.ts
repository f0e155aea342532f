import type { GeoAnswer } from "../enrich/geoip/index.js";
import type { DeviceSummary } from "../inventory/index.js";

/**
 * One bidirectional flow. "Source" is the initiator (the SYN sender, or the first
 * packet's sender for UDP/ICMP), "destination" the responder. Objects are pooled by the
 * table, so every field is a primitive initialised in the constructor (one hidden class,
 * no per-flow allocations beyond the object itself).
 */
export class Flow {
  /** Unique per flow in this process; lets side tables detect a recycled object. */
  id = 0;
  hash = 0;
  ipVersion = 0;
  proto = 0;
  vlanOuter = -1;
  vlanInner = -1;
  interfaceId = 0;

  // Initiator ("source") and responder ("destination") endpoints.
  src0 = 0;
  src1 = 0;
  src2 = 0;
  src3 = 0;
  srcPort = 0;
  dst0 = 0;
  dst1 = 0;
  dst2 = 0;
  dst3 = 0;
  dstPort = 0;
  /** 48-bit MACs as numbers (exact in a double), -1 when unknown. */
  srcMac = -1;
  dstMac = -1;

  /** ICMP type/code of the initiator's first message; -1 for other protocols. */
  icmpType = -1;
  icmpCode = -1;

  // Time of this record's first and last packet, and the table clock when last touched.
  startSec = 0;
  startNsec = 0;
  lastSec = 0;
  lastNsec = 0;
  /** Table clock (ms, monotonic) at the last packet: orders the idle lists. */
  touchedMs = 0;
  /** Table clock (ms) when this record began, for the active timeout. */
  recordStartMs = 0;

  // Counters per direction (0 = from source, 1 = from destination).
  srcPackets = 0;
  srcBytes = 0;
  srcPayloadBytes = 0;
  dstPackets = 0;
  dstBytes = 0;
  dstPayloadBytes = 0;
  fragments = 0;
  icmpErrors = 0;
  /** Last ICMP error about this flow as (type << 8) | code, -1 if none. */
  lastIcmpError = -1;

  // TCP
  srcTcpFlags = 0;
  dstTcpFlags = 0;
  tcpState = 0;
  midstream = false;
  /** The record continues a flow already reported by an active timeout. */
  continued = false;

  /** Cached Community ID: computed once, on first report. */
  communityId = "";

  /** Protocol inspection still wants this flow's packets; cleared once it knows enough. */
  inspect = true;
  /** Protocol state and parsed metadata (src/protocols), created on the first payload. */
  app: object | null = null;
  /** The destination's name and how it was learned (src/enrich/names.ts). */
  domain = "";
  nameSource = "none";
  /**
   * Rule watches (src/rules/triggers.ts). The table compares these on every packet, so
   * they are plain numbers: the next byte count each way and the packet time at which
   * the observer's threshold() is called (Infinity = not watched), counted over the
   * whole flow (an active timeout's report lowers them by what it reported), and
   * whether the responder's first packet should call outcome().
   */
  watchBytesOut = Number.POSITIVE_INFINITY;
  watchBytesIn = Number.POSITIVE_INFINITY;
  watchAtMs = Number.POSITIVE_INFINITY;
  watchOutcome = false;
  /** Bytes each way in records already reported by active timeouts (flow totals = these + counters). */
  reportedBytesOut = 0;
  reportedBytesIn = 0;
  /** Table clock when the flow was created (records restart at active timeouts; this does not). */
  openedMs = 0;

  /** Where each endpoint is (scope, country, AS), set when the flow starts (src/enrich). */
  srcGeo: GeoAnswer | null = null;
  dstGeo: GeoAnswer | null = null;
  /** The inventory's device for each endpoint, when it is one on the monitored network. */
  srcDevice: DeviceSummary | null = null;
  dstDevice: DeviceSummary | null = null;

  // Intrusive links: hash bucket chain and the idle list the flow sits in.
  nextInBucket: Flow | null = null;
  idlePrev: Flow | null = null;
  idleNext: Flow | null = null;
  idleList = -1;

  /** IP bytes the initiator sent over the whole flow (earlier records included). */
  get totalBytesOut(): number {
    return this.reportedBytesOut + this.srcBytes;
  }

  /** IP bytes the responder sent over the whole flow (earlier records included). */
  get totalBytesIn(): number {
    return this.reportedBytesIn + this.dstBytes;
  }
}
