/**
 * Conditions to predicates. Each condition becomes a pair of closures: `test` (the hot
 * path: no strings built, no allocation for most fields) and `explain` (run only for a
 * match, to tell the analyst which conditions held and with what values, e.g.
 * `destination.domain "litedev.hik-connect.com" in set vendor_clouds (suffix hik-connect.com)`).
 * Domain lists are hash sets, networks prefix tries, globs linear-time automata: nothing
 * built from rule text can make evaluation slow.
 */
import { parseAddress } from "../enrich/geoip/address.js";
import type { Flow } from "../flow/flow.js";
import type { Cond, FieldCond, Op } from "./conditions.js";
import type { RuleContext } from "./context.js";
import type { FieldDef } from "./fields.js";
import { CidrSet } from "./match/cidr.js";
import { DomainMatcher, describeHit, normaliseName } from "./match/domain.js";
import { compileGlob, globMatch } from "./match/glob.js";
import type { NamedSet } from "./sets.js";
import { formatAmount, inTest, type NumTest } from "./units.js";

export interface Predicate {
  test(ctx: RuleContext): boolean;
  /** Appends why the condition holds; call only when test() is true. */
  explain(ctx: RuleContext, out: string[]): void;
  /** The condition as text: `destination.role is nvr`. */
  readonly text: string;
}

/** One operator on one value. `v` is the field's value (a Flow for flow addresses). */
interface Tester {
  test(v: unknown): boolean;
  explain(v: unknown): string;
  readonly text: string;
}

export type SetTable = ReadonlyMap<string, NamedSet>;

export function compileCondition(c: Cond, sets: SetTable): Predicate {
  switch (c.t) {
    case "all": {
      const parts = c.items.map((i) => compileCondition(i, sets));
      return {
        test(ctx) {
          for (let i = 0; i < parts.length; i++) if (!parts[i]!.test(ctx)) return false;
          return true;
        },
        explain(ctx, out) {
          for (const p of parts) p.explain(ctx, out);
        },
        text: parts.map((p) => p.text).join(" and "),
      };
    }
    case "any": {
      const parts = c.items.map((i) => compileCondition(i, sets));
      return {
        test(ctx) {
          for (let i = 0; i < parts.length; i++) if (parts[i]!.test(ctx)) return true;
          return false;
        },
        explain(ctx, out) {
          for (const p of parts) {
            if (p.test(ctx)) {
              p.explain(ctx, out);
              return;
            }
          }
        },
        text: `any of (${parts.map((p) => p.text).join("; ")})`,
      };
    }
    case "not": {
      const inner = compileCondition(c.item, sets);
      const fields = fieldsIn(c.item);
      return {
        test: (ctx) => !inner.test(ctx),
        explain(ctx, out) {
          const seen = fields.map((f) => `${f.name}: ${shownValue(f, read(f, ctx))}`);
          out.push(`not (${inner.text}) [${seen.join(", ")}]`);
        },
        text: `not (${inner.text})`,
      };
    }
    case "field":
      return compileField(c, sets);
  }
}

function fieldsIn(c: Cond): FieldDef[] {
  const out: FieldDef[] = [];
  const walk = (x: Cond) => {
    if (x.t === "field") {
      if (!out.includes(x.field)) out.push(x.field);
    } else if (x.t === "not") walk(x.item);
    else for (const i of x.items) walk(i);
  };
  walk(c);
  return out;
}

/** The value testers see: flow addresses are read from the flow's words, the rest via get(). */
function read(f: FieldDef, ctx: RuleContext): unknown {
  return f.side !== undefined ? (ctx.flow ?? undefined) : f.get(ctx);
}

function absent(v: unknown): boolean {
  return v === undefined || v === "" || (Array.isArray(v) && v.length === 0);
}

function shownValue(f: FieldDef, v: unknown): string {
  if (absent(v)) return "none";
  if (f.side !== undefined) return String(f.get({ flow: v as Flow } as RuleContext));
  if (Array.isArray(v)) return `[${v.map((x) => show(f, x)).join(", ")}]`;
  return show(f, v);
}

function show(f: FieldDef, v: unknown): string {
  if (typeof v === "string") return f.kind === "ip" ? v : JSON.stringify(v);
  if (typeof v === "number") return f.unit === undefined ? String(v) : formatAmount(v, f.unit);
  return String(v);
}

