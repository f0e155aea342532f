import { parseArgs } from "node:util";
import { AlertRouter, type RoutedSink } from "../alert/router.js";
import { routeSinks, SinkConfigError } from "../alert/sinks/create.js";
import type { EgressdConfig } from "../config/config.js";
import { loadConfig, parseConfig } from "../config/load.js";
import { flowOptions as configFlowOptions } from "../config/sections/flows.js";
import { DEFAULT_FLOW_OPTIONS, type FlowOptions, parseTimeouts } from "../flow/options.js";
import { type HttpListener, startHttpListener } from "../http/server.js";
import { createRegistry } from "../metrics/registry.js";
import { registerRuleMetrics } from "../metrics/rule-metrics.js";
import { LineWriter } from "../output/line-writer.js";
import type { ProtocolEventKind } from "../protocols/inspector.js";
import { type ReloadOutcome, RuleEngine, RuleLoadError } from "../rules/engine.js";
import { formatRuleProblem } from "../rules/index.js";
import { type Database, openDatabase, StoreError } from "../store/sqlite.js";
import {
  CaptureRun,
  type CaptureSetup,
  openBaselines,
  openCaptureFile,
  type RunOptions,
} from "./capture-run.js";
import { ExitCode, InputError, UsageError } from "./errors.js";
import { parseRuleVariables } from "./rule-variables.js";
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
      --rules PATH        rule file or folder (repeatable; default: the config's
                          rules.paths, else rules/)
      --var NAME=VALUE    set a rule variable (repeatable; a,b,c is a list).
                          With --alerts the rules reload on SIGHUP and when a rule
                          or set file changes; a broken file is reported and the
                          old rules keep running
      --alert-store DB    write the alerts to this SQLite store (see egressd
                          alerts); the config's alerts.store is used anyway
                          when alerts.sinks are configured. Alerts are folded
                          (alerts.cooldown) and rate-limited before they are
                          written, stored and sent to the sinks
      --metrics ADDR      serve Prometheus metrics at http://ADDR/metrics while
                          the capture runs (e.g. 127.0.0.1:9810; rule reloads,
                          matches, exception hits, process)
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
  rules: { paths: string[]; variables: Record<string, string | number | string[]> } | null;
  input: string;
  output: string | undefined;
  summary: "text" | "json" | "none";
  progress: boolean;
  flowOptions: FlowOptions;
  /** --metrics: where to serve /metrics during the run. */
  metrics: string | undefined;
  /** --alert-store: the alert store to write. */
  alertStore: string | undefined;
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
      metrics: { type: "string" },
      "alert-store": { type: "string" },
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
    // The config file's rules section, with --rules and --var on top.
    rules: values.alerts
      ? {
          paths: values.rules ?? config.rules.paths,
          variables: { ...config.rules.variables, ...parseRuleVariables(values.var ?? []) },
        }
      : null,
    input: positionals[0]!,
    output: values.output,
    summary,
    progress,
    flowOptions,
    metrics: values.metrics,
    alertStore: values["alert-store"],
  };
}

/** `egressd replay`: capture file -> flow records. Returns the exit code. */
export async function runReplay(argv: string[]): Promise<number> {
  const parsed = parseReplayArgs(argv);
  if (parsed === "help") {
    process.stdout.write(REPLAY_HELP);
    return ExitCode.OK;
  }
  const source = await openCaptureFile(parsed.input);
  const setup: CaptureSetup = { config: parsed.config, geoip: parsed.geoip, command: "replay" };
  if (parsed.inventory !== undefined) setup.inventoryDb = parsed.inventory;
  const engine = parsed.rules !== null ? loadRules(parsed) : null;
  const listener = parsed.metrics !== undefined ? await listen(parsed.metrics, engine) : undefined;
  const run = new CaptureRun(setup);
  const writer = new LineWriter(parsed.output);
  const write = (record: Record<string, unknown>) => writer.write(JSON.stringify(record));
  const options: RunOptions = {
    flowOptions: parsed.flowOptions,
    protocols: parsed.protocols,
    events: parsed.events,
    onEvent: write,
    progress: parsed.progress,
  };
  // With --alerts the output is the alerts (after dedup and the rate limit, as the sinks
  // get them); flows are still tracked and counted.
  const router = engine !== null ? openAlertRouter(parsed, write) : null;
  if (engine === null) options.onFlow = write;
  else {
    options.ruleEngine = engine;
    const baseline = openBaselines(parsed.config, (w) =>
      process.stderr.write(`egressd replay: warning: ${w}\n`),
    );
    if (baseline !== null) options.watches = [baseline];
    options.onAlert = (record, match, tsMs) => router!.submit(record, match, tsMs);
    options.onClock = (ms) => router!.tick(ms);
  }
  const reopen = () => {
    for (const s of router?.sinks ?? []) s.reopen?.();
  };
  process.on("SIGUSR2", reopen);
  const stopReloads = engine !== null ? reloadOnSignalAndChange(engine) : () => {};
  let summary: ReplaySummary;
  try {
    summary = await run.run(source, options);
  } finally {
    stopReloads();
    process.off("SIGUSR2", reopen);
    await listener?.close();
  }
  if (router !== null) {
    await closeAlertRouter(router, parsed.config.alerts.drain_timeout);
    const r = router.stats;
    summary.alerts_sent = r.sent;
    summary.alerts_folded = r.folded;
    summary.alerts_held_back = r.heldBack;
    summary.alert_summaries = r.summaries;
  }
  writer.close();
  run.close();
  // The error line comes first so the summary stays the last line (scripts read `tail -1`).
  if (summary.error) {
    process.stderr.write(
      `egressd replay: ${source.name}: ${summary.error.message} (the ${withCount(summary.packets)} before byte offset ${summary.error.offset} were processed and their flows written)\n`,
    );
  }
  printSummary(summary, parsed.summary);
  return summary.error ? ExitCode.ERROR : ExitCode.OK;
}

