import type { PacketSink, RawPacket } from "./capture/source.js";
import { AnomalyCounters } from "./decode/anomalies.js";
import {
  DECODE_NOT_IP,
  DECODE_OK,
  isSupportedLinkType,
  linkTypeName,
  PacketParser,
  supportedLinkTypeNames,
} from "./decode/parser.js";
import type { FlowOptions } from "./flow/options.js";
import { type FlowSink, FlowTable } from "./flow/table.js";

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
}

/**
 * The per-packet path: capture -> decode -> flow table. One synchronous call per packet,
 * no promises, no allocation; everything after the flow table happens per flow.
 */
export class Pipeline implements PacketSink {
  readonly anomalies = new AnomalyCounters();
  readonly parser = new PacketParser(this.anomalies);
  readonly flows: FlowTable;
  readonly counters: PipelineCounters = { packets: 0, bytes: 0, ipPackets: 0, nonIpPackets: 0 };

  constructor(flowOptions: FlowOptions, flowSink: FlowSink) {
    this.flows = new FlowTable(flowOptions, flowSink);
  }

  interface(interfaceId: number, linkType: number): void {
    if (!isSupportedLinkType(linkType)) throw new UnsupportedLinkTypeError(interfaceId, linkType);
  }

  packet(raw: RawPacket): void {
    const c = this.counters;
    c.packets++;
    c.bytes += raw.origLen;
    const status = this.parser.decode(raw);
    if (status === DECODE_OK) {
      c.ipPackets++;
      this.flows.process(this.parser.pkt, raw);
    } else if (status === DECODE_NOT_IP) {
      c.nonIpPackets++;
    } else {
      this.anomalies.add(status);
    }
  }

  /** End of input: report every open flow. */
  finish(): void {
    this.flows.flush("end_of_capture");
  }
}
