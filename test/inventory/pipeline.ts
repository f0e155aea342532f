/**
 * Runs a capture file (or in-memory frames) through egressd's real pipeline in-process,
 * with protocol inspection, the flow records and protocol events as the CLI writes them,
 * and an Inventory fed the way the daemon will feed it: flowStarted from the flow table's
 * observer, flowEnded for every flow record.
 */

import { openCapture } from "../../src/capture/open.js";
import type { RawPacket } from "../../src/capture/source.js";
import type { DecodedPacket } from "../../src/decode/packet.js";
import type { Flow } from "../../src/flow/flow.js";
import { DEFAULT_FLOW_OPTIONS } from "../../src/flow/options.js";
import type { FlowEndReason } from "../../src/flow/table.js";
import type { Inventory } from "../../src/inventory/inventory.js";
import { flowRecord } from "../../src/output/flow-record.js";
import { addProtocolFields, protocolEventRecord } from "../../src/output/protocol-fields.js";
import { Pipeline } from "../../src/pipeline.js";
import type { FlowApp } from "../../src/protocols/flow-app.js";
import {
  DEFAULT_INSPECTOR_OPTIONS,
  type ProtocolEventKind,
} from "../../src/protocols/inspector.js";
import { feedFrames, type TimedFrame } from "../helpers/run-pipeline.js";

type Rec = Record<string, any>;

export interface Replayed {
  records: Rec[];
  events: Rec[];
  pipeline: Pipeline;
}

function build(inventory: Inventory | null, events: ProtocolEventKind[]) {
  const records: Rec[] = [];
  const evs: Rec[] = [];
  const pipeline = new Pipeline(
    { ...DEFAULT_FLOW_OPTIONS, timeouts: { ...DEFAULT_FLOW_OPTIONS.timeouts } },
    {
      flowEnded(flow: Flow, reason: FlowEndReason) {
        inventory?.flowEnded(flow, reason);
        const record = flowRecord(flow, reason);
        addProtocolFields(record, flow.app as FlowApp | null, flow.domain, flow.nameSource);
        records.push(JSON.parse(JSON.stringify(record)));
      },
    },
    {
      options: { ...DEFAULT_INSPECTOR_OPTIONS, events: new Set(events) },
      sink: { event: (e) => evs.push(JSON.parse(JSON.stringify(protocolEventRecord(e)))) },
    },
  );
  const inspector = pipeline.inspector!;
  if (inventory !== null) {
    pipeline.flows.setObserver({
      flowStarted(flow: Flow, pkt: DecodedPacket, raw: RawPacket, fromSource: boolean) {
        inspector.flowStarted(flow, pkt, raw, fromSource);
        inventory.flowStarted(flow);
      },
      packet: (flow, pkt, raw, fromSource) => inspector.packet(flow, pkt, raw, fromSource),
      tick: (ms) => inspector.tick(ms),
    });
  }
  return { records, events: evs, pipeline };
}

export async function replayFile(
  path: string,
  options: { inventory?: Inventory; events?: ProtocolEventKind[] } = {},
): Promise<Replayed> {
  const r = build(options.inventory ?? null, options.events ?? []);
  const source = await openCapture(path);
  const result = await source.run(r.pipeline);
  if (result.error) throw new Error(`${path}: ${result.error.message}`);
  r.pipeline.finish();
  return r;
}

export function replayFrames(
  frames: TimedFrame[],
  options: { inventory?: Inventory; events?: ProtocolEventKind[] } = {},
): Replayed {
  const r = build(options.inventory ?? null, options.events ?? []);
  feedFrames(r.pipeline, frames);
  r.pipeline.finish();
  return r;
}
