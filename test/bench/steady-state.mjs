#!/usr/bin/env node
/**
 * Replays one capture several times inside one process, alternating decode + flows
 * alone ("off") and the full pipeline with protocol parsing and naming ("on"), and prints
 * each pass's in-process rate as JSON. A daemon runs for months, so what parsing costs it
 * is the cost once V8 has compiled the parsers (a one-shot replay of a short capture
 * mostly measures that compilation). Alternating the two in one process makes them share
 * the same compiled code and the same moment's machine noise, which on a shared VM
 * swings single runs by 20-30%; run.mjs compares each "on" pass with the "off" pass
 * next to it and reports the median ratio after the warm-up passes.
 *
 *   node test/bench/steady-state.mjs FILE [PAIRS]
 *   node test/bench/steady-state.mjs FILE PASSES off|on|full|rules   # one mode only (instructions.mjs)
 *
 * Modes: off = decode + flows; on = + protocol parsing and naming; full = + GeoIP
 * enrichment (bundled databases, opened once outside the timed passes) and the device
 * inventory (in memory, a fresh one per pass); rules = full + the shipped rule packs and
 * a 100,000-name blocklist and 50,000-network list (big-lists.mjs), evaluated at every
 * trigger (loaded once, outside the passes).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openCapture } from "../../dist/capture/open.js";
import { formatRuleProblem, loadRuleFiles } from "../../dist/rules/index.js";
import { RuleTriggers } from "../../dist/rules/triggers.js";
import { writeBigLists } from "./big-lists.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");

import { FlowEnricher } from "../../dist/enrich/flow-enricher.js";
import { GeoIp } from "../../dist/enrich/geoip/index.js";
import { DEFAULT_FLOW_OPTIONS } from "../../dist/flow/options.js";
import { DeviceGroups, Inventory } from "../../dist/inventory/index.js";
import { addEnrichmentFields } from "../../dist/output/enrichment-fields.js";
import { flowRecord } from "../../dist/output/flow-record.js";
import { addProtocolFields } from "../../dist/output/protocol-fields.js";
import { Pipeline } from "../../dist/pipeline.js";
import { DEFAULT_INSPECTOR_OPTIONS } from "../../dist/protocols/inspector.js";

const [file, pairArg, onlyMode] = process.argv.slice(2);
const pairs = Number(pairArg ?? 10);
let sink = 0; // keeps the JSON work from being optimised away
const geoip = onlyMode === "full" || onlyMode === "rules" ? GeoIp.open({}) : null;
const ruleSet = onlyMode === "rules" ? loadBenchRules() : null;
let alerts = 0;

/** The shipped packs plus a pack using the big lists, as the rules issue measures. */
function loadBenchRules() {
  const dir = join(mkdtempSync(join(tmpdir(), "egressd-steady-")), "rules");
  writeBigLists(dir);
  writeFileSync(
    join(dir, "big-lists.yaml"),
    `rules:
  - { id: BIG-1, name: Blocklisted lookup, severity: high, trigger: dns_query, when: { destination.domain: { in: big_blocklist } } }
  - { id: BIG-2, name: Listed network, severity: high, trigger: flow_attempt, when: { destination.ip: { in: big_networks } } }
`,
  );
  const { ruleSet, problems } = loadRuleFiles([dir, join(ROOT, "rules")], { testFiles: false });
  if (ruleSet === null) throw new Error(problems.map(formatRuleProblem).join("\n"));
  return ruleSet;
}

async function pass(mode) {
  const protocols = mode !== "off";
  const enricher =
    mode === "full" || mode === "rules"
      ? new FlowEnricher(
          geoip,
          new Inventory({
            maxDevices: 100_000,
            groups: new DeviceGroups([]),
            isLocal: (v, w0, w1, w2, w3) => geoip.lookup(v, w0, w1, w2, w3).scope !== "internet",
          }),
        )
      : null;
  const pipeline = new Pipeline(
    DEFAULT_FLOW_OPTIONS,
    {
      flowEnded(flow, reason) {
        const record = flowRecord(flow, reason);
        if (protocols) addProtocolFields(record, flow.app, flow.domain, flow.nameSource);
        if (enricher) addEnrichmentFields(record, flow);
        sink += JSON.stringify(record).length;
      },
    },
    protocols ? { options: DEFAULT_INSPECTOR_OPTIONS, sink: { event() {} } } : null,
    enricher,
    ruleSet !== null
      ? new RuleTriggers(ruleSet, (ctx) => {
          alerts += ruleSet.evaluate(ctx).length;
        })
      : null,
  );
  const source = await openCapture(file);
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  const result = await source.run(pipeline);
  pipeline.finish();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    rate: result.packets / seconds,
    cpuRate: result.packets / ((cpu.user + cpu.system) / 1e6),
  };
}

if (onlyMode === "on" || onlyMode === "off" || onlyMode === "full" || onlyMode === "rules") {
  const passes = [];
  for (let i = 0; i < pairs; i++) passes.push(await pass(onlyMode));
  console.log(JSON.stringify({ [onlyMode]: passes, outputBytes: sink, ruleMatches: alerts }));
  process.exit(0);
}

const off = [];
const on = [];
for (let i = 0; i < pairs; i++) {
  // Alternate which goes first so neither always follows a garbage-heavy pass.
  if (i % 2 === 0) {
    off.push(await pass("off"));
    on.push(await pass("on"));
  } else {
    on.push(await pass("on"));
    off.push(await pass("off"));
  }
}
console.log(JSON.stringify({ off, on, outputBytes: sink }));
