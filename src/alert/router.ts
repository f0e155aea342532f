/**
 * Where a rule match goes after the rules: dedup (repeats folded into a count), the global
 * rate limit (a storm held back and summarised), then, in one SQLite transaction, the
 * alert store and a copy in the durable queue of every sink whose severity filter it
 * passes; the dispatcher then delivers from the queues. Without a store (a replay with no
 * sinks) alerts only go to the output callback.
 *
 *   rules --match--> AlertRouter: dedup -> rate limit -> store + queues -> Dispatcher -> sinks
 */
import type { AlertsConfig } from "../config/config.js";
import { formatTimestamp } from "../output/format.js";
import type { RuleMatch, Severity } from "../rules/index.js";
import type { Database } from "../store/sqlite.js";
import { AlertDedup, type DedupEntry, type Repeats } from "./dedup.js";
import { Dispatcher, type DispatcherHooks, passes } from "./dispatcher.js";
import { alertDevice, alertId, dedupKey } from "./identity.js";
import { AlertQueues, type QueueBounds } from "./queue.js";
import { AlertRateLimit, type HeldBack } from "./rate-limit.js";
import type { AlertSink } from "./sinks/sink.js";
import { AlertStore } from "./store.js";

type JsonRecord = Record<string, unknown>;

export interface RoutedSink {
  sink: AlertSink;
  minSeverity: Severity;
  bounds: QueueBounds;
}

export interface AlertRouterOptions {
  /** observer.name in every alert. */
  sensor: string;
  /** observer.ingress.interface.name, when known. */
  interfaceName?: string;
  config: AlertsConfig;
  /** The store and queues; null keeps everything in memory and delivers to no sink. */
  db: Database | null;
  sinks: readonly RoutedSink[];
  /** Every alert that goes out (after dedup and rate limit), e.g. replay's stdout. */
  output?: (record: JsonRecord) => void;
  log: (level: "info" | "warn" | "error", message: string) => void;
  dispatcher?: Omit<DispatcherHooks, "onError">;
  /** The store refused a write (for the readiness check). */
  onStoreError?: (err: Error) => void;
}

export interface RouterStats {
  /** Rule matches handed in. */
  matches: number;
  /** Alerts that went out (stored and queued), summaries included. */
  sent: number;
  folded: number;
  heldBack: number;
  summaries: number;
  /** Alerts the store could not take (disk full, I/O error, locked): logged, not queued. */
  storeErrors: number;
  /** Alerts sent, by rule id and severity ("EGR-VC-001 high"). */
  sentByRule: Map<string, number>;
}

export const RATE_LIMIT_RULE_ID = "EGRESSD-RATE-LIMIT";
/** At most one summary of what the rate limit held back per this much packet time. */
const HELD_SUMMARY_MS = 10_000;

export class AlertRouter {
  readonly stats: RouterStats = {
    matches: 0,
    sent: 0,
    folded: 0,
    heldBack: 0,
    summaries: 0,
    storeErrors: 0,
    sentByRule: new Map(),
  };
  readonly dedup: AlertDedup;
  readonly store: AlertStore | null;
  readonly queues: AlertQueues | null;
  dispatcher: Dispatcher | null;
  private routed: readonly RoutedSink[];
  private readonly limit: AlertRateLimit;
  private readonly defaultCooldownMs: number;
  private readonly observer: JsonRecord;
  private persistTimer: NodeJS.Timeout | null = null;
  /** The latest packet time seen (ms). */
  private latestMs = 0;
  private lastHeldSummaryMs = Number.NEGATIVE_INFINITY;
  private lastDueMs = Number.NEGATIVE_INFINITY;
  private lastStoreErrorLogMs = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(private readonly options: AlertRouterOptions) {
    const c = options.config;
    this.routed = options.sinks;
    this.defaultCooldownMs = c.cooldown * 1000;
    this.dedup = new AlertDedup({ maxKeys: c.max_dedup_keys });
    this.limit = new AlertRateLimit(c.rate_limit.per_second, c.rate_limit.burst);
    this.observer = { name: options.sensor, product: "egressd", type: "ids" };
    if (options.interfaceName !== undefined) {
      this.observer.ingress = { interface: { name: options.interfaceName } };
    }
    if (options.db === null) {
      this.store = null;
      this.queues = null;
      this.dispatcher = null;
      return;
    }
    this.store = new AlertStore(options.db, {
      maxAgeMs: c.retention.max_age * 1000,
      maxAlerts: c.retention.max_alerts,
    });
    this.dedup.restore(this.store.loadDedup());
    this.queues = new AlertQueues(options.db, {
      onDrop: (sink, reason, count) =>
        options.log(
          "warn",
          `alert sink ${sink}: ${count} alert(s) dropped from its queue (${reason === "overflow" ? "queue full" : "older than its max_age"})`,
        ),
    });
    for (const s of options.sinks) this.queues.configure(s.sink.name, s.bounds);
    for (const orphan of this.queues.queuedSinks()) {
      if (!options.sinks.some((s) => s.sink.name === orphan)) {
        options.log(
          "warn",
          `alert queue "${orphan}" holds ${this.queues.depth(orphan)} undelivered alert(s) for a sink no longer configured; they are kept`,
        );
      }
    }
    this.dispatcher = this.newDispatcher();
  }

