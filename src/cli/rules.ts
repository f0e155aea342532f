import { parseArgs } from "node:util";
import {
  formatRuleProblem,
  type LoadOptions,
  loadRuleFiles,
  type RuleProblem,
} from "../rules/index.js";
import { ExitCode, UsageError } from "./errors.js";

export const DEFAULT_RULES_PATH = "rules/";

export const RULES_HELP = `Usage: egressd rules check [options] [PATH...]
       egressd rules list [options] [PATH...]

PATH is a rule file or a folder of them (*.yaml, *.yml, read recursively; the
sets/ folder inside holds set files). Default: ${DEFAULT_RULES_PATH}

check   validates the rules and prints every problem as FILE:LINE:COL: message on
        standard error (warnings marked "warning:"): YAML syntax, unknown fields
        and keys (with a did-you-mean), wrong types and values, bad severities
        and triggers, conditions a rule's trigger never knows (http.method on
        dns_query), duplicate ids across files, undefined sets and variables,
        unreadable set file lines, rules that can never match (udp with
        tls.sni), and rules an exception without expiry always suppresses.
        Prints "PATH...: ok (N rules, ...)" on standard output when valid.
list    the rules as a table: id, severity, trigger, hits since the rules were
        loaded (0 here: the daemon serves live counts), tags, name.

Options:
      --var NAME=VALUE  set a rule variable, as the daemon config would (may be
                        repeated); a VALUE with commas is a list: CN,RU,KP
      --sets DIR        where set files are (default: the sets folder next to
                        the rule files; shipped sets such as vendor_clouds are
                        always available)
      --json            list: one JSON object per rule (JSON Lines)
  -h, --help            show this help

See docs/RULES.md for the rule language.

Exit status: 0 when the rules are valid (warnings allowed); 1 when there is any
error or a path cannot be read; 2 on a usage error.
`;

function parseVars(list: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const item of list) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`--var needs NAME=VALUE, got "${item}"`);
    const name = item.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new UsageError(`--var: "${name}" is not a variable name (letters, digits and _)`);
    }
    const value = item.slice(eq + 1);
    out[name] = value.includes(",")
      ? value
          .split(",")
          .map((v) => v.trim())
          .filter((v) => v !== "")
      : value;
  }
  return out;
}

function printProblems(problems: readonly RuleProblem[]): void {
  let text = "";
  for (const p of problems) text += `${formatRuleProblem(p)}\n`;
  if (text !== "") process.stderr.write(text);
}

/** Control characters in rule text are shown escaped, so a rule file cannot drive the terminal. */
function safe(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    out += c < 0x20 || (c >= 0x7f && c <= 0x9f) ? `\\x${c.toString(16).padStart(2, "0")}` : ch;
  }
  return out;
}

function table(headers: string[], rows: string[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(safe))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
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
  if (command === undefined) throw new UsageError("rules needs a subcommand: check or list");
  if (command !== "check" && command !== "list") {
    throw new UsageError(`unknown rules subcommand "${command}"; known: check, list`);
  }
  if (command === "check" && values.json) throw new UsageError("--json is for rules list");
  const paths = rest.length > 0 ? rest : [DEFAULT_RULES_PATH];
  const options: LoadOptions = { variables: parseVars(values.var ?? []) };
  if (values.sets !== undefined) options.setsDir = values.sets;
  const { ruleSet, problems } = loadRuleFiles(paths, options);
  printProblems(problems);
  if (ruleSet === null) return ExitCode.ERROR;

  if (command === "check") {
    const exceptions = ruleSet.exceptionStats().length;
    const enabled = ruleSet.rules.filter((r) => r.enabled).length;
    const disabled = ruleSet.rules.length - enabled;
    const parts = [
      `${enabled} rule${enabled === 1 ? "" : "s"}`,
      ...(disabled > 0 ? [`${disabled} disabled`] : []),
      `${exceptions} exception${exceptions === 1 ? "" : "s"}`,
      `${ruleSet.sets.length} set${ruleSet.sets.length === 1 ? "" : "s"} used`,
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
