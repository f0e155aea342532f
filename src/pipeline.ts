import type { PacketSink, RawPacket } from "./capture/source.js";
import { A, AnomalyCounters } from "./decode/anomalies.js";
import { type DecodedPacket, IpProto } from "./decode/packet.js";
import {
  DECODE_NOT_IP,
  DECODE_OK,
  isSupportedLinkType,
  linkTypeName,
  PacketParser,
  supportedLinkTypeNames,
} from "./decode/parser.js";
import type { FlowEnricher } from "./enrich/flow-enricher.js";
import type { Flow } from "./flow/flow.js";
import type { FlowOptions } from "./flow/options.js";
import { type FlowObserver, type FlowSink, FlowTable } from "./flow/table.js";
import {
  type InspectorOptions,
  type InspectorSink,
  ProtocolInspector,
} from "./protocols/inspector.js";
import type { RuleTriggers } from "./rules/triggers.js";

/** A capture interface whose link type egressd cannot decode. */
export class UnsupportedLinkTypeError extends Error {
  constructor(
    readonly interfaceId: number,
    readonly linkType: number,
  ) {
    super(
      `interface ${interfaceId} has link type ${linkType} (${linkTypeName(linkType)}), which egressd does not decode; supported: ${supportedLinkTypeNames()}`,
    );
    this.name = "UnsupportedLinkTypeError";
  }
}

export interface PipelineCounters {
  /** Every record the source delivered. */
  packets: number;
  /** Wire bytes of those records (original length). */
  bytes: number;
  /** IP packets decoded and accounted to a flow (or fragment table). */
  ipPackets: number;
  /** Valid frames without IP (ARP, LLDP, ...). */
  nonIpPackets: number;
  /** Packets skipped for an anomaly: packets = ipPackets + nonIpPackets + skippedPackets. */
  skippedPackets: number;
}

/**
 * Packet times past 9999-12-31 or before 1970 come only from damaged or hostile
 * captures; they would break every date formatter downstream.
 */
const MAX_TIMESTAMP_SEC = 253_402_300_799;

/**
 * The per-packet path: capture -> decode -> flow table. One synchronous call per packet,
 * no promises, no allocation; everything after the flow table happens per flow.
 */
export class Pipeline implements PacketSink {
  readonly anomalies = new AnomalyCounters();
  readonly parser = new PacketParser(this.anomalies);
  readonly flows: FlowTable;
  readonly counters: PipelineCounters = {
    packets: 0,
    bytes: 0,
    ipPackets: 0,
    nonIpPackets: 0,
    skippedPackets: 0,
  };
  /** Interfaces declared with a link type egressd cannot decode, and whether any can. */
  private readonly unsupported = new Map<number, number>();
  private anySupportedInterface = false;
  /** Told once per unsupported interface, so the operator knows packets are being skipped. */
  onUnsupportedInterface: (error: UnsupportedLinkTypeError) => void = () => {};

  /** Protocol parsing and naming; null when turned off (decode + flows only). */
  readonly inspector: ProtocolInspector | null;

  constructor(
    flowOptions: FlowOptions,
    flowSink: FlowSink,
    protocols: { options: InspectorOptions; sink: InspectorSink } | null = null,
    readonly enricher: FlowEnricher | null = null,
    readonly triggers: RuleTriggers | null = null,
  ) {
    this.flows = new FlowTable(flowOptions, {
      flowEnded: (flow, reason) => {
        // An active timeout reports a flow that goes on: its parsers keep running.
        const ending = reason !== "active_timeout";
        if (ending) this.inspector?.flowEnding(flow);
        enricher?.flowEnded(flow, reason);
        if (ending) triggers?.flowEnded(flow);
        else triggers?.flowRecord(flow, false);
        flowSink.flowEnded(flow, reason);
      },
    });
    this.inspector =
      protocols === null
        ? null
        : new ProtocolInspector(protocols.options, protocols.sink, this.anomalies);
    if (this.inspector !== null) this.inspector.triggers = triggers;
    if (enricher !== null && triggers !== null) {
      enricher.deviceLearned = (device, flow) =>
        triggers.deviceFirstSeen(device, flow.lastSec, flow.lastNsec);
      enricher.deviceChanged = (device, change, tsSec, tsNsec) =>
        triggers.deviceChanged(device, change, tsSec, tsNsec);
    }
    if (enricher !== null || triggers !== null) {
      this.flows.setObserver(new FlowObservers(enricher, this.inspector, triggers));
    } else if (this.inspector !== null) {
      this.flows.setObserver(this.inspector);
    }
  }

