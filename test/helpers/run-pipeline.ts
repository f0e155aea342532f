import type { RawPacket } from "../../src/capture/source.js";
import type { FlowEnricher } from "../../src/enrich/flow-enricher.js";
import type { Flow } from "../../src/flow/flow.js";
import { DEFAULT_FLOW_OPTIONS, type FlowOptions } from "../../src/flow/options.js";
import type { FlowEndReason } from "../../src/flow/table.js";
import { flowRecord } from "../../src/output/flow-record.js";
import { addProtocolFields, protocolEventRecord } from "../../src/output/protocol-fields.js";
import { Pipeline } from "../../src/pipeline.js";
import type { FlowApp } from "../../src/protocols/flow-app.js";
import {
  DEFAULT_INSPECTOR_OPTIONS,
  type ProtocolEventKind,
} from "../../src/protocols/inspector.js";
import type { RuleTriggers } from "../../src/rules/triggers.js";

export interface TimedFrame {
  /** Packet time in seconds (fractional, microsecond resolution). */
  t: number;
  frame: Buffer;
  linkType?: number;
  origLen?: number;
}

/** Runs frames through the real pipeline in-process and returns the flow records written. */
export function runFrames(
  frames: TimedFrame[],
  options: Partial<FlowOptions> = {},
  protocols: { events: ProtocolEventKind[] } | null = null,
  extras: { enricher?: FlowEnricher; triggers?: RuleTriggers } = {},
): { records: Record<string, any>[]; events: Record<string, any>[]; pipeline: Pipeline } {
  const records: Record<string, any>[] = [];
  const events: Record<string, any>[] = [];
  const flowOptions: FlowOptions = {
    ...DEFAULT_FLOW_OPTIONS,
    ...options,
    timeouts: { ...DEFAULT_FLOW_OPTIONS.timeouts, ...options.timeouts },
  };
  const pipeline = new Pipeline(
    flowOptions,
    {
      flowEnded(flow: Flow, reason: FlowEndReason) {
        const record = flowRecord(flow, reason);
        if (protocols !== null) {
          addProtocolFields(record, flow.app as FlowApp | null, flow.domain, flow.nameSource);
        }
        // Round-trip through JSON exactly as the CLI does.
        records.push(JSON.parse(JSON.stringify(record)));
      },
    },
    protocols === null
      ? null
      : {
          options: { ...DEFAULT_INSPECTOR_OPTIONS, events: new Set(protocols.events) },
          sink: { event: (e) => events.push(JSON.parse(JSON.stringify(protocolEventRecord(e)))) },
        },
    extras.enricher ?? null,
    extras.triggers ?? null,
  );
  feedFrames(pipeline, frames);
  pipeline.finish();
  return { records, events, pipeline };
}

/** Hands each frame to the pipeline as one reused RawPacket, as a capture reader does. */
export function feedFrames(pipeline: Pipeline, frames: readonly TimedFrame[]): void {
  const raw: RawPacket = {
    buf: Buffer.alloc(0),
    offset: 0,
    capLen: 0,
    origLen: 0,
    tsSec: 0,
    tsNsec: 0,
    linkType: 1,
    interfaceId: 0,
    recordOffset: 0,
  };
  for (const f of frames) {
    raw.buf = f.frame;
    raw.offset = 0;
    raw.capLen = f.frame.length;
    raw.origLen = f.origLen ?? f.frame.length;
    raw.tsSec = Math.floor(f.t);
    // Doubles near 1.7e9 s carry ~0.2 µs of error: round to whole microseconds.
    raw.tsNsec = Math.round((f.t - Math.floor(f.t)) * 1e6) * 1000;
    raw.linkType = f.linkType ?? 1;
    pipeline.packet(raw);
  }
}
