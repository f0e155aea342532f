/**
 * Alert metrics: what the AlertRouter did with rule matches (sent, folded into repeats,
 * held back by the rate limit, summaries), the store, and per sink the durable queue
 * (depth, oldest alert's age, drops) read at scrape time; deliveries, failures, rejects
 * and delivery latency counted by the dispatcher's hooks (once per batch, never per
 * packet). Rule matches themselves are in rule-metrics.ts.
 *
 * The daemon passes alertDeliveryHooks(registry) to the router it creates and calls
 * registerAlertMetrics(registry, view) once; either may come first.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { DispatcherHooks } from "../alert/dispatcher.js";
import type { DaemonView } from "../daemon/view.js";
import { setCounter, setTotal } from "./registry.js";

/** Delivery latency buckets: a local syslog takes milliseconds, a webhook over the WAN seconds. */
const DELIVERY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The hook-fed metrics of one registry. */
interface DeliveryMetrics {
  batches: Counter<"sink">;
  delivered: Counter<"sink">;
  failures: Counter<"sink">;
  rejected: Counter<"sink">;
  latency: Histogram<"sink">;
  /** Sinks with a latency series already (zero() would wipe one). */
  timed: Set<string>;
  /** Where the configured sink names come from, so each shows 0 before its first delivery. */
  sinks: { names: () => string[] };
}

const deliveryMetrics = new WeakMap<Registry, DeliveryMetrics>();

function deliveryMetricsOf(registry: Registry): DeliveryMetrics {
  const existing = deliveryMetrics.get(registry);
  if (existing !== undefined) return existing;
  const registers = [registry];
  const sinks = { names: (): string[] => [] };
  const timed = new Set<string>();
  // Every configured sink shows 0 before its first delivery, so rate() has a start.
  const counter = (name: string, help: string) =>
    new Counter({
      name,
      help,
      labelNames: ["sink"],
      registers,
      collect() {
        for (const sink of sinks.names()) this.inc({ sink }, 0);
      },
    });
  const m: DeliveryMetrics = {
    batches: counter("egressd_alert_deliveries_total", "Batches of alerts a sink accepted"),
    delivered: counter("egressd_alerts_delivered_total", "Alerts a sink accepted"),
    failures: counter(
      "egressd_alert_delivery_failures_total",
      "Deliveries that failed and will be retried (the alerts stay queued)",
    ),
    rejected: counter(
      "egressd_alerts_rejected_total",
      "Alerts a receiver refused for good (e.g. HTTP 400): dropped from the queue, still in the store",
    ),
    latency: new Histogram({
      name: "egressd_alert_delivery_duration_seconds",
      help: "How long a sink took to accept a batch",
      labelNames: ["sink"],
      buckets: DELIVERY_BUCKETS,
      registers,
      collect() {
        for (const sink of sinks.names()) {
          if (timed.has(sink)) continue;
          timed.add(sink);
          this.zero({ sink });
        }
      },
    }),
    timed,
    sinks,
  };
  deliveryMetrics.set(registry, m);
  return m;
}

/** The dispatcher hooks that count deliveries into `registry`. */
export function alertDeliveryHooks(registry: Registry): Omit<DispatcherHooks, "onError"> {
  const m = deliveryMetricsOf(registry);
  return {
    onDelivered(sink, count, seconds) {
      m.batches.inc({ sink });
      m.delivered.inc({ sink }, count);
      m.timed.add(sink);
      m.latency.observe({ sink }, seconds);
    },
    onFailure(sink) {
      m.failures.inc({ sink });
    },
    onRejected(sink, count) {
      m.rejected.inc({ sink }, count);
    },
  };
}

