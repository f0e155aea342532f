/**
 * `egressd run`: the long-running daemon on a camera VLAN's mirror port. It wires, once:
 *
 *   interfaces --libpcap--> LiveSource(s) --> Pipeline (decode, flows, protocols, GeoIP,
 *   devices, rule triggers) --> RuleEngine --> AlertRouter (dedup, rate limit, store,
 *   queues) --> sinks;  HTTP listener: /metrics, /healthz, /readyz, /api/*
 *
 * and handles the signals: SIGHUP reloads the config (rules, sets, device groups, GeoIP,
 * sinks; options that need a restart say so), SIGUSR2 reopens log files, SIGTERM/SIGINT
 * stop capture, flush every flow (their flow_end rules run), drain the sinks up to
 * alerts.drain_timeout and close the stores.
 */
import { readFileSync } from "node:fs";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { AlertRouter, type RoutedSink } from "../alert/router.js";
import { routeSinks } from "../alert/sinks/create.js";
import type { BaselineMonitor } from "../baseline/monitor.js";
import { loadBaselines } from "../baseline/open.js";
import { LiveCaptureError } from "../capture/live/errors.js";
import {
  defaultRouteInterface,
  type LiveSource,
  MultiSource,
} from "../capture/live/live-source.js";
import { CaptureRun, groupSpec, openBaselines } from "../cli/capture-run.js";
import type { ReplaySummary } from "../cli/summary.js";
import type { EgressdConfig } from "../config/config.js";
import { loadConfig, parseConfig } from "../config/load.js";
import type { GeoIp } from "../enrich/geoip/index.js";
import { type HttpListener, type HttpListenerOptions, startHttpListener } from "../http/server.js";
import { DeviceGroups, type Inventory } from "../inventory/index.js";
import { alertDeliveryHooks } from "../metrics/alert-metrics.js";
import { DeviceTraffic } from "../metrics/device-traffic.js";
import { createRegistry } from "../metrics/registry.js";
import { registerRuleMetrics } from "../metrics/rule-metrics.js";
import type { Pipeline } from "../pipeline.js";
import { RuleEngine, RuleLoadError } from "../rules/engine.js";
import { formatRuleProblem } from "../rules/index.js";
import { type Database, openDatabase } from "../store/sqlite.js";
import type {
  CaptureState,
  CaptureStatus,
  ConfigReloadStatus,
  DaemonView,
  ReadyCheck,
} from "./view.js";

export interface DaemonOptions {
  /** The config file; undefined runs on the bundled defaults. */
  configPath: string | undefined;
  env: Record<string, string | undefined>;
  log: Logger;
  /** Extra metrics and HTTP wiring (the metrics module registers on the registry). */
  onRegistry?: (registry: Registry, view: DaemonView) => void;
}

/** A problem that stops the daemon from starting: the message says what to do. */
export class DaemonStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DaemonStartError";
  }
}

/** How often libpcap's counters are polled for drop bursts. */
const STATS_INTERVAL_MS = 10_000;
/** How often the store is checked for writability (/readyz). */
const STORE_CHECK_MS = 10_000;

export class Daemon implements DaemonView {
  readonly startedMs = Date.now();
  readonly sensor: string;
  private config: EgressdConfig;
  private readonly log: Logger;
  private readonly run: CaptureRun;
  private readonly engine: RuleEngine;
  /** The configured baselines (baseline_drift); null when none are configured. */
  private readonly baseline: BaselineMonitor | null;
  private readonly router: AlertRouter;
  private readonly db: Database;
  private readonly multi: MultiSource;
  private readonly sources: LiveSource[];
  private readonly states = new Map<string, { state: CaptureState; detail?: string }>();
  private pipelineRef: Pipeline | null = null;
  private listener: HttpListener | null = null;
  private readonly registry: Registry;
  /** Bytes and connections to the internet per device, for /metrics (top N, rest "other"). */
  private readonly traffic = new DeviceTraffic({
    topDevices: 20,
    topCountries: 10,
    maxTracked: 10_000,
  });
  private storeOk: ReadyCheck = { ok: true };
  private reloadStatus: ConfigReloadStatus = { success: 0, failure: 0, lastMs: 0, lastOk: true };
  private timers: NodeJS.Timeout[] = [];
  private lastDrops = new Map<string, number>();
  private runPromise: Promise<ReplaySummary> | null = null;
  private stopping = false;

