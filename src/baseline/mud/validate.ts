/**
 * Validates a MUD file (RFC 8520) before egressd reads anything from it: JSON syntax at
 * line:col, then the shape its YANG modules give it (ietf-mud, ietf-access-control-list
 * of RFC 8519, ietf-acldns), every problem at file:line:col with the JSON path and, for
 * unknown keys, a did-you-mean. Policies must name ACLs the file has. Keys from modules
 * egressd does not know are refused inside ACE matches (a match it cannot read would make
 * the allow-list wider than the file says) and only warned about elsewhere (RFC 8520
 * extensions add their own keys to the mud container and the root).
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { ConfigError, type ConfigProblem } from "../../config/errors.js";
import { parseCidr } from "../../config/kinds.js";
import { Failure } from "../../config/schema.js";
import { closest } from "../../config/suggest.js";
import {
  ACLS_ROOT,
  DIRECTION_INITIATED,
  DST_DNSNAME,
  type JsonPath,
  MUD_ROOT,
  type MudFile,
  OLD_ACLS_ROOT,
  SRC_DNSNAME,
} from "./types.js";

export interface ValidatedMud {
  mud: MudFile;
  /** Legal but worth saying: ignored extensions, unreferenced ACLs, the old root name. */
  warnings: ConfigProblem[];
  /** A problem at `path` in the file, for the stages after validation (import.ts). */
  problemAt(path: JsonPath, message: string): ConfigProblem;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const ACL_TYPES = [
  "ipv4-acl-type",
  "ipv6-acl-type",
  "eth-acl-type",
  "mixed-eth-ipv4-acl-type",
  "mixed-eth-ipv6-acl-type",
  "mixed-eth-ipv4-ipv6-acl-type",
];
const FORWARDING = ["accept", "drop", "reject"];
const PORT_OPERATORS = ["eq", "lte", "gte", "neq"];
const MUD_KEYS = [
  "mud-version",
  "mud-url",
  "last-update",
  "mud-signature",
  "cache-validity",
  "is-supported",
  "systeminfo",
  "mfg-name",
  "model-name",
  "firmware-rev",
  "software-rev",
  "documentation",
  "extensions",
  "from-device-policy",
  "to-device-policy",
];
const MATCH_KEYS = [
  "eth",
  "ipv4",
  "ipv6",
  "tcp",
  "udp",
  "icmp",
  MUD_ROOT,
  "egress-interface",
  "ingress-interface",
];
const L3_COMMON = ["dscp", "ecn", "length", "ttl", "protocol", DST_DNSNAME, SRC_DNSNAME];
const IPV4_KEYS = [
  ...L3_COMMON,
  "ihl",
  "flags",
  "offset",
  "identification",
  "destination-ipv4-network",
  "source-ipv4-network",
];
const IPV6_KEYS = [...L3_COMMON, "destination-ipv6-network", "source-ipv6-network", "flow-label"];
const UDP_KEYS = ["length", "source-port", "destination-port"];
const TCP_KEYS = [
  "sequence-number",
  "acknowledgement-number",
  "data-offset",
  "reserved",
  "flags",
  "window-size",
  "urgent-pointer",
  "options",
  "source-port",
  "destination-port",
  DIRECTION_INITIATED,
];
const MUD_MATCH_KEYS = [
  "manufacturer",
  "same-manufacturer",
  "model",
  "local-networks",
  "controller",
  "my-controller",
];
/** YANG date-and-time (RFC 6991). */
const DATE_AND_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** inet:host names as ietf-acldns uses them: labels, no wildcard. */
const DNS_NAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** "acls.acl[0].aces.ace[2].matches.ipv4", with the two root modules shortened. */
export function pathText(path: JsonPath): string {
  let s = "";
  for (const [i, p] of path.entries()) {
    if (typeof p === "number") s += `[${p}]`;
    else {
      const name =
        i > 0 ? p : p === MUD_ROOT ? "mud" : p === ACLS_ROOT || p === OLD_ACLS_ROOT ? "acls" : p;
      s += s === "" ? name : `.${name}`;
    }
  }
  return s;
}

