/**
 * Named sets shared by rules: domain names (each entry covers the name and every name
 * below it, or a glob), networks (CIDR, IPv4 and IPv6) and AS numbers, in any mix. Sets
 * come inline from rule files or from set files: one entry a line, `#` comments, and
 * hosts-file lines (`0.0.0.0 bad.example other.example`), so a downloaded blocklist can
 * be dropped in as it is. Everything is compiled once here: domains into hash sets,
 * networks into prefix tries, AS numbers into a Set.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, extname, join, resolve } from "node:path";
import { parseAddress, parseCidr } from "../enrich/geoip/address.js";
import { CidrSet, formatCidr } from "./match/cidr.js";
import { DomainMatcher } from "./match/domain.js";
import { hasWildcard } from "./match/glob.js";
import type { RuleProblem } from "./problems.js";

export interface Origin {
  file: string;
  line: number;
  col: number;
}

export interface NamedSet {
  readonly name: string;
  /** Where the set was defined: its file, or its key in a rule file. */
  readonly origin: Origin;
  readonly description?: string;
  readonly domains: DomainMatcher;
  readonly cidrs: CidrSet;
  readonly asns: Set<number>;
}

export function newSet(name: string, origin: Origin, description?: string): NamedSet {
  const set: NamedSet = {
    name,
    origin,
    domains: new DomainMatcher(),
    cidrs: new CidrSet(),
    asns: new Set<number>(),
  };
  return description === undefined ? set : { ...set, description };
}

/** Entry counts per kind, for `rules check` and the alert's context. */
export function setSize(s: NamedSet): { domains: number; networks: number; asns: number } {
  return { domains: s.domains.size, networks: s.cidrs.size, asns: s.asns.size };
}

export const SET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;
/** Set files in a sets folder: NAME.txt, NAME.list or NAME.hosts. */
export const SET_FILE_EXTENSIONS = [".txt", ".list", ".hosts"];

/** A problem with one entry; a warning means the entry was still added (as corrected). */
export interface EntryProblem {
  severity: "error" | "warning";
  message: string;
}

const MAX_ASN = 4294967295;

function isDomainChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f // a-z 0-9 - _
  );
}

/** Why `name` (lower case) is not a domain name or glob, or null when it is one. */
export function domainProblem(name: string, glob: boolean): string | null {
  if (name.length === 0) return "empty name";
  if (name.length > 253) return `name is ${name.length} characters long; DNS allows 253`;
  let label = 0;
  for (let i = 0; i <= name.length; i++) {
    const c = i < name.length ? name.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (label === 0) return `empty label in "${name}"`;
      if (label > 63) return `label longer than 63 characters in "${name}"`;
      label = 0;
    } else if (isDomainChar(c) || (glob && (c === 0x2a || c === 0x3f))) {
      label++;
    } else {
      const ch = name[i]!;
      const shown = c < 0x20 || c > 0x7e ? `\\u${c.toString(16).padStart(4, "0")}` : ch;
      return `"${shown}" cannot be in a domain name (letters, digits, - and _; write IDNs as xn--...)`;
    }
  }
  return null;
}

function looksLikeAddress(t: string): boolean {
  if (t.includes(":")) return true;
  let dots = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === 0x2e) dots++;
    else if (c !== 0x2f && (c < 0x30 || c > 0x39)) return false;
  }
  return dots > 0;
}

/**
 * Adds one entry: "hik-connect.com", ".hik-connect.com", "*.ys7.com", "vtm*.ezvizlife.com",
 * "203.0.113.0/24", "2001:db8::1", "AS37963" or "37963". Null when added as written.
 */
export function addEntry(set: NamedSet, raw: string): EntryProblem | null {
  const t = raw.trim();
  if (t === "") return { severity: "error", message: "empty entry" };
  const lower = t.toLowerCase();
  const asn = /^(?:as)?([0-9]+)$/.exec(lower);
  if (asn !== null) {
    const n = Number(asn[1]);
    if (n > MAX_ASN)
      return { severity: "error", message: `AS number ${asn[1]} is above 4294967295` };
    set.asns.add(n);
    return null;
  }
  if (lower.includes("://")) {
    return { severity: "error", message: `"${t}" is a URL; write only its host name` };
  }
  if (looksLikeAddress(lower)) {
    const c = parseCidr(lower);
    if (c === null) {
      return {
        severity: "error",
        message: `"${t}" is not an address or network (like 203.0.113.0/24 or 2001:db8::/32)`,
      };
    }
    const slash = lower.indexOf("/");
    const a = parseAddress(slash < 0 ? lower : lower.slice(0, slash))!;
    set.cidrs.add(c, formatCidr(c));
    if (a.w0 !== c.w0 || a.w1 !== c.w1 || a.w2 !== c.w2 || a.w3 !== c.w3) {
      return {
        severity: "warning",
        message: `"${t}" has host bits set; read as ${formatCidr(c)}`,
      };
    }
    return null;
  }
  let name = lower.endsWith(".") ? lower.slice(0, -1) : lower;
  // ".example.com" (dnsmasq, Squid) and "example.com" mean the same here: it and below.
  if (name.startsWith(".")) name = name.slice(1);
  const glob = hasWildcard(name);
  const problem = domainProblem(name, glob);
  if (problem !== null) return { severity: "error", message: problem };
  if (glob) set.domains.addGlob(name);
  else set.domains.addSuffix(name);
  return null;
}