/**
 * Loads the rule files; at start any error is the operator's input error, every problem
 * listed (on a reload the old rules keep running instead).
 */
function loadRules(parsed: ReplayOptions): RuleEngine {
  const options = {
    variables: parsed.rules!.variables,
    groups: parsed.config.devices.groups.map((g) => g.name),
    testFiles: false,
  };
  try {
    return RuleEngine.open(parsed.rules!.paths, options, (p) =>
      process.stderr.write(`${formatRuleProblem(p)}\n`),
    );
  } catch (err) {
    if (err instanceof RuleLoadError) throw new InputError(err.message);
    throw err;
  }
}

/** The alert path: dedup, rate limit, and (with sinks or --alert-store) the store and queues. */
function openAlertRouter(
  parsed: ReplayOptions,
  output: (record: Record<string, unknown>) => void,
): AlertRouter {
  const c = parsed.config.alerts;
  let sinks: RoutedSink[];
  try {
    sinks = routeSinks(c.sinks);
  } catch (err) {
    if (err instanceof SinkConfigError) throw new InputError(err.message);
    throw err;
  }
  const storePath = parsed.alertStore ?? (sinks.length > 0 ? c.store : undefined);
  let db: Database | null = null;
  if (storePath !== undefined) {
    try {
      db = openDatabase(storePath);
    } catch (err) {
      if (err instanceof StoreError) throw new InputError(err.message);
      throw err;
    }
  }
  const router = new AlertRouter({
    sensor: parsed.config.sensor.name,
    interfaceName: parsed.input === "-" ? "stdin" : parsed.input,
    config: c,
    db,
    sinks,
    output,
    log: (level, message) => process.stderr.write(`egressd replay: ${level}: ${message}\n`),
    dispatcher: {
      onFailure: (sink, error, n, nextMs) => {
        if (n === 1 || n % 10 === 0)
          process.stderr.write(
            `egressd replay: warn: alert sink ${sink}: ${error.message} (failure ${n}; retrying in ${(nextMs / 1000).toFixed(1)} s)\n`,
          );
      },
      onRecovered: (sink, n) =>
        process.stderr.write(`egressd replay: alert sink ${sink} recovered after ${n} failures\n`),
      onRejected: (sink, count, error) =>
        process.stderr.write(
          `egressd replay: error: alert sink ${sink} refused ${count} alert(s) for good: ${error.message}\n`,
        ),
    },
  });
  router.start();
  return router;
}

/** End of input: report what is owed, give the sinks their drain time, close the store. */
async function closeAlertRouter(router: AlertRouter, drainSeconds: number): Promise<void> {
  router.finish();
  const left = await router.close(drainSeconds * 1000);
  for (const [sink, n] of Object.entries(left)) {
    if (n > 0)
      process.stderr.write(
        `egressd replay: alert sink ${sink}: ${n} alert(s) still queued after ${drainSeconds} s; they stay in the store and go out on the next run\n`,
      );
  }
  router.store?.db.close();
}

/** SIGHUP and rule-file changes reload the rules; returns what stops both. */
function reloadOnSignalAndChange(engine: RuleEngine): () => void {
  const report = (o: ReloadOutcome) => process.stderr.write(reloadMessage(o));
  const onHup = () => report(engine.reload("SIGHUP"));
  process.on("SIGHUP", onHup);
  engine.watch(report);
  return () => {
    process.off("SIGHUP", onHup);
    engine.unwatch();
  };
}

/** "egressd replay: rules reloaded (SIGHUP): 49 rules in 0.31 s" or the errors, kept old rules. */
export function reloadMessage(o: ReloadOutcome): string {
  const took = `${o.seconds.toFixed(2)} s`;
  if (o.ok) {
    const warnings = o.problems.map((p) => `${formatRuleProblem(p)}\n`).join("");
    return `${warnings}egressd replay: rules reloaded (${o.cause}): ${o.rules} rules in ${took}\n`;
  }
  const errors = o.problems.filter((p) => p.severity === "error").map(formatRuleProblem);
  return `egressd replay: rule reload (${o.cause}) failed; the previous ${o.rules} rules keep running:\n${errors.join("\n")}\n`;
}

async function listen(address: string, engine: RuleEngine | null): Promise<HttpListener> {
  const registry = createRegistry();
  if (engine !== null) registerRuleMetrics(registry, engine);
  try {
    const listener = await startHttpListener({ listen: address, registry });
    process.stderr.write(`egressd replay: metrics at http://${listener.address}/metrics\n`);
    return listener;
  } catch (err) {
    throw new UsageError(`--metrics ${address}: ${(err as Error).message}`);
  }
}

function withCount(n: number): string {
  return n === 1 ? "1 packet" : `${n} packets`;
}
