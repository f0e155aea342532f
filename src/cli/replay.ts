import { parseArgs } from "node:util";
import { alertRecord } from "../alert/alert-record.js";
import { openCapture } from "../capture/open.js";
import type { SourceResult } from "../capture/source.js";
import type { DeviceGroupConfig, EgressdConfig } from "../config/config.js";
import { loadConfig, parseConfig } from "../config/load.js";
import { flowOptions as configFlowOptions } from "../config/sections/flows.js";
import { FlowEnricher } from "../enrich/flow-enricher.js";
import type { GeoIp } from "../enrich/geoip/index.js";
import type { Flow } from "../flow/flow.js";
import { DEFAULT_FLOW_OPTIONS, type FlowOptions, parseTimeouts } from "../flow/options.js";
import type { FlowEndReason } from "../flow/table.js";
import {
  type DeviceGroupSpec,
  DeviceGroups,
  GroupSpecError,
  Inventory,
  isPrivateAddress,
  openInventory,
} from "../inventory/index.js";
import { addEnrichmentFields } from "../output/enrichment-fields.js";
import { flowRecord } from "../output/flow-record.js";
import { LineWriter } from "../output/line-writer.js";
import { addProtocolFields, protocolEventRecord } from "../output/protocol-fields.js";
import { Pipeline } from "../pipeline.js";
import type { FlowApp } from "../protocols/flow-app.js";
import { DEFAULT_INSPECTOR_OPTIONS, type ProtocolEventKind } from "../protocols/inspector.js";
import { formatRuleProblem, loadRuleFiles, type RuleSet } from "../rules/index.js";
import { RuleTriggers } from "../rules/triggers.js";
import { StoreError } from "../store/sqlite.js";
import { ExitCode, InputError, UsageError } from "./errors.js";
import { openGeoIp } from "./geoip-setup.js";
import { ProgressBar } from "./progress.js";
import { printSummary, type ReplaySummary } from "./summary.js";

export const REPLAY_HELP = `Usage: egressd replay [options] FILE|-

Reads a pcap or pcapng capture (FILE, or - for standard input), decodes every packet,
tracks flows and writes one JSON record per finished flow to standard output (JSON
Lines, Elastic Common Schema field names; see docs/FLOW-RECORD.md). A summary goes
to standard error.

  tcpdump -i eth0 -w - | egressd replay -

Options:
  -c, --config FILE       config file (device groups, GeoIP databases, flow
                          bounds; see config/egressd.yaml); options below
                          override it
  -o, --output FILE       write flow records to FILE instead of standard output
      --summary FORMAT    summary on stderr: text (default), json, or none
      --progress          show a progress bar (default: when stderr is a terminal)
      --no-progress       never show a progress bar
      --max-flows N       concurrent flow bound; the longest-idle flow is evicted
                          beyond it (default ${DEFAULT_FLOW_OPTIONS.maxFlows})
      --max-fragments N   remembered fragmented datagrams (default ${DEFAULT_FLOW_OPTIONS.maxFragments})
      --events LIST       also write one record per protocol transaction, like
                          Zeek's dns.log/ssl.log/http.log: a comma list of
                          dns, tls, http, ntp, discovery, dhcp (or all)
      --no-protocols      decode and track flows only: no DNS/TLS/HTTP/NTP
                          parsing and no destination names (for benchmarks)
      --no-geoip          no scope, country or AS for the endpoints
      --alerts            write the alerts the rules raise (ECS, event.kind
                          "alert", one per line) instead of flow records
      --rules PATH        rule file or folder (repeatable; default: rules/)
      --var NAME=VALUE    set a rule variable (repeatable; a,b,c is a list)
      --inventory DB      keep the device inventory in this SQLite file (created
                          if missing, updated if not; see egressd devices);
                          without it the inventory lives for this run only
      --timeouts LIST     idle/active timeouts in seconds, packet time, e.g.
                          tcp=300,udp=60 (names: tcp_new, tcp, tcp_closed, udp,
                          icmp, other, active; defaults: ${Object.entries(
                            DEFAULT_FLOW_OPTIONS.timeouts,
                          )
                            .map(([k, v]) => `${k}=${v}`)
                            .join(",")})
  -h, --help              show this help

Exit status: 0 on success; 1 when the capture could not be read or is damaged
(everything before the damage is still written, and the error names the byte
offset); 2 on a usage error or a link type egressd does not decode.
`;

