/**
 * `egressd alerts`: reads the alert store (every alert egressd raised, kept before any
 * sink saw it) and prints the newest first, filtered by time, severity, device and rule:
 * an aligned table for people, or the stored ECS records as JSON Lines for jq and scripts.
 */

import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { type AlertQuery, AlertStore, type StoredAlert } from "../alert/store.js";
import { parseDuration, parseMac } from "../config/kinds.js";
import { loadConfig } from "../config/load.js";
import { fieldAt } from "../output/record-path.js";
import { SEVERITIES, type Severity } from "../rules/index.js";
import { SqliteDeviceStore } from "../store/devices.js";
import { DEFAULT_DB_PATH, openDatabase, StoreError } from "../store/sqlite.js";
import { ExitCode, InputError, UsageError } from "./errors.js";
import { tableLines } from "./text-table.js";

/** Alerts printed when --limit is not given. */
const DEFAULT_LIMIT = 1000;

export const ALERTS_HELP = `Usage: egressd alerts [options]

Lists the alerts egressd raised, newest first, from its alert store: every alert is
written there before any sink (webhook, syslog, Alertmanager...) sees it, so this is
also the record of what the SOC should have received.

  egressd alerts --since 24h --severity high
  egressd alerts --device 10.20.0.11 --json | jq .message

Options:
      --db PATH          the alert store (default: alerts.store of the config given
                         with -c, else ${DEFAULT_DB_PATH}); opened read-only
  -c, --config FILE      egressd's config file, for the store's path
      --since WHEN       alerts at or after WHEN: a duration back from now by the
                         wall clock (30m, 24h, 7d, 1h30m) or an ISO 8601 time
                         (2026-11-22, 2026-11-22T06:00:00Z, 2026-11-22T07:00+01:00;
                         without an offset the time is UTC, as the table shows it)
      --until WHEN       alerts at or before WHEN (same forms as --since)
      --severity LEVEL   this severity and above: ${SEVERITIES.join(", ")}
      --device ID|IP     one device: its id as the inventory names it
                         (mac:44-19-B6-12-34-56, ip:192.0.2.10), a MAC address, or an
                         IP address (also finds the alerts of the inventory's device
                         that used the address)
      --rule ID          one rule (EGR-VC-001)
      --limit N          at most N alerts, the newest (default ${DEFAULT_LIMIT})
      --json             the stored records (ECS JSON), one per line (JSON Lines)
  -h, --help             show this help

Alert times are packet times: alerts from a replayed capture carry the capture's
times, so select them with ISO times rather than a duration back from now.

The table shows time (UTC, to the second), severity, rule, the repeats an alert
stands for (when any were folded into it) and the message. Exit status: 0 on
success, also when no alert matches ("no alerts" on standard error); 1 when the
store is missing, damaged or not egressd's; 2 on a usage error.
`;

export interface AlertsOptions {
  db: string;
  /** Where the inventory is, to find the devices that used an address (--device IP). */
  inventoryDb: string;
  json: boolean;
  query: AlertQuery & { limit: number };
  /** What --device stands for; null when not given. */
  device: DeviceFilter | null;
}

/** What --device matches: store device values, plus (for an address) inventory devices. */
interface DeviceFilter {
  values: string[];
  /** The address, when the inventory should be asked which devices used it. */
  address: string | null;
}

