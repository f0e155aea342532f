/**
 * Domain name matching for rules and sets: exact names and suffixes ("hik-connect.com"
 * covers litedev.hik-connect.com) in hash sets, looked up once per label boundary of the
 * name (a few Set lookups, however many entries), and globs through the linear-time
 * matcher. Names are compared lower-case without a trailing dot.
 */
import { compileGlob, type Glob, globMatch } from "./glob.js";

export interface DomainHit {
  /** exact: equal to an exact entry; entry: equal to a suffix entry; suffix: below one. */
  how: "exact" | "entry" | "suffix" | "glob";
  entry: string;
}

/** Lower case, no trailing dot: the form every entry and every looked-up name takes. */
export function normaliseName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

function dots(s: string): number {
  let n = 0;
  for (let i = s.indexOf("."); i >= 0; i = s.indexOf(".", i + 1)) n++;
  return n;
}

export class DomainMatcher {
  private readonly exact = new Set<string>();
  private readonly suffixes = new Set<string>();
  private readonly globs: Glob[] = [];
  // Only suffixes with this many dots can be in the set: names deeper than the deepest
  // entry skip their first labels' lookups.
  private minDots = Number.POSITIVE_INFINITY;
  private maxDots = -1;

  get size(): number {
    return this.exact.size + this.suffixes.size + this.globs.length;
  }

  get suffixCount(): number {
    return this.suffixes.size;
  }

  addExact(name: string): void {
    this.exact.add(normaliseName(name));
  }

  /** The name itself and every name below it. */
  addSuffix(name: string): void {
    const n = normaliseName(name);
    if (this.suffixes.has(n)) return;
    this.suffixes.add(n);
    const d = dots(n);
    if (d < this.minDots) this.minDots = d;
    if (d > this.maxDots) this.maxDots = d;
  }

  /** `*` within a label, `**` across labels, `?` one character. */
  addGlob(pattern: string): void {
    this.globs.push(compileGlob(normaliseName(pattern), "."));
  }

  /** `name` must be normalised (normaliseName). */
  test(name: string): boolean {
    if (this.exact.has(name)) return true;
    if (this.suffixFor(name) !== null) return true;
    for (const g of this.globs) if (globMatch(g, name)) return true;
    return false;
  }

  /** What matched, for the alert's reasons; null when nothing does. */
  match(name: string): DomainHit | null {
    if (this.exact.has(name)) return { how: "exact", entry: name };
    const s = this.suffixFor(name);
    if (s !== null) return { how: s === name ? "entry" : "suffix", entry: s };
    for (const g of this.globs) if (globMatch(g, name)) return { how: "glob", entry: g.source };
    return null;
  }

  private suffixFor(name: string): string | null {
    if (this.maxDots < 0) return null;
    let d = dots(name);
    let start = 0;
    for (;;) {
      if (d < this.minDots) return null;
      if (d <= this.maxDots) {
        const s = start === 0 ? name : name.slice(start);
        if (this.suffixes.has(s)) return s;
      }
      const dot = name.indexOf(".", start);
      if (dot < 0) return null;
      start = dot + 1;
      d--;
    }
  }
}

/** How a hit reads in a reason: "(suffix hik-connect.com)". */
export function describeHit(hit: DomainHit): string {
  return `${hit.how} ${hit.entry}`;
}