/** A module-qualified identity ("ietf-access-control-list:accept") without its module. */
export function localName(value: string): string {
  const colon = value.lastIndexOf(":");
  return colon < 0 ? value : value.slice(colon + 1);
}

/** Parses and checks MUD text; a ConfigError lists every problem (and the warnings). */
export function validateMud(text: string, file: string): ValidatedMud {
  const lines = new LineCounter();
  let root: Json;
  try {
    root = JSON.parse(text) as Json;
  } catch (err) {
    throw new ConfigError([jsonSyntaxProblem(text, file, (err as Error).message)]);
  }
  // The yaml parser reads JSON too, and keeps where every node is (and finds duplicate keys).
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const c = new Checker(file, doc.contents, lines);
  for (const e of doc.errors) {
    if (e.code === "DUPLICATE_KEY") {
      c.errors.push({ file, ...lines.linePos(e.pos[0]), message: "duplicate key in an object" });
    }
  }
  checkRoot(c, root);
  if (c.errors.length > 0) {
    const warnings = c.warnings.map((w) => ({ ...w, message: `warning: ${w.message}` }));
    throw new ConfigError([...byPosition(c.errors), ...byPosition(warnings)]);
  }
  const mud = root as unknown as MudFile & { [OLD_ACLS_ROOT]?: unknown };
  if (mud[OLD_ACLS_ROOT] !== undefined && mud[ACLS_ROOT] === undefined) {
    mud[ACLS_ROOT] = mud[OLD_ACLS_ROOT] as MudFile[typeof ACLS_ROOT];
    delete mud[OLD_ACLS_ROOT];
  }
  return {
    mud,
    warnings: byPosition(c.warnings),
    problemAt: (path, message) => c.problem(path, message),
  };
}

/** "Unexpected token } in JSON at position 42" -> file:line:col. */
function jsonSyntaxProblem(text: string, file: string, message: string): ConfigProblem {
  const at = /at position (\d+)/.exec(message);
  const lineCol = /\(line (\d+) column (\d+)\)/.exec(message);
  let pos = { line: 0, col: 0 };
  if (lineCol !== null) pos = { line: Number(lineCol[1]), col: Number(lineCol[2]) };
  else {
    const lines = new LineCounter();
    parseDocument(text, { lineCounter: lines });
    const offset = at !== null ? Number(at[1]) : text.length;
    pos = lines.linePos(Math.min(offset, text.length));
  }
  const reason = message
    .replace(/\s*\(line \d+ column \d+\)/, "")
    .replace(/ in JSON at position \d+.*$/, "")
    .replace(/,? ".*" is not valid JSON$/, "");
  return { file, ...pos, message: `not valid JSON: ${reason}` };
}

function byPosition(problems: ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => a.line - b.line || a.col - b.col);
}

class Checker {
  readonly errors: ConfigProblem[] = [];
  readonly warnings: ConfigProblem[] = [];

  constructor(
    private readonly file: string,
    private readonly contents: unknown,
    private readonly lines: LineCounter,
  ) {}

  /** `onKey`: at the last key of `path`, in a message about the object that holds it. */
  problem(path: JsonPath, message: string, onKey = false): ConfigProblem {
    const where = pathText(onKey ? path.slice(0, -1) : path);
    return {
      file: this.file,
      ...this.position(path, onKey),
      message: where === "" ? message : `${where}: ${message}`,
    };
  }

  error(path: JsonPath, message: string, onKey = false): void {
    this.errors.push(this.problem(path, message, onKey));
  }

  warn(path: JsonPath, message: string, onKey = false): void {
    this.warnings.push(this.problem(path, message, onKey));
  }

