/**
 * The monitoring files users import (Grafana dashboard, Prometheus alert rules, scrape
 * config, runbook) read the way the tests need them: every PromQL expression of the
 * dashboard with where it comes from, Grafana's variable substitution, and the runbook's
 * section anchors as GitHub renders them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { ROOT } from "../edge-cases/cli.js";

export const DASHBOARD_FILE = join(ROOT, "config/grafana/egressd-dashboard.json");
export const ALERTS_FILE = join(ROOT, "config/prometheus/egressd-alerts.yml");
export const ALERTS_TEST_FILE = join(ROOT, "config/prometheus/egressd-alerts.test.yml");
export const SCRAPE_FILE = join(ROOT, "config/prometheus/scrape-egressd.yml");
export const RUNBOOK_FILE = join(ROOT, "docs/RUNBOOK.md");

export function readDashboard(): any {
  return JSON.parse(readFileSync(DASHBOARD_FILE, "utf8"));
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function readAlertRules(): AlertRule[] {
  const doc = parse(readFileSync(ALERTS_FILE, "utf8"));
  return doc.groups.flatMap((g: { rules: AlertRule[] }) => g.rules);
}

/** One PromQL expression of the dashboard: a panel target, an annotation or a variable. */
export interface DashboardQuery {
  where: string;
  expr: string;
}

/** Panels inside rows (collapsed rows keep theirs in `panels`) and at the top level. */
export function allPanels(dashboard: any): any[] {
  return dashboard.panels.flatMap((p: any) => [p, ...(p.panels ?? [])]);
}

export function dashboardQueries(dashboard: any): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  for (const panel of allPanels(dashboard)) {
    for (const t of panel.targets ?? [])
      queries.push({ where: `panel "${panel.title}" ${t.refId}`, expr: t.expr });
  }
  for (const a of dashboard.annotations.list) {
    if (a.expr !== undefined) queries.push({ where: `annotation "${a.name}"`, expr: a.expr });
  }
  return queries;
}

/** The query variables' label_values(selector, label), in the order Grafana resolves them. */
export function variableQueries(
  dashboard: any,
): { name: string; selector: string; label: string }[] {
  return dashboard.templating.list
    .filter((v: any) => v.type === "query")
    .map((v: any) => {
      const q = typeof v.query === "string" ? v.query : v.query.query;
      const m = /^label_values\((.*),\s*(\w+)\)$/.exec(q);
      if (m === null) throw new Error(`variable ${v.name}: not label_values(...): ${q}`);
      return { name: v.name as string, selector: m[1] as string, label: m[2] as string };
    });
}

/**
 * Grafana's interpolation of a Prometheus query: $var and ${var} by the values given
 * (already in their regex form: ".*" for All, "a|b" for several), built-in intervals too.
 * Longest names first, so $__rate_interval is not read as $__rate followed by text.
 */
export function substitute(expr: string, values: Record<string, string>): string {
  let out = expr;
  for (const name of Object.keys(values).sort((a, b) => b.length - a.length)) {
    const value = values[name] as string;
    out = out.split(`\${${name}}`).join(value).split(`$${name}`).join(value);
  }
  return out;
}

/** The GitHub anchor of a Markdown heading: lower case, punctuation dropped, spaces to "-". */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");
}

/** Anchors of the runbook's sections. */
export function runbookAnchors(): Set<string> {
  const text = readFileSync(RUNBOOK_FILE, "utf8");
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => headingAnchor(m[1] as string)));
}

/** Metric names an expression selects (egressd's, the process's, and `up`). */
export function metricNames(expr: string): string[] {
  const names = expr.match(/(?<!")\b(?:egressd|process|nodejs)_[a-z0-9_]+\b|\bup(?=\{)/g) ?? [];
  return [...new Set(names)];
}