function compileField(c: FieldCond, sets: SetTable): Predicate {
  const f = c.field;
  const testers = c.ops.map((op) => tester(f, op, sets));
  const side = f.side !== undefined;
  const get = f.get;
  const text = testers.map((t) => t.text).join(" and ");
  if (testers.length === 1) {
    const t = testers[0]!;
    return {
      test: side ? (ctx) => t.test(ctx.flow ?? undefined) : (ctx) => t.test(get(ctx)),
      explain: (ctx, out) => {
        out.push(t.explain(read(f, ctx)));
      },
      text,
    };
  }
  return {
    test(ctx) {
      const v = read(f, ctx);
      for (let i = 0; i < testers.length; i++) if (!testers[i]!.test(v)) return false;
      return true;
    },
    explain(ctx, out) {
      const v = read(f, ctx);
      for (const t of testers) out.push(t.explain(v));
    },
    text,
  };
}

const MAX_SHOWN = 8;

function listText(items: readonly string[]): string {
  const shown = items.slice(0, MAX_SHOWN).join(", ");
  return items.length > MAX_SHOWN
    ? `[${shown}, ... ${items.length - MAX_SHOWN} more]`
    : `[${shown}]`;
}

/** `$watch_countries [CN, RU]`, or `[CN, RU]`. */
function valuesText(op: Op, items: readonly string[]): string {
  return op.via === undefined ? listText(items) : `${op.via} ${listText(items)}`;
}

/**
 * Wraps a per-element tester for list-valued fields (tls.alpn, dns.answer): the
 * condition holds when any element passes, and the reason names that element.
 */
function overList(f: FieldDef, t: Tester): Tester {
  if (!f.list) return t;
  return {
    test(v) {
      if (!Array.isArray(v)) return false;
      for (let i = 0; i < v.length; i++) if (t.test(v[i])) return true;
      return false;
    },
    explain(v) {
      for (const x of v as unknown[]) if (t.test(x)) return t.explain(x);
      return t.explain(undefined);
    },
    text: t.text,
  };
}

function tester(f: FieldDef, op: Op, sets: SetTable): Tester {
  const name = f.name;
  if (op.op === "exists") {
    const want = op.want;
    return {
      test: (v) => absent(v) !== want,
      explain: (v) => (want ? `${name} is known: ${shownValue(f, v)}` : `${name} is not known`),
      text: want ? `${name} is known` : `${name} is not known`,
    };
  }
  return overList(f, valueTester(f, op, sets));
}

function valueTester(f: FieldDef, op: Op, sets: SetTable): Tester {
  const name = f.name;
  switch (op.op) {
    case "cidr": {
      const set = new CidrSet();
      for (const n of op.nets) set.add(n.cidr, n.text);
      const texts = op.nets.map((n) => n.text);
      const single = texts.length === 1 && op.via === undefined;
      const rel = single
        ? texts[0]!.includes("/")
          ? `in ${texts[0]}`
          : `is ${texts[0]}`
        : `in ${valuesText(op, texts)}`;
      const lookup = addressLookup(f, set);
      return {
        test: (v) => lookup(v) >= 0,
        explain: (v) =>
          single && !rel.startsWith("in ")
            ? `${name} ${rel}`
            : `${name} ${addressText(f, v)} ${rel}${single ? "" : ` (${set.entries[lookup(v)]})`}`,
        text: `${name} ${rel}`,
      };
    }
    case "in": {
      const resolved = op.sets.map((s) => sets.get(s.name)!);
      const setNames = op.sets.map((s) => s.name).join(", ");
      const text = `${name} in set ${setNames}`;
      if (f.kind === "domain") {
        return {
          test(v) {
            if (typeof v !== "string" || v === "") return false;
            const n = normaliseName(v);
            for (let i = 0; i < resolved.length; i++) if (resolved[i]!.domains.test(n)) return true;
            return false;
          },
          explain(v) {
            const n = normaliseName(v as string);
            for (const s of resolved) {
              const hit = s.domains.match(n);
              if (hit !== null)
                return `${name} ${JSON.stringify(v)} in set ${s.name} (${describeHit(hit)})`;
            }
            return text;
          },
          text,
        };
      }
      if (f.kind === "ip") {
        const lookups = resolved.map((s) => addressLookup(f, s.cidrs));
        return {
          test(v) {
            for (let i = 0; i < lookups.length; i++) if (lookups[i]!(v) >= 0) return true;
            return false;
          },
          explain(v) {
            for (let i = 0; i < lookups.length; i++) {
              const hit = lookups[i]!(v);
              if (hit >= 0) {
                const s = resolved[i]!;
                return `${name} ${addressText(f, v)} in set ${s.name} (${s.cidrs.entries[hit]})`;
              }
            }
            return text;
          },
          text,
        };
      }
      // AS numbers
      return {
        test(v) {
          if (typeof v !== "number") return false;
          for (let i = 0; i < resolved.length; i++) if (resolved[i]!.asns.has(v)) return true;
          return false;
        },
        explain(v) {
          const s = resolved.find((x) => x.asns.has(v as number));
          return `${name} ${String(v)} in set ${s?.name ?? setNames}`;
        },
        text,
      };
    }
    case "num":
      return numberTester(f, op, op.tests);
    case "eq":
      return f.kind === "domain" ? domainEq(f, op) : wordEq(f, op);
    case "prefix":
    case "suffix":
    case "contains":
    case "glob":
      return textTester(f, op);
    case "exists":
      throw new Error("unreachable");
  }
}

