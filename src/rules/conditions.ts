/**
 * The condition language, from YAML to a checked tree (compile.ts turns the tree into
 * predicates). A `when:` mapping holds field conditions that must all be true, and the
 * combinators `all`, `any` and `not`:
 *
 *   when:
 *     source.role: camera                          # equals
 *     destination.port: [7660, "7665-7670"]        # any of
 *     destination.domain: { in: vendor_clouds }    # operators in a mapping must all hold
 *     flow.bytes_out: { gt: 50MB }
 *     any: [ {tls.sni: "*.ys7.com"}, {destination.name_source: none} ]
 *     not: { destination.group: nvr }
 *
 * `$name` anywhere a value goes is a variable (from the daemon config, `--var`, or a
 * `variables:` section); a list variable stands for its items. Every node keeps its
 * position so each problem is reported at file:line:col.
 */
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
  type Scalar,
} from "yaml";
import { parseCidr as canonicalCidr } from "../config/kinds.js";
import { Failure } from "../config/schema.js";
import { closest } from "../config/suggest.js";
import { type Cidr, parseCidr } from "../enrich/geoip/address.js";
import { FIELD_NAMES, type FieldDef, fieldNamed, TRANSPORTS } from "./fields.js";
import { hasWildcard } from "./match/glob.js";
import { domainProblem, SET_NAME } from "./sets.js";
import { comparison, type NumTest, parseAmount, parseNumTest, unitExample } from "./units.js";

export interface Pos {
  line: number;
  col: number;
}

// --- values with positions and variables -------------------------------------------------

interface ValBase {
  at: Pos;
  /** "$name" when the value came from a variable. */
  via?: string;
  /**
   * Something inside was reported and left out (an undefined variable, a duplicate key):
   * the rest is still parsed for more problems, but the value must not be used.
   */
  broken?: boolean;
}
export interface ScalarVal extends ValBase {
  t: "scalar";
  v: string | number | boolean | null;
}
export interface ListVal extends ValBase {
  t: "list";
  items: Val[];
}
export interface MapVal extends ValBase {
  t: "map";
  entries: { key: string; keyAt: Pos; value: Val }[];
}
export type Val = ScalarVal | ListVal | MapVal;

export type VarValue = string | number | string[];

export interface VarDef {
  value: VarValue;
  /** Where it was set: "config", "--var", or file:line. */
  origin: string;
}

export interface Env {
  readonly file: string;
  readonly doc: Document;
  readonly lineCounter: LineCounter;
  readonly vars: ReadonlyMap<string, VarDef>;
  readonly usedVars: Set<string>;
  /** Device group names from the config, when known: others are warned about. */
  readonly groups?: ReadonlySet<string>;
  /** Every `in:` set reference met while parsing, resolved once all files are read. */
  readonly setRefs: { name: string; at: Pos; field: FieldDef }[];
  error(at: Pos, message: string): void;
  warn(at: Pos, message: string): void;
}

export const VARIABLE = /^\$([A-Za-z_][A-Za-z0-9_]*)$/;

export function posOf(node: unknown, env: Env, fallback: Pos): Pos {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  if (range === undefined) return fallback;
  return env.lineCounter.linePos(range[0]);
}

function describe(v: Val): string {
  if (v.t === "map") return "a mapping";
  if (v.t === "list") return "a list";
  if (v.v === null) return "an empty value";
  if (typeof v.v === "string") return `"${v.v.length > 60 ? `${v.v.slice(0, 57)}...` : v.v}"`;
  return `${typeof v.v} ${String(v.v)}`;
}

function from(v: Val): string {
  return v.via === undefined ? "" : ` (from ${v.via})`;
}

