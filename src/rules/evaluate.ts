/**
 * A loaded, compiled rule set: rules indexed by trigger, each a compiled predicate, with
 * its exceptions attached. evaluate() is the hot path: one array lookup for the trigger,
 * a predicate call per rule there, strings built only for matches.
 */

import type { Predicate } from "./compile.js";
import { type RuleContext, TRIGGERS, type Trigger } from "./context.js";
import { ExceptionBook, type ExceptionStat, type RuleException } from "./exceptions.js";
import { formatAmount } from "./units.js";

export const SEVERITIES = ["info", "low", "medium", "high", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

export type ThresholdKind = "bytes_out" | "bytes_in" | "duration";

export interface ThresholdSpec {
  kind: ThresholdKind;
  /** Bytes, or seconds for duration. */
  value: number;
  /** As written: "50MB", "1h". */
  text: string;
}

/** What a rule says about itself: for alerts, `rules list` and the docs. */
export interface RuleInfo {
  id: string;
  name: string;
  description: string;
  severity: Severity;
  tags: string[];
  references: string[];
  trigger: Trigger;
  /** flow_threshold rules: the limits they fire at. */
  thresholds?: ThresholdSpec[];
  enabled: boolean;
  /** Repeats within this many seconds are folded into one alert; absent: the config's default. */
  cooldownSeconds?: number;
  /** Where the rule is written. */
  file: string;
  line: number;
}

export interface RuleMatch {
  rule: RuleInfo;
  /** Why it matched, one line per condition, with the values seen. */
  reasons: string[];
}

/** A set's name, where it came from and what it holds (for `rules check`). */
export interface SetSummary {
  name: string;
  file: string;
  line: number;
  domains: number;
  networks: number;
  asns: number;
}

export interface CompiledRule {
  info: RuleInfo;
  when: Predicate | null;
  exceptions: RuleException[];
}

interface Entry {
  info: RuleInfo;
  when: Predicate | null;
  exceptions: RuleException[];
  thresholds: ThresholdSpec[] | null;
  hits: number;
  suppressed: number;
}

const NO_MATCHES: readonly RuleMatch[] = Object.freeze([]);

const TRIGGER_INDEX = Object.fromEntries(TRIGGERS.map((t, i) => [t, i])) as Record<Trigger, number>;

export class RuleSet {
  readonly rules: readonly RuleInfo[];
  readonly sets: readonly SetSummary[];
  private readonly entries: Entry[];
  private readonly byTrigger = new Map<Trigger, Entry[]>();
  private readonly book: ExceptionBook;
  /** Contexts evaluated, by trigger (TRIGGERS order). */
  private readonly evaluated = new Float64Array(TRIGGERS.length);

  /** Every field a rule or exception condition reads (canonical names). */
  readonly fields: ReadonlySet<string>;

  constructor(
    rules: readonly CompiledRule[],
    book: ExceptionBook,
    sets: readonly SetSummary[],
    fields: ReadonlySet<string> = new Set(),
  ) {
    this.fields = fields;
    this.rules = rules.map((r) => r.info);
    this.sets = sets;
    this.book = book;
    this.entries = rules.map((r) => ({
      info: r.info,
      when: r.when,
      exceptions: r.exceptions,
      thresholds: r.info.thresholds ?? null,
      hits: 0,
      suppressed: 0,
    }));
    for (const t of TRIGGERS) {
      const list = this.entries.filter((e) => e.info.enabled && e.info.trigger === t);
      if (list.length > 0) this.byTrigger.set(t, list);
    }
  }

  /** An empty set: what a daemon runs with before rules are configured. */
  static empty(): RuleSet {
    return new RuleSet([], new ExceptionBook([]), []);
  }

  /** Does any condition read a field whose name starts with `prefix` ("payload.")? */
  usesFields(prefix: string): boolean {
    for (const f of this.fields) if (f.startsWith(prefix)) return true;
    return false;
  }

  /** Any enabled rule on this trigger? The pipeline builds no context otherwise. */
  wants(trigger: Trigger): boolean {
    return this.byTrigger.has(trigger);
  }

  /** The distinct limits flow_threshold rules need, ascending: the pipeline watches only these. */
  thresholds(): { bytesOut: number[]; bytesIn: number[]; durationSeconds: number[] } {
    const pick = (kind: ThresholdKind) => {
      const out = new Set<number>();
      for (const e of this.byTrigger.get("flow_threshold") ?? []) {
        for (const t of e.thresholds ?? []) if (t.kind === kind) out.add(t.value);
      }
      return [...out].sort((a, b) => a - b);
    };
    return {
      bytesOut: pick("bytes_out"),
      bytesIn: pick("bytes_in"),
      durationSeconds: pick("duration"),
    };
  }

  /**
   * The rules that match at this context, exceptions applied (a suppressed match is
   * counted on its exception, not returned). Packet time moves the exceptions' expiry
   * clock. The result is read-only; when nothing matches it is a shared empty array.
   */
  evaluate(ctx: RuleContext): readonly RuleMatch[] {
    this.book.advance(ctx.tsSec, ctx.tsNsec);
    this.evaluated[TRIGGER_INDEX[ctx.trigger]]++;
    const list = this.byTrigger.get(ctx.trigger);
    if (list === undefined) return NO_MATCHES;
    let out: RuleMatch[] | null = null;
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      if (e.thresholds !== null && !crossed(e.thresholds, ctx)) continue;
      if (e.when !== null && !e.when.test(ctx)) continue;
      let suppressed = false;
      for (let k = 0; k < e.exceptions.length; k++) {
        const x = e.exceptions[k]!;
        if (x.covers(ctx)) {
          x.hits++;
          e.suppressed++;
          suppressed = true;
          break;
        }
      }
      if (suppressed) continue;
      e.hits++;
      const reasons: string[] = [];
      if (e.thresholds !== null) reasons.push(thresholdReason(ctx));
      e.when?.explain(ctx, reasons);
      if (reasons.length === 0) reasons.push(`trigger ${ctx.trigger} (the rule has no conditions)`);
      if (out === null) out = [];
      out.push({ rule: e.info, reasons });
    }
    return out ?? NO_MATCHES;
  }

  /**
   * Moves the exceptions' expiry clock without evaluating (a daemon calls it on a timer
   * of packet time, so an expiry is reported even when no rule fires).
   */
  advanceTime(tsSec: number, tsNsec = 0): void {
    this.book.advance(tsSec, tsNsec);
  }

  /** Called once per exception when its expiry passes in packet time. */
  set onExceptionExpired(listener: ((e: ExceptionStat) => void) | null) {
    this.book.onExpired = listener;
  }

  exceptionStats(): ExceptionStat[] {
    return this.book.stats();
  }

  /** Rule id -> matches returned since load (every rule listed, 0 included). */
  hits(): Map<string, number> {
    return new Map(this.entries.map((e) => [e.info.id, e.hits]));
  }

  /** Trigger -> contexts evaluated since load. */
  evaluations(): Map<Trigger, number> {
    return new Map(TRIGGERS.map((t, i) => [t, this.evaluated[i]!]));
  }

  /** Rule id -> matches an exception suppressed since load. */
  suppressed(): Map<string, number> {
    return new Map(this.entries.map((e) => [e.info.id, e.suppressed]));
  }
}

function crossed(specs: readonly ThresholdSpec[], ctx: RuleContext): boolean {
  const t = ctx.threshold;
  if (t === undefined) return false;
  for (let i = 0; i < specs.length; i++) {
    const s = specs[i]!;
    if (s.kind === t.kind && s.value === t.value) return true;
  }
  return false;
}

function thresholdReason(ctx: RuleContext): string {
  const t = ctx.threshold!;
  const field = t.kind === "duration" ? "flow.duration" : `flow.${t.kind}`;
  const amount = formatAmount(t.value, t.kind === "duration" ? "seconds" : "bytes");
  return `${field} crossed the rule's threshold ${amount}`;
}
