/**
 * A capture through the whole pipeline, wired once: GeoIP from the config, the device
 * inventory with the config's groups, the protocol inspector, the enricher, and the rules
 * at their triggers turned into ECS alert records. `egressd replay` writes what comes out;
 * `egressd rules test` counts the alerts against a test case's expectations.
 */
import { alertRecord } from "../alert/alert-record.js";
import type { BaselineMonitor } from "../baseline/monitor.js";
import { BaselineLoadError, openBaselineMonitor } from "../baseline/open.js";
import { openCapture } from "../capture/open.js";
import type { PacketSource, SourceResult } from "../capture/source.js";
import type { DeviceGroupConfig, EgressdConfig } from "../config/config.js";
import { changeWatchOptions } from "../config/sections/devices.js";
import { flowOptions as configFlowOptions } from "../config/sections/flows.js";
import { FlowEnricher } from "../enrich/flow-enricher.js";
import type { GeoIp } from "../enrich/geoip/index.js";
import type { Flow } from "../flow/flow.js";
import type { FlowOptions } from "../flow/options.js";
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
import { addProtocolFields, protocolEventRecord } from "../output/protocol-fields.js";
import { Pipeline, type UnsupportedLinkTypeError } from "../pipeline.js";
import type { FlowApp } from "../protocols/flow-app.js";
import { MAX_BODY_BYTES } from "../protocols/http/stream.js";
import {
  DEFAULT_INSPECTOR_OPTIONS,
  type InspectorOptions,
  MAX_PAYLOAD_BYTES,
  type ProtocolEventKind,
} from "../protocols/inspector.js";
import type { RuleEngine } from "../rules/engine.js";
import { HTTP_HEADER_PREFIX } from "../rules/fields.js";
import { type RuleMatch, RuleSet } from "../rules/index.js";
import { type FlowWatch, RuleTriggers } from "../rules/triggers.js";
import { StoreError } from "../store/sqlite.js";
import { InputError } from "./errors.js";
import { openGeoIp } from "./geoip-setup.js";
import { ProgressBar } from "./progress.js";
import type { ReplaySummary } from "./summary.js";

export type JsonRecord = Record<string, unknown>;

/** What stays the same for a run: the config's GeoIP and devices. */
export interface CaptureSetup {
  config: EgressdConfig;
  /** Scope, country and AS from the config's geoip section; default true. */
  geoip?: boolean;
  /**
   * Name GeoIP databases older than geoip.max_age_days on stderr (by the wall clock);
   * default true. Rule tests turn it off: their databases are fixtures.
   */
  geoipAgeWarnings?: boolean;
  /** Keep the device inventory in this SQLite file; default: in memory for this run. */
  inventoryDb?: string;
  /** The command named in warnings: "replay". */
  command?: string;
  /** Reload GeoIP databases when their files change (the daemon). */
  geoipWatch?: boolean;
}

/** What one run does with the capture and where its records go. */
export interface RunOptions {
  /** Default: the config's flows section. */
  flowOptions?: FlowOptions;
  /** Parse DNS, TLS, HTTP, NTP...; default true. */
  protocols?: boolean;
  /** Protocol transactions to report to onEvent. */
  events?: ReadonlySet<ProtocolEventKind>;
  /** Rules evaluated at their triggers; null or absent: none. */
  ruleSet?: RuleSet | null;
  /** Rules that may be reloaded during the run (instead of ruleSet): each swap re-arms the triggers. */
  ruleEngine?: RuleEngine;
  /** A finished flow's record; without it no flow record is built. */
  onFlow?: (record: JsonRecord) => void;
  onEvent?: (record: JsonRecord) => void;
  /** An alert's record, the match, and its packet time (ms). */
  onAlert?: (record: JsonRecord, match: RuleMatch, tsMs: number) => void;
  /** Every second of wall time, the pipeline's packet clock (ms): for work due by packet time. */
  onClock?: (packetMs: number) => void;
  /** A progress bar on stderr. */
  progress?: boolean;
  /** Baselines (drift) and learners watching flows and DNS questions beside the rules. */
  watches?: FlowWatch[];
  /** The pipeline, once built (the daemon's metrics and API read it). */
  onPipeline?: (pipeline: Pipeline) => void;
  /** Every flow record's flow (ends and active-timeout reports), before it is reused. */
  onFlowEnded?: (flow: Flow, reason: FlowEndReason) => void;
}