  /** Where the value (or, `onKey`, the key) at `path` starts; the nearest parent if absent. */
  private position(path: JsonPath, onKey: boolean): { line: number; col: number } {
    let node: unknown = this.contents;
    let at = (node as Node | null)?.range?.[0] ?? 0;
    for (const [i, p] of path.entries()) {
      let next: unknown;
      if (typeof p === "number") next = isSeq(node) ? node.items[p] : undefined;
      else if (isMap(node)) {
        const pair = node.items.find((it) => isScalar(it.key) && it.key.value === p);
        next =
          pair === undefined ? undefined : onKey && i === path.length - 1 ? pair.key : pair.value;
      }
      const range = (next as Node | null | undefined)?.range;
      if (range === undefined || range === null) break;
      node = next;
      at = range[0];
    }
    return this.lines.linePos(at);
  }
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: Json | undefined): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Keys often put in the wrong place, and where they belong. */
const MISPLACED: Record<string, string> = {
  actions: "actions belongs in the ACE, next to matches",
  [DIRECTION_INITIATED]: `${DIRECTION_INITIATED} is for tcp only (RFC 8520): UDP opens no connection`,
};

/** Reports unknown keys; `extensions`: a module-qualified unknown key is only a warning. */
function checkKeys(
  c: Checker,
  obj: JsonObject,
  path: JsonPath,
  known: readonly string[],
  extensions = false,
): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const guess = suggest(key, known);
    if (MISPLACED[key] !== undefined) {
      c.error([...path, key], `unknown key "${key}"; ${MISPLACED[key]}`, true);
    } else if (guess !== undefined) {
      c.error([...path, key], `unknown key "${key}"; did you mean "${guess}"?`, true);
    } else if (extensions && key.includes(":")) {
      c.warn([...path, key], `"${key}" is from a module egressd does not know; ignored`, true);
    } else {
      c.error([...path, key], `unknown key "${key}"; known keys: ${known.join(", ")}`, true);
    }
  }
}

/** closest() on whole keys, else on the names without their module ("dst-dnsnme"). */
function suggest(key: string, known: readonly string[]): string | undefined {
  const whole = closest(key, known);
  if (whole !== undefined) return whole;
  const local = closest(localName(key), known.map(localName));
  return local === undefined ? undefined : known.find((k) => localName(k) === local);
}

function object(c: Checker, v: Json | undefined, path: JsonPath): JsonObject | undefined {
  if (isObject(v)) return v;
  c.error(path, `expected an object, found ${describe(v)}`);
  return undefined;
}

function list(c: Checker, v: Json | undefined, path: JsonPath): Json[] {
  if (Array.isArray(v)) return v;
  c.error(path, `expected a list, found ${describe(v)}`);
  return [];
}

function text(c: Checker, v: Json | undefined, path: JsonPath): string | undefined {
  if (typeof v === "string" && v !== "") return v;
  c.error(path, `expected a non-empty string, found ${describe(v)}`);
  return undefined;
}

function integer(
  c: Checker,
  v: Json | undefined,
  path: JsonPath,
  min: number,
  max: number,
): number | undefined {
  if (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max) return v;
  c.error(path, `expected an integer from ${min} to ${max}, found ${describe(v)}`);
  return undefined;
}

function required(c: Checker, obj: JsonObject, key: string, path: JsonPath): Json | undefined {
  if (obj[key] === undefined) c.error(path, `missing required key "${key}"`);
  return obj[key];
}

