import { parseArgs } from "node:util";
import { CaptureFormatError } from "../capture/source.js";
import type { EgressdConfig } from "../config/config.js";
import { ConfigError } from "../config/errors.js";
import { loadConfig, parseConfig } from "../config/load.js";
import { fieldAt } from "../output/record-path.js";
import { UnsupportedLinkTypeError } from "../pipeline.js";
import {
  formatRuleProblem,
  type LoadOptions,
  loadRuleFiles,
  type RuleProblem,
} from "../rules/index.js";
import type { RuleTestCase, RuleTestExpect } from "../rules/load.js";
import type { WhereValue } from "../rules/schema.js";
import { type JsonRecord, runCaptureWithRules } from "./capture-run.js";
import { ExitCode, InputError, UsageError } from "./errors.js";
import { parseRuleVariables } from "./rule-variables.js";
import { tableLines, terminalSafe } from "./text-table.js";

export const DEFAULT_RULES_PATH = "rules/";

export const RULES_HELP = `Usage: egressd rules check [options] [PATH...]
       egressd rules list [options] [PATH...]
       egressd rules test [options] [PATH...]

PATH is a rule file or a folder of them (*.yaml, *.yml, read recursively; the
sets/ folder inside holds set files, tests/ folders hold test captures and
configs). Default: ${DEFAULT_RULES_PATH}

check   validates the rules and prints every problem as FILE:LINE:COL: message on
        standard error (warnings marked "warning:"): YAML syntax, unknown fields
        and keys (with a did-you-mean), wrong types and values, bad severities
        and triggers, conditions a rule's trigger never knows (http.method on
        dns_query), duplicate ids across files, undefined sets and variables,
        unreadable set file lines, rules that can never match (udp with
        tls.sni), and rules an exception without expiry always suppresses.
        Prints "PATH...: ok (N rules, ...)" on standard output when valid.
        Checks the files' tests: too (rule ids, capture and config files).
list    the rules as a table: id, severity, trigger, hits since the rules were
        loaded (0 here: the daemon serves live counts), tags, name.
test    runs the test cases of the rule files (tests: a capture, its config and
        variables, the alerts it must raise and those it must not) with all the
        rules given, and prints "PASS FILE:LINE NAME" or "FAIL FILE:LINE NAME"
        with one indented line per unmet expectation, then a count.

Options:
      --var NAME=VALUE  set a rule variable, as the daemon config would (may be
                        repeated); a VALUE with commas is a list: CN,RU,KP
      --sets DIR        where set files are (default: the sets folder next to
                        the rule files; shipped sets such as vendor_clouds are
                        always available)
      --json            list: one JSON object per rule; test: one per test
                        case (JSON Lines)
  -h, --help            show this help

See docs/RULES.md for the rule language.

Exit status: 0 when the rules are valid (warnings allowed) and, for test, every
case passes; 1 when there is any error, a path cannot be read or a test fails;
2 on a usage error.
`;

function printProblems(problems: readonly RuleProblem[]): void {
  let text = "";
  for (const p of problems) text += `${formatRuleProblem(p)}\n`;
  if (text !== "") process.stderr.write(text);
}

function table(headers: string[], rows: string[][]): string {
  return tableLines(headers, rows)
    .map((l) => `${l}\n`)
    .join("");
}