/** A YAML node as a Val, variables substituted; null after reporting a problem. */
export function toVal(node: unknown, env: Env, fallback: Pos): Val | null {
  const n = isAlias(node) ? node.resolve(env.doc) : node;
  const at = posOf(n, env, fallback);
  if (n === null || n === undefined) return { t: "scalar", v: null, at };
  if (isScalar(n)) {
    const value = (n as Scalar).value;
    if (typeof value === "string") {
      if (value.startsWith("$$")) return { t: "scalar", v: value.slice(1), at };
      const m = VARIABLE.exec(value);
      if (m !== null) return variable(m[1]!, at, env);
      return { t: "scalar", v: value, at };
    }
    if (value === null || typeof value === "number" || typeof value === "boolean") {
      return { t: "scalar", v: value, at };
    }
    env.error(at, `unsupported value ${String(value)}; write text, a number, true or false`);
    return null;
  }
  if (isSeq(n)) {
    const items: Val[] = [];
    let ok = true;
    for (const item of n.items) {
      const v = toVal(item, env, at);
      if (v === null || v.broken) ok = false;
      if (v === null) continue;
      if (v.t === "list" && v.via !== undefined) items.push(...v.items);
      else items.push(v);
    }
    return ok ? { t: "list", items, at } : { t: "list", items, at, broken: true };
  }
  if (isMap(n)) {
    const entries: MapVal["entries"] = [];
    const seen = new Map<string, Pos>();
    let ok = true;
    for (const pair of n.items) {
      const k = isAlias(pair.key) ? pair.key.resolve(env.doc) : pair.key;
      const keyAt = posOf(k, env, at);
      if (!isScalar(k) || k.value === null || typeof k.value === "object") {
        env.error(keyAt, "keys must be plain names");
        ok = false;
        continue;
      }
      const key = String(k.value);
      const first = seen.get(key);
      if (first !== undefined) {
        env.error(
          keyAt,
          `duplicate key "${key}" (first at line ${first.line}, col ${first.col}); keep one`,
        );
        ok = false;
        continue;
      }
      seen.set(key, keyAt);
      const value = toVal(pair.value, env, keyAt);
      if (value === null || value.broken) ok = false;
      if (value !== null) entries.push({ key, keyAt, value });
    }
    return ok ? { t: "map", entries, at } : { t: "map", entries, at, broken: true };
  }
  env.error(at, "unsupported YAML value");
  return null;
}

function variable(name: string, at: Pos, env: Env): Val | null {
  const def = env.vars.get(name);
  const via = `$${name}`;
  if (def === undefined) {
    env.error(
      at,
      `undefined variable $${name}; set it under variables: in a rule file, in the daemon config, or with --var ${name}=VALUE`,
    );
    return null;
  }
  env.usedVars.add(name);
  const value = def.value;
  if (Array.isArray(value)) {
    return { t: "list", items: value.map((v) => ({ t: "scalar", v, at, via })), at, via };
  }
  return { t: "scalar", v: value, at, via };
}

/** `$name` or `${name}` in free text (a rule's name, description); `$$` is a literal `$`. */
const TEXT_VARIABLE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * A rule's name or description with its variables filled in, so an alert says "to a
 * country in CN, RU" rather than "$watch_countries". An undefined one is an error, as in
 * conditions; lists read "a, b, c".
 */
export function expandText(text: string, at: Pos, env: Env): string {
  if (!text.includes("$")) return text;
  return text.replace(TEXT_VARIABLE, (whole, braced?: string, bare?: string) => {
    const name = braced ?? bare;
    if (name === undefined) return "$";
    const def = env.vars.get(name);
    if (def === undefined) {
      env.error(
        at,
        `undefined variable $${name} in text; set it under variables:, or write $$ for a literal $`,
      );
      return whole;
    }
    env.usedVars.add(name);
    return Array.isArray(def.value) ? def.value.join(", ") : String(def.value);
  });
}

// --- the condition tree -------------------------------------------------------------------

/** A literal for `eq`: as written (for reasons) and normalised (for comparing). */
export interface Lit {
  text: string;
  norm: string | boolean;
}

