/**
 * The shape of a rule file (docs/RULES.md):
 *
 *   variables: { NAME: value | [values] }        defaults; the daemon config overrides them
 *   sets:      { NAME: [entries] | { description, entries, file } }
 *   rules:     [ { id, name, description, severity, tags, references,
 *                  trigger, threshold, when, enabled } ]
 *   exceptions: [ { id, rules, reason, owner, expires, when } ]
 *   tests:     [ { name, capture, config, variables, expect: [ { rule, min, max, where } ],
 *                  absent: [rule ids] } ]
 *
 * Each part is read into a draft that keeps positions, reporting every problem it finds
 * (unknown keys with a did-you-mean, wrong types, bad values) and carrying on, so one
 * `rules check` lists them all. Leaf values reuse the config file's schema parsers.
 */
import { type Document, isMap, isScalar, isSeq, type LineCounter } from "yaml";
import type { ConfigProblem } from "../config/errors.js";
import {
  array,
  boolean,
  INVALID,
  integer,
  type ParseContext,
  type Schema,
  string,
} from "../config/schema.js";
import { closest } from "../config/suggest.js";
import {
  type Cond,
  type Env,
  expandText,
  type Pos,
  parseWhen,
  posOf,
  type ScalarVal,
  toVal,
  VARIABLE,
  type VarValue,
} from "./conditions.js";
import { TRIGGERS, type Trigger } from "./context.js";
import { SEVERITIES, type Severity, type ThresholdKind, type ThresholdSpec } from "./evaluate.js";
import { parseExpiry } from "./exceptions.js";
import { SET_NAME } from "./sets.js";
import { parseAmount } from "./units.js";

export const FILE_KEYS = ["rules", "exceptions", "sets", "variables", "tests"] as const;
export const RULE_KEYS = [
  "id",
  "name",
  "description",
  "severity",
  "tags",
  "references",
  "trigger",
  "threshold",
  "when",
  "enabled",
  "cooldown",
] as const;
export const EXCEPTION_KEYS = ["id", "rules", "reason", "owner", "expires", "when"] as const;
export const SET_KEYS = ["description", "entries", "file"] as const;
export const THRESHOLD_KEYS = ["bytes_out", "bytes_in", "duration"] as const;
export const TEST_KEYS = ["name", "capture", "config", "variables", "expect", "absent"] as const;
export const EXPECT_KEYS = ["rule", "min", "max", "where"] as const;
/** The top-level fields of an alert record (src/alert/alert-record.ts), for `where:` typos. */
const ALERT_FIELDS = [
  "@timestamp",
  "event",
  "rule",
  "source",
  "destination",
  "network",
  "dns",
  "tls",
  "http",
  "url",
  "user_agent",
  "message",
  "egressd",
];
const FIELD_PATH = /^[A-Za-z0-9_@-]+(\.[A-Za-z0-9_@-]+)*$/;

export const ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const ID_TEXT = "letters, digits, _ . : and -, starting with a letter or digit (at most 64)";

export interface RuleDraft {
  at: Pos;
  id?: string;
  idAt: Pos;
  name?: string;
  description: string;
  severity?: Severity;
  tags: string[];
  references: string[];
  trigger?: Trigger;
  triggerAt: Pos;
  thresholds?: ThresholdSpec[];
  thresholdAt?: Pos;
  /** undefined: no when:; null: when: had problems. */
  when?: Cond | null;
  whenAt?: Pos;
  enabled: boolean;
  /** Repeats (same rule, device, destination) within this many seconds are folded. */
  cooldownSeconds?: number;
}

export interface ExceptionDraft {
  at: Pos;
  id?: string;
  idAt: Pos;
  rules?: { id: string; at: Pos }[];
  reason?: string;
  owner?: string;
  expires?: string;
  expiresAt: number;
  expiresPos?: Pos;
  when?: Cond | null;
  whenAt?: Pos;
}

