/**
 * Rule reload: the engine swaps in a new set only when it loads without errors and
 * carries counts over; the CLI reloads on SIGHUP and on file change while a capture
 * streams in through a pipe, keeps the old rules when a file is broken, and says so on
 * stderr and in egressd_rules_reload_success at /metrics.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RuleEngine } from "../../src/rules/engine.js";
import { loadRuleFiles, type RuleSet } from "../../src/rules/index.js";
import { PipedReplay } from "../helpers/piped-replay.js";
import { ctx, makeFlow, writeTree } from "./helpers.js";

const rule = (id: string, name: string) => `
  - id: ${id}
    name: Looks up ${name}
    severity: high
    trigger: dns_query
    when:
      dns.query: { suffix: ${name} }
`;

function engineFor(text: string) {
  const root = writeTree({ "r.yaml": text });
  const file = join(root, "r.yaml");
  const first = loadRuleFiles([root], {});
  expect(first.ruleSet).not.toBeNull();
  return { file, engine: new RuleEngine({ ...first, ruleSet: first.ruleSet! }, [root], {}) };
}

function dnsContext(name: string) {
  return ctx("dns_query", makeFlow(), { dns: { queryName: name, queryType: "A", answers: [] } });
}

describe("RuleEngine", () => {
  it("keeps the running rules when a reload has errors, swaps them when it has none", () => {
    const { file, engine } = engineFor(`rules:${rule("R1", "a.example")}`);
    const swaps: [RuleSet, RuleSet][] = [];
    engine.onSwap((next, previous) => swaps.push([next, previous]));
    const first = engine.current;
    expect(first.evaluate(dnsContext("x.a.example")).map((m) => m.rule.id)).toEqual(["R1"]);

    writeFileSync(file, `rules:${rule("R1", "a.example")}  - id: R2\n    name: [broken\n`);
    const failed = engine.reload("test");
    expect(failed.ok).toBe(false);
    expect(failed.rules).toBe(1);
    expect(failed.problems.some((p) => p.severity === "error")).toBe(true);
    expect(engine.current).toBe(first);
    expect(swaps).toEqual([]);
    expect(engine.reloads).toEqual({ success: 0, failure: 1 });

    writeFileSync(file, `rules:${rule("R1", "a.example")}${rule("R2", "b.example")}`);
    const ok = engine.reload("test");
    expect(ok).toMatchObject({ ok: true, rules: 2, cause: "test" });
    expect(engine.current).not.toBe(first);
    expect(swaps).toHaveLength(1);
    engine.current.evaluate(dnsContext("b.example"));
    engine.current.evaluate(dnsContext("a.example"));
    // R1 matched once before the reload and once after: the total carries over.
    const totals = engine.totals();
    expect(totals.matches.get("R1")).toBe(2);
    expect(totals.matches.get("R2")).toBe(1);
    expect(totals.evaluations.get("dns_query")).toBe(3);
  });
});

let replay: PipedReplay | null = null;
afterEach(() => {
  replay?.child.kill("SIGKILL");
  replay = null;
});

const gauge = (text: string, name: string) =>
  Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[1]);

describe("egressd replay --alerts reloads its rules", () => {
  it("on SIGHUP and on file change; a broken file keeps the old rules", async () => {
    const root = writeTree({ "r.yaml": `rules:${rule("R1", "a.example")}` });
    const file = join(root, "r.yaml");
    const r = new PipedReplay([
      "--alerts",
      "--rules",
      root,
      "--metrics",
      "127.0.0.1:0",
      "--no-geoip",
    ]);
    replay = r;
    await r.until(() => r.stderr.includes("metrics at"), "the metrics listener");
    r.query("www.a.example");
    await r.until(() => r.alerts().length === 1, "the first alert");
    expect(await r.metrics()).toMatch(/^egressd_rules_reload_success 1$/m);

    // A broken file: reported, the gauge drops to 0, the old rules keep running.
    writeFileSync(file, `rules:${rule("R1", "a.example")}  - id: R2\n    severity: [\n`);
    r.child.kill("SIGHUP");
    await r.until(
      () => r.stderr.includes("failed; the previous 1 rules keep running"),
      "the failed reload",
    );
    expect(r.stderr).toMatch(/r\.yaml:\d+:\d+: /);
    const broken = await r.metrics();
    expect(gauge(broken, "egressd_rules_reload_success")).toBe(0);
    expect(broken).toMatch(/^egressd_rules_reloads_total\{result="failure"\} [1-9]/m);
    r.query("a.example");
    await r.until(() => r.alerts().length === 2, "an alert from the old rules");

    // Fixed: the file change alone reloads it.
    writeFileSync(file, `rules:${rule("R1", "a.example")}${rule("R2", "b.example")}`);
    await r.until(
      () => /rules reloaded \(file change\): 2 rules/.test(r.stderr),
      "the reload on change",
    );
    r.query("b.example");
    await r.until(() => r.alerts().length === 3, "an alert from the new rule");
    expect(r.alerts()).toEqual(["R1", "R1", "R2"]);
    const fixed = await r.metrics();
    expect(gauge(fixed, "egressd_rules_reload_success")).toBe(1);
    expect(gauge(fixed, "egressd_rules_loaded")).toBe(2);
    expect(fixed).toMatch(/^egressd_rule_matches_total\{rule_id="R1",severity="high"\} 2$/m);
    expect(fixed).toMatch(/^egressd_rule_evaluations_total\{trigger="dns_query"\} 3$/m);
    expect(await r.end()).toBe(0);
  }, 30_000);
});
