/**
 * Rule metrics, read from the RuleEngine at scrape time: whether the last reload worked
 * (`egressd_rules_reload_success`, as Prometheus's own config_last_reload_successful),
 * when the rules last loaded, reloads by result, rules running, contexts evaluated per
 * trigger, matches per rule and severity, matches each exception suppressed. Totals carry
 * over reloads, so counters never go back.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { RuleEngine } from "../rules/engine.js";
import { setCounter } from "./registry.js";

export function registerRuleMetrics(registry: Registry, engine: RuleEngine): void {
  const registers = [registry];
  new Gauge({
    name: "egressd_rules_reload_success",
    help: "1 when the last rule reload succeeded (or none was tried), 0 when it failed and the previous rules still run",
    registers,
    collect() {
      this.set(engine.lastReload === null || engine.lastReload.ok ? 1 : 0);
    },
  });
  new Gauge({
    name: "egressd_rules_last_reload_success_timestamp_seconds",
    help: "Wall-clock time the running rules were loaded",
    registers,
    collect() {
      this.set(engine.lastSuccessMs / 1000);
    },
  });
  new Gauge({
    name: "egressd_rules_last_reload_duration_seconds",
    help: "Seconds the last reload took to load and compile the rule files",
    registers,
    collect() {
      this.set(engine.lastReload?.seconds ?? 0);
    },
  });
  new Counter({
    name: "egressd_rules_reloads_total",
    help: "Rule reloads by result",
    labelNames: ["result"],
    registers,
    collect() {
      setCounter(this, [
        [{ result: "success" }, engine.reloads.success],
        [{ result: "failure" }, engine.reloads.failure],
      ]);
    },
  });
  new Gauge({
    name: "egressd_rules_loaded",
    help: "Enabled rules running",
    registers,
    collect() {
      this.set(engine.current.rules.filter((r) => r.enabled).length);
    },
  });
  new Counter({
    name: "egressd_rule_evaluations_total",
    help: "Rule contexts evaluated, by trigger",
    labelNames: ["trigger"],
    registers,
    collect() {
      const totals = engine.totals().evaluations;
      setCounter(
        this,
        [...totals].map(([trigger, n]) => [{ trigger }, n]),
      );
    },
  });
  new Counter({
    name: "egressd_rule_matches_total",
    help: "Rule matches (before alert dedup), by rule and severity",
    labelNames: ["rule_id", "severity"],
    registers,
    collect() {
      const severity = new Map(engine.current.rules.map((r) => [r.id, r.severity]));
      const totals = engine.totals().matches;
      setCounter(
        this,
        [...totals].map(([id, n]) => [{ rule_id: id, severity: severity.get(id) ?? "unknown" }, n]),
      );
    },
  });
  new Counter({
    name: "egressd_rule_exception_hits_total",
    help: "Matches an exception (allow-list entry) suppressed, by exception",
    labelNames: ["exception_id"],
    registers,
    collect() {
      const totals = engine.totals().exceptions;
      setCounter(
        this,
        [...totals].map(([id, n]) => [{ exception_id: id }, n]),
      );
    },
  });
  new Gauge({
    name: "egressd_rule_exceptions_expired",
    help: "Exceptions whose expiry date has passed (they no longer apply; edit or remove them)",
    registers,
    collect() {
      this.set(engine.current.exceptionStats().filter((e) => e.expired).length);
    },
  });
}