function checkRoot(c: Checker, root: Json): void {
  const top = object(c, root, []);
  if (top === undefined) return;
  checkKeys(c, top, [], [MUD_ROOT, ACLS_ROOT, OLD_ACLS_ROOT], true);
  let aclsKey = ACLS_ROOT;
  if (top[OLD_ACLS_ROOT] !== undefined) {
    if (top[ACLS_ROOT] !== undefined) {
      c.error([OLD_ACLS_ROOT], `both "${ACLS_ROOT}" and "${OLD_ACLS_ROOT}"; keep one`, true);
    } else {
      aclsKey = OLD_ACLS_ROOT;
      c.warn(
        [OLD_ACLS_ROOT],
        `"${OLD_ACLS_ROOT}" is the pre-RFC 8519 name of "${ACLS_ROOT}"; read as that`,
        true,
      );
    }
  }
  const mud = top[MUD_ROOT];
  if (mud === undefined) {
    c.error([], `missing "${MUD_ROOT}": this is not a MUD file (RFC 8520)`);
    return;
  }
  const refs = checkMudContainer(c, mud, [MUD_ROOT]);
  const acls = checkAcls(c, top[aclsKey], [aclsKey]);
  const used = new Set<string>();
  for (const ref of refs) {
    used.add(ref.name);
    if (acls.has(ref.name)) continue;
    const names = [...acls.keys()];
    const guess = closest(ref.name, names);
    const hint = guess
      ? `did you mean "${guess}"?`
      : names.length > 0
        ? `the file has ${names.map((n) => `"${n}"`).join(", ")}`
        : `the file has no ACLs ("${ACLS_ROOT}")`;
    c.error(ref.path, `no ACL named "${ref.name}"; ${hint}`);
  }
  for (const [name, index] of acls) {
    if (!used.has(name)) {
      c.warn(
        [aclsKey, "acl", index],
        `ACL "${name}" is in no from-device-policy or to-device-policy; ignored`,
      );
    }
  }
}

interface AclRef {
  name: string;
  path: JsonPath;
}

function checkMudContainer(c: Checker, v: Json, path: JsonPath): AclRef[] {
  const mud = object(c, v, path);
  if (mud === undefined) return [];
  checkKeys(c, mud, path, MUD_KEYS, true);
  const version = required(c, mud, "mud-version", path);
  if (version !== undefined && version !== 1) {
    c.error(
      [...path, "mud-version"],
      `egressd reads MUD version 1 (RFC 8520), found ${describe(version)}`,
    );
  }
  const url = required(c, mud, "mud-url", path);
  if (url !== undefined && text(c, url, [...path, "mud-url"]) !== undefined) {
    if (!/^https:\/\/[^\s/]+/.test(url as string)) {
      c.error(
        [...path, "mud-url"],
        `a MUD URL must be an https:// URL (RFC 8520), found ${describe(url)}`,
      );
    }
  }
  const updated = required(c, mud, "last-update", path);
  if (updated !== undefined && !(typeof updated === "string" && DATE_AND_TIME.test(updated))) {
    c.error(
      [...path, "last-update"],
      `expected a date and time like "2019-01-28T11:20:51+01:00", found ${describe(updated)}`,
    );
  }
  if (mud["cache-validity"] !== undefined) {
    integer(c, mud["cache-validity"], [...path, "cache-validity"], 1, 168);
  }
  const supported = required(c, mud, "is-supported", path);
  if (supported !== undefined && typeof supported !== "boolean") {
    c.error([...path, "is-supported"], `expected true or false, found ${describe(supported)}`);
  }
  for (const key of ["systeminfo", "mfg-name", "model-name", "firmware-rev", "software-rev"]) {
    if (mud[key] !== undefined) text(c, mud[key], [...path, key]);
  }
  for (const key of ["documentation", "mud-signature"]) {
    if (mud[key] !== undefined) text(c, mud[key], [...path, key]);
  }
  if (typeof mud.systeminfo === "string" && mud.systeminfo.length > 60) {
    c.warn([...path, "systeminfo"], "longer than the 60 characters RFC 8520 allows");
  }
  if (mud.extensions !== undefined) {
    for (const [i, e] of list(c, mud.extensions, [...path, "extensions"]).entries()) {
      text(c, e, [...path, "extensions", i]);
    }
  }
  const refs: AclRef[] = [];
  for (const key of ["from-device-policy", "to-device-policy"]) {
    if (mud[key] !== undefined) refs.push(...checkPolicy(c, mud[key], [...path, key]));
  }
  if (mud["from-device-policy"] === undefined && mud["to-device-policy"] === undefined) {
    c.warn(path, "no from-device-policy or to-device-policy: the file allows nothing");
  }
  return refs;
}