  private newDispatcher(): Dispatcher {
    const options = this.options;
    return new Dispatcher(
      this.queues!,
      this.routed.map((s) => s.sink),
      {
        ...options.dispatcher,
        onError: (err) => options.log("error", `alert dispatcher: ${err.message}`),
      },
    );
  }

  /**
   * New sinks (a config reload): the old ones finish their delivery in flight and close;
   * alerts queued for a sink that keeps its name stay queued for the new one.
   */
  async replaceSinks(sinks: readonly RoutedSink[]): Promise<void> {
    if (this.queues === null || this.closed) {
      for (const s of sinks) await s.sink.close();
      return;
    }
    // Swapped before any await: a second reload, or an alert, sees only the new set.
    const old = this.routed;
    const oldDispatcher = this.dispatcher;
    this.routed = sinks;
    for (const s of sinks) this.queues.configure(s.sink.name, s.bounds);
    this.dispatcher = this.newDispatcher();
    await oldDispatcher?.stop();
    for (const s of old) await s.sink.close();
    if (!this.closed) this.dispatcher.start();
  }

  get sinks(): AlertSink[] {
    return this.routed.map((s) => s.sink);
  }

  /** Starts delivery (alerts queued by an earlier run go first) and the dedup saver. */
  start(): void {
    this.dispatcher?.start();
    if (this.store !== null) {
      this.persistTimer = setInterval(() => this.persistDedup(), 5000);
      this.persistTimer.unref();
    }
  }

  /** A rule match at packet time `tsMs`, its ECS record built by alertRecord(). */
  submit(record: JsonRecord, match: RuleMatch, tsMs: number): void {
    this.stats.matches++;
    if (tsMs > this.latestMs) this.latestMs = tsMs;
    const key = dedupKey(record);
    if (this.dedup.isRepeat(key, tsMs)) {
      this.dedup.fold(key, tsMs, record);
      this.stats.folded++;
      return;
    }
    const rule = match.rule;
    this.reportHeld(tsMs);
    if (!this.limit.take(tsMs, rule.id, rule.severity)) {
      this.stats.heldBack++;
      return;
    }
    const evicted: DedupEntry[] = [];
    const cooldownMs = (rule.cooldownSeconds ?? this.defaultCooldownMs / 1000) * 1000;
    const before = this.dedup.snapshot(key);
    const repeats = this.dedup.sent(key, rule.id, cooldownMs, tsMs, evicted);
    // Not stored: the key is not "sent", so its next match is tried again, not folded.
    if (!this.emit(record, rule.severity, key, repeats, "")) this.dedup.putBack(key, before);
    for (const e of evicted) this.summarise(e, e.lastFoldedMs);
    this.tick(tsMs);
    if (this.store === null) this.dedup.clearDirty();
  }

