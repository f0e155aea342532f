/**
 * Amounts in rule text: byte counts with SI or IEC units ("50MB", "10KiB"), durations
 * ("90s", "1h30m", or plain seconds), plain counts; comparisons ("> 50MB", ">= 1h") and
 * inclusive ranges ("7660-7665"). Parsed once at load; nothing here touches packet data.
 */
import { formatDuration, parseDuration } from "../config/kinds.js";

export type Unit = "bytes" | "seconds" | "count" | "rate";

/** One numeric test: an interval, open or closed at each end; `text` is how it was written. */
export interface NumTest {
  lo: number;
  hi: number;
  loOpen: boolean;
  hiOpen: boolean;
  text: string;
}

const BYTE_UNITS: Record<string, number> = {
  B: 1,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

const AMOUNT = /^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)$/;

/** Bit rates as network people write them, in bytes per second. */
const BIT_UNITS: Record<string, number> = {
  bit: 1 / 8,
  kbit: 1e3 / 8,
  Kbit: 1e3 / 8,
  Mbit: 1e6 / 8,
  Gbit: 1e9 / 8,
};

/** "2MB/s", "8Mbit/s", "8Mbps", 250000 -> bytes per second; a message when it is not a rate. */
function parseRate(text: string): number | string {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*?)(?:\/s|ps)?$/.exec(text);
  if (m !== null) {
    const n = Number(m[1]);
    const u = m[2]!;
    const scale = u === "" ? 1 : (BYTE_UNITS[u] ?? BIT_UNITS[u]);
    if (scale !== undefined) return n * scale;
  }
  return `expected ${unitExample("rate")}, found "${text}"`;
}

/** What a unit looks like, for "expected ..." messages. */
export function unitExample(unit: Unit): string {
  if (unit === "bytes") return 'a byte count such as 1500, "10KiB" or "50MB"';
  if (unit === "seconds") return 'a duration such as 90 (seconds), "90s", "5m", "1h" or "1h30m"';
  if (unit === "rate") return 'a rate such as 250000 (bytes/s), "2MB/s" or "8Mbit/s"';
  return "a number";
}

/** "50MB" -> 50000000; a string message when it is not an amount of that unit. */
export function parseAmount(value: string | number, unit: Unit): number | string {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0)
      return `expected ${unitExample(unit)}, found ${value}`;
    if (unit === "bytes" && !Number.isInteger(value)) return "a byte count must be whole";
    return value;
  }
  const text = value.trim();
  if (unit === "rate") return parseRate(text);
  if (unit === "seconds") {
    if (/^[0-9]+(?:\.[0-9]+)?$/.test(text)) return Number(text);
    const s = parseDuration(text);
    if (s !== undefined && text !== "") return s;
    return `expected ${unitExample(unit)}, found "${text}"`;
  }
  const m = AMOUNT.exec(text);
  if (m === null) return `expected ${unitExample(unit)}, found "${text}"`;
  const n = Number(m[1]);
  const u = m[2]!;
  if (unit === "count") {
    if (u !== "") return `expected a plain number, found "${text}" (no unit here)`;
    return n;
  }
  const scale = u === "" ? 1 : BYTE_UNITS[u];
  if (scale === undefined) {
    const fix = Object.keys(BYTE_UNITS).find((k) => k.toLowerCase() === u.toLowerCase());
    const hint = fix
      ? `; did you mean "${m[1]}${fix}"?`
      : "; units: B, kB, MB, GB, TB (x1000), KiB, MiB, GiB, TiB (x1024)";
    return `unknown byte unit "${u}" in "${text}"${hint}`;
  }
  const bytes = n * scale;
  if (!Number.isInteger(bytes)) return `"${text}" is not a whole number of bytes`;
  return bytes;
}

/**
 * A numeric test as written: 8800, "50MB", "> 50MB", ">= 1h", "< 10", "<= 1KiB",
 * "7660-7665" (inclusive). A string message when it is none of those.
 */