/** Address of the field's value as text, for reasons. */
function addressText(f: FieldDef, v: unknown): string {
  return f.side !== undefined ? String(f.get({ flow: v as Flow } as RuleContext)) : String(v);
}

/** Index of the network holding the value's address in `set`, or -1. */
function addressLookup(f: FieldDef, set: CidrSet): (v: unknown) => number {
  if (f.side === "src") {
    return (v) => {
      if (v === undefined) return -1;
      const x = v as Flow;
      return set.lookup(x.ipVersion, x.src0, x.src1, x.src2, x.src3);
    };
  }
  if (f.side === "dst") {
    return (v) => {
      if (v === undefined) return -1;
      const x = v as Flow;
      return set.lookup(x.ipVersion, x.dst0, x.dst1, x.dst2, x.dst3);
    };
  }
  // Address text (DNS answers): parsed per use, only at dns_answer.
  return (v) => {
    if (typeof v !== "string") return -1;
    const a = parseAddress(v);
    return a === null ? -1 : set.lookup(a.version, a.w0, a.w1, a.w2, a.w3);
  };
}

function numberTester(f: FieldDef, op: Op, tests: readonly NumTest[]): Tester {
  const name = f.name;
  const isEq = (t: NumTest) => t.lo === t.hi && !t.loOpen && !t.hiOpen;
  const testText = (t: NumTest) =>
    isEq(t) ? t.text : /^[<>=]/.test(t.text) ? t.text : `in ${t.text}`;
  const single = tests.length === 1 && op.via === undefined;
  const text = single
    ? `${name} ${isEq(tests[0]!) ? `is ${tests[0]!.text}` : testText(tests[0]!)}`
    : `${name} in ${valuesText(
        op,
        tests.map((t) => t.text),
      )}`;
  if (tests.length === 1) {
    const t = tests[0]!;
    return {
      test: (v) => typeof v === "number" && inTest(t, v),
      explain: (v) => (isEq(t) ? `${name} is ${t.text}` : `${name} ${show(f, v)} ${testText(t)}`),
      text,
    };
  }
  return {
    test(v) {
      if (typeof v !== "number") return false;
      for (let i = 0; i < tests.length; i++) if (inTest(tests[i]!, v)) return true;
      return false;
    },
    explain(v) {
      const t = tests.find((x) => inTest(x, v as number));
      const which = t === undefined || isEq(t) ? "" : ` (${testText(t)})`;
      return `${name} ${show(f, v)} in ${valuesText(
        op,
        tests.map((x) => x.text),
      )}${which}`;
    },
    text,
  };
}