  /** Packet time moved on: summaries of repeats whose cooldown ended, and of a storm held back. */
  tick(nowMs: number): void {
    if (nowMs > this.latestMs) this.latestMs = nowMs;
    // Packet time stepped back a lot (NTP on the sensor): restart the interval clocks.
    if (nowMs < this.lastDueMs - 60_000) this.lastDueMs = Number.NEGATIVE_INFINITY;
    if (nowMs < this.lastHeldSummaryMs - 60_000) this.lastHeldSummaryMs = Number.NEGATIVE_INFINITY;
    // due() looks at every key: once per second of packet time is often enough for
    // cooldowns of minutes, and keeps a storm of matches from paying it per match.
    if (nowMs - this.lastDueMs >= 1000) {
      this.lastDueMs = nowMs;
      for (const e of this.dedup.due(nowMs)) this.summarise(e, nowMs);
    }
    this.reportHeld(nowMs);
  }

  /**
   * What a storm held back goes out once per HELD_SUMMARY_MS of packet time, before the
   * next new alert can take the free token: a storm that goes on still gets its summary
   * out, and summaries never take the place of more than one alert per interval.
   */
  private reportHeld(nowMs: number): void {
    if (nowMs - this.lastHeldSummaryMs < HELD_SUMMARY_MS) return;
    const held = this.limit.takeHeld(nowMs);
    if (held === null) return;
    this.lastHeldSummaryMs = nowMs;
    this.heldSummary(held, nowMs);
  }

  /** Shutdown: what the rate limit held back is reported (owed repeats are saved instead). */
  flushHeld(): void {
    const held = this.limit.takeHeld(this.latestMs, true);
    if (held !== null) this.heldSummary(held, this.latestMs);
  }

  /** The end of a replay: every repeat still owed and anything held back is reported now. */
  finish(): void {
    const nowMs = this.latestMs;
    // All owed repeats, but the new cooldown starts at nowMs: an infinite time would be
    // saved as the key's last send and fold its alerts forever after a restart.
    for (const e of this.dedup.due(nowMs, true)) this.summarise(e, nowMs);
    const held = this.limit.takeHeld(nowMs, true);
    if (held !== null) this.heldSummary(held, nowMs);
  }

  /** Saves the dedup state, gives the sinks `drainMs` to empty their queues, stops. */
  async close(drainMs: number): Promise<Record<string, number>> {
    this.closed = true;
    if (this.persistTimer !== null) clearInterval(this.persistTimer);
    this.persistDedup();
    let left: Record<string, number> = {};
    if (this.dispatcher !== null) {
      left = await this.dispatcher.drain(Date.now() + drainMs);
      await this.dispatcher.stop();
    }
    for (const s of this.routed) await s.sink.close();
    return left;
  }

  private persistDedup(): void {
    const store = this.store;
    if (store === null) return;
    const changes = this.dedup.takeDirty();
    if (changes.length === 0) return;
    try {
      store.transaction(() => store.saveDedup(changes));
    } catch (err) {
      // Kept to try again: a full disk must not lose the fold state, nor kill the daemon.
      this.dedup.markDirty(changes.map((c) => c.key));
      this.storeFailed(err as Error);
    }
  }

  /** The store refused a write: counted, logged (once per minute), queue counts re-read. */
  private storeFailed(err: Error): void {
    this.stats.storeErrors++;
    this.queues?.resync();
    this.options.onStoreError?.(err);
    const now = Date.now();
    if (now - this.lastStoreErrorLogMs >= 60_000) {
      this.lastStoreErrorLogMs = now;
      this.options.log(
        "error",
        `alert store write failed (${this.stats.storeErrors} so far): ${err.message}; alerts are not stored or queued until it works again`,
      );
    }
  }

