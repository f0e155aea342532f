/**
 * A tiny declarative schema for the config file. One definition gives three things:
 * the validator (YAML nodes in, typed values with defaults out, every problem located
 * at file:line:col), the TypeScript type of the result (`Infer<typeof schema>`), and the
 * JSON Schema that editors use for completion (`schema.jsonSchema()`).
 *
 * Conventions:
 * - Defaults are written in YAML form ("30s", "data/egressd.db") and run through the same
 *   parser, so the JSON Schema shows exactly what one would type and a bad default is
 *   caught as a bug, not blamed on the user's file.
 * - An empty value (`groups:` with every item commented out) means the same as a missing
 *   key for lists and sections. For everything else an empty value is a problem: it is
 *   usually a value someone forgot to fill in.
 * - Unknown keys are problems, with a did-you-mean.
 */
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type LineCounter,
  type Scalar,
  type YAMLMap,
} from "yaml";
import type { ConfigProblem } from "./errors.js";
import { closest } from "./suggest.js";

export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };
export type JsonSchema = { [key: string]: JsonValue };

export interface Position {
  line: number;
  col: number;
}

export interface ParseContext {
  readonly file: string;
  /** Every problem found goes here; parsing carries on past them. */
  readonly problems: ConfigProblem[];
  /** Folder that relative paths written in the file are resolved against. */
  readonly baseDir: string;
  /** Folder that relative default paths are resolved against (the working directory). */
  readonly defaultBaseDir: string;
  readonly doc: Document;
  readonly lineCounter: LineCounter;
}

/** Returned by a parser that has reported a problem; the parent keeps going. */
export const INVALID: unique symbol = Symbol("invalid");
export type Invalid = typeof INVALID;

export interface Schema<T> {
  /** For messages: "expected <expected>, found ...". */
  readonly expected: string;
  /** Containers only: the YAML value a missing or empty key stands for ({} or []). */
  readonly empty?: unknown;
  /**
   * `node` is a yaml node (or undefined for a default built without positions); `at` is
   * where to point when the node has no position of its own; `path` is the dotted key path
   * ("devices.groups[0].cidrs") that messages start with.
   */
  parse(node: unknown, at: Position, path: string, ctx: ParseContext): T | Invalid;
  jsonSchema(): JsonSchema;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

// ---------------------------------------------------------------------------------------
// Positions and messages

/** Follows `*alias` to its anchored node. */
function deref(node: unknown, ctx: ParseContext): unknown {
  return isAlias(node) ? node.resolve(ctx.doc) : node;
}

function rangeOf(node: unknown): readonly [number, number, number] | undefined {
  return (node as { range?: [number, number, number] } | null | undefined)?.range ?? undefined;
}

/** Where a node starts; `fallback` for nodes without a position and for empty values. */
export function positionOf(node: unknown, fallback: Position, ctx: ParseContext): Position {
  const range = rangeOf(node);
  if (range === undefined) return fallback;
  // An empty value's range is the point after the colon; the key is a better place to point.
  if (isScalar(node) && node.value === null && range[0] === range[1]) return fallback;
  return ctx.lineCounter.linePos(range[0]);
}

export function report(ctx: ParseContext, at: Position, message: string): void {
  ctx.problems.push({ file: ctx.file, line: at.line, col: at.col, message });
}

function prefixed(path: string, message: string): string {
  return path === "" ? message : `${path}: ${message}`;
}

function isEmptyValue(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

/** What the user wrote, for "found ...". */
export function describeNode(node: unknown): string {
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) return describeValue(node.value);
  if (node === null || node === undefined) return "an empty value";
  return "an unsupported value";
}

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "an empty value";
  if (typeof value === "string") {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return `string ${JSON.stringify(shown)}`;
  }
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    return `${typeof value === "bigint" ? "number" : typeof value} ${String(value)}`;
  }
  return `a ${typeof value}`;
}

/** A scalar converter's verdict on a bad value: the message, without the key path. */
export class Failure {
  constructor(readonly message: string) {}
}

export function fail(message: string): Failure {
  return new Failure(message);
}

export function mismatch(expected: string, value: unknown, hint?: string): Failure {
  return fail(`expected ${expected}, found ${describeValue(value)}${hint ? `; ${hint}` : ""}`);
}

// ---------------------------------------------------------------------------------------
// Scalars

