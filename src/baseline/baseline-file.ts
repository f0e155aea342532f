/**
 * Baseline files: readable YAML an admin reviews and edits. Reading validates with the
 * config's schema combinators, so every problem comes at file:line:col with a
 * did-you-mean. Writing a re-learned baseline over an existing file merges into the
 * parsed document (counts added, times widened, new entries appended, nothing removed)
 * so the admin's comments and edits survive.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { Document, isMap, isScalar, isSeq, parseDocument, type YAMLMap, type YAMLSeq } from "yaml";
import { ConfigError } from "../config/errors.js";
import { cidr } from "../config/kinds.js";
import { yamlContext } from "../config/load.js";
import {
  array,
  boolean,
  type Fields,
  fail,
  field,
  INVALID,
  integer,
  number,
  object,
  optional,
  required,
  string,
  stringKind,
} from "../config/schema.js";
import type { Baseline, BaselineEntry, GroupBaseline, LookupEntry, VolumeRange } from "./model.js";
import { parsePort } from "./model.js";

/** At most this many device ids are listed per entry (the count is in `flows`). */
export const MAX_DEVICES_LISTED = 20;

const texts = (what: string) => array(string({ minLength: 1 }), { expected: `a list of ${what}` });
const PORT_EXPECTED = "a port like tcp/443, udp/123, tcp/8000-8100, tcp/*, icmp or *";
const port = stringKind({
  expected: PORT_EXPECTED,
  json: { type: "string", description: PORT_EXPECTED },
  convert: (v) => (parsePort(v) === null ? fail(`"${v}" is not ${PORT_EXPECTED}`) : v),
});
const portList = array(port, { expected: 'a list of ports like "tcp/443"' });

const entrySchema = object(
  {
    group: optional(string({ minLength: 1 }), "A device group (config devices.groups)."),
    domain: optional(
      string({ minLength: 1 }),
      'A name, exact, or "*.example.org" for any below it.',
    ),
    network: optional(cidr(), "An address or network (destinations without a name)."),
    scope: optional(
      string({ enum: ["local"] as const }),
      "local: any address that is not internet.",
    ),
    same_maker: optional(boolean(), "Any device of the same maker."),
    direction: optional(
      string({ enum: ["out", "in"] as const }),
      "out: the group's device opened the flow (default); in: the other end did.",
    ),
    name_source: optional(string(), "How the name was learned: dns, sni, http..."),
    ports: field(portList, 'Ports: "tcp/443", "udp/123", "tcp/8000-8100", "tcp/*", "icmp", "*".', {
      default: ["*"],
    }),
    protocols: optional(texts("protocols"), "Application protocols seen there."),
    countries: optional(texts("countries"), "Countries of the addresses seen."),
    asns: optional(array(integer({ min: 0 }), { expected: "a list of AS numbers" }), "ASNs seen."),
    flows: optional(integer({ min: 0 }), "Flows seen while learning."),
    first_seen: optional(string(), "First seen (packet time)."),
    last_seen: optional(string(), "Last seen (packet time)."),
    devices: optional(texts("device ids"), "Devices that used it (at most 20 listed)."),
  },
  {
    description: "One destination the group's devices may reach.",
    atLeastOneOf: { keys: ["group", "domain", "network", "scope", "same_maker"], what: "target" },
  },
);

const lookupSchema = object({
  name: required(string({ minLength: 1 }), "A name the group's devices asked DNS for."),
  queries: optional(integer({ min: 0 }), "Questions seen."),
  first_seen: optional(string(), "First seen."),
  last_seen: optional(string(), "Last seen."),
  devices: optional(texts("device ids"), "Devices that asked."),
});

const rangeSchema = object({
  min: required(number({ min: 0 }), "Least bytes a device moved in a day."),
  max: required(number({ min: 0 }), "Most bytes a device moved in a day."),
  days: optional(integer({ min: 0 }), "Device-days measured."),
});

const groupSchema = object({
  group: required(string({ minLength: 1 }), "The device group (config devices.groups)."),
  role: optional(string(), "The group's role."),
  source: optional(string(), "Where an imported group came from."),
  learned: optional(
    object({
      from: required(string(), "First packet time learned from."),
      to: required(string(), "Last packet time learned from."),
      devices: required(integer({ min: 0 }), "Devices seen."),
      flows: required(integer({ min: 0 }), "Flows seen."),
    }),
    "When and from how much traffic it was learned.",
  ),
  destinations: field(
    array(entrySchema, { expected: "a list of destinations" }),
    "Allowed destinations.",
  ),
  lookups: field(array(lookupSchema, { expected: "a list of names" }), "Names looked up."),
  volume: optional(
    object({
      bytes_out_per_day: optional(rangeSchema, "Bytes sent per device per day."),
      bytes_in_per_day: optional(rangeSchema, "Bytes received per device per day."),
    }),
    "Learned byte volumes.",
  ),
});