  private constructor(
    private readonly options: DaemonOptions,
    config: EgressdConfig,
  ) {
    this.config = config;
    this.log = options.log;
    this.sensor = config.sensor.name;
    this.engine = loadEngine(config);
    this.baseline = openBaselines(config, (w) => this.log.warn(w));
    this.run = new CaptureRun({
      config,
      inventoryDb: config.devices.store,
      command: "run",
      geoipWatch: true,
    });
    this.db = openDatabase(config.alerts.store);
    this.registry = createRegistry();
    const delivery = alertDeliveryHooks(this.registry);
    this.router = new AlertRouter({
      sensor: config.sensor.name,
      config: config.alerts,
      db: this.db,
      sinks: routedSinks(config),
      log: (level, message) => this.log[level](message),
      onStoreError: (err) => {
        this.storeOk = { ok: false, detail: err.message };
      },
      dispatcher: {
        onDelivered: delivery.onDelivered,
        onFailure: (sink, error, n, nextMs) => {
          delivery.onFailure?.(sink, error, n, nextMs);
          if (n === 1 || n % 10 === 0)
            this.log.warn(
              { sink, failures: n, retry_ms: nextMs },
              `alert sink ${sink}: ${error.message}`,
            );
        },
        onRecovered: (sink, n) => {
          delivery.onRecovered?.(sink, n);
          this.log.info({ sink }, `alert sink ${sink} recovered after ${n} failures`);
        },
        onRejected: (sink, count, error) => {
          delivery.onRejected?.(sink, count, error);
          this.log.error(
            { sink, count },
            `alert sink ${sink} refused ${count} alert(s) for good: ${error.message}`,
          );
        },
      },
    });
    const names =
      config.capture.interfaces.length > 0 ? config.capture.interfaces : [defaultInterface()];
    this.multi = new MultiSource(
      names.map((name) => ({
        interface: name,
        filter: config.capture.filter,
        snaplen: config.capture.snaplen,
        promiscuous: config.capture.promiscuous,
        bufferBytes: config.capture.buffer_size_mib * 1024 * 1024,
        immediate: config.capture.immediate,
        retry: { initialMs: 1000, maxMs: 30_000 },
        onState: (state: CaptureState, detail?: string) => this.captureState(name, state, detail),
      })),
    );
    this.sources = this.multi.sources;
    for (const name of names) this.states.set(name, { state: "starting" });
    registerRuleMetrics(this.registry, this.engine);
    this.traffic.register(this.registry);
    options.onRegistry?.(this.registry, this);
  }

  /** Loads everything, opens the listener and starts capture; throws DaemonStartError. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const config =
      options.configPath !== undefined
        ? loadConfig(options.configPath, options.env)
        : parseConfig("", "(bundled defaults)", options.env);
    const d = new Daemon(options, config);
    await d.begin();
    return d;
  }

  private async begin(): Promise<void> {
    const c = this.config;
    this.router.start();
    if (c.http.listen !== "") {
      this.listener = await this.listen({
        listen: c.http.listen,
        registry: this.registry,
        view: this,
        ...httpSecurity(c),
      });
      this.log.info(
        { listen: this.listener.address },
        `HTTP at http://${this.listener.address}/metrics`,
      );
    }
    this.runPromise = this.run.run(this.multi, {
      ruleEngine: this.engine,
      ...(this.baseline !== null ? { watches: [this.baseline] } : {}),
      onAlert: (record, match, tsMs) => this.router.submit(record, match, tsMs),
      onClock: (ms) => this.router.tick(ms),
      onPipeline: (p) => {
        this.pipelineRef = p;
      },
      onFlowEnded: (flow) => this.traffic.record(flow),
    });
    // A capture that cannot start at all (no permission, no libpcap) ends the daemon.
    this.runPromise.catch(() => {});
    this.timers.push(setInterval(() => this.pollDrops(), STATS_INTERVAL_MS));
    this.timers.push(setInterval(() => this.checkStore(), STORE_CHECK_MS));
    for (const t of this.timers) t.unref();
    this.log.info(
      { interfaces: this.sources.map((s) => s.name), rules: this.engine.current.rules.length },
      `egressd running on ${this.sources.map((s) => s.name).join(", ")} with ${this.engine.current.rules.length} rules`,
    );
  }

  private async listen(options: HttpListenerOptions): Promise<HttpListener> {
    try {
      return await startHttpListener(options);
    } catch (err) {
      throw new DaemonStartError(`http.listen ${options.listen}: ${(err as Error).message}`);
    }
  }

  /** Resolves when capture ends (stop(), or a fatal capture error, rethrown). */
  async finished(): Promise<ReplaySummary> {
    try {
      return await this.runPromise!;
    } catch (err) {
      if (err instanceof LiveCaptureError) throw new DaemonStartError(err.message);
      throw err;
    }
  }