  /** One alert out: id, dedup key, repeats, observer; stored and queued in one transaction. */
  /** False when the store refused it (it still goes to the output callback). */
  private emit(
    record: JsonRecord,
    severity: Severity,
    key: string,
    repeats: Repeats | null,
    salt: string,
  ): boolean {
    const egressd = child(record, "egressd");
    egressd.dedup_key = key;
    if (repeats !== null) {
      egressd.repeat = {
        count: repeats.count,
        first: isoMs(repeats.firstMs),
        last: isoMs(repeats.lastMs),
      };
    }
    record.observer = this.observer;
    const ruleKey = `${String((record.rule as JsonRecord | undefined)?.id ?? "")} ${severity}`;
    this.stats.sentByRule.set(ruleKey, (this.stats.sentByRule.get(ruleKey) ?? 0) + 1);
    const id = alertId(record, this.options.sensor, key, salt);
    const event = child(record, "event");
    event.id = id;
    this.stats.sent++;
    const store = this.store;
    if (store !== null) {
      const json = JSON.stringify(record);
      const tsMs = Date.parse(String(record["@timestamp"]).replace(/\.(\d{3})\d*Z$/, ".$1Z"));
      try {
        store.transaction(() => {
          store.insert({
            id,
            tsMs: Number.isFinite(tsMs) ? tsMs : 0,
            ruleId: String((record.rule as JsonRecord | undefined)?.id ?? ""),
            severity,
            device: alertDevice(record),
            dedupKey: key,
            json,
          });
          for (const s of this.routed) {
            if (passes(s.minSeverity, severity))
              this.queues!.enqueue(s.sink.name, { id, json, severity }, Date.now());
          }
          // This key's fold state goes with the alert, so a crash cannot send it twice; the
          // other keys' counts are saved every few seconds (persistDedup), not per alert.
          store.saveDedup(this.dedup.takeDirtyKey(key));
        });
      } catch (err) {
        this.stats.sent--;
        this.storeFailed(err as Error);
        this.options.output?.(record);
        return false;
      }
      this.dispatcher!.notify();
    }
    this.options.output?.(record);
    return true;
  }

  /** The repeats owed for a key, as one alert built from the last one folded. */
  private summarise(e: DedupEntry, nowMs: number): void {
    if (e.pending === null) return;
    const record = (
      typeof e.pending === "string" ? JSON.parse(e.pending) : e.pending
    ) as JsonRecord;
    const count = e.folded;
    record.message = `${count} more like this between ${isoMs(e.firstFoldedMs)} and ${isoMs(e.lastFoldedMs)}: ${String(record.message ?? "")}`;
    const egressd = child(record, "egressd");
    egressd.summary = true;
    this.stats.summaries++;
    const severity = (egressd.severity as Severity | undefined) ?? "info";
    this.emit(
      record,
      severity,
      e.key,
      { count, firstMs: e.firstFoldedMs, lastMs: e.lastFoldedMs },
      `summary@${nowMs}`,
    );
  }

  private heldSummary(h: HeldBack, nowMs: number): void {
    const byRule = [...h.byRule].sort((a, b) => b[1] - a[1]);
    const list = byRule.map(([id, n]) => `${id}: ${n}`).join(", ");
    const record: JsonRecord = {
      "@timestamp": isoMs(nowMs),
      event: {
        kind: "alert",
        category: ["network"],
        action: "rate_limit",
        dataset: "egressd.alert",
      },
      rule: {
        id: RATE_LIMIT_RULE_ID,
        name: "Alert rate limit held alerts back",
        description:
          "More alerts came than alerts.rate_limit lets through (a storm: often one device scanning or calling many destinations). They were counted per rule, not sent one by one; look at the busiest rule's device.",
      },
      message: `${h.total} alerts held back by the rate limit between ${isoMs(h.firstMs)} and ${isoMs(h.lastMs)} (${list})`,
      egressd: {
        trigger: "rate_limit",
        severity: h.severity,
        held_back: { total: h.total, by_rule: Object.fromEntries(byRule) },
      },
    };
    this.stats.summaries++;
    this.emit(record, h.severity, `${RATE_LIMIT_RULE_ID}|-|-`, null, `held@${nowMs}`);
  }
}

/** record[key] as an object, created when absent. */
function child(record: JsonRecord, key: string): JsonRecord {
  let v = record[key];
  if (v === null || typeof v !== "object") {
    v = {};
    record[key] = v;
  }
  return v as JsonRecord;
}

/** Packet time in ms (fractional: microseconds and below kept) as ECS text. */
function isoMs(ms: number): string {
  const sec = Math.floor(ms / 1000);
  // Microseconds: a ms double cannot carry nanoseconds exactly, so print no false digits.
  const us = Math.min(999_999, Math.round((ms - sec * 1000) * 1000));
  return formatTimestamp(sec, us * 1000);
}
