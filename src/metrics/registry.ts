/**
 * The Prometheus registry a running egressd exports at /metrics: the process metrics
 * prom-client collects (CPU, memory, event-loop lag, GC; `process_*` and `nodejs_*`), and
 * egressd's own, registered by each part (rules, sinks, capture) under `egressd_*`.
 * Metrics that mirror counters the pipeline already keeps are read at scrape time, so
 * the packet path never touches prom-client.
 */
import { collectDefaultMetrics, Registry } from "prom-client";

/**
 * prom-client's gauges that end in `_total` against Prometheus's naming rules (promtool
 * check metrics rejects them); the handle counts they give are in nodejs_active_*.
 */
const MISNAMED_DEFAULTS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);
  return registry;
}

/** Sets a counter to a total kept elsewhere (prom-client counters only go up: reset, then add). */
export function setCounter(
  counter: { reset(): void; inc(labels: Record<string, string>, value: number): void },
  totals: Iterable<[Record<string, string>, number]>,
): void {
  counter.reset();
  for (const [labels, value] of totals) counter.inc(labels, value);
}

/** Sets an unlabelled counter to a total kept elsewhere. */
export function setTotal(
  counter: { reset(): void; inc(value: number): void },
  value: number,
): void {
  counter.reset();
  counter.inc(value);
}