const EVENT_KINDS: ProtocolEventKind[] = ["dns", "tls", "http", "ntp", "discovery", "dhcp"];

interface ReplayOptions {
  config: EgressdConfig;
  events: Set<ProtocolEventKind>;
  protocols: boolean;
  geoip: boolean;
  inventory: string | undefined;
  /** --alerts: the rule files to load and the variables to give them; null = no rules. */
  rules: { paths: string[]; variables: Record<string, string | string[]> } | null;
  input: string;
  output: string | undefined;
  summary: "text" | "json" | "none";
  progress: boolean;
  flowOptions: FlowOptions;
}

function positiveInteger(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new UsageError(`--${name} needs a positive integer, got "${value}"`);
  return n;
}

export function parseReplayArgs(argv: string[]): ReplayOptions | "help" {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      "no-geoip": { type: "boolean" },
      inventory: { type: "string" },
      alerts: { type: "boolean" },
      rules: { type: "string", multiple: true },
      var: { type: "string", multiple: true },
      output: { type: "string", short: "o" },
      summary: { type: "string", default: "text" },
      progress: { type: "boolean" },
      "no-progress": { type: "boolean" },
      "max-flows": { type: "string" },
      "max-fragments": { type: "string" },
      timeouts: { type: "string" },
      events: { type: "string" },
      "no-protocols": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? "replay needs a capture file (or - for standard input)"
        : `replay takes one capture file, got ${positionals.length}`,
    );
  }
  const summary = values.summary;
  if (summary !== "text" && summary !== "json" && summary !== "none") {
    throw new UsageError(`--summary must be text, json or none, got "${summary}"`);
  }
  // Without --config: every default (what config/egressd.yaml documents).
  const config =
    values.config !== undefined ? loadConfig(values.config) : parseConfig("", "(defaults)");
  const flowOptions: FlowOptions = configFlowOptions(config.flows);
  if (values["max-flows"] !== undefined) {
    flowOptions.maxFlows = positiveInteger("max-flows", values["max-flows"]);
  }
  if (values["max-fragments"] !== undefined) {
    flowOptions.maxFragments = positiveInteger("max-fragments", values["max-fragments"]);
  }
  if (values.timeouts !== undefined) {
    try {
      flowOptions.timeouts = parseTimeouts(values.timeouts, flowOptions.timeouts);
    } catch (err) {
      throw new UsageError(`--timeouts: ${(err as Error).message}`);
    }
  }
  const events = new Set<ProtocolEventKind>();
  for (const name of (values.events ?? "").split(",").map((e) => e.trim())) {
    if (name === "") continue;
    if (name === "all") for (const k of EVENT_KINDS) events.add(k);
    else if ((EVENT_KINDS as string[]).includes(name)) events.add(name as ProtocolEventKind);
    else
      throw new UsageError(
        `--events: unknown kind "${name}"; known: ${EVENT_KINDS.join(", ")}, all`,
      );
  }
  if (events.size > 0 && values["no-protocols"]) {
    throw new UsageError("--events needs protocol parsing; drop --no-protocols");
  }
  const progress = values["no-progress"]
    ? false
    : (values.progress ?? Boolean(process.stderr.isTTY));
  return {
    config,
    events,
    protocols: !values["no-protocols"],
    geoip: !values["no-geoip"],
    inventory: values.inventory,
    rules: values.alerts
      ? { paths: values.rules ?? ["rules"], variables: parseVariables(values.var ?? []) }
      : null,
    input: positionals[0]!,
    output: values.output,
    summary,
    progress,
    flowOptions,
  };
}

