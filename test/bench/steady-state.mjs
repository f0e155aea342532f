#!/usr/bin/env node
/**
 * Replays one capture several times inside one process and prints each pass's in-process
 * rate as JSON. A daemon runs for months, so what protocol parsing costs it is the cost
 * once V8 has compiled the parsers (a one-shot replay of a short capture mostly measures
 * that compilation). The first passes are warm-up; run.mjs reports the median of the rest.
 *
 *   node test/bench/steady-state.mjs FILE on|off [PASSES]
 */
import { openCapture } from "../../dist/capture/open.js";
import { DEFAULT_FLOW_OPTIONS } from "../../dist/flow/options.js";
import { flowRecord } from "../../dist/output/flow-record.js";
import { addProtocolFields } from "../../dist/output/protocol-fields.js";
import { Pipeline } from "../../dist/pipeline.js";
import { DEFAULT_INSPECTOR_OPTIONS } from "../../dist/protocols/inspector.js";

const [file, mode, passArg] = process.argv.slice(2);
const protocols = mode === "on";
const passes = Number(passArg ?? 5);
const rates = [];
const cpuRates = [];
let sink = 0; // keeps the JSON work from being optimised away
for (let pass = 0; pass < passes; pass++) {
  const pipeline = new Pipeline(
    DEFAULT_FLOW_OPTIONS,
    {
      flowEnded(flow, reason) {
        const record = flowRecord(flow, reason);
        if (protocols) addProtocolFields(record, flow.app, flow.domain, flow.nameSource);
        sink += JSON.stringify(record).length;
      },
    },
    protocols ? { options: DEFAULT_INSPECTOR_OPTIONS, sink: { event() {} } } : null,
  );
  const source = await openCapture(file);
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  const result = await source.run(pipeline);
  pipeline.finish();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  rates.push(result.packets / seconds);
  const cpu = process.cpuUsage(cpuBefore);
  cpuRates.push(result.packets / ((cpu.user + cpu.system) / 1e6));
}
console.log(JSON.stringify({ mode, rates, cpuRates, outputBytes: sink }));