const fileSchema = object(
  {
    version: field(integer({ min: 1, max: 1 }), "File format version.", { default: 1 }),
    groups: field(
      array(groupSchema, { expected: "a list of groups", unique: { key: "group", what: "group" } }),
      "One baseline per device group.",
    ),
  } satisfies Fields,
  { description: "egressd baseline (egressd learn, egressd mud import)." },
);

/** Parses baseline text; a ConfigError lists every problem at file:line:col. */
export function parseBaseline(text: string, file: string): Baseline {
  const ctx = yamlContext(text, file);
  const parsed = fileSchema.parse(ctx.doc.contents, { line: 1, col: 1 }, "", ctx);
  if (parsed === INVALID || ctx.problems.length > 0) throw new ConfigError(ctx.problems);
  return parsed as Baseline;
}

export function readBaselineFile(path: string): Baseline {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError([
      { file: path, line: 0, col: 0, message: `cannot read: ${(err as Error).message}` },
    ]);
  }
  return parseBaseline(text, path);
}

const HEADER = `egressd baseline: what each device group talked to while egressd learned.
Review it: delete what should not be there, add comments. \`egressd learn\` keeps your
comments and edits when it learns again (counts add up, new entries are appended);
\`egressd learn --diff\` shows what a new learn would change. Enforced by the rules on
trigger baseline_drift (rules/baseline.yaml) when this file is in baseline.files.`;

/** The target of an entry as one key: what re-learning matches entries by. */
export function entryKey(e: BaselineEntry): string {
  const target =
    e.group !== undefined
      ? `group ${e.group}`
      : e.domain !== undefined
        ? `domain ${e.domain}`
        : e.network !== undefined
          ? `network ${e.network}`
          : e.scope !== undefined
            ? `scope ${e.scope}`
            : "same_maker";
  return `${e.direction === "in" ? "in " : ""}${target}`;
}

/** "domain *.ys7.com tcp/443" for messages. */
export function describeEntry(e: BaselineEntry): string {
  return `${entryKey(e)} ${e.ports.join(",")}`;
}

/**
 * Writes `learned` to `path`: a new file, or merged into the existing one so its comments
 * and edits stay (see the file comment). Returns the text written.
 */
export function writeBaseline(path: string, learned: Baseline): string {
  let doc: Document;
  if (existsSync(path)) {
    readBaselineFile(path); // a broken file is reported, not overwritten
    doc = parseDocument(readFileSync(path, "utf8"));
    mergeInto(doc, learned);
  } else {
    doc = new Document(learned);
    doc.commentBefore = HEADER.split("\n")
      .map((l) => ` ${l}`)
      .join("\n");
  }
  flowShortLists(doc.contents);
  const text = doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  writeFileSync(path, text);
  return text;
}

/** Lists of plain values ("ports: [tcp/443, udp/123]") on one line: the file reads as a table. */
function flowShortLists(node: unknown): void {
  if (isSeq(node)) {
    if (node.items.every((i) => isScalar(i))) node.flow = true;
    else for (const i of node.items) flowShortLists(i);
  } else if (isMap(node)) {
    for (const p of node.items) flowShortLists(p.value);
  }
}

function mergeInto(doc: Document, learned: Baseline): void {
  let groups = doc.get("groups", true) as YAMLSeq | undefined;
  if (!isSeq(groups)) {
    doc.set("groups", doc.createNode([]));
    groups = doc.get("groups", true) as YAMLSeq;
  }
  for (const g of learned.groups) {
    const node = groups.items.find((n) => isMap(n) && scalarOf(n, "group") === g.group) as
      | YAMLMap
      | undefined;
    if (node === undefined) {
      groups.items.push(doc.createNode(g));
      continue;
    }
    mergeGroup(doc, node, g);
  }
}