export interface Output {
  write(chunk: string): unknown;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      db: { type: "string" },
      config: { type: "string", short: "c" },
      since: { type: "string" },
      until: { type: "string" },
      severity: { type: "string" },
      device: { type: "string" },
      rule: { type: "string" },
      limit: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

export function parseAlertsArgs(argv: string[], nowMs = Date.now()): AlertsOptions | "help" {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError(`alerts: ${(err as Error).message}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  if (positionals.length > 0)
    throw new UsageError(`alerts takes no arguments, got "${positionals[0]}" (see --help)`);
  for (const name of ["db", "config", "device", "rule"] as const) {
    if (values[name] === "") throw new UsageError(`alerts: --${name} needs a value`);
  }
  const query: AlertQuery & { limit: number } = { limit: DEFAULT_LIMIT };
  if (values.since !== undefined) query.sinceMs = parseWhen("since", values.since, nowMs);
  if (values.until !== undefined) query.untilMs = parseWhen("until", values.until, nowMs);
  if (query.sinceMs !== undefined && query.untilMs !== undefined && query.sinceMs > query.untilMs)
    throw new UsageError(`alerts: --since ${values.since} is after --until ${values.until}`);
  if (values.severity !== undefined) query.minSeverity = parseSeverity(values.severity);
  if (values.rule !== undefined) query.ruleId = values.rule;
  if (values.limit !== undefined) query.limit = parseLimit(values.limit);
  // --db wins over the config: it is the more specific of the two.
  const config = values.config !== undefined ? loadConfig(values.config, process.env) : null;
  return {
    db: values.db ?? config?.alerts.store ?? DEFAULT_DB_PATH,
    inventoryDb: values.db ?? config?.devices.store ?? DEFAULT_DB_PATH,
    json: values.json === true,
    query,
    device: values.device !== undefined ? deviceFilter(values.device) : null,
  };
}

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** --since/--until: a duration back from `nowMs`, or an ISO 8601 time (UTC without offset). */
export function parseWhen(option: string, text: string, nowMs: number): number {
  const seconds = parseDuration(text);
  if (seconds !== undefined) return nowMs - seconds * 1000;
  const m = ISO_TIME.exec(text.trim());
  const ms = m === null ? Number.NaN : Date.parse(isoWithOffset(text.trim(), m));
  // Date.parse rolls 2026-02-30 over to March: check the day exists.
  if (m === null || Number.isNaN(ms) || !dayExists(+m[1]!, +m[2]!, +m[3]!))
    throw new UsageError(
      `--${option}: "${text}" is neither a duration (30m, 24h, 7d) nor an ISO 8601 time (2026-11-22T06:00:00Z)`,
    );
  return ms;
}

/** The text Date.parse reads as we mean it: "T", and UTC when no offset is written. */
function isoWithOffset(text: string, m: RegExpExecArray): string {
  const s = text.replace(" ", "T");
  if (m[4] === undefined) return s; // a date alone: Date.parse takes it as UTC
  if (m[7] === undefined) return `${s}Z`;
  // "+0100" -> "+01:00", the form every Date.parse accepts.
  return /[+-]\d{4}$/.test(s) ? `${s.slice(0, -2)}:${s.slice(-2)}` : s;
}

function dayExists(year: number, month: number, day: number): boolean {
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

function parseSeverity(text: string): Severity {
  const s = text.toLowerCase();
  if (!(SEVERITIES as readonly string[]).includes(s))
    throw new UsageError(
      `--severity: unknown level "${text}"; one of ${SEVERITIES.join(", ")} (that level and above)`,
    );
  return s as Severity;
}

function parseLimit(text: string): number {
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(n) || n <= 0)
    throw new UsageError(`--limit needs a positive integer, got "${text}"`);
  return n;
}

/**
 * The store's device column holds the inventory id ("mac:44-19-B6-12-34-56",
 * "ip:192.0.2.10") or, for an alert about no known device, the source address. A MAC is
 * written as the id; an address matches both of its forms, and later the inventory's
 * devices that used it.
 */
function deviceFilter(text: string): DeviceFilter {
  const mac = parseMac(text);
  if (typeof mac === "string") return { values: [`mac:${mac.replace(/:/g, "-")}`], address: null };
  if (isIP(text) !== 0) return { values: [text, `ip:${text}`], address: text };
  return { values: [text], address: null };
}

/** `egressd alerts`: the alert store as a table or JSON Lines. */
export async function runAlerts(argv: string[], out: Output = process.stdout): Promise<number> {
  const options = parseAlertsArgs(argv);
  if (options === "help") {
    out.write(ALERTS_HELP);
    return ExitCode.OK;
  }
  const { alerts, more, newestMs } = readAlerts(options);
  const w = new ChunkedWriter(out);
  if (options.json) for (const a of alerts) w.line(a.json);
  else if (alerts.length > 0) for (const line of alertTable(alerts)) w.line(line);
  w.flush();
  if (alerts.length === 0 && !options.json) process.stderr.write(noAlerts(options, newestMs));
  if (more)
    process.stderr.write(
      `egressd: showing the newest ${alerts.length} alerts; more match (use --limit)\n`,
    );
  return ExitCode.OK;
}

interface ReadResult {
  alerts: StoredAlert[];
  /** More alerts matched than --limit let through. */
  more: boolean;
  /** The newest stored alert's time, when none matched (to explain why). */
  newestMs: number | null;
}

function readAlerts(options: AlertsOptions): ReadResult {
  try {
    const db = openDatabase(options.db, { readonly: true });
    try {
      // Read only: no insert, so retention never runs.
      const store = new AlertStore(db, {
        maxAgeMs: Number.MAX_SAFE_INTEGER,
        maxAlerts: Number.MAX_SAFE_INTEGER,
      });
      const ids = options.device === null ? [] : deviceValues(options.device, options.inventoryDb);
      // One more than the limit, to know whether the limit cut anything off.
      const q = { ...options.query, limit: options.query.limit + 1 };
      let found =
        options.device === null
          ? store.query(q)
          : ids.flatMap((device) => store.query({ ...q, device }));
      // Several device values: merge their newest-first lists.
      if (ids.length > 1) found.sort((a, b) => b.tsMs - a.tsMs);
      const more = found.length > options.query.limit;
      found = found.slice(0, options.query.limit);
      const newestMs = found.length === 0 ? (store.query({ limit: 1 })[0]?.tsMs ?? null) : null;
      return { alerts: found, more, newestMs };
    } finally {
      db.close();
    }
  } catch (err) {
    if (err instanceof StoreError) throw new InputError(err.message);
    throw err;
  }
}

/** The --device values, with the ids of the inventory's devices that used the address. */
function deviceValues(filter: DeviceFilter, inventoryDb: string): string[] {
  const values = new Set(filter.values);
  if (filter.address === null) return [...values];
  let store: SqliteDeviceStore;
  try {
    store = SqliteDeviceStore.open(inventoryDb, { readonly: true });
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    process.stderr.write(
      `egressd: no inventory to look ${filter.address} up in (${err.message}); matching the address alone\n`,
    );
    return [...values];
  }
  try {
    for (const d of store.load().devices) {
      // A router's MAC carries many addresses; those behind it are devices of their own.
      if (!d.router && d.ips.some((a) => a.ip === filter.address)) values.add(d.id);
    }
  } finally {
    store.close();
  }
  return [...values];
}

function noAlerts(options: AlertsOptions, newestMs: number | null): string {
  if (newestMs === null) return "no alerts (the store holds none)\n";
  const timed = options.query.sinceMs !== undefined || options.query.untilMs !== undefined;
  // Alerts carry packet time: a replayed capture's alerts fall outside "the last 24h".
  return timed
    ? `no alerts (the newest stored alert is from ${shortTime(newestMs)}; alert times are packet times)\n`
    : "no alerts\n";
}

// --- table -------------------------------------------------------------------

/** "2026-11-22T06:48:54Z": to the second, as --since and --until accept it back. */
function shortTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

type Json = Record<string, unknown>;

function parseRecord(json: string): Json | null {
  try {
    const v: unknown = JSON.parse(json);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : null;
  } catch {
    return null;
  }
}

/** TIME, SEVERITY, RULE, REPEATS (only when some alert folded repeats), MESSAGE. */
export function alertTable(alerts: StoredAlert[]): string[] {
  const rows = alerts.map((a) => {
    const record = parseRecord(a.json);
    const repeats = fieldAt(record, "egressd.repeat.count");
    const message = fieldAt(record, "message");
    return {
      cells: [shortTime(a.tsMs), a.severity, a.ruleId],
      repeats: typeof repeats === "number" && repeats > 0 ? String(repeats) : "-",
      message:
        record === null
          ? "(stored record is not JSON)"
          : typeof message === "string" && message !== ""
            ? message
            : "-",
    };
  });
  const withRepeats = rows.some((r) => r.repeats !== "-");
  const headers = ["TIME", "SEVERITY", "RULE", ...(withRepeats ? ["REPEATS"] : []), "MESSAGE"];
  return tableLines(
    headers,
    rows.map((r) => [...r.cells, ...(withRepeats ? [r.repeats] : []), r.message]),
  );
}

/** Collects lines into large writes: one write per alert would be slow for big answers. */
class ChunkedWriter {
  private buf = "";
  constructor(private readonly out: Output) {}
  line(s: string): void {
    this.buf += `${s}\n`;
    if (this.buf.length > 65_536) this.flush();
  }
  flush(): void {
    if (this.buf !== "") this.out.write(this.buf);
    this.buf = "";
  }
}