/** `egressd rules check|list`. Returns the exit code. */
export async function runRules(args: string[]): Promise<number> {
  let parsed: {
    values: { help?: boolean; json?: boolean; sets?: string; var?: string[] };
    positionals: string[];
  };
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        json: { type: "boolean" },
        sets: { type: "string" },
        var: { type: "string", multiple: true },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(RULES_HELP);
    return ExitCode.OK;
  }
  const [command, ...rest] = positionals;
  if (command === undefined) {
    throw new UsageError(
      "rules needs a subcommand: check or list (validate or show the rules), or test (run their tests)",
    );
  }
  if (command !== "check" && command !== "list" && command !== "test") {
    throw new UsageError(`unknown rules subcommand "${command}"; known: check, list, test`);
  }
  if (command === "check" && values.json) throw new UsageError("--json is for rules list");
  const paths = rest.length > 0 ? rest : [DEFAULT_RULES_PATH];
  const options: LoadOptions = { variables: parseRuleVariables(values.var ?? []) };
  if (values.sets !== undefined) options.setsDir = values.sets;
  const { ruleSet, problems, tests } = loadRuleFiles(paths, options);
  printProblems(problems);
  if (ruleSet === null) return ExitCode.ERROR;
  if (command === "test") return runTests(paths, tests, options, values.json === true);

  if (command === "check") {
    const exceptions = ruleSet.exceptionStats().length;
    const enabled = ruleSet.rules.filter((r) => r.enabled).length;
    const disabled = ruleSet.rules.length - enabled;
    const parts = [
      `${enabled} rule${enabled === 1 ? "" : "s"}`,
      ...(disabled > 0 ? [`${disabled} disabled`] : []),
      `${exceptions} exception${exceptions === 1 ? "" : "s"}`,
      `${ruleSet.sets.length} set${ruleSet.sets.length === 1 ? "" : "s"} used`,
      ...(tests.length > 0 ? [`${tests.length} test${tests.length === 1 ? "" : "s"}`] : []),
    ];
    process.stdout.write(`${paths.join(" ")}: ok (${parts.join(", ")})\n`);
    return ExitCode.OK;
  }

  const hits = ruleSet.hits();
  if (values.json) {
    let out = "";
    for (const r of ruleSet.rules)
      out += `${JSON.stringify({ ...r, hits: hits.get(r.id) ?? 0 })}\n`;
    process.stdout.write(out);
    return ExitCode.OK;
  }
  const rows = ruleSet.rules.map((r) => [
    r.id,
    r.severity,
    r.trigger +
      (r.thresholds ? ` ${r.thresholds.map((t) => `${t.kind}=${t.text}`).join(",")}` : ""),
    String(hits.get(r.id) ?? 0),
    r.tags.length > 0 ? r.tags.join(",") : "-",
    r.enabled ? r.name : `${r.name} (disabled)`,
  ]);
  process.stdout.write(table(["ID", "SEVERITY", "TRIGGER", "HITS", "TAGS", "NAME"], rows));
  return ExitCode.OK;
}

// --- rules test ----------------------------------------------------------------------------

export interface RuleTestResult {
  test: RuleTestCase;
  pass: boolean;
  /** One line per unmet expectation (or why the case could not run). */
  reasons: string[];
  /** Alerts raised per rule id. */
  alerts: Record<string, number>;
}

/** Prints one line per case (or one JSON object with --json) and the count; exit 1 on any failure. */
async function runTests(
  paths: readonly string[],
  tests: readonly RuleTestCase[],
  options: LoadOptions,
  json: boolean,
): Promise<number> {
  if (tests.length === 0) {
    process.stderr.write(`${paths.join(" ")}: warning: no test cases (tests:) to run\n`);
    return ExitCode.OK;
  }
  let failed = 0;
  for (const test of tests) {
    const r = await runRuleTest(test, paths, options);
    if (!r.pass) failed++;
    if (json) {
      const { file, line, name } = test;
      const out = { file, line, name, result: r.pass ? "pass" : "fail", reasons: r.reasons };
      process.stdout.write(`${JSON.stringify({ ...out, alerts: r.alerts })}\n`);
      continue;
    }
    let text = `${r.pass ? "PASS" : "FAIL"} ${terminalSafe(`${test.file}:${test.line} ${test.name}`)}\n`;
    for (const reason of r.reasons) text += `  ${terminalSafe(reason)}\n`;
    process.stdout.write(text);
  }
  if (!json) {
    const n = tests.length;
    process.stdout.write(
      `${n} test${n === 1 ? "" : "s"}: ${n - failed} passed, ${failed} failed\n`,
    );
  }
  return failed > 0 ? ExitCode.ERROR : ExitCode.OK;
}

/**
 * One test case: its config (or the defaults), the rules loaded again from `paths` with
 * its variables over the caller's (a fresh rule set, so no case sees another's exception
 * clock or counts), its capture through the pipeline, the alerts held against expect:
 * and absent:. Packet time only: the same files always give the same result.
 */
