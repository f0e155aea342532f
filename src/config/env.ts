/**
 * Environment overrides for containers: EGRESSD_<SECTION>_<KEY>=value sets that key over
 * the file (EGRESSD_SENSOR_NAME=cam-sensor-2, EGRESSD_CAPTURE_INTERFACES=eth1,eth2,
 * EGRESSD_HTTP_LISTEN=0.0.0.0:9810, EGRESSD_ALERTS_RATE_LIMIT_PER_SECOND=50). Values are
 * read as YAML scalars (numbers, true/false); a list takes commas or a YAML list. Lists of
 * mappings (device groups, sinks) are set in the file only. Overrides go through the same
 * validation as the file; their problems name the variable.
 */
import type { Document } from "yaml";
import { isMap, isScalar, type Pair, parse, type YAMLMap } from "yaml";
import type { ConfigProblem } from "./errors.js";
import type { Fields, Schema } from "./schema.js";
import { closest } from "./suggest.js";

export const ENV_PREFIX = "EGRESSD_";
/** Variables that are not config keys (the config file's own path). */
const NOT_KEYS = new Set(["EGRESSD_CONFIG"]);
export const ENV_FILE = "environment";

interface Leaf {
  path: string[];
  schema: Schema<unknown>;
}

function fieldsOf(schema: Schema<unknown>): Fields | undefined {
  return (schema as { fields?: Fields }).fields;
}

/** Every settable key as [ENV_NAME, leaf]. */
function leaves(fields: Fields, path: string[] = []): [string, Leaf][] {
  const out: [string, Leaf][] = [];
  for (const [key, f] of Object.entries(fields)) {
    const inner = fieldsOf(f.schema);
    const p = [...path, key];
    if (inner !== undefined) out.push(...leaves(inner, p));
    else out.push([`${ENV_PREFIX}${p.join("_").toUpperCase()}`, { path: p, schema: f.schema }]);
  }
  return out;
}

/**
 * Applies the EGRESSD_* variables of `env` to the parsed file. Returns the problems found
 * now (unknown variables) and the dotted paths set, with their variable names, so schema
 * problems on them can be reported against the variable.
 */
export function applyEnvOverrides(
  doc: Document,
  root: Fields,
  env: Record<string, string | undefined>,
): { problems: ConfigProblem[]; paths: Map<string, string> } {
  const problems: ConfigProblem[] = [];
  const paths = new Map<string, string>();
  const known = new Map(leaves(root));
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || NOT_KEYS.has(name) || value === undefined) continue;
    const leaf = known.get(name);
    if (leaf === undefined) {
      const guess = closest(name, [...known.keys()]);
      problems.push({
        file: ENV_FILE,
        line: 0,
        col: 0,
        message: `${name}: no such setting${guess ? `; did you mean ${guess}?` : ""}`,
      });
      continue;
    }
    const isList = Array.isArray(leaf.schema.empty);
    let parsed: unknown;
    try {
      parsed =
        isList && !value.trim().startsWith("[")
          ? value
              .split(",")
              .map((s) => s.trim())
              .filter((s) => s !== "")
          : parse(value);
    } catch {
      parsed = value;
    }
    if (
      isList &&
      Array.isArray(parsed) &&
      parsed.some((x) => x !== null && typeof x === "object")
    ) {
      problems.push({
        file: ENV_FILE,
        line: 0,
        col: 0,
        message: `${name}: lists of mappings are set in the config file`,
      });
      continue;
    }
    setPath(doc, leaf.path, parsed ?? "");
    paths.set(leaf.path.join("."), name);
  }
  return { problems, paths };
}

/**
 * Sets path in the document, making mappings on the way (`sensor:` left empty, its keys
 * commented out, is a null). Keys become scalar nodes like parsed ones.
 */
function setPath(doc: Document, path: string[], value: unknown): void {
  if (!isMap(doc.contents)) doc.contents = doc.createNode({}) as YAMLMap;
  let map = doc.contents as YAMLMap;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    const last = i === path.length - 1;
    const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
    const next = last ? doc.createNode(value) : undefined;
    if (pair !== undefined) {
      if (last) pair.value = next;
      else if (!isMap(pair.value)) pair.value = doc.createNode({});
      if (!last) map = pair.value as YAMLMap;
    } else {
      const created = doc.createPair(key, last ? value : {});
      map.items.push(created as Pair<unknown, unknown>);
      if (!last) map = created.value as YAMLMap;
    }
  }
}

/** A schema problem on a key an override set: reported against the variable, not the file. */
export function envProblem(p: ConfigProblem, paths: Map<string, string>): ConfigProblem {
  for (const [path, name] of paths) {
    if (p.message.startsWith(`${path}: `) || p.message.startsWith(`${path}[`)) {
      return { file: ENV_FILE, line: 0, col: 0, message: `${name}: ${p.message}` };
    }
  }
  return p;
}

/** The EGRESSD_* names of every settable key (for --help and docs). */
export function envNames(root: Fields): string[] {
  return leaves(root)
    .filter(([, l]) => !Array.isArray(l.schema.empty) || fieldsOf(l.schema) === undefined)
    .map(([n]) => n);
}