function mergeGroup(doc: Document, node: YAMLMap, g: GroupBaseline): void {
  if (g.learned !== undefined) {
    const l = node.get("learned", true);
    if (isMap(l)) {
      setScalar(doc, l, "from", minText(scalarOf(l, "from"), g.learned.from));
      setScalar(doc, l, "to", maxText(scalarOf(l, "to"), g.learned.to));
      setScalar(
        doc,
        l,
        "devices",
        Math.max(Number(scalarOf(l, "devices") ?? 0), g.learned.devices),
      );
      setScalar(doc, l, "flows", Number(scalarOf(l, "flows") ?? 0) + g.learned.flows);
    } else node.set("learned", doc.createNode(g.learned));
  }
  const dests = seqOf(doc, node, "destinations");
  for (const e of g.destinations) {
    const key = entryKey(e);
    const existing = dests.items.find(
      (n) => isMap(n) && entryKey(plain(n) as BaselineEntry) === key,
    ) as YAMLMap | undefined;
    if (existing === undefined) dests.items.push(doc.createNode(e));
    else mergeEntry(doc, existing, e);
  }
  const lookups = seqOf(doc, node, "lookups");
  for (const l of g.lookups) {
    const existing = lookups.items.find((n) => isMap(n) && scalarOf(n, "name") === l.name) as
      | YAMLMap
      | undefined;
    if (existing === undefined) lookups.items.push(doc.createNode(l));
    else mergeLookup(doc, existing, l);
  }
  if (g.volume !== undefined) {
    const v = node.get("volume", true);
    if (!isMap(v)) node.set("volume", doc.createNode(g.volume));
    else {
      for (const k of ["bytes_out_per_day", "bytes_in_per_day"] as const) {
        const range = g.volume[k];
        if (range === undefined) continue;
        const r = v.get(k, true);
        if (!isMap(r)) v.set(k, doc.createNode(range));
        else widen(doc, r, range);
      }
    }
  }
}

function mergeEntry(doc: Document, node: YAMLMap, e: BaselineEntry): void {
  for (const k of ["ports", "protocols", "countries", "asns"] as const) {
    const values = e[k];
    if (values !== undefined) union(doc, node, k, values as (string | number)[]);
  }
  union(doc, node, "devices", e.devices ?? [], MAX_DEVICES_LISTED);
  if (e.flows !== undefined)
    setScalar(doc, node, "flows", Number(scalarOf(node, "flows") ?? 0) + e.flows);
  if (e.first_seen !== undefined)
    setScalar(doc, node, "first_seen", minText(scalarOf(node, "first_seen"), e.first_seen));
  if (e.last_seen !== undefined)
    setScalar(doc, node, "last_seen", maxText(scalarOf(node, "last_seen"), e.last_seen));
}

function mergeLookup(doc: Document, node: YAMLMap, l: LookupEntry): void {
  if (l.queries !== undefined)
    setScalar(doc, node, "queries", Number(scalarOf(node, "queries") ?? 0) + l.queries);
  if (l.first_seen !== undefined)
    setScalar(doc, node, "first_seen", minText(scalarOf(node, "first_seen"), l.first_seen));
  if (l.last_seen !== undefined)
    setScalar(doc, node, "last_seen", maxText(scalarOf(node, "last_seen"), l.last_seen));
  union(doc, node, "devices", l.devices ?? [], MAX_DEVICES_LISTED);
}

function widen(doc: Document, node: YAMLMap, r: VolumeRange): void {
  setScalar(doc, node, "min", Math.min(Number(scalarOf(node, "min") ?? r.min), r.min));
  setScalar(doc, node, "max", Math.max(Number(scalarOf(node, "max") ?? r.max), r.max));
  if (r.days !== undefined)
    setScalar(doc, node, "days", Number(scalarOf(node, "days") ?? 0) + r.days);
}

/** Adds the values missing from node[key] (a list), keeping the list's own node (and comments). */
function union(
  doc: Document,
  node: YAMLMap,
  key: string,
  values: readonly (string | number)[],
  max = Infinity,
) {
  if (values.length === 0) return;
  const seq = node.get(key, true);
  if (!isSeq(seq)) {
    node.set(key, doc.createNode([...values].slice(0, max)));
    return;
  }
  const have = new Set(seq.items.map((i) => (isScalar(i) ? String(i.value) : "")));
  for (const v of values) {
    if (seq.items.length >= max) break;
    if (!have.has(String(v))) {
      seq.items.push(doc.createNode(v));
      have.add(String(v));
    }
  }
}

/** Changes a scalar in place (its comment stays), or adds it. */
function setScalar(doc: Document, node: YAMLMap, key: string, value: string | number | undefined) {
  if (value === undefined) return;
  const s = node.get(key, true);
  if (isScalar(s)) s.value = value;
  else node.set(key, doc.createNode(value));
}

function seqOf(doc: Document, node: YAMLMap, key: string): YAMLSeq {
  let s = node.get(key, true);
  if (!isSeq(s)) {
    node.set(key, doc.createNode([]));
    s = node.get(key, true);
  }
  return s as unknown as YAMLSeq;
}

function scalarOf(node: unknown, key: string): string | number | undefined {
  if (!isMap(node)) return undefined;
  const v = node.get(key, true);
  return isScalar(v) ? (v.value as string | number) : undefined;
}

function plain(node: unknown): unknown {
  return (node as { toJSON(): unknown }).toJSON();
}

/** ISO times compare as text. */
function minText(a: unknown, b: string): string {
  return typeof a === "string" && a < b ? a : b;
}

function maxText(a: unknown, b: string): string {
  return typeof a === "string" && a > b ? a : b;
}