export function parseNumTest(value: string | number, unit: Unit): NumTest | string {
  if (typeof value === "number") {
    const n = parseAmount(value, unit);
    if (typeof n === "string") return n;
    return { lo: n, hi: n, loOpen: false, hiOpen: false, text: String(value) };
  }
  const text = value.trim();
  const cmp = /^(>=|<=|>|<|=)\s*(.+)$/.exec(text);
  if (cmp !== null) {
    const n = parseAmount(cmp[2]!, unit);
    if (typeof n === "string") return n;
    return comparison(cmp[1]!, n, text);
  }
  const range = /^([^-\s]+)\s*(?:-|\.\.)\s*([^-\s]+)$/.exec(text);
  if (range !== null) {
    const lo = parseAmount(range[1]!, unit);
    if (typeof lo === "string") return lo;
    const hi = parseAmount(range[2]!, unit);
    if (typeof hi === "string") return hi;
    if (lo > hi) return `range "${text}" is empty: ${range[1]} is above ${range[2]}`;
    return { lo, hi, loOpen: false, hiOpen: false, text };
  }
  const n = parseAmount(text, unit);
  if (typeof n === "string") return n;
  return { lo: n, hi: n, loOpen: false, hiOpen: false, text };
}

/** `op` is one of >, >=, <, <=, = (or gt, gte, lt, lte, eq). */
export function comparison(op: string, n: number, text: string): NumTest {
  switch (op) {
    case ">":
    case "gt":
      return { lo: n, hi: Number.POSITIVE_INFINITY, loOpen: true, hiOpen: false, text };
    case ">=":
    case "gte":
      return { lo: n, hi: Number.POSITIVE_INFINITY, loOpen: false, hiOpen: false, text };
    case "<":
    case "lt":
      return { lo: Number.NEGATIVE_INFINITY, hi: n, loOpen: false, hiOpen: true, text };
    case "<=":
    case "lte":
      return { lo: Number.NEGATIVE_INFINITY, hi: n, loOpen: false, hiOpen: false, text };
    default:
      return { lo: n, hi: n, loOpen: false, hiOpen: false, text };
  }
}

export function inTest(t: NumTest, v: number): boolean {
  return (t.loOpen ? v > t.lo : v >= t.lo) && (t.hiOpen ? v < t.hi : v <= t.hi);
}

/** The intersection of two tests, or null when no number passes both. */
export function intersect(a: NumTest, b: NumTest): NumTest | null {
  let lo = a.lo;
  let loOpen = a.loOpen;
  if (b.lo > lo || (b.lo === lo && b.loOpen)) {
    lo = b.lo;
    loOpen = b.loOpen;
  }
  let hi = a.hi;
  let hiOpen = a.hiOpen;
  if (b.hi < hi || (b.hi === hi && b.hiOpen)) {
    hi = b.hi;
    hiOpen = b.hiOpen;
  }
  if (lo > hi || (lo === hi && (loOpen || hiOpen))) return null;
  return { lo, hi, loOpen, hiOpen, text: `${a.text} and ${b.text}` };
}

/** For reasons: "52430000 (52.4 MB)", "3700 s (1h1m40s)", "8800", "1250000 B/s (10.0 Mbit/s)". */
export function formatAmount(n: number, unit: Unit): string {
  if (unit === "rate") {
    const bytes = Math.round(n);
    return `${bytes} B/s (${((n * 8) / 1e6).toFixed(1)} Mbit/s)`;
  }
  if (unit === "bytes") {
    if (n < 1000) return `${n} B`;
    const units = ["kB", "MB", "GB", "TB"];
    let v = n / 1000;
    let i = 0;
    while (v >= 1000 && i < units.length - 1) {
      v /= 1000;
      i++;
    }
    return `${n} (${v.toFixed(1)} ${units[i]})`;
  }
  if (unit === "seconds") {
    const whole = Math.round(n);
    const shown = Number.isInteger(n) ? String(n) : n.toFixed(3);
    return whole >= 60 ? `${shown} s (${formatDuration(whole)})` : `${shown} s`;
  }
  return String(n);
}