function checkPolicy(c: Checker, v: Json, path: JsonPath): AclRef[] {
  const policy = object(c, v, path);
  if (policy === undefined) return [];
  checkKeys(c, policy, path, ["access-lists"]);
  const listsPath = [...path, "access-lists"];
  const lists = object(c, required(c, policy, "access-lists", path), listsPath);
  if (lists === undefined) return [];
  checkKeys(c, lists, listsPath, ["access-list"]);
  const itemsPath = [...listsPath, "access-list"];
  const refs: AclRef[] = [];
  for (const [i, item] of list(
    c,
    required(c, lists, "access-list", listsPath),
    itemsPath,
  ).entries()) {
    const ref = object(c, item, [...itemsPath, i]);
    if (ref === undefined) continue;
    checkKeys(c, ref, [...itemsPath, i], ["name"]);
    const name = text(c, required(c, ref, "name", [...itemsPath, i]), [...itemsPath, i, "name"]);
    if (name !== undefined) refs.push({ name, path: [...itemsPath, i, "name"] });
  }
  return refs;
}

/** The ACLs by name (to their index in the list). */
function checkAcls(c: Checker, v: Json | undefined, path: JsonPath): Map<string, number> {
  const names = new Map<string, number>();
  if (v === undefined) return names;
  const acls = object(c, v, path);
  if (acls === undefined) return names;
  checkKeys(c, acls, path, ["acl", "attachment-points"]);
  if (acls["attachment-points"] !== undefined) {
    c.warn([...path, "attachment-points"], "not used by MUD; ignored", true);
  }
  if (acls.acl === undefined) return names;
  for (const [i, item] of list(c, acls.acl, [...path, "acl"]).entries()) {
    const aclPath = [...path, "acl", i];
    const acl = object(c, item, aclPath);
    if (acl === undefined) continue;
    checkKeys(c, acl, aclPath, ["name", "type", "aces"]);
    const name = text(c, required(c, acl, "name", aclPath), [...aclPath, "name"]);
    if (name !== undefined) {
      if (names.has(name)) c.error([...aclPath, "name"], `a second ACL named "${name}"`);
      else names.set(name, i);
    }
    let family: 4 | 6 | undefined;
    if (acl.type !== undefined) {
      const type = text(c, acl.type, [...aclPath, "type"]);
      if (type !== undefined && !ACL_TYPES.includes(localName(type))) {
        const guess = closest(localName(type), ACL_TYPES);
        c.error(
          [...aclPath, "type"],
          `unknown ACL type "${type}"; ${guess ? `did you mean "${guess}"?` : `one of ${ACL_TYPES.join(", ")}`}`,
        );
      }
      family = type === undefined ? undefined : aclTypeFamily(type);
    }
    if (acl.aces === undefined) continue;
    const acesPath = [...aclPath, "aces"];
    const aces = object(c, acl.aces, acesPath);
    if (aces === undefined) continue;
    checkKeys(c, aces, acesPath, ["ace"]);
    if (aces.ace === undefined) continue;
    const aceNames = new Set<string>();
    for (const [j, a] of list(c, aces.ace, [...acesPath, "ace"]).entries()) {
      const acePath = [...acesPath, "ace", j];
      const ace = object(c, a, acePath);
      if (ace === undefined) continue;
      checkKeys(c, ace, acePath, ["name", "matches", "actions", "statistics"]);
      const aceName = text(c, required(c, ace, "name", acePath), [...acePath, "name"]);
      if (aceName !== undefined) {
        if (aceNames.has(aceName)) c.error([...acePath, "name"], `a second ACE named "${aceName}"`);
        aceNames.add(aceName);
      }
      if (ace.matches !== undefined) checkMatches(c, ace.matches, [...acePath, "matches"], family);
      checkActions(c, required(c, ace, "actions", acePath), [...acePath, "actions"]);
    }
  }
  return names;
}