export async function runRuleTest(
  test: RuleTestCase,
  paths: readonly string[],
  options: LoadOptions = {},
): Promise<RuleTestResult> {
  const fail = (reasons: string[]): RuleTestResult => ({ test, pass: false, reasons, alerts: {} });
  let config: EgressdConfig;
  try {
    config = test.config !== undefined ? loadConfig(test.config) : parseConfig("", "(defaults)");
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return fail(err.message.split("\n").map((l) => `config: ${l}`));
  }
  const loaded = loadRuleFiles(paths, {
    ...options,
    variables: { ...options.variables, ...test.variables },
    groups: config.devices.groups.map((g) => g.name),
    testFiles: false,
  });
  if (loaded.ruleSet === null) {
    return fail(
      loaded.problems
        .filter((p) => p.severity === "error")
        .map((p) => `rules with this test's variables: ${formatRuleProblem(p)}`),
    );
  }
  let alerts: JsonRecord[];
  try {
    const run = await runCaptureWithRules({
      capture: test.capture,
      config,
      ruleSet: loaded.ruleSet,
    });
    alerts = run.alerts;
    if (run.summary.error !== undefined) {
      const e = run.summary.error;
      return fail([`capture ${test.capture} is damaged: ${e.message}`]);
    }
  } catch (err) {
    if (
      err instanceof InputError ||
      err instanceof UnsupportedLinkTypeError ||
      err instanceof CaptureFormatError
    ) {
      return fail([`capture ${test.capture}: ${err.message}`]);
    }
    throw err;
  }
  const reasons = checkExpectations(test, alerts);
  const counts: Record<string, number> = {};
  for (const a of alerts) {
    const id = String(fieldAt(a, "rule.id"));
    counts[id] = (counts[id] ?? 0) + 1;
  }
  return { test, pass: reasons.length === 0, reasons, alerts: counts };
}

/** What the alerts fail of the test's expect: and absent:, one line each; empty when all hold. */
export function checkExpectations(test: RuleTestCase, alerts: readonly JsonRecord[]): string[] {
  const byRule = new Map<string, JsonRecord[]>();
  for (const a of alerts) {
    const id = String(fieldAt(a, "rule.id"));
    const list = byRule.get(id);
    if (list === undefined) byRule.set(id, [a]);
    else list.push(a);
  }
  const reasons: string[] = [];
  for (const e of test.expect) {
    const reason = checkExpect(e, byRule.get(e.rule) ?? []);
    if (reason !== null) reasons.push(reason);
  }
  for (const id of test.absent) {
    const fired = byRule.get(id) ?? [];
    if (fired.length === 0) continue;
    const first = fired[0]!;
    reasons.push(
      `${id} fired ${times(fired.length)} but must not (first at ${String(fieldAt(first, "@timestamp"))}: ${String(fieldAt(first, "message"))})`,
    );
  }
  return reasons;
}

function checkExpect(e: RuleTestExpect, fired: readonly JsonRecord[]): string | null {
  if (fired.length < e.min) {
    return `${e.rule}: expected at least ${alerts(e.min)}, got ${fired.length}`;
  }
  const matching = fired.filter((a) =>
    e.where.every((w) => matches(fieldAt(a, w.field), w.values)),
  );
  const desc = e.where.map(describeWhere).join(" and ");
  if (matching.length < e.min) {
    // The first condition that leaves too few, with the values the alerts had there.
    let seenOn = e.where[0]!;
    for (const w of e.where) {
      if (fired.filter((a) => matches(fieldAt(a, w.field), w.values)).length < e.min) {
        seenOn = w;
        break;
      }
    }
    const seen = [...new Set(fired.map((a) => show(fieldAt(a, seenOn.field))))];
    const shown = seen.slice(0, 5).join(", ") + (seen.length > 5 ? ", ..." : "");
    const atLeast = e.min > 1 ? `; expected at least ${e.min}` : "";
    return `${e.rule}: ${matching.length} of ${alerts(fired.length)} have ${desc}${atLeast} (${seenOn.field} seen: ${shown})`;
  }
  if (e.max !== undefined && matching.length > e.max) {
    return `${e.rule}: expected at most ${alerts(e.max)}${desc === "" ? "" : ` with ${desc}`}, got ${matching.length}`;
  }
  return null;
}

/** Equal as text to one of the values (20 matches "20"); a list field matches when any item does. */
function matches(v: unknown, values: readonly WhereValue[]): boolean {
  if (Array.isArray(v)) return v.some((x) => matches(x, values));
  if (v === null || v === undefined || typeof v === "object") return false;
  const text = String(v);
  return values.some((w) => String(w) === text);
}

function describeWhere(w: { field: string; values: readonly WhereValue[] }): string {
  return w.values.length === 1
    ? `${w.field} = ${String(w.values[0])}`
    : `${w.field} in [${w.values.map(String).join(", ")}]`;
}

function show(v: unknown): string {
  if (v === undefined) return "(none)";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

function alerts(n: number): string {
  return n === 1 ? "1 alert" : `${n} alerts`;
}

function times(n: number): string {
  return n === 1 ? "1 time" : `${n} times`;
}