export interface SetDraft {
  name: string;
  at: Pos;
  description?: string;
  entries: ScalarVal[];
  file?: { path: string; at: Pos };
}

export type WhereValue = string | number | boolean;

export interface ExpectDraft {
  at: Pos;
  rule?: { id: string; at: Pos };
  min: number;
  max?: number;
  /** Alert fields (dotted paths into the record) and the values they may have. */
  where: { field: string; at: Pos; values: WhereValue[] }[];
}

/** A test case: a capture, the alerts it must raise and those it must not. */
export interface TestDraft {
  at: Pos;
  /** For messages: `test "NAME"`, or `test tests[N]` without a name. */
  label: string;
  name?: string;
  /** As written (relative to the rule file). */
  capture?: { path: string; at: Pos };
  config?: { path: string; at: Pos };
  variables: { name: string; value: VarValue; at: Pos }[];
  expect: ExpectDraft[];
  absent: { id: string; at: Pos }[];
  /** A part of the test was reported and left out: the test cannot run. */
  broken: boolean;
}

export interface FileDrafts {
  rules: RuleDraft[];
  exceptions: ExceptionDraft[];
  sets: SetDraft[];
  tests: TestDraft[];
}

/** What the schema parsers need: the Env for positions and problems, and a config ParseContext for leaves. */
export class Reader {
  readonly pctx: ParseContext;
  private readonly leafProblems: ConfigProblem[] = [];

  constructor(
    readonly env: Env,
    doc: Document,
    lineCounter: LineCounter,
    baseDir: string,
  ) {
    this.pctx = {
      file: env.file,
      problems: this.leafProblems,
      baseDir,
      defaultBaseDir: baseDir,
      doc,
      lineCounter,
    };
  }

  /** Runs a config leaf schema; its problems become errors here. */
  leaf<T>(schema: Schema<T>, node: unknown, at: Pos, path: string): T | undefined {
    const value = schema.parse(node, at, path, this.pctx);
    for (const p of this.leafProblems.splice(0))
      this.env.error({ line: p.line, col: p.col }, p.message);
    return value === INVALID ? undefined : value;
  }
}

interface KeyEntry {
  keyAt: Pos;
  value: unknown;
}

/**
 * A mapping's entries by key. Unknown and duplicate keys are reported (with a
 * did-you-mean); missing required keys too. Null when the node is not a mapping.
 */
export function keysOf(
  node: unknown,
  known: readonly string[],
  required: readonly string[],
  what: string,
  env: Env,
  fallback: Pos,
): Map<string, KeyEntry> | null {
  const at = posOf(node, env, fallback);
  if (!isMap(node)) {
    env.error(
      at,
      `${what}: expected a mapping with keys ${known.join(", ")}, found ${kindOf(node)}`,
    );
    return null;
  }
  const out = new Map<string, KeyEntry>();
  for (const pair of node.items) {
    const keyAt = posOf(pair.key, env, at);
    if (!isScalar(pair.key) || pair.key.value === null || typeof pair.key.value === "object") {
      env.error(keyAt, `${what}: keys must be plain names`);
      continue;
    }
    const key = String(pair.key.value);
    const first = out.get(key);
    if (first !== undefined) {
      env.error(
        keyAt,
        `duplicate key "${key}" in ${what} (first at line ${first.keyAt.line}, col ${first.keyAt.col}); keep one`,
      );
      continue;
    }
    if (!known.includes(key)) {
      const guess = closest(key, known);
      env.error(
        keyAt,
        `unknown key "${key}" in ${what}; ${guess ? `did you mean "${guess}"?` : `known keys: ${known.join(", ")}`}`,
      );
      continue;
    }
    out.set(key, { keyAt, value: pair.value });
  }
  for (const r of required) {
    if (!out.has(r)) env.error(at, `missing required key "${r}" in ${what}`);
  }
  return out;
}