/** The address family an ACL type fixes, if any. */
export function aclTypeFamily(type: string): 4 | 6 | undefined {
  const t = localName(type);
  if (t === "ipv4-acl-type" || t === "mixed-eth-ipv4-acl-type") return 4;
  if (t === "ipv6-acl-type" || t === "mixed-eth-ipv6-acl-type") return 6;
  return undefined;
}

function checkActions(c: Checker, v: Json | undefined, path: JsonPath): void {
  if (v === undefined) return;
  const actions = object(c, v, path);
  if (actions === undefined) return;
  checkKeys(c, actions, path, ["forwarding", "logging"]);
  const forwarding = text(c, required(c, actions, "forwarding", path), [...path, "forwarding"]);
  if (forwarding !== undefined && !FORWARDING.includes(localName(forwarding))) {
    const guess = closest(localName(forwarding), FORWARDING);
    c.error(
      [...path, "forwarding"],
      `unknown action "${forwarding}"; ${guess ? `did you mean "${guess}"?` : `one of ${FORWARDING.join(", ")}`}`,
    );
  }
  if (actions.logging !== undefined) text(c, actions.logging, [...path, "logging"]);
}

function checkMatches(c: Checker, v: Json, path: JsonPath, aclFamily: 4 | 6 | undefined): void {
  const m = object(c, v, path);
  if (m === undefined) return;
  checkKeys(c, m, path, MATCH_KEYS);
  if (m.ipv4 !== undefined && m.ipv6 !== undefined) {
    c.error([...path, "ipv6"], "an ACE matches ipv4 or ipv6, not both", true);
  }
  const l4 = (["tcp", "udp", "icmp"] as const).filter((k) => m[k] !== undefined);
  if (l4.length > 1)
    c.error(
      [...path, l4[1]!],
      `an ACE matches one of tcp, udp, icmp, not ${l4.join(" and ")}`,
      true,
    );
  if (aclFamily === 4 && m.ipv6 !== undefined) {
    c.error([...path, "ipv6"], "ipv6 matches in an ipv4-acl-type ACL", true);
  }
  if (aclFamily === 6 && m.ipv4 !== undefined) {
    c.error([...path, "ipv4"], "ipv4 matches in an ipv6-acl-type ACL", true);
  }
  let protocol: number | undefined;
  for (const family of [4, 6] as const) {
    const key = family === 4 ? "ipv4" : "ipv6";
    if (m[key] === undefined) continue;
    const l3 = object(c, m[key], [...path, key]);
    if (l3 === undefined) continue;
    checkKeys(c, l3, [...path, key], family === 4 ? IPV4_KEYS : IPV6_KEYS);
    if (l3.protocol !== undefined)
      protocol = integer(c, l3.protocol, [...path, key, "protocol"], 0, 255);
    for (const side of ["destination", "source"]) {
      const k = `${side}-ipv${family}-network`;
      if (l3[k] === undefined) continue;
      const net = text(c, l3[k], [...path, key, k]);
      if (net === undefined) continue;
      const parsed = net.includes("/")
        ? parseCidr(net)
        : new Failure(`"${net}" has no prefix length (write ${net}/${family === 4 ? 32 : 128})`);
      if (parsed instanceof Failure) c.error([...path, key, k], parsed.message);
      else if (parsed.includes(":") !== (family === 6)) {
        c.error([...path, key, k], `"${net}" is not an IPv${family} network`);
      }
    }
    for (const k of [DST_DNSNAME, SRC_DNSNAME]) {
      if (l3[k] === undefined) continue;
      const name = text(c, l3[k], [...path, key, k]);
      if (name !== undefined && !DNS_NAME.test(name)) {
        c.error([...path, key, k], `"${name}" is not a DNS name (no wildcards in MUD)`);
      }
    }
  }
  const expect: Record<string, number[]> = { tcp: [6], udp: [17], icmp: [1, 58] };
  for (const k of l4) {
    if (protocol !== undefined && !expect[k]!.includes(protocol)) {
      c.error([...path, k], `${k} matches with protocol ${protocol}`, true);
    }
  }
  for (const k of ["tcp", "udp"] as const) {
    if (m[k] === undefined) continue;
    const l4m = object(c, m[k], [...path, k]);
    if (l4m === undefined) continue;
    checkKeys(c, l4m, [...path, k], k === "tcp" ? TCP_KEYS : UDP_KEYS);
    for (const p of ["source-port", "destination-port"]) {
      if (l4m[p] !== undefined) checkPort(c, l4m[p], [...path, k, p]);
    }
    const dir = l4m[DIRECTION_INITIATED];
    if (dir !== undefined && dir !== "from-device" && dir !== "to-device") {
      c.error(
        [...path, k, DIRECTION_INITIATED],
        `expected "from-device" or "to-device", found ${describe(dir)}`,
      );
    }
  }
  if (m.icmp !== undefined) {
    const icmp = object(c, m.icmp, [...path, "icmp"]);
    if (icmp !== undefined) {
      checkKeys(c, icmp, [...path, "icmp"], ["type", "code", "rest-of-header"]);
      for (const k of ["type", "code"]) {
        if (icmp[k] !== undefined) integer(c, icmp[k], [...path, "icmp", k], 0, 255);
      }
    }
  }
  if (m[MUD_ROOT] !== undefined) {
    const mm = object(c, m[MUD_ROOT], [...path, MUD_ROOT]);
    if (mm !== undefined) checkMudMatch(c, mm, [...path, MUD_ROOT]);
  }
  for (const k of ["egress-interface", "ingress-interface"]) {
    if (m[k] !== undefined) text(c, m[k], [...path, k]);
  }
}

