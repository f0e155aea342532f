/**
 * Glob patterns from rule text, matched in linear time: no RegExp is ever built from rule
 * text (a pattern like `*a*a*a*a*b` on a long hostile name would make a backtracking
 * engine take exponential time). The matcher simulates the pattern as an automaton, one
 * set of live positions advanced per input character: at most (pattern tokens + 1) steps
 * per character, whatever the pattern.
 *
 * Syntax: `?` one character, `*` any run of characters that does not cross the
 * separator (the `.` between DNS labels, the `/` between path segments), `**` any run
 * at all; every other character stands for itself. Without a separator `*` and `**` are
 * the same. Case is the caller's business (rules lower-case both sides).
 */

const ANY_ONE = -1;
const STAR = -2;
const GLOBSTAR = -3;

export interface Glob {
  readonly source: string;
  /** Character codes, or ANY_ONE / STAR / GLOBSTAR. */
  readonly tokens: Int32Array;
  /** Character code `*` stops at, or -1. */
  readonly separator: number;
  /** Literal text every match starts with / ends with: cheap rejections before the automaton. */
  readonly prefix: string;
  readonly suffix: string;
}

/** `separator` is "." for names, "/" for paths, "" for free text. */
export function compileGlob(pattern: string, separator: "" | "." | "/"): Glob {
  const sep = separator === "" ? -1 : separator.charCodeAt(0);
  const tokens: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c === 0x2a /* * */) {
      let run = 1;
      while (pattern.charCodeAt(i + 1) === 0x2a) {
        run++;
        i++;
      }
      // A run of stars is one token: the automaton stays as small as the pattern's text.
      tokens.push(run > 1 || sep < 0 ? GLOBSTAR : STAR);
    } else if (c === 0x3f /* ? */) {
      tokens.push(ANY_ONE);
    } else {
      tokens.push(c);
    }
  }
  let p = 0;
  while (p < tokens.length && tokens[p]! >= 0) p++;
  let s = tokens.length;
  while (s > p && tokens[s - 1]! >= 0) s--;
  return {
    source: pattern,
    tokens: Int32Array.from(tokens),
    separator: sep,
    prefix: String.fromCharCode(...tokens.slice(0, p)),
    suffix: String.fromCharCode(...tokens.slice(s)),
  };
}

/** True when the pattern has a wildcard (otherwise it is plain text). */
export function hasWildcard(pattern: string): boolean {
  return pattern.includes("*") || pattern.includes("?");
}

/** Counts automaton steps; tests use it to prove the linear bound. */
export interface GlobStats {
  steps: number;
}

let live = new Uint8Array(64);
let next = new Uint8Array(64);

/** Adds the positions reachable from live ones without reading a character (stars may match nothing). */
function closure(tokens: Int32Array, states: Uint8Array, m: number): void {
  for (let i = 0; i < m; i++) {
    if (states[i] === 1 && tokens[i]! <= STAR) states[i + 1] = 1;
  }
}

export function globMatch(g: Glob, text: string, stats?: GlobStats): boolean {
  const tokens = g.tokens;
  const m = tokens.length;
  const n = text.length;
  if (!text.startsWith(g.prefix) || !text.endsWith(g.suffix)) return false;
  if (g.prefix.length + g.suffix.length > n) return false;
  if (m + 1 > live.length) {
    live = new Uint8Array(2 * (m + 1));
    next = new Uint8Array(2 * (m + 1));
  }
  let cur = live;
  let nxt = next;
  cur.fill(0, 0, m + 1);
  cur[0] = 1;
  closure(tokens, cur, m);
  const sep = g.separator;
  let steps = 0;
  for (let j = 0; j < n; j++) {
    const c = text.charCodeAt(j);
    nxt.fill(0, 0, m + 1);
    let any = false;
    for (let i = 0; i < m; i++) {
      if (cur[i] !== 1) continue;
      steps++;
      const t = tokens[i]!;
      if (t === GLOBSTAR || (t === STAR && c !== sep)) {
        nxt[i] = 1;
        any = true;
      } else if (t === c || (t === ANY_ONE && c !== sep)) {
        nxt[i + 1] = 1;
        any = true;
      }
    }
    if (!any) {
      if (stats) stats.steps += steps;
      return false;
    }
    closure(tokens, nxt, m);
    const swap = cur;
    cur = nxt;
    nxt = swap;
  }
  if (stats) stats.steps += steps;
  return cur[m] === 1;
}
