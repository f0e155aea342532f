/**
 * Loading rules: files and folders of YAML, the sets they use, the variables they
 * reference. Every problem is collected with its file:line:col (nothing stops at the
 * first), then the rules compile once. Any error means no rule set: a daemon reloading
 * keeps the rules it has, and `rules check` exits 1. Warnings do not block.
 *
 * Sets come from, in order: `sets:` in rule files; set files (NAME.txt, NAME.list,
 * NAME.hosts) in the `sets` folder next to the rule files (or LoadOptions.setsDir); the
 * sets shipped with egressd (rules/sets: vendor_clouds). A set file is read only when a
 * rule or exception uses it.
 *
 * A file's `tests:` are checked here too (rule ids, capture and config files) and come
 * out as LoadResult.tests for `egressd rules test`. Folders named `tests` are not read
 * for rules: they hold the test captures and configs.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, isAbsolute, join, resolve } from "node:path";
import { type Document, LineCounter, parseDocument } from "yaml";
import { ConfigError } from "../config/errors.js";
import { loadConfig } from "../config/load.js";
import { closest } from "../config/suggest.js";
import { VENDOR_CLOUDS_PATH } from "../inventory/index.js";
import { compileCondition, type Predicate } from "./compile.js";
import type { Cond, Env, Pos, VarDef, VarValue } from "./conditions.js";
import { type CompiledRule, type RuleInfo, RuleSet, type SetSummary } from "./evaluate.js";
import { ExceptionBook, type ExceptionDef, type ExceptionStat } from "./exceptions.js";
import { type FieldDef, triggerList } from "./fields.js";
import { hasErrors, type RuleProblem, sortRuleProblems } from "./problems.js";
import { unreachable } from "./reachability.js";
import {
  type ExceptionDraft,
  type FileDrafts,
  Reader,
  type RuleDraft,
  readFile,
  readVariables,
  type SetDraft,
  type TestDraft,
  type WhereValue,
} from "./schema.js";
import { addEntry, listSetFiles, loadSetFile, type NamedSet, newSet, setSize } from "./sets.js";

export interface LoadOptions {
  /** From the daemon config (and `--var`): override the rule files' `variables:` defaults. */
  variables?: Record<string, string | number | string[]>;
  /** Where set files are; default: the `sets` folder next to each rule file or folder given. */
  setsDir?: string;
  /** Wall-clock time (ms) for the "exception already expired" warning; default now. */
  now?: number;
  /** The config's device group names: a group name in a rule that is not one of them is warned about. */
  groups?: readonly string[];
  /** Told once per exception when its expiry passes in packet time (see RuleSet.onExceptionExpired). */
  onExceptionExpired?: (e: ExceptionStat) => void;
  /**
   * Check that each test's capture and config exist (and the config is valid); default
   * true. Replay, which runs no tests, passes false: rules copied without their test
   * captures still load.
   */
  testFiles?: boolean;
}

/** A test case from a rule file's `tests:` (docs/RULES.md), for `egressd rules test`. */
export interface RuleTestCase {
  /** The rule file, as loaded, and where the test starts in it. */
  file: string;
  line: number;
  col: number;
  name: string;
  /** Relative to the rule file's folder (joined to its path). */
  capture: string;
  config?: string;
  /** On top of the caller's variables (--var) for this test. */
  variables: Record<string, VarValue>;
  expect: RuleTestExpect[];
  absent: string[];
}

export interface RuleTestExpect {
  rule: string;
  min: number;
  max?: number;
  /** Alert fields (dotted paths) and the values one of which each must have. */
  where: { field: string; values: WhereValue[] }[];
  line: number;
  col: number;
}

export interface LoadResult {
  /** Null when any problem is an error. */
  ruleSet: RuleSet | null;
  /** Errors and warnings, in file, line, column order. */
  problems: RuleProblem[];
  /** The rule files read, in load order. */
  files: string[];
  /** The set files read (one name, network or AS per line). */
  setFiles: string[];
  /** The test cases of every file, in file and line order (complete ones only). */
  tests: RuleTestCase[];
}