/** Opens a capture file ("-": standard input); what cannot be opened is an InputError. */
export async function openCaptureFile(path: string): Promise<PacketSource> {
  try {
    return await openCapture(path);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
}

/**
 * GeoIP and the inventory, opened from the config (GeoIP first: the inventory asks it
 * what is local). run() takes a capture through the pipeline; close() saves the
 * inventory and closes the databases.
 */
export class CaptureRun {
  readonly geoip: GeoIp | null;
  readonly inventory: Inventory;
  private readonly command: string;

  constructor(private readonly setup: CaptureSetup) {
    this.command = setup.command ?? "replay";
    this.geoip =
      setup.geoip === false
        ? null
        : openGeoIp(
            setup.config.geoip,
            this.command,
            setup.geoipAgeWarnings !== false,
            setup.geoipWatch === true,
          );
    this.inventory = createInventory(setup.config, this.geoip, setup.inventoryDb);
  }

  /** Reads the capture to its end (or its damage, in summary.error) and flushes every flow. */
  async run(source: PacketSource, options: RunOptions = {}): Promise<ReplaySummary> {
    const config = this.setup.config;
    const protocolsOn = options.protocols !== false;
    const inventory = this.inventory;
    const enricher = new FlowEnricher(this.geoip, inventory, changeWatchOptions(config.devices));
    const engine = options.ruleEngine;
    const watches = options.watches ?? [];
    // A learner needs the triggers' DNS and flow hooks even with no rules loaded.
    let ruleSet =
      engine?.current ?? options.ruleSet ?? (watches.length > 0 ? RuleSet.empty() : null);
    const onAlert = options.onAlert;
    let alerts = 0;
    const triggers =
      ruleSet !== null
        ? new RuleTriggers(ruleSet, (ctx) => {
            for (const match of ruleSet!.evaluate(ctx)) {
              onAlert?.(alertRecord(match, ctx), match, ctx.tsSec * 1000 + ctx.tsNsec / 1e6);
              alerts++;
            }
          })
        : null;
    if (triggers !== null) triggers.watches = watches;
    let flows = 0;
    let events = 0;
    const onEvent = options.onEvent;
    const protocols = protocolsOn
      ? {
          options: {
            ...DEFAULT_INSPECTOR_OPTIONS,
            events: new Set(options.events ?? []),
            ...(ruleSet !== null ? ruleInputs(ruleSet) : {}),
          },
          sink: {
            event(e: Parameters<typeof protocolEventRecord>[0]) {
              onEvent?.(protocolEventRecord(e));
              events++;
            },
          },
        }
      : null;
    const onFlow = options.onFlow;
    const onFlowEnded = options.onFlowEnded;
    const pipeline = new Pipeline(
      options.flowOptions ?? configFlowOptions(config.flows),
      {
        flowEnded(flow: Flow, reason: FlowEndReason) {
          flows++;
          onFlowEnded?.(flow, reason);
          if (onFlow === undefined) return;
          const record = flowRecord(flow, reason);
          if (protocolsOn) {
            addProtocolFields(record, flow.app as FlowApp | null, flow.domain, flow.nameSource);
          }
          addEnrichmentFields(record, flow);
          onFlow(record);
        },
      },
      protocols,
      enricher,
      triggers,
    );
    options.onPipeline?.(pipeline);
    // A reload swaps the rules between two packets: triggers, watches on the flows already
    // open, and what the inspector keeps follow the new set.
    const unsubscribe = engine?.onSwap((next) => {
      ruleSet = next;
      triggers!.setDemand(next);
      pipeline.flows.forEachActive((f) => triggers!.rearm(f));
      pipeline.inspector?.setRuleInputs(ruleInputs(next));
    });
    pipeline.onUnsupportedInterface = (error: UnsupportedLinkTypeError) => {
      process.stderr.write(
        `egressd ${this.command}: ${source.name}: ${error.message}; its packets are skipped\n`,
      );
    };

    let heapPeak = process.memoryUsage().heapUsed;
    const heapSampler = setInterval(() => {
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    }, 250);
    heapSampler.unref();
    const progress = options.progress
      ? new ProgressBar(source, () => pipeline.counters.packets)
      : undefined;
    progress?.start();
    const onClock = options.onClock;
    const clock =
      onClock !== undefined
        ? setInterval(() => {
            if (Number.isFinite(pipeline.flows.clockMs)) onClock(pipeline.flows.clockMs);
          }, 1000)
        : null;
    clock?.unref();

    const started = process.hrtime.bigint();
    let result: SourceResult;
    try {
      result = await source.run(pipeline);
    } finally {
      progress?.stop();
      clearInterval(heapSampler);
      if (clock !== null) clearInterval(clock);
      unsubscribe?.();
    }
    pipeline.finish();
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
      flows,
      events,
      protocols: pipeline.inspector ? { ...pipeline.inspector.stats.recognised } : {},
      names_learned: pipeline.inspector?.names.stats.learned ?? 0,
      names_evicted: pipeline.inspector?.names.stats.evictions ?? 0,
      alerts,
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
    return summary;
  }

  /** Saves the inventory (to its database, if any) and closes GeoIP. */
  close(): void {
    this.geoip?.close();
    this.inventory.close();
  }
}

export interface RulesRunOptions {
  /** A capture file. */
  capture: string;
  config: EgressdConfig;
  ruleSet: RuleSet;
  /** Each alert as it is raised; they are also collected in the result. */
  onAlert?: (record: JsonRecord, match: RuleMatch) => void;
}

/**
 * A capture file through the pipeline with rules, quietly (no flow records, no GeoIP age
 * warnings, the inventory in memory): the alerts it raises, in order, and the summary
 * (summary.error when the capture is damaged part way). Throws InputError when the
 * capture, a GeoIP database or the device groups cannot be used.
 */
export async function runCaptureWithRules(
  options: RulesRunOptions,
): Promise<{ alerts: JsonRecord[]; summary: ReplaySummary }> {
  const run = new CaptureRun({ config: options.config, geoipAgeWarnings: false, command: "rules" });
  const alerts: JsonRecord[] = [];
  try {
    const baseline = openBaselines(options.config);
    const source = await openCaptureFile(options.capture);
    const summary = await run.run(source, {
      ruleSet: options.ruleSet,
      ...(baseline !== null ? { watches: [baseline] } : {}),
      onAlert(record, match) {
        alerts.push(record);
        options.onAlert?.(record, match);
      },
    });
    return { alerts, summary };
  } finally {
    run.close();
  }
}

/** What the inspector keeps beyond its records because a loaded rule reads it. */
function ruleInputs(
  ruleSet: RuleSet,
): Pick<InspectorOptions, "payloadBytes" | "httpHeaders" | "httpBodyBytes"> {
  return {
    payloadBytes: ruleSet.usesFields("payload.") ? MAX_PAYLOAD_BYTES : 0,
    httpHeaders: ruleSet.usesFields(HTTP_HEADER_PREFIX),
    httpBodyBytes: ruleSet.fields.has("http.body") ? MAX_BODY_BYTES : 0,
  };
}

/**
 * The config's baselines as one monitor for baseline_drift, or null when none are
 * configured; `warn` hears about groups they name that the config lacks. A broken file
 * is the operator's input error, every problem listed.
 */
export function openBaselines(
  config: EgressdConfig,
  warn: (message: string) => void = () => {},
): BaselineMonitor | null {
  try {
    const { monitor, warnings } = openBaselineMonitor(config);
    for (const w of warnings) warn(w);
    return monitor;
  } catch (err) {
    if (err instanceof BaselineLoadError) throw new InputError(err.message);
    throw err;
  }
}

/**
 * The device inventory: the config's groups, and what is local from GeoIP's scope (or,
 * without GeoIP, the private and special ranges). In memory unless `dbPath` names a
 * database, which is loaded first and saved at the end.
 */
function createInventory(
  config: EgressdConfig,
  geoip: GeoIp | null,
  dbPath: string | undefined,
): Inventory {
  let groups: DeviceGroups;
  try {
    groups = new DeviceGroups(config.devices.groups.map(groupSpec));
  } catch (err) {
    if (err instanceof GroupSpecError) throw new InputError(`device groups: ${err.message}`);
    throw err;
  }
  const isLocal =
    geoip !== null
      ? (v: number, w0: number, w1: number, w2: number, w3: number) =>
          geoip.lookup(v, w0, w1, w2, w3).scope !== "internet"
      : isPrivateAddress;
  const options = { maxDevices: config.devices.max_devices, groups, isLocal };
  if (dbPath === undefined) return new Inventory(options);
  try {
    return openInventory({ ...options, dbPath });
  } catch (err) {
    if (err instanceof StoreError) throw new InputError(err.message);
    throw err;
  }
}

/** A config group as the inventory takes it: selectors the file left out are absent, not empty. */
export function groupSpec(g: DeviceGroupConfig): DeviceGroupSpec {
  const spec: DeviceGroupSpec = { name: g.name, role: g.role };
  if (g.description !== undefined) spec.description = g.description;
  if (g.cidrs.length > 0) spec.cidrs = g.cidrs;
  if (g.macs.length > 0) spec.macs = g.macs;
  if (g.ouis.length > 0) spec.ouis = g.ouis;
  if (g.vlans.length > 0) spec.vlans = g.vlans;
  return spec;
}