function kindOf(node: unknown): string {
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) {
    const v = node.value;
    return v === null
      ? "an empty value"
      : typeof v === "string"
        ? `"${v}"`
        : `${typeof v} ${String(v)}`;
  }
  return node === null || node === undefined ? "an empty value" : "an unsupported value";
}

function isEmpty(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

/** Items of a list node with their positions; an empty value is no items. */
function itemsOf(
  node: unknown,
  what: string,
  env: Env,
  fallback: Pos,
): { node: unknown; at: Pos }[] | null {
  if (isEmpty(node)) return [];
  if (!isSeq(node)) {
    env.error(posOf(node, env, fallback), `${what}: expected a list, found ${kindOf(node)}`);
    return null;
  }
  return node.items.map((n) => ({ node: n, at: posOf(n, env, fallback) }));
}

const idSchema = string({ pattern: ID, patternText: ID_TEXT });
const nameSchema = string({ minLength: 1 });
const textSchema = string();
const severitySchema = string({ enum: SEVERITIES });
const triggerSchema = string({ enum: TRIGGERS });
const stringList = array(string({ minLength: 1 }), { expected: "a list of strings" });
const enabledSchema = boolean();

/** The `variables:` section: NAME -> a scalar or a list of scalars. */
export function readVariables(doc: Document, env: Env): Map<string, { value: VarValue; at: Pos }> {
  const out = new Map<string, { value: VarValue; at: Pos }>();
  const top = doc.contents;
  if (!isMap(top)) return out;
  const pair = top.items.find((p) => isScalar(p.key) && p.key.value === "variables");
  if (pair === undefined || isEmpty(pair.value)) return out;
  readVarMap(pair.value, posOf(pair.key, env, { line: 1, col: 1 }), "variables", env, out);
  return out;
}

/** NAME: value pairs of a `variables:` mapping into `out`; false when any was reported. */
function readVarMap(
  node: unknown,
  at0: Pos,
  what: string,
  env: Env,
  out: Map<string, { value: VarValue; at: Pos }>,
): boolean {
  if (!isMap(node)) {
    env.error(
      posOf(node, env, at0),
      `${what}: expected a mapping of NAME: value, found ${kindOf(node)}`,
    );
    return false;
  }
  let ok = true;
  for (const p of node.items) {
    const keyAt = posOf(p.key, env, at0);
    const name = isScalar(p.key) ? String(p.key.value) : "";
    if (!VARIABLE.test(`$${name}`)) {
      env.error(
        keyAt,
        `${what}: "${name}" is not a variable name (letters, digits and _, not starting with a digit)`,
      );
      ok = false;
      continue;
    }
    if (out.has(name)) {
      env.error(keyAt, `${what}: duplicate variable "${name}"`);
      ok = false;
      continue;
    }
    const v = p.value;
    const valueAt = posOf(v, env, keyAt);
    const scalarOf = (n: unknown): string | number | null => {
      if (!isScalar(n)) return null;
      return typeof n.value === "string" || typeof n.value === "number" ? n.value : null;
    };
    if (isSeq(v)) {
      const items = v.items.map(scalarOf);
      if (items.some((x) => x === null)) {
        env.error(valueAt, `${what}.${name}: list items are text or numbers`);
        ok = false;
        continue;
      }
      out.set(name, { value: items.map(String), at: keyAt });
      continue;
    }
    const s = scalarOf(v);
    if (s === null) {
      env.error(
        valueAt,
        `${what}.${name}: expected text, a number or a list of them, found ${kindOf(v)}`,
      );
      ok = false;
      continue;
    }
    out.set(name, { value: s, at: keyAt });
  }
  return ok;
}

/** Reads one rule file's rules, exceptions and sets. */
export function readFile(doc: Document, r: Reader): FileDrafts {
  const env = r.env;
  const out: FileDrafts = { rules: [], exceptions: [], sets: [], tests: [] };
  if (isEmpty(doc.contents)) return out;
  const top = keysOf(doc.contents, FILE_KEYS, [], "the rule file", env, { line: 1, col: 1 });
  if (top === null) return out;
  const rules = top.get("rules");
  if (rules !== undefined) {
    const items = itemsOf(rules.value, "rules", env, rules.keyAt);
    items?.forEach((it, i) => {
      out.rules.push(readRule(it.node, it.at, `rules[${i}]`, r));
    });
  }
  const exceptions = top.get("exceptions");
  if (exceptions !== undefined) {
    const items = itemsOf(exceptions.value, "exceptions", env, exceptions.keyAt);
    items?.forEach((it, i) => {
      out.exceptions.push(readException(it.node, it.at, `exceptions[${i}]`, r));
    });
  }
  const sets = top.get("sets");
  if (sets !== undefined && !isEmpty(sets.value)) {
    if (!isMap(sets.value)) {
      env.error(
        posOf(sets.value, env, sets.keyAt),
        `sets: expected a mapping of NAME: entries, found ${kindOf(sets.value)}`,
      );
    } else {
      for (const p of sets.value.items) {
        const d = readSet(p.key, p.value, r);
        if (d !== null) out.sets.push(d);
      }
    }
  }
  const tests = top.get("tests");
  if (tests !== undefined) {
    const items = itemsOf(tests.value, "tests", env, tests.keyAt);
    items?.forEach((it, i) => {
      out.tests.push(readTest(it.node, it.at, `tests[${i}]`, r));
    });
  }
  return out;
}

function readRule(node: unknown, at: Pos, path: string, r: Reader): RuleDraft {
  const env = r.env;
  const draft: RuleDraft = {
    at,
    idAt: at,
    triggerAt: at,
    description: "",
    tags: [],
    references: [],
    enabled: true,
  };
  const keys = keysOf(
    node,
    RULE_KEYS,
    ["id", "name", "severity", "trigger"],
    `rule ${path}`,
    env,
    at,
  );
  if (keys === null) return draft;
  const get = (k: string) => keys.get(k);
  const valueAt = (e: KeyEntry) => posOf(e.value, env, e.keyAt);
  const id = get("id");
  if (id !== undefined) {
    draft.idAt = valueAt(id);
    const v = r.leaf(idSchema, id.value, id.keyAt, `${path}.id`);
    if (v !== undefined) draft.id = v;
  }
  const label = draft.id === undefined ? path : `rule ${draft.id}`;
  const name = get("name");
  if (name !== undefined) {
    const text = r.leaf(nameSchema, name.value, name.keyAt, `${label}: name`);
    if (text !== undefined) draft.name = expandText(text, valueAt(name), env);
  }
  const description = get("description");
  if (description !== undefined) {
    const text = r.leaf(textSchema, description.value, description.keyAt, `${label}: description`);
    draft.description = text === undefined ? "" : expandText(text, valueAt(description), env);
  }
  const severity = get("severity");
  if (severity !== undefined)
    draft.severity = r.leaf(severitySchema, severity.value, severity.keyAt, `${label}: severity`);
  const tags = get("tags");
  if (tags !== undefined)
    draft.tags = r.leaf(stringList, tags.value, tags.keyAt, `${label}: tags`) ?? [];
  const refs = get("references");
  if (refs !== undefined)
    draft.references = r.leaf(stringList, refs.value, refs.keyAt, `${label}: references`) ?? [];
  const enabled = get("enabled");
  if (enabled !== undefined)
    draft.enabled =
      r.leaf(enabledSchema, enabled.value, enabled.keyAt, `${label}: enabled`) ?? true;
  const cooldown = get("cooldown");
  if (cooldown !== undefined) {
    const v = toVal(cooldown.value, env, cooldown.keyAt);
    const n =
      v?.t === "scalar" && (typeof v.v === "string" || typeof v.v === "number")
        ? parseAmount(v.v, "seconds")
        : 'a duration such as "15m" or 0';
    if (typeof n === "string") env.error(v?.at ?? cooldown.keyAt, `${label}: cooldown: ${n}`);
    else draft.cooldownSeconds = n;
  }
  const trigger = get("trigger");
  if (trigger !== undefined) {
    draft.triggerAt = valueAt(trigger);
    draft.trigger = r.leaf(triggerSchema, trigger.value, trigger.keyAt, `${label}: trigger`);
  }
  const threshold = get("threshold");
  if (threshold !== undefined) {
    draft.thresholdAt = threshold.keyAt;
    const t = readThreshold(threshold.value, threshold.keyAt, label, env);
    if (t !== null) draft.thresholds = t;
  }
  const when = get("when");
  if (when !== undefined) {
    draft.whenAt = when.keyAt;
    draft.when = readWhen(when.value, when.keyAt, label, env);
  }
  return draft;
}

function readWhen(node: unknown, keyAt: Pos, label: string, env: Env): Cond | null {
  if (isEmpty(node)) {
    env.error(
      keyAt,
      `${label}: when: is empty; add conditions, or remove it to match everything at the trigger`,
    );
    return null;
  }
  const v = toVal(node, env, keyAt);
  if (v === null) return null;
  // Parsed even when broken, for the problems further in; used only when whole.
  const c = parseWhen(v, env);
  return v.broken ? null : c;
}

/** `threshold: { bytes_out: 50MB }`: one or more limits; the rule fires as the flow crosses each. */
function readThreshold(node: unknown, keyAt: Pos, label: string, env: Env): ThresholdSpec[] | null {
  const keys = keysOf(node, THRESHOLD_KEYS, [], `${label}: threshold`, env, keyAt);
  if (keys === null) return null;
  if (keys.size === 0) {
    env.error(
      posOf(node, env, keyAt),
      `${label}: threshold needs at least one of bytes_out, bytes_in, duration`,
    );
    return null;
  }
  const out: ThresholdSpec[] = [];
  let ok = true;
  for (const [kind, e] of keys) {
    const v = toVal(e.value, env, e.keyAt);
    if (v === null) {
      ok = false;
      continue;
    }
    const unit = kind === "duration" ? "seconds" : "bytes";
    if (v.t !== "scalar" || (typeof v.v !== "string" && typeof v.v !== "number")) {
      env.error(
        v.at,
        `${label}: threshold ${kind}: expected one amount such as ${kind === "duration" ? '"1h"' : '"50MB"'}`,
      );
      ok = false;
      continue;
    }
    const n = parseAmount(v.v, unit);
    if (typeof n === "string" || n <= 0) {
      env.error(
        v.at,
        `${label}: threshold ${kind}: ${typeof n === "string" ? n : "must be above 0"}`,
      );
      ok = false;
      continue;
    }
    out.push({ kind: kind as ThresholdKind, value: n, text: String(v.v) });
  }
  return ok ? out : null;
}

function readException(node: unknown, at: Pos, path: string, r: Reader): ExceptionDraft {
  const env = r.env;
  const draft: ExceptionDraft = { at, idAt: at, expiresAt: Number.POSITIVE_INFINITY };
  const keys = keysOf(node, EXCEPTION_KEYS, ["id", "reason"], `exception ${path}`, env, at);
  if (keys === null) return draft;
  const id = keys.get("id");
  if (id !== undefined) {
    draft.idAt = posOf(id.value, env, id.keyAt);
    draft.id = r.leaf(idSchema, id.value, id.keyAt, `${path}.id`);
  }
  const label = draft.id === undefined ? path : `exception ${draft.id}`;
  const reason = keys.get("reason");
  if (reason !== undefined) {
    const v = r.leaf(textSchema, reason.value, reason.keyAt, `${label}: reason`);
    if (v !== undefined && v.trim() === "") {
      env.error(
        posOf(reason.value, env, reason.keyAt),
        `${label}: reason is empty; say why this traffic is allowed`,
      );
    } else if (v !== undefined) {
      draft.reason = v;
    }
  }
  const owner = keys.get("owner");
  if (owner !== undefined)
    draft.owner = r.leaf(nameSchema, owner.value, owner.keyAt, `${label}: owner`);
  const expires = keys.get("expires");
  if (expires !== undefined) {
    const pos = posOf(expires.value, env, expires.keyAt);
    draft.expiresPos = pos;
    const v = expires.value;
    const text =
      isScalar(v) && (typeof v.value === "string" || v.value instanceof Date)
        ? String(v.value)
        : undefined;
    const t = text === undefined ? undefined : parseExpiry(text);
    if (t === undefined || typeof t === "string") {
      env.error(
        pos,
        `${label}: expires: ${t ?? `expected a date such as 2026-12-31, found ${kindOf(v)}`}`,
      );
    } else {
      draft.expires = text!;
      draft.expiresAt = t;
    }
  }
  const rules = keys.get("rules");
  if (rules !== undefined) {
    const ids: { id: string; at: Pos }[] = [];
    const list = isSeq(rules.value) ? rules.value.items : [rules.value];
    for (const n of list) {
      const a = posOf(n, env, rules.keyAt);
      const v = r.leaf(idSchema, n, a, `${label}: rules`);
      if (v !== undefined) ids.push({ id: v, at: a });
    }
    if (list.length === 0)
      env.error(posOf(rules.value, env, rules.keyAt), `${label}: rules is an empty list`);
    draft.rules = ids;
  }
  const when = keys.get("when");
  if (when !== undefined) {
    draft.whenAt = when.keyAt;
    draft.when = readWhen(when.value, when.keyAt, label, env);
  }
  if (rules === undefined && when === undefined) {
    env.error(
      at,
      `${label}: needs rules:, when: or both; an exception with neither would silence every rule`,
    );
  }
  return draft;
}

function readSet(keyNode: unknown, node: unknown, r: Reader): SetDraft | null {
  const env = r.env;
  const at = posOf(keyNode, env, { line: 1, col: 1 });
  const name = isScalar(keyNode) ? String(keyNode.value) : "";
  if (!SET_NAME.test(name)) {
    env.error(at, `sets: "${name}" is not a set name (letters, digits, _ and -, at most 64)`);
    return null;
  }
  const draft: SetDraft = { name, at, entries: [] };
  const entriesOf = (n: unknown, fallback: Pos): boolean => {
    const v = toVal(n, env, fallback);
    if (v === null || v.broken) return false;
    const items = v.t === "list" ? v.items : [v];
    for (const it of items) {
      if (it.t !== "scalar" || it.v === null || typeof it.v === "boolean") {
        env.error(
          it.at,
          `set ${name}: entries are names, networks or AS numbers, found ${it.t === "scalar" ? String(it.v) : `a ${it.t}`}`,
        );
        return false;
      }
      draft.entries.push(it);
    }
    return true;
  };
  if (isSeq(node)) {
    entriesOf(node, at);
    if (node.items.length === 0) env.warn(at, `set ${name} is empty`);
    return draft;
  }
  const keys = keysOf(node, SET_KEYS, [], `set ${name}`, env, at);
  if (keys === null) return null;
  const description = keys.get("description");
  if (description !== undefined) {
    const d = r.leaf(textSchema, description.value, description.keyAt, `set ${name}: description`);
    if (d !== undefined) draft.description = d;
  }
  const entries = keys.get("entries");
  if (entries !== undefined && !isEmpty(entries.value)) entriesOf(entries.value, entries.keyAt);
  const file = keys.get("file");
  if (file !== undefined) {
    const v = toVal(file.value, env, file.keyAt);
    if (v !== null) {
      if (v.t !== "scalar" || typeof v.v !== "string" || v.v.trim() === "") {
        env.error(v.at, `set ${name}: file: expected a path`);
      } else {
        draft.file = { path: v.v, at: v.at };
      }
    }
  }
  if (entries === undefined && file === undefined) {
    env.error(at, `set ${name}: give entries:, file: or both`);
  }
  return draft;
}

const countSchema = integer({ min: 0 });

/** Rule ids: one or a list (exception rules:, test absent:). */
function readIds(
  node: unknown,
  keyAt: Pos,
  what: string,
  r: Reader,
): { ids: { id: string; at: Pos }[]; ok: boolean } {
  const ids: { id: string; at: Pos }[] = [];
  let ok = true;
  const list = isSeq(node) ? node.items : isEmpty(node) ? [] : [node];
  for (const n of list) {
    const a = posOf(n, r.env, keyAt);
    const v = r.leaf(idSchema, n, a, what);
    if (v !== undefined) ids.push({ id: v, at: a });
    else ok = false;
  }
  return { ids, ok };
}

/** A path to a file (a test's capture or config), as written. */
function readPath(e: KeyEntry, what: string, env: Env): { path: string; at: Pos } | undefined {
  const at = posOf(e.value, env, e.keyAt);
  const v = e.value;
  if (!isScalar(v) || typeof v.value !== "string" || v.value.trim() === "") {
    env.error(at, `${what}: expected a file path, found ${kindOf(v)}`);
    return undefined;
  }
  return { path: v.value, at };
}

function readTest(node: unknown, at: Pos, path: string, r: Reader): TestDraft {
  const env = r.env;
  const draft: TestDraft = {
    at,
    label: `test ${path}`,
    variables: [],
    expect: [],
    absent: [],
    broken: false,
  };
  const keys = keysOf(node, TEST_KEYS, ["name", "capture"], `test ${path}`, env, at);
  if (keys === null) {
    draft.broken = true;
    return draft;
  }
  const name = keys.get("name");
  if (name !== undefined) draft.name = r.leaf(nameSchema, name.value, name.keyAt, `${path}.name`);
  if (draft.name !== undefined) draft.label = `test "${draft.name}"`;
  const label = draft.label;
  const capture = keys.get("capture");
  if (capture !== undefined) draft.capture = readPath(capture, `${label}: capture`, env);
  const config = keys.get("config");
  if (config !== undefined) {
    draft.config = readPath(config, `${label}: config`, env);
    if (draft.config === undefined) draft.broken = true;
  }
  const variables = keys.get("variables");
  if (variables !== undefined && !isEmpty(variables.value)) {
    const vars = new Map<string, { value: VarValue; at: Pos }>();
    if (!readVarMap(variables.value, variables.keyAt, `${label}: variables`, env, vars))
      draft.broken = true;
    for (const [n, v] of vars) draft.variables.push({ name: n, ...v });
  }
  const expect = keys.get("expect");
  if (expect !== undefined) {
    const items = itemsOf(expect.value, `${label}: expect`, env, expect.keyAt);
    if (items === null) draft.broken = true;
    items?.forEach((it, i) => {
      const e = readExpect(it.node, it.at, `${label}: expect[${i}]`, r);
      if (e === null) draft.broken = true;
      else draft.expect.push(e);
    });
  }
  const absent = keys.get("absent");
  if (absent !== undefined) {
    const { ids, ok } = readIds(absent.value, absent.keyAt, `${label}: absent`, r);
    draft.absent = ids;
    if (!ok) draft.broken = true;
  }
  const expected = new Set(draft.expect.flatMap((e) => (e.rule ? [e.rule.id] : [])));
  for (const a of draft.absent) {
    if (expected.has(a.id)) {
      env.error(a.at, `${label}: rule ${a.id} is both expected and absent`);
      draft.broken = true;
    }
  }
  if (draft.expect.length === 0 && draft.absent.length === 0) {
    env.warn(at, `${label}: no expect: and no absent:, so it checks nothing`);
  }
  if (draft.name === undefined || draft.capture === undefined) draft.broken = true;
  return draft;
}

function readExpect(node: unknown, at: Pos, label: string, r: Reader): ExpectDraft | null {
  const env = r.env;
  const keys = keysOf(node, EXPECT_KEYS, ["rule"], label, env, at);
  if (keys === null) return null;
  const draft: ExpectDraft = { at, min: 1, where: [] };
  let ok = true;
  const rule = keys.get("rule");
  if (rule !== undefined) {
    const ruleAt = posOf(rule.value, env, rule.keyAt);
    const id = r.leaf(idSchema, rule.value, ruleAt, `${label}: rule`);
    if (id !== undefined) draft.rule = { id, at: ruleAt };
  }
  if (draft.rule === undefined) ok = false;
  const what = draft.rule === undefined ? label : `${label} (${draft.rule.id})`;
  const min = keys.get("min");
  if (min !== undefined) {
    const v = r.leaf(countSchema, min.value, min.keyAt, `${what}: min`);
    if (v === undefined) ok = false;
    else draft.min = v;
  }
  const max = keys.get("max");
  if (max !== undefined) {
    const v = r.leaf(countSchema, max.value, max.keyAt, `${what}: max`);
    if (v === undefined) ok = false;
    else if (v < draft.min) {
      env.error(
        posOf(max.value, env, max.keyAt),
        `${what}: max ${v} is below min ${draft.min}${v === 0 ? "; to say the rule must not fire, list it under absent:" : ""}`,
      );
      ok = false;
    } else draft.max = v;
  }
  const where = keys.get("where");
  if (where !== undefined && !readWhere(where, what, draft, env)) ok = false;
  return ok ? draft : null;
}

/** `where: { destination.domain: a.example, destination.port: [443, 8443] }`. */
function readWhere(e: KeyEntry, what: string, draft: ExpectDraft, env: Env): boolean {
  const node = e.value;
  if (!isMap(node) || node.items.length === 0) {
    env.error(
      posOf(node, env, e.keyAt),
      `${what}: where: expected a mapping of alert fields to values, such as { destination.domain: litedev.hik-connect.com }, found ${kindOf(node)}`,
    );
    return false;
  }
  let ok = true;
  const seen = new Set<string>();
  for (const p of node.items) {
    const keyAt = posOf(p.key, env, e.keyAt);
    const field = isScalar(p.key) ? String(p.key.value) : "";
    if (!FIELD_PATH.test(field)) {
      env.error(keyAt, `${what}: where: "${field}" is not a field path such as destination.domain`);
      ok = false;
      continue;
    }
    if (seen.has(field)) {
      env.error(keyAt, `${what}: where: duplicate field "${field}"`);
      ok = false;
      continue;
    }
    seen.add(field);
    const top = field.split(".")[0]!;
    if (!ALERT_FIELDS.includes(top)) {
      const guess = closest(top, ALERT_FIELDS);
      env.warn(
        keyAt,
        `${what}: where: alert records have no field "${top}"; ${guess ? `did you mean "${guess}"?` : `they have ${ALERT_FIELDS.join(", ")}`}`,
      );
    }
    const values: WhereValue[] = [];
    const list = isSeq(p.value) ? p.value.items : [p.value];
    for (const n of list) {
      const v = isScalar(n) ? n.value : undefined;
      if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
        env.error(
          posOf(n, env, keyAt),
          `${what}: where ${field}: expected text, a number, true or false (or a list of them), found ${kindOf(n)}`,
        );
        ok = false;
        continue;
      }
      values.push(v);
    }
    if (list.length === 0) {
      env.error(posOf(p.value, env, keyAt), `${what}: where ${field}: the list is empty`);
      ok = false;
    }
    draft.where.push({ field, at: keyAt, values });
  }
  return ok;
}