/** The sets shipped with egressd (rules/sets in the package). */
export const BUILTIN_SETS_DIR = dirname(VENDOR_CLOUDS_PATH);

const RULE_EXTENSIONS = [".yaml", ".yml"];

interface Parsed {
  file: string;
  doc: Document;
  lineCounter: LineCounter;
  env: Env;
  drafts?: FileDrafts;
}

/** Rule files (*.yaml, *.yml) under the paths, and the sets folders next to them. */
function expand(paths: readonly string[], problems: RuleProblem[]) {
  const files: string[] = [];
  const seen = new Set<string>();
  const setsDirs: string[] = [];
  const add = (f: string) => {
    const key = resolve(f);
    if (seen.has(key)) return;
    seen.add(key);
    files.push(f);
  };
  const walk = (dir: string, found: string[]) => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (err) {
      problems.push(unreadable(dir, err));
      return;
    }
    for (const n of names) {
      if (n.startsWith(".")) continue;
      const p = join(dir, n);
      let isDir = false;
      try {
        isDir = statSync(p).isDirectory();
      } catch {
        continue;
      }
      if (isDir) {
        if (n !== "sets" && n !== "tests") walk(p, found);
      } else if (RULE_EXTENSIONS.includes(extname(n))) {
        found.push(p);
      }
    }
  };
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      problems.push(unreadable(p, err));
      continue;
    }
    if (isDir) {
      const found: string[] = [];
      walk(p, found);
      if (found.length === 0) {
        problems.push({
          file: p,
          line: 0,
          col: 0,
          severity: "warning",
          message: "no rule files (*.yaml, *.yml) here",
        });
      }
      for (const f of found) add(f);
      setsDirs.push(join(p, "sets"));
    } else {
      add(p);
      setsDirs.push(join(dirname(p), "sets"));
    }
  }
  return { files, setsDirs: [...new Set(setsDirs.map((d) => resolve(d)))] };
}

function unreadable(path: string, err: unknown): RuleProblem {
  const e = err as NodeJS.ErrnoException;
  const why =
    e.code === "ENOENT"
      ? "no such file or directory"
      : e.code === "EACCES"
        ? "permission denied"
        : e.message;
  return { file: path, line: 0, col: 0, severity: "error", message: `cannot read: ${why}` };
}

function makeEnv(
  file: string,
  doc: Document,
  lineCounter: LineCounter,
  problems: RuleProblem[],
  vars: Map<string, VarDef>,
  usedVars: Set<string>,
  groups: ReadonlySet<string> | undefined,
): Env {
  const push = (severity: "error" | "warning") => (at: Pos, message: string) => {
    problems.push({ file, line: at.line, col: at.col, message, severity });
  };
  const env: Env = {
    file,
    doc,
    lineCounter,
    vars,
    usedVars,
    setRefs: [],
    error: push("error"),
    warn: push("warning"),
  };
  return groups === undefined ? env : { ...env, groups };
}

function yamlMessage(message: string): string {
  return message.replace(/ at line \d+, column \d+:[\s\S]*$/, "").trim();
}

