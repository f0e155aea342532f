/**
 * Exceptions: allow-list entries that suppress a rule's matches. Each has a mandatory
 * reason, an optional owner and expiry, and matches like conditions. Expiry is checked
 * against packet time (a replay of last year's capture applies last year's exceptions),
 * reported once per exception through a callback, and every exception counts its hits
 * so a forgotten one shows up in the metrics.
 */

import type { Predicate } from "./compile.js";
import type { RuleContext } from "./context.js";

export interface ExceptionStat {
  id: string;
  /** Rule ids it applies to; absent = every rule its conditions fit. */
  rules?: string[];
  reason: string;
  owner?: string;
  /** As written: "2026-12-31" or an ISO 8601 time. */
  expires?: string;
  /** Matches it suppressed since the rules were loaded. */
  hits: number;
  /** Its expiry has passed in packet time. */
  expired: boolean;
  file: string;
  line: number;
}

export interface ExceptionDef {
  id: string;
  rules?: string[];
  reason: string;
  owner?: string;
  expires?: string;
  /** Seconds since the epoch at which it stops applying; Infinity for none. */
  expiresAt: number;
  /** Null: no conditions (suppresses every match of its rules). */
  when: Predicate | null;
  file: string;
  /** Where its id is written. */
  line: number;
  col: number;
}

/**
 * "2026-12-31" applies through that day (UTC) and stops at the next midnight; an ISO 8601
 * time with a zone ("2026-12-31T18:00:00Z", "...+01:00") stops at that instant. Returns
 * seconds since the epoch, or a message.
 */
export function parseExpiry(text: string): number | string {
  const t = text.trim();
  const date = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(t);
  if (date !== null) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
    const ms = Date.UTC(y, m - 1, d);
    const back = new Date(ms);
    if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) {
      return `"${t}" is not a calendar date`;
    }
    return ms / 1000 + 86_400;
  }
  if (
    /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})$/.test(
      t,
    )
  ) {
    const ms = Date.parse(t);
    if (!Number.isNaN(ms)) return ms / 1000;
  }
  return `expected a date such as 2026-12-31 (applies through that day, UTC) or a time such as 2026-12-31T18:00:00Z, found "${t}"`;
}

export class RuleException {
  hits = 0;
  expired = false;

  constructor(readonly def: ExceptionDef) {}

  /** True when it applies to this match: not expired and its conditions hold. */
  covers(ctx: RuleContext): boolean {
    if (this.expired) return false;
    return this.def.when === null || this.def.when.test(ctx);
  }

  stat(): ExceptionStat {
    const d = this.def;
    const s: ExceptionStat = {
      id: d.id,
      reason: d.reason,
      hits: this.hits,
      expired: this.expired,
      file: d.file,
      line: d.line,
    };
    if (d.rules !== undefined) s.rules = [...d.rules];
    if (d.owner !== undefined) s.owner = d.owner;
    if (d.expires !== undefined) s.expires = d.expires;
    return s;
  }
}

/** The exceptions of a rule set, and their expiry clock. */
export class ExceptionBook {
  readonly all: readonly RuleException[];
  private nextExpiry: number;
  onExpired: ((e: ExceptionStat) => void) | null = null;

  constructor(defs: readonly ExceptionDef[]) {
    this.all = defs.map((d) => new RuleException(d));
    this.nextExpiry = this.soonest();
  }

  /** Exceptions that can suppress `ruleId`'s matches, in declaration order. */
  forRule(ruleId: string): RuleException[] {
    return this.all.filter((e) => e.def.rules === undefined || e.def.rules.includes(ruleId));
  }

  /**
   * Packet time moved to `tsSec`: exceptions whose expiry passed stop applying and are
   * reported once. Cheap when nothing expires (one comparison).
   */
  advance(tsSec: number, tsNsec: number): void {
    if (tsSec + tsNsec / 1e9 < this.nextExpiry) return;
    const now = tsSec + tsNsec / 1e9;
    for (const e of this.all) {
      if (!e.expired && e.def.expiresAt <= now) {
        e.expired = true;
        this.onExpired?.(e.stat());
      }
    }
    this.nextExpiry = this.soonest();
  }

  private soonest(): number {
    let t = Number.POSITIVE_INFINITY;
    for (const e of this.all) if (!e.expired && e.def.expiresAt < t) t = e.def.expiresAt;
    return t;
  }

  stats(): ExceptionStat[] {
    return this.all.map((e) => e.stat());
  }
}