function checkPort(c: Checker, v: Json, path: JsonPath): void {
  const port = object(c, v, path);
  if (port === undefined) return;
  checkKeys(c, port, path, ["operator", "port", "lower-port", "upper-port"]);
  const range = port["lower-port"] !== undefined || port["upper-port"] !== undefined;
  if (range) {
    if (port.port !== undefined || port.operator !== undefined) {
      c.error(path, "a port match is either operator and port, or lower-port and upper-port");
      return;
    }
    const lo = integer(c, required(c, port, "lower-port", path), [...path, "lower-port"], 0, 65535);
    const hi = integer(c, required(c, port, "upper-port", path), [...path, "upper-port"], 0, 65535);
    if (lo !== undefined && hi !== undefined && lo > hi) {
      c.error(path, `lower-port ${lo} is above upper-port ${hi}`);
    }
    return;
  }
  integer(c, required(c, port, "port", path), [...path, "port"], 0, 65535);
  if (port.operator !== undefined) {
    const op = text(c, port.operator, [...path, "operator"]);
    if (op !== undefined && !PORT_OPERATORS.includes(localName(op))) {
      c.error(
        [...path, "operator"],
        `unknown operator "${op}"; one of ${PORT_OPERATORS.join(", ")}`,
      );
    }
  }
}

function checkMudMatch(c: Checker, mm: JsonObject, path: JsonPath): void {
  checkKeys(c, mm, path, MUD_MATCH_KEYS);
  for (const k of ["same-manufacturer", "local-networks", "my-controller"]) {
    const v = mm[k];
    if (v !== undefined && !(Array.isArray(v) && v.length === 1 && v[0] === null)) {
      c.error([...path, k], `expected [null] (a YANG "empty" leaf in JSON), found ${describe(v)}`);
    }
  }
  for (const k of ["model", "controller"]) {
    if (mm[k] !== undefined) text(c, mm[k], [...path, k]);
  }
  if (mm.manufacturer !== undefined) {
    const name = text(c, mm.manufacturer, [...path, "manufacturer"]);
    if (name !== undefined && !DNS_NAME.test(name)) {
      c.error([...path, "manufacturer"], `"${name}" is not a DNS name (the maker's MUD authority)`);
    }
  }
}