export interface ScalarSpec<T> {
  expected: string;
  json: JsonSchema;
  /** Receives the scalar's value as YAML typed it (string, number, boolean, null). */
  convert(value: unknown, ctx: ParseContext): T | Failure;
}

/** The building block for every leaf: strings, numbers, and the semantic string kinds. */
export function scalar<T>(spec: ScalarSpec<T>): Schema<T> {
  return {
    expected: spec.expected,
    parse(node, at, path, ctx) {
      const n = deref(node, ctx);
      const where = positionOf(n, at, ctx);
      if (!isScalar(n) && n !== undefined) {
        report(ctx, where, prefixed(path, `expected ${spec.expected}, found ${describeNode(n)}`));
        return INVALID;
      }
      const result = spec.convert(n === undefined ? null : (n as Scalar).value, ctx);
      if (result instanceof Failure) {
        report(ctx, where, prefixed(path, result.message));
        return INVALID;
      }
      return result;
    },
    jsonSchema: () => ({ ...spec.json }),
  };
}

/** A scalar that must be a YAML string; numbers and booleans are reported with a quoting hint. */
export function stringKind<T>(spec: {
  expected: string;
  json: JsonSchema;
  /** Replaces the quoting hint given when a number or boolean is found. */
  nonStringHint?: (value: unknown) => string | undefined;
  convert(value: string, ctx: ParseContext): T | Failure;
}): Schema<T> {
  return scalar({
    expected: spec.expected,
    json: spec.json,
    convert(value, ctx) {
      if (typeof value !== "string") {
        const hint = spec.nonStringHint
          ? spec.nonStringHint(value)
          : typeof value === "number" || typeof value === "boolean"
            ? `put it in quotes if you meant the text "${String(value)}"`
            : undefined;
        return mismatch(spec.expected, value, hint);
      }
      return spec.convert(value, ctx);
    },
  });
}

export interface StringOptions {
  description?: string;
  /** Anchored (^...$). */
  pattern?: RegExp;
  /** How the pattern reads in a message: "lowercase letters, digits, _ and -". */
  patternText?: string;
  minLength?: number;
  maxLength?: number;
  /**
   * Usual values, offered by editors for completion; any value matching `pattern` is
   * still accepted.
   */
  suggestions?: readonly string[];
}

export function string<const E extends string>(
  options: StringOptions & { enum: readonly E[] },
): Schema<E>;
export function string(options?: StringOptions): Schema<string>;
export function string(options: StringOptions & { enum?: readonly string[] } = {}): Schema<string> {
  const { pattern, enum: values, minLength = 0, maxLength, suggestions } = options;
  const expected = values
    ? `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`
    : pattern
      ? (options.patternText ?? `a string matching ${pattern.source}`)
      : minLength > 0
        ? "a non-empty string"
        : "a string";
  const json: JsonSchema = { type: "string" };
  if (options.description) json.description = options.description;
  if (values) json.enum = [...values];
  if (minLength > 0) json.minLength = minLength;
  if (maxLength !== undefined) json.maxLength = maxLength;
  if (pattern && suggestions) {
    // anyOf with an enum branch is what makes editors offer the usual values.
    json.anyOf = [{ enum: [...suggestions] }, { pattern: pattern.source }];
  } else if (pattern) {
    json.pattern = pattern.source;
  }
  return stringKind({
    expected,
    json,
    convert(value) {
      if (values && !values.includes(value)) {
        const guess = closest(value, values);
        return mismatch(expected, value, guess ? `did you mean "${guess}"?` : undefined);
      }
      if (value.length < minLength) return mismatch(expected, value);
      if (maxLength !== undefined && value.length > maxLength) {
        return fail(`expected at most ${maxLength} characters, found ${value.length}`);
      }
      if (pattern && !pattern.test(value)) {
        const lower = value.toLowerCase();
        const hint =
          lower !== value && pattern.test(lower) ? `did you mean "${lower}"?` : undefined;
        return mismatch(expected, value, hint);
      }
      return value;
    },
  });
}

interface NumberOptions {
  description?: string;
  min?: number;
  max?: number;
}