interface OpBase {
  at: Pos;
  via?: string;
}
export type Op =
  | (OpBase & { op: "exists"; want: boolean })
  | (OpBase & { op: "eq"; values: Lit[] })
  /** Values as written; matching is case-insensitive. */
  | (OpBase & { op: "prefix" | "suffix" | "contains" | "glob"; values: string[] })
  | (OpBase & { op: "in"; sets: { name: string; at: Pos }[] })
  | (OpBase & { op: "cidr"; nets: { text: string; cidr: Cidr }[] })
  | (OpBase & { op: "num"; tests: NumTest[] });

export interface FieldCond {
  t: "field";
  field: FieldDef;
  /** All must hold. */
  ops: Op[];
  at: Pos;
  /** The name as the rule wrote it, when that was an ECS alias of `field`. */
  written?: string;
}

export type Cond =
  | { t: "all"; items: Cond[]; at: Pos }
  | { t: "any"; items: Cond[]; at: Pos }
  | { t: "not"; item: Cond; at: Pos }
  | FieldCond;

const COMBINATORS = ["all", "any", "not"];

/** Operators a mapping value may use, per field kind. */
const OPERATORS: Record<FieldDef["kind"], readonly string[]> = {
  ip: ["in", "exists"],
  number: ["gt", "gte", "lt", "lte", "exists"],
  domain: ["suffix", "glob", "prefix", "contains", "in", "exists"],
  text: ["prefix", "suffix", "contains", "glob", "exists"],
  enum: ["exists"],
  name: ["exists"],
  country: ["exists"],
  bool: ["exists"],
};

function operatorsOf(f: FieldDef): readonly string[] {
  return f.asn ? [...OPERATORS.number, "in"] : OPERATORS[f.kind];
}

/** `when:`: a mapping whose entries must all hold (a list of mappings: all of them). */
export function parseWhen(v: Val, env: Env): Cond | null {
  if (v.t === "list") return parseAll(v, env);
  if (v.t !== "map") {
    env.error(
      v.at,
      `expected a mapping of conditions (field: value), found ${describe(v)}${from(v)}`,
    );
    return null;
  }
  return parseConj(v, env);
}

function parseConj(v: MapVal, env: Env): Cond | null {
  if (v.entries.length === 0) {
    if (!v.broken) env.error(v.at, "no conditions here; write field: value pairs");
    return null;
  }
  const items: Cond[] = [];
  let ok = true;
  for (const e of v.entries) {
    const c = parseEntry(e.key, e.keyAt, e.value, env);
    if (c === null) ok = false;
    else items.push(c);
  }
  if (!ok) return null;
  return items.length === 1 ? items[0]! : { t: "all", items, at: v.at };
}

function mapsOf(v: Val, env: Env, what: string): MapVal[] | null {
  if (v.t === "map") return [v];
  if (v.t !== "list") {
    env.error(v.at, `${what} takes a list of condition mappings, found ${describe(v)}`);
    return null;
  }
  if (v.items.length === 0) {
    if (!v.broken) env.error(v.at, `${what} has an empty list`);
    return null;
  }
  const out: MapVal[] = [];
  for (const item of v.items) {
    if (item.t !== "map") {
      env.error(
        item.at,
        `${what}: each item is a mapping of conditions (field: value), found ${describe(item)}`,
      );
      return null;
    }
    out.push(item);
  }
  return out;
}

function parseAll(v: Val, env: Env): Cond | null {
  const maps = mapsOf(v, env, "all");
  if (maps === null) return null;
  const items = maps.map((m) => parseConj(m, env));
  if (items.some((c) => c === null)) return null;
  return items.length === 1 ? items[0]! : { t: "all", items: items as Cond[], at: v.at };
}