export function loadRuleFiles(paths: readonly string[], options: LoadOptions = {}): LoadResult {
  const problems: RuleProblem[] = [];
  const { files, setsDirs } = expand(paths, problems);
  const vars = new Map<string, VarDef>();
  const usedVars = new Set<string>();
  const groups = options.groups === undefined ? undefined : new Set(options.groups);

  // 1. Parse every file.
  const parsed: Parsed[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      problems.push(unreadable(file, err));
      continue;
    }
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
    const env = makeEnv(file, doc, lineCounter, problems, vars, usedVars, groups);
    const at = (offset: number) => lineCounter.linePos(Math.min(offset, text.length));
    for (const e of doc.errors) env.error(at(e.pos[0]), `YAML: ${yamlMessage(e.message)}`);
    for (const w of doc.warnings) env.warn(at(w.pos[0]), `YAML: ${yamlMessage(w.message)}`);
    // After a syntax error the document's shape is a guess: report only that.
    if (doc.errors.length === 0) parsed.push({ file, doc, lineCounter, env });
  }

  // 2. Variables: the files' defaults, then the caller's (config, --var) on top.
  const firstSet = new Map<string, string>();
  for (const p of parsed) {
    for (const [name, v] of readVariables(p.doc, p.env)) {
      const where = `${p.file}:${v.at.line}`;
      const first = firstSet.get(name);
      if (first !== undefined) {
        p.env.error(v.at, `variable ${name} is already set at ${first}; set each default once`);
        continue;
      }
      firstSet.set(name, where);
      vars.set(name, { value: v.value, origin: where });
    }
  }
  for (const [name, value] of Object.entries(options.variables ?? {})) {
    vars.set(name, { value, origin: "config" });
  }

  // 3. Rules, exceptions and sets, file by file.
  for (const p of parsed) {
    p.drafts = readFile(p.doc, new Reader(p.env, p.doc, p.lineCounter, dirname(resolve(p.file))));
  }
  const loaded = parsed.filter((p) => p.drafts !== undefined) as Required<Parsed>[];

  // 4. Sets: every reference resolved (and its set built) once, each undefined one reported.
  const sets = new SetResolver(
    loaded,
    options.setsDir ? [resolve(options.setsDir)] : setsDirs,
    problems,
  );
  for (const p of loaded) {
    for (const ref of p.env.setRefs) sets.check(ref.name, ref.at, ref.field, p.env);
  }

  // 5. Rules.
  const ruleIds = new Map<string, { file: string; at: Pos }>();
  const compiled: CompiledRule[] = [];
  const ruleConds = new Map<string, RuleRef>();
  for (const p of loaded) {
    for (const d of p.drafts.rules) {
      if (d.id !== undefined) {
        const first = ruleIds.get(d.id);
        if (first !== undefined) {
          p.env.error(
            d.idAt,
            `duplicate rule id "${d.id}"; already used at ${first.file}:${first.at.line}:${first.at.col}`,
          );
          continue;
        }
        ruleIds.set(d.id, { file: p.file, at: d.idAt });
      }
      const r = compileRule(d, p, sets);
      if (d.id !== undefined) ruleConds.set(d.id, { trigger: d.trigger, when: d.when });
      if (r !== null) compiled.push(r);
    }
  }

  // 6. Exceptions.
  const exceptionIds = new Map<string, { file: string; at: Pos }>();
  const defs: ExceptionDef[] = [];
  const exceptionConds = new Map<string, Cond>();
  const now = (options.now ?? Date.now()) / 1000;
  for (const p of loaded) {
    for (const d of p.drafts.exceptions) {
      if (d.id !== undefined) {
        const first = exceptionIds.get(d.id);
        if (first !== undefined) {
          p.env.error(
            d.idAt,
            `duplicate exception id "${d.id}"; already used at ${first.file}:${first.at.line}:${first.at.col}`,
          );
          continue;
        }
        exceptionIds.set(d.id, { file: p.file, at: d.idAt });
      }
      const def = compileException(d, p, sets, ruleConds, now);
      if (def !== null) {
        defs.push(def);
        if (d.when) exceptionConds.set(def.id, d.when);
      }
    }
  }

  // 7. Tests.
  const tests: RuleTestCase[] = [];
  const enabled = new Map<string, boolean>();
  for (const p of loaded) for (const d of p.drafts.rules) if (d.id) enabled.set(d.id, d.enabled);
  for (const p of loaded) {
    for (const d of p.drafts.tests) {
      const t = checkTest(d, p, ruleIds, enabled, usedVars, options.testFiles !== false, problems);
      if (t !== null) tests.push(t);
    }
  }

  const book = new ExceptionBook(defs);
  for (const r of compiled) r.exceptions = book.forRule(r.info.id);
  shadowWarnings(compiled, ruleConds, exceptionConds, sets.table(), problems);

  const order = [...paths, ...files, ...sets.fileOrder()];
  const sorted = sortRuleProblems(problems, order);
  const setFiles = sets.fileOrder();
  if (hasErrors(sorted)) return { ruleSet: null, problems: sorted, files, setFiles, tests };
  // The fields read, so the pipeline keeps what only some fields need (payload, headers).
  const fieldsUsed = new Set<string>();
  for (const c of [...ruleConds.values()].map((r) => r.when).concat([...exceptionConds.values()])) {
    if (c) walkFields(c, (fc) => fieldsUsed.add(fc.field.name));
  }
  const ruleSet = new RuleSet(compiled, book, sets.summaries(), fieldsUsed);
  if (options.onExceptionExpired !== undefined)
    ruleSet.onExceptionExpired = options.onExceptionExpired;
  return { ruleSet, problems: sorted, files, setFiles, tests };
}