function rangeText(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`;
  if (min !== undefined) return ` >= ${min}`;
  if (max !== undefined) return ` <= ${max}`;
  return "";
}

function numeric(kind: "integer" | "number", options: NumberOptions): Schema<number> {
  const { min, max } = options;
  const expected = `${kind === "integer" ? "an integer" : "a number"}${rangeText(min, max)}`;
  const json: JsonSchema = { type: kind };
  if (options.description) json.description = options.description;
  if (min !== undefined) json.minimum = min;
  if (max !== undefined) json.maximum = max;
  return scalar({
    expected,
    json,
    convert(value) {
      if (typeof value !== "number") {
        const quoted =
          typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value));
        return mismatch(expected, value, quoted ? "remove the quotes" : undefined);
      }
      if (!Number.isFinite(value) || (kind === "integer" && !Number.isInteger(value))) {
        return mismatch(expected, value);
      }
      if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
        return mismatch(expected, value);
      }
      return value;
    },
  });
}

export function integer(options: NumberOptions = {}): Schema<number> {
  return numeric("integer", options);
}

export function number(options: NumberOptions = {}): Schema<number> {
  return numeric("number", options);
}

const YAML11_BOOLEANS = /^(y|yes|n|no|on|off|true|false)$/i;

export function boolean(options: { description?: string } = {}): Schema<boolean> {
  const json: JsonSchema = { type: "boolean" };
  if (options.description) json.description = options.description;
  return scalar({
    expected: "true or false",
    json,
    convert(value) {
      if (typeof value === "boolean") return value;
      const hint =
        typeof value === "string" && YAML11_BOOLEANS.test(value)
          ? "YAML 1.2 reads yes/no/on/off as text: write true or false"
          : undefined;
      return mismatch("true or false", value, hint);
    },
  });
}

// ---------------------------------------------------------------------------------------
// Lists

export interface ArrayOptions<T> {
  description?: string;
  /** For messages, e.g. "a list of networks"; default "a list". */
  expected?: string;
  minItems?: number;
  maxItems?: number;
  /** Items are objects whose `key` must differ, e.g. { key: "name", what: "group name" }. */
  unique?: { key: keyof T & string; what: string };
}

/**
 * A mapping from names the user chooses (rule variables, say) to values of one schema.
 * Keys must match `keyPattern`; each value is parsed with its own position.
 */
export function map<T>(
  value: Schema<T>,
  options: { keyPattern: RegExp; keyText: string; description?: string },
): Schema<Record<string, T>> {
  const expected = "a mapping";
  return {
    expected,
    empty: {},
    parse(node, at, path, ctx) {
      const n = deref(node, ctx);
      const where = positionOf(n, at, ctx);
      if (isEmptyValue(n)) return {};
      if (!isMap(n)) {
        report(ctx, where, prefixed(path, `expected ${expected}, found ${describeNode(n)}`));
        return INVALID;
      }
      const out: Record<string, T> = {};
      let ok = true;
      for (const pair of n.items) {
        const keyNode = deref(pair.key, ctx);
        const keyAt = positionOf(keyNode, where, ctx);
        const key = isScalar(keyNode) ? String(keyNode.value) : "";
        if (!options.keyPattern.test(key)) {
          report(
            ctx,
            keyAt,
            prefixed(path, `key ${JSON.stringify(key)} must be ${options.keyText}`),
          );
          ok = false;
          continue;
        }
        const parsed = value.parse(pair.value, keyAt, path === "" ? key : `${path}.${key}`, ctx);
        if (parsed === INVALID) ok = false;
        else out[key] = parsed;
      }
      return ok ? out : INVALID;
    },
    jsonSchema: () => {
      const json: JsonSchema = {
        type: "object",
        propertyNames: { pattern: options.keyPattern.source },
        additionalProperties: value.jsonSchema(),
      };
      if (options.description) json.description = options.description;
      return json;
    },
  };
}

/** The first of several schemas that accepts a value (a variable may be text, a number or a list). */
export function oneOf<T>(expected: string, schemas: readonly Schema<T>[]): Schema<T> {
  return {
    expected,
    parse(node, at, path, ctx) {
      for (const schema of schemas) {
        const trial: ParseContext = { ...ctx, problems: [] };
        const result = schema.parse(node, at, path, trial);
        if (result !== INVALID && trial.problems.length === 0) return result;
      }
      const n = deref(node, ctx);
      report(
        ctx,
        positionOf(n, at, ctx),
        prefixed(path, `expected ${expected}, found ${describeNode(n)}`),
      );
      return INVALID;
    },
    jsonSchema: () => ({ anyOf: schemas.map((x) => x.jsonSchema()) }),
  };
}

export function array<T>(item: Schema<T>, options: ArrayOptions<T> = {}): Schema<T[]> {
  const { minItems, maxItems, unique } = options;
  const expected = options.expected ?? "a list";
  return {
    expected,
    empty: [],
    parse(node, at, path, ctx) {
      const n = deref(node, ctx);
      const where = positionOf(n, at, ctx);
      if (isEmptyValue(n)) return [];
      if (!isSeq(n)) {
        const hint =
          isScalar(n) && typeof n.value !== "object"
            ? `; write it as a list: [${String(n.source ?? n.value)}]`
            : "";
        report(ctx, where, prefixed(path, `expected ${expected}, found ${describeNode(n)}${hint}`));
        return INVALID;
      }
      const out: T[] = [];
      let ok = true;
      const seen = new Map<string, { path: string; at: Position }>();
      n.items.forEach((raw, i) => {
        const itemNode = deref(raw, ctx);
        const range = rangeOf(itemNode);
        const itemAt = range ? ctx.lineCounter.linePos(range[0]) : where;
        const itemPath = `${path}[${i}]`;
        const value = item.parse(itemNode, itemAt, itemPath, ctx);
        if (value === INVALID) ok = false;
        // Checked on what was written, so a duplicate is reported even in an item with
        // other problems.
        const keyNode =
          unique && isMap(itemNode) ? deref(itemNode.get(unique.key, true), ctx) : null;
        if (unique && isScalar(keyNode) && typeof keyNode.value === "string") {
          const key = keyNode.value;
          const keyAt = positionOf(keyNode, itemAt, ctx);
          const first = seen.get(key);
          if (first) {
            report(
              ctx,
              keyAt,
              `${itemPath}.${unique.key}: ${unique.what} ${JSON.stringify(key)} is already used by ${first.path} at line ${first.at.line}; each ${unique.what} must be unique`,
            );
            ok = false;
          } else {
            seen.set(key, { path: itemPath, at: keyAt });
          }
        }
        if (value === INVALID) return;
        out.push(value);
      });
      if (minItems !== undefined && n.items.length < minItems) {
        report(
          ctx,
          where,
          prefixed(path, `needs at least ${minItems} item(s), found ${n.items.length}`),
        );
        ok = false;
      }
      if (maxItems !== undefined && n.items.length > maxItems) {
        report(
          ctx,
          where,
          prefixed(path, `takes at most ${maxItems} item(s), found ${n.items.length}`),
        );
        ok = false;
      }
      return ok ? out : INVALID;
    },
    jsonSchema() {
      const json: JsonSchema = { type: "array", items: item.jsonSchema() };
      if (options.description) json.description = options.description;
      if (minItems !== undefined) json.minItems = minItems;
      if (maxItems !== undefined) json.maxItems = maxItems;
      return json;
    },
  };
}

// ---------------------------------------------------------------------------------------
// Objects

export interface Field<T, Optional extends boolean> {
  readonly schema: Schema<T>;
  readonly description: string;
  /** Absent from the result when not set (no default). */
  readonly optional: Optional;
  readonly required: boolean;
  /** YAML-form default, or a function giving one (evaluated at each load). */
  readonly default?: unknown;
}

type AnyField = Field<unknown, boolean>;
export type Fields = Record<string, AnyField>;

type FieldValue<F> = F extends Field<infer T, boolean> ? T : never;
type OptionalKeys<F extends Fields> = {
  [K in keyof F]: F[K] extends Field<unknown, true> ? K : never;
}[keyof F];
type Simplify<T> = { [K in keyof T]: T[K] } & {};

export type ObjectValue<F extends Fields> = Simplify<
  { [K in Exclude<keyof F, OptionalKeys<F>>]: FieldValue<F[K]> } & {
    [K in OptionalKeys<F>]?: FieldValue<F[K]>;
  }
>;

/**
 * A key with a default. Lists and sections may leave the default out: they default to
 * empty (a section then gets its own fields' defaults).
 */
export function field<T>(
  schema: Schema<T>,
  description: string,
  options: { default?: unknown } = {},
): Field<T, false> {
  const def = "default" in options ? options.default : schema.empty;
  if (def === undefined) {
    throw new Error(`config schema: "${description}" needs a default (or use optional/required)`);
  }
  return { schema, description, optional: false, required: false, default: def };
}

/** A key that must be present. */
export function required<T>(schema: Schema<T>, description: string): Field<T, false> {
  return { schema, description, optional: false, required: true };
}

/** A key that may be absent; absent means undefined in the result. */
export function optional<T>(schema: Schema<T>, description: string): Field<T, true> {
  return { schema, description, optional: true, required: false };
}

export interface ObjectOptions<F extends Fields> {
  description?: string;
  /** At least one of these keys must be set to a non-empty value. */
  atLeastOneOf?: { keys: readonly (keyof F & string)[]; what: string };
}

export interface ObjectSchema<F extends Fields> extends Schema<ObjectValue<F>> {
  readonly fields: F;
}

function orList(words: readonly string[]): string {
  return words.length <= 1
    ? words.join("")
    : `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}