  // --- signals -------------------------------------------------------------------

  /**
   * SIGHUP: the config file again; what can change live changes, the rest is named.
   * Reloads run one at a time (a SIGHUP during one makes it run once more after it), and
   * none once stop() has begun. Never rejects: a failure is logged and counted.
   */
  reload(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.reloading !== null) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false;
        try {
          await this.reloadOnce();
        } catch (err) {
          this.reloadFailed(Date.now(), (err as Error).message);
        }
      } while (this.reloadAgain && !this.stopping);
      this.reloading = null;
    })();
    return this.reloading;
  }

  private reloading: Promise<void> | null = null;
  private reloadAgain = false;

  /** Everything is loaded and checked before anything is swapped: all of it applies, or none. */
  private async reloadOnce(): Promise<void> {
    const started = Date.now();
    let next: EgressdConfig;
    try {
      next =
        this.options.configPath !== undefined
          ? loadConfig(this.options.configPath, this.options.env)
          : parseConfig("", "(bundled defaults)", this.options.env);
    } catch (err) {
      this.reloadFailed(started, `config: ${(err as Error).message}`);
      return;
    }
    const old = this.config;
    // Rules and sets, loaded beside the running set; swapped in only with the rest.
    const rules = this.engine.prepare("SIGHUP", next.rules.paths, ruleOptions(next));
    if (!rules.outcome.ok) {
      const errors = rules.outcome.problems
        .filter((p) => p.severity === "error")
        .map(formatRuleProblem);
      this.engine.commit(rules); // counted as a failed rule reload in the metrics
      this.reloadFailed(
        started,
        `rules (the previous ${this.engine.current.rules.length} keep running):\n${errors.join("\n")}`,
      );
      return;
    }
    let sinks: RoutedSink[];
    let groups: DeviceGroups;
    let baselines: ReturnType<typeof loadBaselines> | null = null;
    try {
      if (next.baseline.files.length > 0) baselines = loadBaselines(next);
      groups = new DeviceGroups(next.devices.groups.map(groupSpec));
      sinks = routedSinks(next);
    } catch (err) {
      this.reloadFailed(started, (err as Error).message);
      return;
    }
    if (this.stopping) {
      for (const s of sinks) await s.sink.close();
      return;
    }
    const outcome = this.engine.commit(rules);
    if (this.baseline !== null)
      this.baseline.replace(baselines?.groups ?? [], next.baseline.volume_factor);
    for (const w of baselines?.warnings ?? []) this.log.warn(w);
    this.run.inventory.setGroups(groups);
    // Always new sinks: their token and certificate files may have been renewed.
    await this.router.replaceSinks(sinks);
    try {
      this.run.geoip?.reload();
    } catch (err) {
      this.log.warn(
        `GeoIP reload failed, the previous databases keep answering: ${(err as Error).message}`,
      );
    }
    const restart = needsRestart(old, next);
    if (restart.length > 0)
      this.log.warn(
        { keys: restart },
        `changed settings that need a restart: ${restart.join(", ")}`,
      );
    // What needs a restart keeps its running value until then.
    this.config = {
      ...next,
      capture: old.capture,
      http: old.http,
      sensor: old.sensor,
      flows: old.flows,
      devices: { ...next.devices, max_devices: old.devices.max_devices, store: old.devices.store },
      alerts: { ...old.alerts, sinks: next.alerts.sinks },
    };
    this.reloadStatus = {
      ...this.reloadStatus,
      success: this.reloadStatus.success + 1,
      lastMs: Date.now(),
      lastOk: true,
    };
    delete this.reloadStatus.lastError;
    this.log.info(
      { seconds: (Date.now() - started) / 1000, rules: outcome.rules },
      "config reloaded",
    );
  }

  private reloadFailed(started: number, why: string): void {
    this.reloadStatus = {
      success: this.reloadStatus.success,
      failure: this.reloadStatus.failure + 1,
      lastMs: Date.now(),
      lastOk: false,
      lastError: why,
    };
    this.log.error(
      { seconds: (Date.now() - started) / 1000 },
      `reload failed; still running the previous config: ${why}`,
    );
  }

  /** SIGUSR2: reopen the log sinks' files (logrotate). */
  reopenLogs(): void {
    for (const s of this.router.sinks) s.reopen?.();
  }

  /**
   * SIGTERM/SIGINT: stop capture, end every flow (flow_end rules and records), report
   * owed repeats, drain the sinks up to the deadline, close the stores.
   */
  stop(): Promise<ReplaySummary | null> {
    this.stopPromise ??= this.stopOnce();
    return this.stopPromise;
  }

  private stopPromise: Promise<ReplaySummary | null> | null = null;

  private async stopOnce(): Promise<ReplaySummary | null> {
    this.stopping = true;
    await this.reloading;
    this.log.info("stopping: capture ends, flows are flushed, sinks drain");
    for (const t of this.timers) clearInterval(t);
    for (const s of this.sources) s.stop();
    let summary: ReplaySummary | null = null;
    try {
      try {
        summary = await this.runPromise;
      } catch {
        // A fatal capture error was already reported by finished().
      }
      // What the rate limit held back is reported; owed repeats stay saved for the next start.
      this.router.flushHeld();
      const left = await this.router.close(this.config.alerts.drain_timeout * 1000);
      for (const [sink, n] of Object.entries(left)) {
        if (n > 0)
          this.log.warn(
            { sink, queued: n },
            `alert sink ${sink}: ${n} alert(s) stay queued for the next start`,
          );
      }
    } finally {
      // The listener first, so no request reads a closed store.
      await this.listener?.close();
      this.engine.unwatch();
      this.run.close();
      this.db.close();
      this.log.info("stopped");
    }
    return summary;
  }

  // --- DaemonView ----------------------------------------------------------------

  pipeline(): Pipeline | null {
    return this.pipelineRef;
  }

  captures(): CaptureStatus[] {
    return this.sources.map((s) => {
      const st = s.stats();
      const state = this.states.get(s.name) ?? { state: "starting" as const };
      const out: CaptureStatus = { interface: s.name, state: state.state, ...st };
      if (state.detail !== undefined) out.detail = state.detail;
      return out;
    });
  }

  geoip(): GeoIp | null {
    return this.run.geoip;
  }

  inventory(): Inventory {
    return this.run.inventory;
  }

  rules(): RuleEngine {
    return this.engine;
  }

  alerts(): AlertRouter {
    return this.router;
  }

  ready(): Record<string, ReadyCheck> {
    const down = [...this.states].filter(([, s]) => s.state !== "capturing");
    return {
      capturing:
        down.length === 0
          ? { ok: true }
          : {
              ok: false,
              detail: down
                .map(([i, s]) => `${i}: ${s.state}${s.detail ? ` (${s.detail})` : ""}`)
                .join("; "),
            },
      rules_loaded: {
        ok: this.engine.current.rules.length > 0 || this.config.rules.paths.length === 0,
      },
      store_writable: this.storeOk,
    };
  }

  configReloads(): ConfigReloadStatus {
    return this.reloadStatus;
  }

  // --- upkeep ----------------------------------------------------------------------

  private captureState(name: string, state: CaptureState, detail?: string): void {
    const before = this.states.get(name)?.state;
    this.states.set(name, detail !== undefined ? { state, detail } : { state });
    if (state === before) return;
    if (state === "down")
      this.log.error({ interface: name }, `capture on ${name} is down: ${detail ?? ""}; retrying`);
    else if (state === "capturing") this.log.info({ interface: name }, `capturing on ${name}`);
  }

  /** A drop burst is logged once per interval, with its rate: never hidden. */
  private pollDrops(): void {
    for (const s of this.sources) {
      const st = s.stats();
      const dropped = st.droppedKernel + st.droppedInterface;
      const before = this.lastDrops.get(s.name) ?? dropped;
      this.lastDrops.set(s.name, dropped);
      if (dropped > before) {
        const perSecond = ((dropped - before) * 1000) / STATS_INTERVAL_MS;
        this.log.warn(
          { interface: s.name, dropped: dropped - before, per_second: perSecond },
          `capture on ${s.name} dropped ${dropped - before} packets in the last ${STATS_INTERVAL_MS / 1000} s (${perSecond.toFixed(0)}/s): egressd or the kernel buffer cannot keep up`,
        );
      }
    }
  }

  private checkStore(): void {
    try {
      this.db
        .prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('heartbeat', ?)")
        .run(String(Date.now()));
      this.storeOk = { ok: true };
    } catch (err) {
      this.storeOk = { ok: false, detail: (err as Error).message };
    }
  }
}