/**
 * A test's rule ids (an error when no file defines one, a warning when another file
 * does: the test needs that file loaded too), its variables (a warning when no rule uses
 * one) and, with `files`, its capture and config. Null when the test cannot run.
 */
function checkTest(
  d: TestDraft,
  p: Required<Parsed>,
  ruleIds: ReadonlyMap<string, { file: string; at: Pos }>,
  enabled: ReadonlyMap<string, boolean>,
  usedVars: ReadonlySet<string>,
  files: boolean,
  problems: RuleProblem[],
): RuleTestCase | null {
  const env = p.env;
  const label = d.label;
  let ok = !d.broken;
  const checkId = (id: string, at: Pos, expected: boolean) => {
    const where = ruleIds.get(id);
    if (where === undefined) {
      const guess = closest(id, [...ruleIds.keys()]);
      env.error(at, `${label}: no rule "${id}"${guess ? `; did you mean "${guess}"?` : ""}`);
      ok = false;
      return;
    }
    if (resolve(where.file) !== resolve(p.file)) {
      env.warn(
        at,
        `${label}: rule ${id} is in ${where.file}, not this file; the test needs that file loaded with it`,
      );
    }
    if (expected && enabled.get(id) === false) {
      env.warn(at, `${label}: rule ${id} is disabled (enabled: false), so it never fires`);
    }
  };
  for (const e of d.expect) if (e.rule) checkId(e.rule.id, e.rule.at, true);
  for (const a of d.absent) checkId(a.id, a.at, false);
  for (const v of d.variables) {
    if (usedVars.has(v.name)) continue;
    const guess = closest(v.name, [...usedVars]);
    env.warn(
      v.at,
      `${label}: no rule uses variable ${v.name}${guess ? `; did you mean "${guess}"?` : ""}`,
    );
  }
  const near = (f: string) => (isAbsolute(f) ? f : join(dirname(p.file), f));
  const capture = d.capture === undefined ? undefined : near(d.capture.path);
  const config = d.config === undefined ? undefined : near(d.config.path);
  if (files && capture !== undefined && !isFile(capture)) {
    env.error(d.capture!.at, `${label}: capture ${capture}: ${missing(capture)}`);
    ok = false;
  }
  if (files && config !== undefined) {
    if (!isFile(config)) {
      env.error(d.config!.at, `${label}: config ${config}: ${missing(config)}`);
      ok = false;
    } else {
      try {
        loadConfig(config);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        for (const c of err.problems) {
          problems.push({
            file: c.file,
            line: c.line,
            col: c.col,
            message: c.message,
            severity: "error",
          });
        }
        env.error(d.config!.at, `${label}: config ${config} has errors (listed with it)`);
        ok = false;
      }
    }
  }
  if (!ok || d.name === undefined || capture === undefined) return null;
  const t: RuleTestCase = {
    file: p.file,
    line: d.at.line,
    col: d.at.col,
    name: d.name,
    capture,
    variables: Object.fromEntries(d.variables.map((v) => [v.name, v.value])),
    expect: d.expect.map((e) => {
      const x: RuleTestExpect = {
        rule: e.rule!.id,
        min: e.min,
        where: e.where.map((w) => ({ field: w.field, values: w.values })),
        line: e.at.line,
        col: e.at.col,
      };
      if (e.max !== undefined) x.max = e.max;
      return x;
    }),
    absent: d.absent.map((a) => a.id),
  };
  if (config !== undefined) t.config = config;
  return t;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function missing(path: string): string {
  try {
    statSync(path);
    return "not a file";
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "ENOENT"
      ? "no such file"
      : code === "EACCES"
        ? "permission denied"
        : String(err);
  }
}

/** Finds, builds (once) and reports sets by name. */
class SetResolver {
  private readonly declared = new Map<string, { draft: SetDraft; parsed: Required<Parsed> }>();
  private readonly files = new Map<string, string>();
  private readonly built = new Map<string, NamedSet | null>();
  private readonly order: string[] = [];

  constructor(
    loaded: readonly Required<Parsed>[],
    private readonly dirs: readonly string[],
    private readonly problems: RuleProblem[],
  ) {
    for (const dir of dirs) listSetFiles(dir, problems, this.files);
    // Shipped sets come last: a file of the same name in the admin's folder replaces one.
    for (const [name, path] of listSetFiles(BUILTIN_SETS_DIR, problems)) {
      if (!this.files.has(name)) this.files.set(name, path);
    }
    for (const p of loaded) {
      for (const d of p.drafts.sets) {
        const first = this.declared.get(d.name);
        if (first !== undefined) {
          p.env.error(
            d.at,
            `set ${d.name} is already defined at ${first.parsed.file}:${first.draft.at.line}:${first.draft.at.col}`,
          );
          continue;
        }
        const file = this.files.get(d.name);
        if (file !== undefined && !file.startsWith(BUILTIN_SETS_DIR)) {
          p.env.error(d.at, `set ${d.name} is also the set file ${file}; rename one`);
          continue;
        }
        this.declared.set(d.name, { draft: d, parsed: p });
      }
    }
  }

  names(): string[] {
    return [...new Set([...this.declared.keys(), ...this.files.keys()])];
  }

  /**
   * A reference to a set from a condition on `field`: builds the set on first use; reports
   * an undefined set at every reference, and a set without the entries the field needs.
   */
  check(name: string, at: Pos, field: FieldDef, env: Env): void {
    const s = this.get(name, at, env);
    if (s === null) return;
    const size = setSize(s);
    const have =
      field.kind === "domain" ? size.domains : field.kind === "ip" ? size.networks : size.asns;
    const what =
      field.kind === "domain" ? "domain names" : field.kind === "ip" ? "networks" : "AS numbers";
    if (have === 0) env.warn(at, `set ${s.name} has no ${what}, so ${field.name} is never in it`);
  }

  /** The set, loaded on first use; null (after reporting at `at`) when there is none. */
  private get(name: string, at: Pos, env: Env): NamedSet | null {
    const known = this.built.get(name);
    if (known !== undefined) return known;
    let set: NamedSet | null = null;
    const decl = this.declared.get(name);
    const path = this.files.get(name);
    if (decl !== undefined) {
      set = this.buildDeclared(decl.draft, decl.parsed);
    } else if (path !== undefined) {
      set = newSet(name, { file: path, line: 0, col: 0 });
      if (!loadSetFile(set, path, this.problems, { file: env.file, line: at.line, col: at.col }))
        set = null;
      this.order.push(path);
    } else {
      const guess = closest(name, this.names());
      env.error(
        at,
        `undefined set "${name}"${guess ? `; did you mean "${guess}"?` : ""}; define it under sets: in a rule file, or add ${name}.txt to ${this.dirs[0] ?? "the sets folder"}`,
      );
      return null;
    }
    this.built.set(name, set);
    return set;
  }

  private buildDeclared(d: SetDraft, p: Required<Parsed>): NamedSet | null {
    const set = newSet(d.name, { file: p.file, line: d.at.line, col: d.at.col }, d.description);
    let ok = true;
    for (const e of d.entries) {
      const problem = addEntry(set, String(e.v));
      if (problem === null) continue;
      const via = e.via === undefined ? "" : ` (from ${e.via})`;
      const msg = `set ${d.name}: ${problem.message}${via}`;
      if (problem.severity === "error") {
        p.env.error(e.at, msg);
        ok = false;
      } else {
        p.env.warn(e.at, msg);
      }
    }
    if (d.file !== undefined) {
      const path = isAbsolute(d.file.path) ? d.file.path : join(dirname(p.file), d.file.path);
      this.order.push(path);
      if (!loadSetFile(set, path, this.problems, { file: p.file, ...d.file.at })) ok = false;
    }
    return ok ? set : null;
  }

  has(name: string): boolean {
    return (this.built.get(name) ?? null) !== null;
  }

  /** Built sets as a table for compile(). */
  table(): Map<string, NamedSet> {
    const out = new Map<string, NamedSet>();
    for (const [k, v] of this.built) if (v !== null) out.set(k, v);
    return out;
  }

  summaries(): SetSummary[] {
    return [...this.table().values()].map((s) => ({
      name: s.name,
      file: s.origin.file,
      line: s.origin.line,
      ...setSize(s),
    }));
  }

  fileOrder(): string[] {
    return this.order;
  }
}

interface RuleRef {
  trigger: RuleDraft["trigger"];
  when: Cond | null | undefined;
}

function walkFields(c: Cond, visit: (f: Cond & { t: "field" }) => void): void {
  if (c.t === "field") visit(c);
  else if (c.t === "not") walkFields(c.item, visit);
  else for (const i of c.items) walkFields(i, visit);
}

/** True when every set the condition uses was built (problems were reported when they were not). */
function setsBuilt(c: Cond, sets: SetResolver): boolean {
  let ok = true;
  walkFields(c, (fc) => {
    for (const op of fc.ops) {
      if (op.op === "in" && op.sets.some((r) => !sets.has(r.name))) ok = false;
    }
  });
  return ok;
}

/** Fields used at a trigger that never knows them. */
function checkTriggers(
  c: Cond,
  trigger: NonNullable<RuleDraft["trigger"]>,
  env: Env,
  what: string,
): boolean {
  let ok = true;
  walkFields(c, (fc) => {
    if (fc.field.triggers.has(trigger)) return;
    ok = false;
    env.error(
      fc.at,
      `${fc.written !== undefined ? `${fc.written} (${fc.field.name})` : fc.field.name} is not known at trigger ${trigger}${what}; it is known at ${triggerList(fc.field)}`,
    );
  });
  return ok;
}

function compileRule(d: RuleDraft, p: Required<Parsed>, sets: SetResolver): CompiledRule | null {
  const env = p.env;
  let ok =
    d.id !== undefined &&
    d.name !== undefined &&
    d.severity !== undefined &&
    d.trigger !== undefined;
  const label = d.id === undefined ? "this rule" : `rule ${d.id}`;
  if (d.trigger === "flow_threshold" && d.thresholds === undefined && d.thresholdAt === undefined) {
    env.error(
      d.triggerAt,
      `${label}: trigger flow_threshold needs threshold: { bytes_out | bytes_in | duration: AMOUNT }, e.g. threshold: { bytes_out: 50MB }`,
    );
    ok = false;
  }
  if (d.trigger !== undefined && d.trigger !== "flow_threshold" && d.thresholdAt !== undefined) {
    env.error(
      d.thresholdAt,
      `${label}: threshold: only applies to trigger flow_threshold, not ${d.trigger}`,
    );
    ok = false;
  }
  if (d.thresholdAt !== undefined && d.thresholds === undefined) ok = false;
  if (d.when === null) ok = false;
  let when: Predicate | null = null;
  if (d.when !== null && d.when !== undefined) {
    if (d.trigger !== undefined && !checkTriggers(d.when, d.trigger, env, "")) ok = false;
    if (!setsBuilt(d.when, sets)) ok = false;
    if (ok) {
      for (const u of unreachable(d.trigger!, d.when, d.triggerAt)) {
        (u.severity === "error" ? env.error : env.warn)(u.at, u.message);
        if (u.severity === "error") ok = false;
      }
    }
    if (ok) when = compileCondition(d.when, sets.table());
  }
  if (!ok) return null;
  const info: RuleInfo = {
    id: d.id!,
    name: d.name!,
    description: d.description,
    severity: d.severity!,
    tags: d.tags,
    references: d.references,
    trigger: d.trigger!,
    enabled: d.enabled,
    file: p.file,
    line: d.at.line,
  };
  if (d.thresholds !== undefined) info.thresholds = d.thresholds;
  if (d.cooldownSeconds !== undefined) info.cooldownSeconds = d.cooldownSeconds;
  return { info, when, exceptions: [] };
}

function compileException(
  d: ExceptionDraft,
  p: Required<Parsed>,
  sets: SetResolver,
  rules: ReadonlyMap<string, RuleRef>,
  nowSec: number,
): ExceptionDef | null {
  const env = p.env;
  const label = d.id === undefined ? "this exception" : `exception ${d.id}`;
  let ok =
    d.id !== undefined &&
    d.reason !== undefined &&
    d.when !== null &&
    (d.rules !== undefined || d.when !== undefined);
  if (d.expiresPos !== undefined && d.expires === undefined) ok = false;
  for (const ref of d.rules ?? []) {
    const r = rules.get(ref.id);
    if (r === undefined) {
      const guess = closest(ref.id, [...rules.keys()]);
      env.error(
        ref.at,
        `${label}: no rule "${ref.id}"${guess ? `; did you mean "${guess}"?` : ""}`,
      );
      ok = false;
      continue;
    }
    if (d.when && r.trigger !== undefined) {
      if (
        !checkTriggers(
          d.when,
          r.trigger,
          env,
          ` (rule ${ref.id}'s trigger), so this exception could never apply to it`,
        )
      )
        ok = false;
    }
  }
  if (d.when !== null && d.when !== undefined && !setsBuilt(d.when, sets)) ok = false;
  if (d.expires !== undefined && d.expiresAt <= nowSec) {
    env.warn(
      d.expiresPos!,
      `${label} expired on ${d.expires} (by this machine's clock): it applies only to traffic from before then; remove it or move expires`,
    );
  }
  if (!ok) return null;
  const def: ExceptionDef = {
    id: d.id!,
    reason: d.reason!,
    expiresAt: d.expiresAt,
    when: d.when ? compileCondition(d.when, sets.table()) : null,
    file: p.file,
    line: d.idAt.line,
    col: d.idAt.col,
  };
  if (d.rules !== undefined) def.rules = d.rules.map((r) => r.id);
  if (d.owner !== undefined) def.owner = d.owner;
  if (d.expires !== undefined) def.expires = d.expires;
  return def;
}

/** The texts of a condition's top-level parts (all of which must hold). */
function conjuncts(c: Cond | null | undefined, sets: ReadonlyMap<string, NamedSet>): string[] {
  if (c === null || c === undefined) return [];
  if (c.t === "all") return c.items.flatMap((i) => conjuncts(i, sets));
  return [compileCondition(c, sets).text];
}

/**
 * A rule that can never fire because an exception that never expires suppresses all of
 * it: the exception has no conditions, or only conditions the rule has itself.
 */
function shadowWarnings(
  compiled: readonly CompiledRule[],
  rules: ReadonlyMap<string, RuleRef>,
  exceptions: ReadonlyMap<string, Cond>,
  sets: ReadonlyMap<string, NamedSet>,
  problems: RuleProblem[],
) {
  for (const r of compiled) {
    if (!r.info.enabled) continue;
    const own = new Set(conjuncts(rules.get(r.info.id)?.when, sets));
    for (const e of r.exceptions) {
      const d = e.def;
      if (d.expiresAt !== Number.POSITIVE_INFINITY) continue;
      if (!conjuncts(exceptions.get(d.id), sets).every((t) => own.has(t))) continue;
      const where = d.when === null ? "has no conditions" : "only repeats conditions of the rule";
      problems.push({
        file: d.file,
        line: d.line,
        col: d.col,
        severity: "warning",
        message: `rule ${r.info.id} can never fire: exception ${d.id} ${where} and never expires; set enabled: false on the rule, or give the exception an expiry`,
      });
    }
  }
}