export function object<F extends Fields>(
  fields: F,
  options: ObjectOptions<F> = {},
): ObjectSchema<F> {
  const names = Object.keys(fields);
  const expected = `a mapping with keys ${names.join(", ")}`;

  function parseDefault(f: AnyField, at: Position, path: string, ctx: ParseContext): unknown {
    const input = typeof f.default === "function" ? f.default() : f.default;
    const defaultCtx: ParseContext = {
      ...ctx,
      problems: [],
      baseDir: ctx.defaultBaseDir,
    };
    const value = f.schema.parse(ctx.doc.createNode(input), at, path, defaultCtx);
    if (value === INVALID || defaultCtx.problems.length > 0) {
      throw new Error(
        `egressd bug: the default of ${path} is invalid: ${defaultCtx.problems.map((p) => p.message).join("; ")}`,
      );
    }
    return value;
  }

  return {
    fields,
    expected,
    empty: {},
    parse(node, at, path, ctx) {
      const n = deref(node, ctx);
      const where = positionOf(n, at, ctx);
      const inWhat = path === "" ? "" : ` in ${path}`;
      if (!isEmptyValue(n) && !isMap(n)) {
        report(ctx, where, prefixed(path, `expected ${expected}, found ${describeNode(n)}`));
        return INVALID;
      }
      const pairs = isMap(n) ? (n as YAMLMap).items : [];
      const present = new Map<string, { value: unknown; keyAt: Position }>();
      const firstAt = new Map<string, Position>();
      let ok = true;
      for (const pair of pairs) {
        const keyNode = deref(pair.key, ctx);
        const keyAt = positionOf(keyNode, where, ctx);
        if (!isScalar(keyNode) || (keyNode.value !== null && typeof keyNode.value === "object")) {
          report(ctx, keyAt, `keys must be plain names, found ${describeNode(keyNode)}${inWhat}`);
          ok = false;
          continue;
        }
        const key = String(keyNode.value);
        const first = firstAt.get(key);
        if (first) {
          report(
            ctx,
            keyAt,
            `duplicate key "${key}"${inWhat} (first set at line ${first.line}, col ${first.col}); keep one`,
          );
          ok = false;
          continue;
        }
        firstAt.set(key, keyAt);
        if (!Object.hasOwn(fields, key)) {
          const guess = closest(key, names);
          report(
            ctx,
            keyAt,
            `unknown key "${key}"${inWhat}; ${guess ? `did you mean "${guess}"?` : `known keys: ${names.join(", ")}`}`,
          );
          ok = false;
          continue;
        }
        present.set(key, { value: pair.value, keyAt });
      }

      const out: Record<string, unknown> = {};
      for (const name of names) {
        const f = fields[name]!;
        const childPath = path === "" ? name : `${path}.${name}`;
        const given = present.get(name);
        const container = f.schema.empty !== undefined;
        const missing = given === undefined || (container && isEmptyValue(deref(given.value, ctx)));
        if (missing) {
          if (f.required) {
            report(ctx, given?.keyAt ?? where, `missing required key "${name}"${inWhat}`);
            ok = false;
          } else if (!f.optional) {
            out[name] = parseDefault(f, given?.keyAt ?? where, childPath, ctx);
          }
          continue;
        }
        const valueAt = positionOf(deref(given.value, ctx), given.keyAt, ctx);
        const value = f.schema.parse(given.value ?? null, valueAt, childPath, ctx);
        if (value === INVALID) ok = false;
        else out[name] = value;
      }

      const rule = options.atLeastOneOf;
      if (
        rule &&
        !rule.keys.some((k) => present.has(k) && !isEmptyish(present.get(k)!.value, ctx))
      ) {
        report(
          ctx,
          where,
          prefixed(path, `no ${rule.what}: set at least one of ${orList(rule.keys)}`),
        );
        ok = false;
      }
      return ok ? (out as ObjectValue<F>) : INVALID;
    },
    jsonSchema() {
      const json: JsonSchema = { type: "object" };
      if (options.description) json.description = options.description;
      const properties: { [key: string]: JsonValue } = {};
      const requiredKeys: string[] = [];
      for (const name of names) {
        const f = fields[name]!;
        const prop = f.schema.jsonSchema();
        prop.description = f.description;
        // Containers take an empty value as "not set" (see the file comment).
        if (f.schema.empty !== undefined) prop.type = [prop.type as string, "null"];
        if (!f.required && !f.optional && f.default !== f.schema.empty) {
          if (typeof f.default !== "function") prop.default = f.default as JsonValue;
        }
        properties[name] = prop;
        if (f.required) requiredKeys.push(name);
      }
      json.properties = properties;
      if (requiredKeys.length > 0) json.required = requiredKeys;
      json.additionalProperties = false;
      const rule = options.atLeastOneOf;
      if (rule) {
        json.anyOf = rule.keys.map((k) => {
          const branch: JsonSchema = { required: [k] };
          const kind = fields[k]!.schema.jsonSchema().type;
          if (kind === "array") branch.properties = { [k]: { type: "array", minItems: 1 } };
          else if (kind === "object") branch.properties = { [k]: { type: "object" } };
          else branch.properties = { [k]: { not: { type: "null" } } };
          return branch;
        });
      }
      return json;
    },
  };
}