function parseEntry(key: string, keyAt: Pos, value: Val, env: Env): Cond | null {
  if (key === "all") return parseAll(value, env);
  if (key === "any") {
    // A mapping under any: each of its entries is one alternative.
    if (value.t === "map") {
      if (value.entries.length === 0) {
        if (!value.broken) env.error(value.at, "any: has no conditions");
        return null;
      }
      const items = value.entries.map((e) => parseEntry(e.key, e.keyAt, e.value, env));
      if (items.some((c) => c === null)) return null;
      return { t: "any", items: items as Cond[], at: keyAt };
    }
    const maps = mapsOf(value, env, "any");
    if (maps === null) return null;
    const items = maps.map((m) => parseConj(m, env));
    if (items.some((c) => c === null)) return null;
    return { t: "any", items: items as Cond[], at: keyAt };
  }
  if (key === "not") {
    if (value.t === "map") {
      const inner = parseConj(value, env);
      return inner === null ? null : { t: "not", item: inner, at: keyAt };
    }
    const maps = mapsOf(value, env, "not");
    if (maps === null) return null;
    const items = maps.map((m) => parseConj(m, env));
    if (items.some((c) => c === null)) return null;
    const inner: Cond =
      items.length === 1 ? items[0]! : { t: "any", items: items as Cond[], at: keyAt };
    return { t: "not", item: inner, at: keyAt };
  }
  const field = fieldNamed(key);
  if (field === undefined) {
    env.error(keyAt, unknownField(key));
    return null;
  }
  const ops = parseFieldValue(field, value, env);
  if (ops === null) return null;
  const cond: FieldCond = { t: "field", field, ops, at: keyAt };
  if (key !== field.name) cond.written = key;
  return cond;
}

export function unknownField(key: string): string {
  const guess = closest(key, [...FIELD_NAMES, ...COMBINATORS]);
  if (guess !== undefined) return `unknown field "${key}"; did you mean "${guess}"?`;
  const tail = FIELD_NAMES.filter((f) => f.endsWith(`.${key.toLowerCase()}`));
  if (tail.length > 0)
    return `unknown field "${key}"; did you mean ${tail.map((t) => `"${t}"`).join(" or ")}?`;
  const head = key.split(".")[0]!;
  const family = FIELD_NAMES.filter((f) => f.startsWith(`${head}.`));
  if (family.length > 0) return `unknown field "${key}"; ${head} fields: ${family.join(", ")}`;
  return `unknown field "${key}"; see docs/RULES.md for the fields (source.*, destination.*, network.*, flow.*, dns.*, tls.*, http.*, device.*) and all, any, not`;
}

// --- one field's value ---------------------------------------------------------------------

function parseFieldValue(f: FieldDef, v: Val, env: Env): Op[] | null {
  if (v.t === "map") {
    if (v.entries.length === 0) {
      if (!v.broken) {
        env.error(
          v.at,
          `${f.name}: empty mapping; write a value or operators (${operatorsOf(f).join(", ")})`,
        );
      }
      return null;
    }
    const ops: Op[] = [];
    let ok = true;
    const allowed = operatorsOf(f);
    for (const e of v.entries) {
      if (!allowed.includes(e.key)) {
        const guess = closest(e.key, allowed);
        const known = allOperators().includes(e.key)
          ? `${f.name} (${kindText(f)}) does not take "${e.key}"`
          : `unknown operator "${e.key}" for ${f.name}`;
        env.error(
          e.keyAt,
          `${known}; ${guess ? `did you mean "${guess}"?` : `it takes a plain value${allowed.length > 0 ? ` or ${allowed.join(", ")}` : ""}`}`,
        );
        ok = false;
        continue;
      }
      const op = parseOperator(f, e.key, e.keyAt, e.value, env);
      if (op === null) ok = false;
      else ops.push(op);
    }
    return ok ? ops : null;
  }
  const op = parsePlain(f, v, env);
  return op === null ? null : [op];
}

function allOperators(): string[] {
  return [...new Set(Object.values(OPERATORS).flat().concat("in"))];
}