export function registerAlertMetrics(registry: Registry, view: DaemonView): void {
  const registers = [registry];
  deliveryMetricsOf(registry).sinks.names = () => view.alerts().sinks.map((s) => s.name);

  const routerTotal = (name: string, help: string, value: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        setTotal(this, value());
      },
    });
  const stats = () => view.alerts().stats;
  new Counter({
    name: "egressd_alerts_sent_total",
    help: "Alerts that went out (stored and queued for the sinks), summaries included, by rule and severity",
    labelNames: ["rule_id", "severity"],
    registers,
    collect() {
      setCounter(
        this,
        [...stats().sentByRule].map(([key, n]) => {
          const [rule_id, severity] = key.split(" ") as [string, string];
          return [{ rule_id, severity }, n];
        }),
      );
    },
  });
  routerTotal(
    "egressd_alerts_folded_total",
    "Rule matches folded into a repeat count (same dedup key within the rule's cooldown)",
    () => stats().folded,
  );
  routerTotal(
    "egressd_alerts_held_back_total",
    "Rule matches held back by alerts.rate_limit (reported in a summary alert)",
    () => stats().heldBack,
  );
  routerTotal(
    "egressd_alert_summaries_total",
    "Summary alerts sent: repeats owed after a cooldown, or a storm held back",
    () => stats().summaries,
  );

  new Gauge({
    name: "egressd_alerts_stored",
    help: "Alerts in the alert store",
    registers,
    collect() {
      this.set(view.alerts().store?.count() ?? 0);
    },
  });
  routerTotal(
    "egressd_alerts_pruned_total",
    "Alerts deleted from the store by retention (alerts.retention) since start",
    () => view.alerts().store?.pruned ?? 0,
  );

  /** Configured sinks, and queues left by sinks no longer configured (they hold alerts). */
  const queueNames = (): string[] => {
    const router = view.alerts();
    if (router.queues === null) return [];
    return [...new Set([...router.sinks.map((s) => s.name), ...router.queues.queuedSinks()])];
  };
  new Gauge({
    name: "egressd_alert_queue_depth",
    help: "Alerts waiting in a sink's durable queue",
    labelNames: ["sink"],
    registers,
    collect() {
      this.reset();
      const queues = view.alerts().queues;
      for (const sink of queueNames()) this.set({ sink }, queues!.depth(sink));
    },
  });
  new Gauge({
    name: "egressd_alert_queue_oldest_age_seconds",
    help: "How long the oldest alert in a sink's queue has waited (0 when empty)",
    labelNames: ["sink"],
    registers,
    collect() {
      this.reset();
      const queues = view.alerts().queues;
      const now = Date.now();
      for (const sink of queueNames()) this.set({ sink }, queues!.oldestAgeMs(sink, now) / 1000);
    },
  });
  new Counter({
    name: "egressd_alert_queue_dropped_total",
    help: "Alerts dropped from a sink's queue undelivered since start: reason=overflow (queue full) or expired (older than its max_age)",
    labelNames: ["sink", "reason"],
    registers,
    collect() {
      const router = view.alerts();
      const queues = router.queues;
      if (queues === null) {
        this.reset();
        return;
      }
      setCounter(
        this,
        router.sinks.flatMap((s): [Record<string, string>, number][] => {
          const q = queues.stats(s.name);
          return [
            [{ sink: s.name, reason: "overflow" }, q.overflow],
            [{ sink: s.name, reason: "expired" }, q.expired],
          ];
        }),
      );
    },
  });
  new Gauge({
    name: "egressd_alert_sink_consecutive_failures",
    help: "Deliveries to the sink that failed in a row (0: the last one worked)",
    labelNames: ["sink"],
    registers,
    collect() {
      this.reset();
      const status = view.alerts().dispatcher?.status() ?? {};
      for (const [sink, s] of Object.entries(status)) this.set({ sink }, s.consecutiveFailures);
    },
  });
  new Gauge({
    name: "egressd_alert_sink_last_success_timestamp_seconds",
    help: "Wall-clock time the sink last accepted a batch (0: not since start)",
    labelNames: ["sink"],
    registers,
    collect() {
      this.reset();
      const status = view.alerts().dispatcher?.status() ?? {};
      for (const [sink, s] of Object.entries(status))
        this.set({ sink }, (s.lastSuccessMs ?? 0) / 1000);
    },
  });
}