function defaultInterface(): string {
  const name = defaultRouteInterface();
  if (name === null)
    throw new DaemonStartError(
      "no default route to pick an interface from: set capture.interfaces in the config (or EGRESSD_CAPTURE_INTERFACES)",
    );
  return name;
}

function ruleOptions(c: EgressdConfig) {
  return {
    variables: c.rules.variables,
    groups: c.devices.groups.map((g) => g.name),
    testFiles: false,
  };
}

/** The rules at start: any error stops the daemon (on reload the old rules keep running). */
function loadEngine(c: EgressdConfig): RuleEngine {
  try {
    return RuleEngine.open(c.rules.paths, ruleOptions(c));
  } catch (err) {
    if (err instanceof RuleLoadError) throw new DaemonStartError(err.message);
    throw err;
  }
}

/** The config's sinks; none configured: JSON lines on standard output. */
function routedSinks(c: EgressdConfig): RoutedSink[] {
  return routeSinks(
    c.alerts.sinks.length > 0
      ? c.alerts.sinks
      : [
          {
            name: "stdout",
            type: "log" as const,
            min_severity: "info" as const,
            queue: { max_items: 100_000, max_age: 7 * 86_400 },
          },
        ],
  );
}

/** The listener's token and certificate, read from their files. */
function httpSecurity(
  c: EgressdConfig,
): Pick<HttpListenerOptions, "token" | "tls" | "allowUnauthenticated"> {
  const read = (key: string, path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      throw new DaemonStartError(`http.${key} ${path}: ${(err as Error).message}`);
    }
  };
  const out: Pick<HttpListenerOptions, "token" | "tls" | "allowUnauthenticated"> = {
    allowUnauthenticated: c.http.allow_unauthenticated,
  };
  if (c.http.token_file !== undefined) {
    const token = read("token_file", c.http.token_file).split("\n")[0]!.trim();
    if (token === "") throw new DaemonStartError(`http.token_file ${c.http.token_file} is empty`);
    out.token = token;
  }
  if ((c.http.cert_file === undefined) !== (c.http.key_file === undefined))
    throw new DaemonStartError("http: set both cert_file and key_file for HTTPS, or neither");
  if (c.http.cert_file !== undefined && c.http.key_file !== undefined) {
    out.tls = { cert: read("cert_file", c.http.cert_file), key: read("key_file", c.http.key_file) };
  }
  return out;
}

/** Sections read once at start: a change there is reported, not applied. */
function needsRestart(a: EgressdConfig, b: EgressdConfig): string[] {
  const keys: (keyof EgressdConfig)[] = ["capture", "http", "sensor", "flows"];
  const out = keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).map(String);
  if (a.baseline.files.length === 0 && b.baseline.files.length > 0)
    out.push("baseline.files (none at start)");
  if (a.devices.max_devices !== b.devices.max_devices) out.push("devices.max_devices");
  if (
    JSON.stringify(a.devices.change_after_update) !== JSON.stringify(b.devices.change_after_update)
  )
    out.push("devices.change_after_update");
  const { sinks: _a, ...alertsA } = a.alerts;
  const { sinks: _b, ...alertsB } = b.alerts;
  if (JSON.stringify(alertsA) !== JSON.stringify(alertsB))
    out.push("alerts (store, dedup, rate limit)");
  if (a.devices.store !== b.devices.store) out.push("devices.store");
  if (JSON.stringify(a.geoip) !== JSON.stringify(b.geoip)) out.push("geoip (paths)");
  return out;
}