/** Bad lines reported per set file; past this only a count, so a junk file cannot flood the log. */
export const MAX_LINE_PROBLEMS = 20;

/**
 * Reads a set file's text into `set`. Lines that cannot be read are skipped and reported
 * as warnings (third-party blocklists carry odd lines; one should not stop the rules).
 */
export function parseSetText(set: NamedSet, text: string, file: string, problems: RuleProblem[]) {
  let reported = 0;
  let skipped = 0;
  let lineNo = 0;
  const report = (line: number, col: number, p: EntryProblem) => {
    if (p.severity === "error") skipped++;
    if (reported < MAX_LINE_PROBLEMS) {
      problems.push({
        file,
        line,
        col,
        severity: "warning",
        message: p.severity === "error" ? `${p.message}; line skipped` : p.message,
      });
    }
    reported++;
  };
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    lineNo++;
    let line = text.slice(start, end);
    start = end + 1;
    const hash = line.indexOf("#");
    if (hash >= 0) line = line.slice(0, hash);
    const tokens = tokenize(line);
    if (tokens.length === 0) continue;
    if (tokens.length === 1) {
      const p = addEntry(set, tokens[0]!.text);
      if (p !== null) report(lineNo, tokens[0]!.col, p);
      continue;
    }
    // hosts format: an address, then names. The address is what a resolver would have
    // answered (0.0.0.0 for a blocked name); the names are the entries.
    if (parseAddress(tokens[0]!.text) === null) {
      report(lineNo, tokens[1]!.col, {
        severity: "error",
        message: `one entry a line, or hosts format "0.0.0.0 name..."; found "${tokens[1]!.text}" after "${tokens[0]!.text}"`,
      });
      continue;
    }
    for (const tok of tokens.slice(1)) {
      const n = tok.text.toLowerCase();
      // localhost, broadcasthost, ip6-allnodes...: the hosts file's own furniture.
      if (!n.includes(".") || parseAddress(n) !== null) continue;
      if (looksLikeAddress(n) || /^(?:as)?[0-9]+$/.test(n)) {
        report(lineNo, tok.col, {
          severity: "error",
          message: `"${tok.text}" is not a name; hosts lines list names after the address`,
        });
        continue;
      }
      const p = addEntry(set, n);
      if (p !== null) report(lineNo, tok.col, p);
    }
  }
  if (reported > MAX_LINE_PROBLEMS) {
    problems.push({
      file,
      line: 0,
      col: 0,
      severity: "warning",
      message: `${reported - MAX_LINE_PROBLEMS} more problem(s) not shown; ${skipped} line(s) skipped in all`,
    });
  }
}

function tokenize(line: string): { text: string; col: number }[] {
  const out: { text: string; col: number }[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && isSpace(line.charCodeAt(i))) i++;
    if (i >= n) break;
    const s = i;
    while (i < n && !isSpace(line.charCodeAt(i))) i++;
    out.push({ text: line.slice(s, i), col: s + 1 });
  }
  return out;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0b || c === 0x0c;
}

/** Reads a set file; an unreadable file is an error at `from` (where it was asked for). */
export function loadSetFile(
  set: NamedSet,
  path: string,
  problems: RuleProblem[],
  from: Origin,
): boolean {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === "ENOENT" ? "no such file" : e.code === "EISDIR" ? "is a directory" : e.message;
    problems.push({
      ...from,
      severity: "error",
      message: `set ${set.name}: cannot read ${path}: ${why}`,
    });
    return false;
  }
  parseSetText(set, text, path, problems);
  return true;
}

/** Set files in a folder: name -> path. A missing folder has none. */
export function listSetFiles(
  dir: string,
  problems: RuleProblem[],
  out = new Map<string, string>(),
): Map<string, string> {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const f of names) {
    const ext = extname(f);
    if (!SET_FILE_EXTENSIONS.includes(ext) || f.startsWith(".")) continue;
    const name = basename(f, ext);
    const path = join(dir, f);
    if (!SET_NAME.test(name)) {
      problems.push({
        file: path,
        line: 0,
        col: 0,
        severity: "warning",
        message: `not loaded: a set name is letters, digits, _ and - (rename the file)`,
      });
      continue;
    }
    const other = out.get(name);
    // The same folder given twice is one definition, not two.
    if (other !== undefined && resolve(other) !== resolve(path)) {
      problems.push({
        file: path,
        line: 0,
        col: 0,
        severity: "error",
        message: `set ${name} is also defined by ${other}; keep one file per set name`,
      });
      continue;
    }
    out.set(name, path);
  }
  return out;
}