function domainEq(f: FieldDef, op: Op & { op: "eq" }): Tester {
  const name = f.name;
  const m = new DomainMatcher();
  for (const v of op.values) {
    if (v.text.includes("*") || v.text.includes("?")) m.addGlob(v.text);
    else m.addExact(v.text);
  }
  const texts = op.values.map((v) => v.text);
  const single = texts.length === 1 && op.via === undefined && !/[*?]/.test(texts[0]!);
  const text = single ? `${name} is ${texts[0]}` : `${name} in ${valuesText(op, texts)}`;
  return {
    test: (v) => typeof v === "string" && v !== "" && m.test(normaliseName(v)),
    explain(v) {
      const hit = m.match(normaliseName(v as string));
      if (single) return `${name} is ${JSON.stringify(v)}`;
      if (hit?.how === "glob") return `${name} ${JSON.stringify(v)} matches "${hit.entry}"`;
      return `${name} ${JSON.stringify(v)} in ${valuesText(op, texts)}`;
    },
    text,
  };
}

function wordEq(f: FieldDef, op: Op & { op: "eq" }): Tester {
  const name = f.name;
  const texts = op.values.map((v) => v.text);
  const single = texts.length === 1 && op.via === undefined;
  const text = single ? `${name} is ${texts[0]}` : `${name} in ${valuesText(op, texts)}`;
  const explain = (v: unknown) =>
    single ? `${name} is ${show(f, v)}` : `${name} ${show(f, v)} in ${valuesText(op, texts)}`;
  if (f.kind === "bool") {
    const want = new Set(op.values.map((v) => v.norm));
    return { test: (v) => typeof v === "boolean" && want.has(v), explain, text };
  }
  if (op.values.length === 1) {
    const only = op.values[0]!.norm as string;
    return {
      test: (v) =>
        (typeof v === "string" || typeof v === "number") && String(v).toLowerCase() === only,
      explain,
      text,
    };
  }
  const want = new Set(op.values.map((v) => v.norm as string));
  return {
    test: (v) =>
      (typeof v === "string" || typeof v === "number") && want.has(String(v).toLowerCase()),
    explain,
    text,
  };
}

function textTester(
  f: FieldDef,
  op: Op & { op: "prefix" | "suffix" | "contains" | "glob" },
): Tester {
  const name = f.name;
  const values = op.values.map((v) => v.toLowerCase());
  const quoted = op.values.map((v) => JSON.stringify(v));
  const verb =
    op.op === "prefix"
      ? "starts with"
      : op.op === "contains"
        ? "contains"
        : op.op === "glob"
          ? "matches"
          : f.kind === "domain"
            ? "is or is below"
            : "ends with";
  const text = `${name} ${verb} ${quoted.length === 1 && op.via === undefined ? quoted[0] : valuesText(op, quoted)}`;
  // Index of the value that matches, or -1. Plain loops: this runs per event.
  let check: (s: string) => number;
  if (op.op === "glob") {
    const sep = f.kind === "domain" ? "." : (f.separator ?? "");
    const globs = values.map((p) => compileGlob(p, sep));
    check = (s) => {
      for (let i = 0; i < globs.length; i++) if (globMatch(globs[i]!, s)) return i;
      return -1;
    };
  } else if (op.op === "suffix" && f.kind === "domain") {
    const m = new DomainMatcher();
    for (const v of values) m.addSuffix(v);
    check = (s) => {
      if (!m.test(s)) return -1;
      return values.indexOf(m.match(s)!.entry);
    };
  } else if (op.op === "prefix") {
    check = (s) => {
      for (let i = 0; i < values.length; i++) if (s.startsWith(values[i]!)) return i;
      return -1;
    };
  } else if (op.op === "suffix") {
    check = (s) => {
      for (let i = 0; i < values.length; i++) if (s.endsWith(values[i]!)) return i;
      return -1;
    };
  } else {
    check = (s) => {
      for (let i = 0; i < values.length; i++) if (s.includes(values[i]!)) return i;
      return -1;
    };
  }
  const norm = f.kind === "domain" ? normaliseName : (s: string) => s.toLowerCase();
  return {
    test: (v) => typeof v === "string" && v !== "" && check(norm(v)) >= 0,
    explain(v) {
      const i = check(norm(v as string));
      return `${name} ${JSON.stringify(v)} ${verb} ${quoted[i] ?? quoted[0]}`;
    },
    text,
  };
}
