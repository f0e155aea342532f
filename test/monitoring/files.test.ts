/**
 * The monitoring files without a running egressd: the dashboard has what Grafana needs to
 * import it (uid, schemaVersion, templating with the datasource, sensor, group and device
 * variables, panels with ids, gridPos that do not overlap, targets on the datasource
 * variable, a description on every panel); the alert rules pass `promtool check rules`
 * and their unit tests (`promtool test rules`, one test per alert); every alert has a
 * summary, a description and a runbook link to a section docs/RUNBOOK.md has; the scrape
 * config passes `promtool check config`. test/monitoring/prometheus.test.ts runs the
 * queries against a real Prometheus scraping a live egressd.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  ALERTS_FILE,
  ALERTS_TEST_FILE,
  allPanels,
  dashboardQueries,
  readAlertRules,
  readDashboard,
  runbookAnchors,
  SCRAPE_FILE,
  variableQueries,
} from "./monitoring-files.js";

/** Panels and variables query the data source the importer picks in the datasource variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's ${variable} syntax, not JavaScript's
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

const dir = mkdtempSync(join(tmpdir(), "egressd-monitoring-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync("promtool", args, { encoding: "utf8", timeout: 30_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("the Grafana dashboard", () => {
  const dashboard = readDashboard();
  const panels = allPanels(dashboard);
  const visible = panels.filter((p) => p.type !== "row");

  it("has the fields Grafana needs to import it", () => {
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(typeof dashboard.title).toBe("string");
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.id ?? null).toBeNull(); // an id would clash with the importing Grafana's
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(Number.isInteger(p.id), `${p.title}: id`).toBe(true);
      expect(typeof p.type, `${p.title}: type`).toBe("string");
      const g = p.gridPos;
      expect(g, `${p.title}: gridPos`).toBeDefined();
      for (const k of ["h", "w", "x", "y"])
        expect(Number.isInteger(g[k]), `${p.title}: ${k}`).toBe(true);
      expect(g.x + g.w, `${p.title}: wider than the grid`).toBeLessThanOrEqual(24);
    }
  });

  it("lays panels out without overlaps", () => {
    const overlaps: string[] = [];
    for (const [i, a] of panels.entries()) {
      for (const b of panels.slice(i + 1)) {
        const A = a.gridPos;
        const B = b.gridPos;
        if (A.x < B.x + B.w && B.x < A.x + A.w && A.y < B.y + B.h && B.y < A.y + A.h)
          overlaps.push(`${a.title} / ${b.title}`);
      }
    }
    expect(overlaps).toEqual([]);
  });

  it("has the rows the issue asks for", () => {
    expect(panels.filter((p) => p.type === "row").map((p) => p.title)).toEqual([
      "Call home",
      "Devices",
      "Sensor health",
    ]);
  });

  it("queries every panel through the datasource variable, and describes every panel", () => {
    for (const p of visible) {
      expect(p.datasource, p.title).toEqual(DATASOURCE);
      expect(p.targets?.length, `${p.title}: targets`).toBeGreaterThan(0);
      for (const t of p.targets) {
        expect(t.refId, p.title).toMatch(/^[A-Z]$/);
        expect(t.expr, p.title).toMatch(/\S/);
        expect(t.datasource, p.title).toEqual(DATASOURCE);
      }
      // What the reader should do when it looks bad, not only what it shows.
      expect(p.description?.length ?? 0, `${p.title}: description`).toBeGreaterThan(120);
    }
    expect(new Set(visible.map((p) => p.title)).size).toBe(visible.length);
  });

  it("has the datasource, sensor, group and device variables, used by the queries", () => {
    const vars = dashboard.templating.list;
    expect(vars.map((v: any) => v.name)).toEqual(["datasource", "sensor", "group", "device"]);
    expect(vars[0]).toMatchObject({ type: "datasource", query: "prometheus" });
    for (const v of vars.slice(1)) {
      expect(v).toMatchObject({ type: "query", includeAll: true, allValue: ".*" });
      expect(v.datasource).toEqual(DATASOURCE);
    }
    expect(variableQueries(dashboard).map((q) => q.label)).toEqual(["sensor", "group", "device"]);
    const exprs = dashboardQueries(dashboard).map((q) => q.expr);
    for (const name of ["sensor", "group", "device"])
      expect(
        exprs.some((e) => e.includes(`$${name}`)),
        name,
      ).toBe(true);
    // Every egressd query is scoped to the chosen sensors.
    for (const q of dashboardQueries(dashboard))
      expect(q.expr, q.where).toContain('sensor=~"$sensor"');
  });

  it("annotates vendor-cloud and firmware alerts", () => {
    const exprs = dashboard.annotations.list
      .filter((a: any) => a.expr !== undefined)
      .map((a: any) => a.expr);
    expect(exprs.some((e: string) => e.includes('rule_id=~"EGR-VC-.*"'))).toBe(true);
    expect(exprs.some((e: string) => e.includes('rule_id=~"EGR-FW-.*"'))).toBe(true);
  });

  it("links only runbook sections that exist", () => {
    const anchors = runbookAnchors();
    const links = visible.flatMap((p) =>
      [...p.description.matchAll(/RUNBOOK\.md#([\w-]+)/g)].map((m) => m[1]),
    );
    expect(links.length).toBeGreaterThan(5);
    expect(links.filter((a) => !anchors.has(a))).toEqual([]);
  });
});

describe("the Prometheus alert rules", () => {
  const rules = readAlertRules();

  it("pass promtool check rules", () => {
    const r = promtool("check", "rules", ALERTS_FILE);
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status).toBe(0);
  });

  it("pass their unit tests, and every alert has one", () => {
    // promtool resolves rule_files relative to the test file: run on a copy beside a copy.
    copyFileSync(ALERTS_FILE, join(dir, "egressd-alerts.yml"));
    copyFileSync(ALERTS_TEST_FILE, join(dir, "egressd-alerts.test.yml"));
    const r = promtool("test", "rules", join(dir, "egressd-alerts.test.yml"));
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
    const tests = readFileSync(ALERTS_TEST_FILE, "utf8");
    for (const rule of rules) {
      // Each alert is expected to fire at least once (a non-empty exp_alerts after its name).
      const firing = new RegExp(`alertname: ${rule.alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`);
      expect(tests, rule.alert).toMatch(firing);
    }
  });

  it("fail their unit tests when an alert's threshold changes", () => {
    // The unit tests must be able to fail: drop-ratio threshold 1% -> 10% stops the alert.
    const changed = readFileSync(ALERTS_FILE, "utf8").replace(
      /(rate\(egressd_capture_received_packets_total\[5m\]\)\)\n\s+)> 0\.01/,
      "$1> 0.1",
    );
    expect(changed).not.toBe(readFileSync(ALERTS_FILE, "utf8"));
    const mutated = mkdtempSync(join(dir, "mutated-"));
    copyFileSync(ALERTS_TEST_FILE, join(mutated, "egressd-alerts.test.yml"));
    writeFileSync(join(mutated, "egressd-alerts.yml"), changed);
    const r = promtool("test", "rules", join(mutated, "egressd-alerts.test.yml"));
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/alertname: EgressdCaptureDropping/);
  });

  it("cover the conditions the issue lists", () => {
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        "EgressdDown",
        "EgressdNotCapturing",
        "EgressdCaptureDropping",
        "EgressdDecodeAnomaliesSpiking",
        "EgressdRuleReloadFailing",
        "EgressdGeoipStale",
        "EgressdAlertQueueGrowing",
        "EgressdAlertDeliveryFailing",
        "EgressdCallHomeCritical",
        "EgressdCallHomeHigh",
      ]),
    );
  });

  it("each have a severity, summary, description and a runbook section that exists", () => {
    const anchors = runbookAnchors();
    for (const rule of rules) {
      expect(rule.labels?.severity, rule.alert).toMatch(/^(critical|warning|info)$/);
      expect(rule.annotations?.summary, rule.alert).toMatch(/\S/);
      expect(rule.annotations?.description?.length ?? 0, rule.alert).toBeGreaterThan(60);
      const m = /^docs\/RUNBOOK\.md#([\w-]+)$/.exec(rule.annotations?.runbook ?? "");
      expect(m, `${rule.alert}: runbook`).not.toBeNull();
      expect(anchors.has(m![1] as string), `${rule.alert}: #${m![1]} in docs/RUNBOOK.md`).toBe(
        true,
      );
    }
  });
});

describe("the scrape config", () => {
  it("passes promtool check config", () => {
    const r = promtool("check", "config", SCRAPE_FILE);
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });
});