function kindText(f: FieldDef): string {
  switch (f.kind) {
    case "ip":
      return "an address";
    case "number":
      return "a number";
    case "domain":
      return "a domain name";
    case "text":
      return "text";
    case "enum":
      return "one of a fixed list";
    case "name":
      return "a name";
    case "country":
      return "a country code";
    case "bool":
      return "true or false";
  }
}

/** The items of a scalar-or-list value. */
function itemsOf(v: Val, f: FieldDef, env: Env): ScalarVal[] | null {
  if (v.t === "scalar") {
    if (v.v === null) {
      env.error(v.at, `${f.name}: empty value${from(v)}; write a value`);
      return null;
    }
    return [v];
  }
  if (v.t === "map") {
    env.error(v.at, `${f.name}: expected a value or a list of values, found a mapping`);
    return null;
  }
  if (v.items.length === 0) {
    if (!v.broken) env.error(v.at, `${f.name}: empty list${from(v)}; it would never match`);
    return null;
  }
  const out: ScalarVal[] = [];
  for (const item of v.items) {
    if (item.t !== "scalar" || item.v === null) {
      env.error(item.at, `${f.name}: list items are plain values, found ${describe(item)}`);
      return null;
    }
    out.push(item);
  }
  return out;
}

function parsePlain(f: FieldDef, v: Val, env: Env): Op | null {
  const items = itemsOf(v, f, env);
  if (items === null) return null;
  const via = v.via ?? items.find((i) => i.via !== undefined)?.via;
  const base = via === undefined ? { at: v.at } : { at: v.at, via };
  switch (f.kind) {
    case "ip": {
      const nets: { text: string; cidr: Cidr }[] = [];
      for (const it of items) {
        const n = network(f, it, env);
        if (n === null) return null;
        nets.push(n);
      }
      return { ...base, op: "cidr", nets };
    }
    case "number": {
      const tests: NumTest[] = [];
      for (const it of items) {
        const t = numTest(f, it, env);
        if (t === null) return null;
        tests.push(t);
      }
      return { ...base, op: "num", tests };
    }
    case "domain": {
      const values: Lit[] = [];
      for (const it of items) {
        const name = domainValue(f, it, env, true);
        if (name === null) return null;
        values.push({ text: name, norm: name });
      }
      return { ...base, op: "eq", values };
    }
    case "bool": {
      const values: Lit[] = [];
      for (const it of items) {
        if (typeof it.v !== "boolean") {
          const hint =
            typeof it.v === "string" && /^(yes|no|on|off)$/i.test(it.v)
              ? "; YAML 1.2 reads yes/no/on/off as text"
              : "";
          env.error(
            it.at,
            `${f.name}: expected true or false, found ${describe(it)}${from(it)}${hint}`,
          );
          return null;
        }
        values.push({ text: String(it.v), norm: it.v });
      }
      return { ...base, op: "eq", values };
    }
    default: {
      const values: Lit[] = [];
      for (const it of items) {
        const lit = word(f, it, env);
        if (lit === null) return null;
        values.push(lit);
      }
      return { ...base, op: "eq", values };
    }
  }
}

function network(f: FieldDef, it: ScalarVal, env: Env): { text: string; cidr: Cidr } | null {
  if (typeof it.v !== "string") {
    env.error(
      it.at,
      `${f.name}: expected an address or network such as 10.20.0.0/24, found ${describe(it)}${from(it)}; put it in quotes`,
    );
    return null;
  }
  const canonical = canonicalCidr(it.v);
  if (canonical instanceof Failure) {
    env.error(it.at, `${f.name}: ${canonical.message}${from(it)}`);
    return null;
  }
  const cidr = parseCidr(canonical)!;
  const bare = cidr.prefix === (cidr.version === 4 ? 32 : 128);
  return { text: bare ? canonical.slice(0, canonical.lastIndexOf("/")) : canonical, cidr };
}