/** `egressd replay`: capture file -> flow records. Returns the exit code. */
export async function runReplay(argv: string[]): Promise<number> {
  const parsed = parseReplayArgs(argv);
  if (parsed === "help") {
    process.stdout.write(REPLAY_HELP);
    return ExitCode.OK;
  }
  let source: Awaited<ReturnType<typeof openCapture>>;
  try {
    source = await openCapture(parsed.input);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  const geoip = parsed.geoip ? openGeoIp(parsed.config.geoip, "replay") : null;
  const inventory = createInventory(parsed, geoip);
  const enricher = new FlowEnricher(geoip, inventory);
  const writer = new LineWriter(parsed.output);
  const ruleSet = parsed.rules !== null ? loadRules(parsed) : null;
  let alertsWritten = 0;
  const triggers =
    ruleSet !== null
      ? new RuleTriggers(ruleSet, (ctx) => {
          for (const match of ruleSet.evaluate(ctx)) {
            writer.write(JSON.stringify(alertRecord(match, ctx)));
            alertsWritten++;
          }
        })
      : null;
  let flowsWritten = 0;
  let eventsWritten = 0;
  const protocols = parsed.protocols
    ? {
        options: { ...DEFAULT_INSPECTOR_OPTIONS, events: parsed.events },
        sink: {
          event(e: Parameters<typeof protocolEventRecord>[0]) {
            writer.write(JSON.stringify(protocolEventRecord(e)));
            eventsWritten++;
          },
        },
      }
    : null;
  const pipeline = new Pipeline(
    parsed.flowOptions,
    {
      flowEnded(flow: Flow, reason: FlowEndReason) {
        const record = flowRecord(flow, reason);
        if (parsed.protocols) {
          addProtocolFields(record, flow.app as FlowApp | null, flow.domain, flow.nameSource);
        }
        addEnrichmentFields(record, flow);
        // With --alerts the output is the alerts; flows are still tracked and counted.
        if (ruleSet === null) writer.write(JSON.stringify(record));
        flowsWritten++;
      },
    },
    protocols,
    enricher,
    triggers,
  );

  pipeline.onUnsupportedInterface = (error) => {
    process.stderr.write(
      `egressd replay: ${source.name}: ${error.message}; its packets are skipped\n`,
    );
  };

  let heapPeak = process.memoryUsage().heapUsed;
  const heapSampler = setInterval(() => {
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  }, 250);
  heapSampler.unref();
  const progress = parsed.progress
    ? new ProgressBar(source, () => pipeline.counters.packets)
    : undefined;
  progress?.start();

  const started = process.hrtime.bigint();
  let result: SourceResult;
  try {
    result = await source.run(pipeline);
  } finally {
    progress?.stop();
    clearInterval(heapSampler);
  }
  pipeline.finish();
  writer.close();
  geoip?.close();
  inventory.close();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);

  const c = pipeline.counters;
  const stats = pipeline.flows.stats;
  const summary: ReplaySummary = {
    input: source.name,
    packets: c.packets,
    bytes: c.bytes,
    ip_packets: c.ipPackets,
    non_ip_packets: c.nonIpPackets,
    skipped_packets: c.skippedPackets,
    anomalies_total: pipeline.anomalies.total(),
    anomalies: pipeline.anomalies.toObject(),
    flows: flowsWritten,
    events: eventsWritten,
    protocols: pipeline.inspector ? { ...pipeline.inspector.stats.recognised } : {},
    names_learned: pipeline.inspector?.names.stats.learned ?? 0,
    names_evicted: pipeline.inspector?.names.stats.evictions ?? 0,
    alerts: alertsWritten,
    devices: inventory.stats.devices,
    devices_learned: inventory.stats.learned,
    devices_evicted: inventory.stats.evicted,
    flows_created: stats.created,
    flows_evicted: stats.evicted,
    flows_ended: { ...stats.ended },
    fragments_attributed: stats.fragmentsAttributed,
    fragments_unattributed: stats.fragmentsUnattributed,
    icmp_errors_attributed: stats.icmpErrorsAttributed,
    duration_seconds: seconds,
    packets_per_second: seconds > 0 ? c.packets / seconds : 0,
    bytes_per_second: seconds > 0 ? c.bytes / seconds : 0,
    heap_used_peak_bytes: heapPeak,
    max_rss_bytes: process.resourceUsage().maxRSS * 1024,
  };
  if (result.error) {
    summary.error = { message: result.error.message, offset: result.error.offset };
  }
  // The error line comes first so the summary stays the last line (scripts read `tail -1`).
  if (result.error) {
    process.stderr.write(
      `egressd replay: ${source.name}: ${result.error.message} (the ${withCount(c.packets)} before byte offset ${result.error.offset} were processed and their flows written)\n`,
    );
  }
  printSummary(summary, parsed.summary);
  return result.error ? ExitCode.ERROR : ExitCode.OK;
}