  interface(interfaceId: number, linkType: number): void {
    if (isSupportedLinkType(linkType)) {
      this.anySupportedInterface = true;
      this.unsupported.delete(interfaceId);
    } else {
      this.unsupported.set(interfaceId, linkType);
    }
  }

  packet(raw: RawPacket): void {
    const c = this.counters;
    c.packets++;
    c.bytes += raw.origLen;
    if (raw.tsSec < 0 || raw.tsSec > MAX_TIMESTAMP_SEC) {
      this.skip(A.bad_timestamp);
      return;
    }
    const status = this.parser.decode(raw);
    if (status === DECODE_OK) {
      c.ipPackets++;
      this.flows.process(this.parser.pkt, raw);
    } else if (status === DECODE_NOT_IP) {
      c.nonIpPackets++;
    } else {
      if (status === A.unsupported_link_type) this.unsupportedPacket(raw);
      this.skip(status);
    }
  }

  private skip(anomaly: number): void {
    this.counters.skippedPackets++;
    this.anomalies.add(anomaly);
  }

  /**
   * A capture with nothing egressd can decode is an error (exit 2, naming the link
   * type); one unsupported interface among supported ones is skipped with a warning.
   */
  private unsupportedPacket(raw: RawPacket): void {
    const linkType = this.unsupported.get(raw.interfaceId);
    if (linkType === undefined) return;
    const error = new UnsupportedLinkTypeError(raw.interfaceId, linkType);
    if (!this.anySupportedInterface) throw error;
    this.unsupported.delete(raw.interfaceId);
    this.onUnsupportedInterface(error);
  }

  /** End of input: report every open flow, then what protocol state is still pending. */
  finish(): void {
    this.flows.flush("end_of_capture");
    this.inspector?.finish();
  }
}

/**
 * When a flow starts: enrichment (GeoIP, devices), then protocol inspection (which names
 * the destination), then the rules' flow_attempt, so rules see all of it. Without an
 * inspector the flow leaves inspection at once, so the table calls nothing per packet.
 */
class FlowObservers implements FlowObserver {
  /** A datagram flow whose flow_attempt waits for its first packet to be inspected. */
  private attemptPending: Flow | null = null;

  constructor(
    private readonly enricher: FlowEnricher | null,
    private readonly inspector: ProtocolInspector | null,
    private readonly triggers: RuleTriggers | null,
  ) {}

  flowStarted(flow: Flow, pkt: DecodedPacket, raw: RawPacket, fromSource: boolean): void {
    this.enricher?.flowStarted(flow);
    if (this.inspector !== null) this.inspector.flowStarted(flow, pkt, raw, fromSource);
    else flow.inspect = false;
    if (this.triggers === null) return;
    // A datagram flow's first packet carries its payload: inspecting it first lets rules
    // at flow_attempt know the protocol (Dahua P2P, DHIP...). A TCP flow starts with a
    // SYN, so there is nothing to wait for. packet() follows at once in the flow table.
    if (flow.inspect && pkt.proto !== IpProto.TCP) this.attemptPending = flow;
    else this.triggers.flowStarted(flow);
  }

  outcome(flow: Flow): void {
    this.triggers?.outcome(flow);
  }

  threshold(flow: Flow, nowMs: number): void {
    this.triggers?.threshold(flow, nowMs);
  }

  packet(flow: Flow, pkt: DecodedPacket, raw: RawPacket, fromSource: boolean): void {
    this.inspector?.packet(flow, pkt, raw, fromSource);
    if (this.attemptPending === flow) {
      this.attemptPending = null;
      this.triggers!.flowStarted(flow);
    }
  }

  tick(nowMs: number): void {
    this.inspector?.tick(nowMs);
  }
}