function numTest(f: FieldDef, it: ScalarVal, env: Env): NumTest | null {
  if (typeof it.v !== "string" && typeof it.v !== "number") {
    env.error(
      it.at,
      `${f.name}: expected ${unitExample(f.unit!)}, found ${describe(it)}${from(it)}`,
    );
    return null;
  }
  const t = parseNumTest(it.v, f.unit!);
  if (typeof t === "string") {
    env.error(it.at, `${f.name}: ${t}${from(it)}`);
    return null;
  }
  return bounded(f, t, it.at, env) ? t : null;
}

function bounded(f: FieldDef, t: NumTest, at: Pos, env: Env): boolean {
  const finite = [t.lo, t.hi].filter(Number.isFinite);
  for (const n of finite) {
    if ((f.min !== undefined && n < f.min) || (f.max !== undefined && n > f.max)) {
      env.error(at, `${f.name}: ${n} is outside ${f.min ?? "-inf"}..${f.max ?? "inf"}`);
      return false;
    }
  }
  if (f.unit === "count" && f.max !== undefined && finite.some((n) => !Number.isInteger(n))) {
    env.error(at, `${f.name}: expected a whole number, found ${t.text}`);
    return false;
  }
  return true;
}

/** Lower-case name; a wildcard is allowed when `glob`. Null after reporting. */
function domainValue(f: FieldDef, it: ScalarVal, env: Env, glob: boolean): string | null {
  if (typeof it.v !== "string") {
    env.error(it.at, `${f.name}: expected a domain name, found ${describe(it)}${from(it)}`);
    return null;
  }
  let name = it.v.trim().toLowerCase();
  if (name.endsWith(".")) name = name.slice(0, -1);
  const wild = hasWildcard(name);
  if (wild && !glob) {
    env.error(it.at, `${f.name}: wildcards belong under glob:, found "${it.v}"`);
    return null;
  }
  const problem = domainProblem(name, wild);
  if (problem !== null) {
    env.error(it.at, `${f.name}: ${problem}${from(it)}`);
    return null;
  }
  return name;
}

function word(f: FieldDef, it: ScalarVal, env: Env): Lit | null {
  const raw = it.v;
  if (f.name === "network.transport" && typeof raw === "number") {
    if (!Number.isInteger(raw) || raw < 0 || raw > 255) {
      env.error(it.at, `${f.name}: IP protocol numbers are 0..255, found ${raw}`);
      return null;
    }
    const name = [...TRANSPORTS].find(([, n]) => n === raw)?.[0] ?? String(raw);
    return { text: String(raw), norm: name };
  }
  if (
    typeof raw !== "string" &&
    !(typeof raw === "number" && f.kind !== "enum" && f.kind !== "country")
  ) {
    env.error(it.at, `${f.name}: expected ${expectedWord(f)}, found ${describe(it)}${from(it)}`);
    return null;
  }
  const text = String(raw).trim();
  if (text === "") {
    env.error(it.at, `${f.name}: empty value`);
    return null;
  }
  let norm = text.toLowerCase();
  if (f.kind === "country") {
    if (!/^[a-z]{2}$/.test(norm)) {
      env.error(
        it.at,
        `${f.name}: expected an ISO 3166 two-letter country code such as CN, found "${text}"${from(it)}`,
      );
      return null;
    }
    return { text: text.toUpperCase(), norm };
  }
  if (f.kind === "enum") {
    if (f.name === "network.transport" && norm === "icmpv6") norm = "ipv6-icmp";
    if (f.name === "network.transport" && /^[0-9]+$/.test(norm)) {
      const n = Number(norm);
      norm = [...TRANSPORTS].find(([, p]) => p === n)?.[0] ?? norm;
    }
    const values = f.values ?? [];
    const known = values.some((x) => x.toLowerCase() === norm);
    if (!known) {
      const guess = closest(
        norm,
        values.map((x) => x.toLowerCase()),
      );
      const shown = guess === undefined ? undefined : values.find((x) => x.toLowerCase() === guess);
      const msg = `${f.name}: ${f.strict ? "expected one of" : "not one of the known values"} ${values.join(", ")}; found "${text}"${from(it)}${shown ? `; did you mean "${shown}"?` : ""}`;
      if (f.strict) {
        env.error(it.at, msg);
        return null;
      }
      env.warn(it.at, msg);
    }
    return { text, norm };
  }
  if (
    f.kind === "name" &&
    env.groups !== undefined &&
    f.name.endsWith(".group") &&
    !env.groups.has(text)
  ) {
    const guess = closest(text, [...env.groups]);
    env.warn(
      it.at,
      `${f.name}: no device group "${text}" in the config${guess ? `; did you mean "${guess}"?` : ""}`,
    );
  }
  return { text, norm };
}