/**
 * The device inventory: the config's groups, and what is local from GeoIP's scope (or,
 * without GeoIP, the private and special ranges). In memory unless --inventory names a
 * database, which is loaded first and saved at the end.
 */
function createInventory(parsed: ReplayOptions, geoip: GeoIp | null): Inventory {
  let groups: DeviceGroups;
  try {
    groups = new DeviceGroups(parsed.config.devices.groups.map(groupSpec));
  } catch (err) {
    if (err instanceof GroupSpecError) throw new InputError(`device groups: ${err.message}`);
    throw err;
  }
  const isLocal =
    geoip !== null
      ? (v: number, w0: number, w1: number, w2: number, w3: number) =>
          geoip.lookup(v, w0, w1, w2, w3).scope !== "internet"
      : isPrivateAddress;
  const options = { maxDevices: parsed.config.devices.max_devices, groups, isLocal };
  if (parsed.inventory === undefined) return new Inventory(options);
  try {
    return openInventory({ ...options, dbPath: parsed.inventory });
  } catch (err) {
    if (err instanceof StoreError) throw new InputError(err.message);
    throw err;
  }
}

/** --var name=value (name=a,b,c for a list). */
function parseVariables(pairs: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--var needs NAME=VALUE, got "${pair}"`);
    const value = pair.slice(eq + 1);
    out[pair.slice(0, eq)] = value.includes(",") ? value.split(",").map((v) => v.trim()) : value;
  }
  return out;
}

/** Loads the rule files; any error is the operator's input error, every problem listed. */
function loadRules(parsed: ReplayOptions): RuleSet {
  const { ruleSet, problems } = loadRuleFiles(parsed.rules!.paths, {
    variables: parsed.rules!.variables,
    groups: parsed.config.devices.groups.map((g) => g.name),
  });
  for (const p of problems) {
    if (p.severity === "warning") process.stderr.write(`${formatRuleProblem(p)}\n`);
  }
  if (ruleSet === null) {
    const errors = problems.filter((p) => p.severity === "error").map(formatRuleProblem);
    throw new InputError(`rules have errors:\n${errors.join("\n")}`);
  }
  return ruleSet;
}

/** A config group as the inventory takes it: selectors the file left out are absent, not empty. */
function groupSpec(g: DeviceGroupConfig): DeviceGroupSpec {
  const spec: DeviceGroupSpec = { name: g.name, role: g.role };
  if (g.description !== undefined) spec.description = g.description;
  if (g.cidrs.length > 0) spec.cidrs = g.cidrs;
  if (g.macs.length > 0) spec.macs = g.macs;
  if (g.ouis.length > 0) spec.ouis = g.ouis;
  if (g.vlans.length > 0) spec.vlans = g.vlans;
  return spec;
}

function withCount(n: number): string {
  return n === 1 ? "1 packet" : `${n} packets`;
}