/** Not set in any useful way: empty value, empty list or empty mapping. */
function isEmptyish(node: unknown, ctx: ParseContext): boolean {
  const n = deref(node, ctx);
  if (isEmptyValue(n)) return true;
  if (isSeq(n) || isMap(n)) return n.items.length === 0;
  return false;
}

/**
 * A mapping whose `tag` key picks its shape (an alert sink: `type: webhook` takes url,
 * headers...; `type: syslog` takes host, transport...): each variant is an object schema
 * that has the tag key itself. Unknown keys are reported against the chosen variant, so
 * "did you mean" suggests that sink type's keys.
 */
export function variants<V extends Record<string, ObjectSchema<Fields>>>(
  tag: string,
  shapes: V,
  description: string,
): Schema<{ [K in keyof V]: Infer<V[K]> }[keyof V]> {
  const names = Object.keys(shapes);
  return {
    expected: `a mapping with ${tag}: ${names.join(", ")}`,
    parse(node, at, path, ctx) {
      const n = deref(node, ctx);
      const where = positionOf(n, at, ctx);
      if (!isMap(n)) {
        report(
          ctx,
          where,
          prefixed(path, `expected a mapping with ${tag}, found ${describeNode(n)}`),
        );
        return INVALID;
      }
      const pair = (n as YAMLMap).items.find(
        (p) => isScalar(p.key) && (p.key as Scalar).value === tag,
      );
      if (pair === undefined) {
        report(
          ctx,
          where,
          prefixed(path, `missing required key "${tag}" (one of ${names.join(", ")})`),
        );
        return INVALID;
      }
      const value = deref(pair.value, ctx);
      const name = isScalar(value) ? String((value as Scalar).value) : "";
      const shape = shapes[name];
      if (shape === undefined) {
        const guess = closest(name, names);
        report(
          ctx,
          positionOf(value, where, ctx),
          prefixed(
            path,
            `${tag}: unknown "${name}"; ${guess ? `did you mean "${guess}"?` : `one of ${names.join(", ")}`}`,
          ),
        );
        return INVALID;
      }
      return shape.parse(node, at, path, ctx) as { [K in keyof V]: Infer<V[K]> }[keyof V];
    },
    jsonSchema: () => ({
      description,
      oneOf: names.map((k) => shapes[k]!.jsonSchema()),
    }),
  };
}