function expectedWord(f: FieldDef): string {
  if (f.kind === "enum") return `one of ${(f.values ?? []).join(", ")}`;
  if (f.kind === "country") return "an ISO 3166 two-letter country code";
  return "text";
}

function parseOperator(f: FieldDef, op: string, at: Pos, v: Val, env: Env): Op | null {
  const via = v.via;
  const base = via === undefined ? { at } : { at, via };
  if (op === "exists") {
    if (v.t !== "scalar" || typeof v.v !== "boolean") {
      env.error(v.at, `${f.name}: exists takes true or false, found ${describe(v)}`);
      return null;
    }
    return { ...base, op: "exists", want: v.v };
  }
  if (op === "gt" || op === "gte" || op === "lt" || op === "lte") {
    if (v.t !== "scalar" || (typeof v.v !== "number" && typeof v.v !== "string")) {
      env.error(v.at, `${f.name}: ${op} takes ${unitExample(f.unit!)}, found ${describe(v)}`);
      return null;
    }
    const n = parseAmount(v.v, f.unit!);
    if (typeof n === "string") {
      env.error(v.at, `${f.name}: ${n}${from(v)}`);
      return null;
    }
    const sym = { gt: ">", gte: ">=", lt: "<", lte: "<=" }[op];
    const t = comparison(op, n, `${sym} ${String(v.v)}`);
    return bounded(f, t, v.at, env) ? { ...base, op: "num", tests: [t] } : null;
  }
  if (op === "in") {
    const items = itemsOf(v, f, env);
    if (items === null) return null;
    const sets: { name: string; at: Pos }[] = [];
    for (const it of items) {
      if (typeof it.v !== "string" || !SET_NAME.test(it.v)) {
        env.error(
          it.at,
          `${f.name}: in takes set names (letters, digits, _ and -), found ${describe(it)}${from(it)}`,
        );
        return null;
      }
      sets.push({ name: it.v, at: it.at });
      env.setRefs.push({ name: it.v, at: it.at, field: f });
    }
    return { ...base, op: "in", sets };
  }
  // prefix, suffix, contains, glob
  const items = itemsOf(v, f, env);
  if (items === null) return null;
  const values: string[] = [];
  for (const it of items) {
    if (f.kind === "domain" && (op === "suffix" || op === "glob")) {
      const name = domainValue(f, it, env, op === "glob");
      if (name === null) return null;
      values.push(name);
      continue;
    }
    if (typeof it.v !== "string" && typeof it.v !== "number") {
      env.error(it.at, `${f.name}: ${op} takes text, found ${describe(it)}${from(it)}`);
      return null;
    }
    const s = String(it.v);
    if (s === "") {
      env.error(it.at, `${f.name}: empty ${op} would match everything`);
      return null;
    }
    values.push(s);
  }
  return { ...base, op: op as "prefix" | "suffix" | "contains" | "glob", values };
}

/** The node under `key` in a YAML mapping, and where its key is. */
export function entryOf(map: unknown, key: string): { key: Node; value: unknown } | undefined {
  if (!isMap(map)) return undefined;
  for (const pair of map.items) {
    if (isScalar(pair.key) && pair.key.value === key)
      return { key: pair.key as Node, value: pair.value };
  }
  return undefined;
}
