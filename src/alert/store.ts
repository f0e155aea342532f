/**
 * The alert store (table alerts in egressd's SQLite database): every alert is written
 * here, in the same transaction that copies it into each sink's queue, before any sink
 * sees it. Retention by age (relative to the newest alert's packet time, so a replayed
 * old capture is not pruned at once) and by count. Also keeps the dedup state
 * (table alert_dedup), and answers `egressd alerts`.
 */
import type { Severity } from "../rules/index.js";
import { SEVERITIES } from "../rules/index.js";
import type { Database, Statement } from "../store/sqlite.js";
import type { DedupEntry } from "./dedup.js";

export interface StoredAlert {
  id: string;
  tsMs: number;
  ruleId: string;
  severity: Severity;
  device: string;
  dedupKey: string;
  json: string;
}

export interface Retention {
  /** Alerts older than this (behind the newest alert) are deleted. */
  maxAgeMs: number;
  /** Beyond this many alerts the oldest are deleted. */
  maxAlerts: number;
}

export interface AlertQuery {
  sinceMs?: number;
  untilMs?: number;
  /** This severity and above. */
  minSeverity?: Severity;
  /** A device id or an address (the alert's device column). */
  device?: string;
  ruleId?: string;
  /** Newest first, at most this many. */
  limit?: number;
}

/** How often (in inserts) retention runs: cheap enough, and bounds the overshoot. */
const PRUNE_EVERY = 1000;

export class AlertStore {
  private readonly insertStmt: Statement;
  private readonly dedupUpsert: Statement;
  private readonly dedupDelete: Statement;
  private sinceLastPrune = 0;
  private newestMs = 0;
  /** Alerts deleted by retention since start. */
  pruned = 0;

  constructor(
    readonly db: Database,
    private readonly retention: Retention,
  ) {
    this.insertStmt = db.prepare(
      `INSERT OR IGNORE INTO alerts (id, ts_ms, rule_id, severity, device, dedup_key, record)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.dedupUpsert = db.prepare(
      `INSERT INTO alert_dedup (key, rule_id, cooldown_ms, sent_ms, folded, first_folded_ms, last_folded_ms, pending)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET rule_id = excluded.rule_id, cooldown_ms = excluded.cooldown_ms,
         sent_ms = excluded.sent_ms, folded = excluded.folded, first_folded_ms = excluded.first_folded_ms,
         last_folded_ms = excluded.last_folded_ms, pending = excluded.pending`,
    );
    this.dedupDelete = db.prepare("DELETE FROM alert_dedup WHERE key = ?");
    const newest = db.prepare("SELECT MAX(ts_ms) AS m FROM alerts").get() as { m: number | null };
    this.newestMs = newest.m ?? 0;
  }

  /** Runs `fn` in one transaction (an alert, its queue copies and its dedup entry). */
  transaction(fn: () => void): void {
    this.db.transaction(fn)();
  }

  /** Adds an alert (inside the caller's transaction); false when its id is already stored. */
  insert(a: StoredAlert): boolean {
    const r = this.insertStmt.run(a.id, a.tsMs, a.ruleId, a.severity, a.device, a.dedupKey, a.json);
    if (a.tsMs > this.newestMs) this.newestMs = a.tsMs;
    if (++this.sinceLastPrune >= PRUNE_EVERY) this.prune();
    return r.changes > 0;
  }

  /** Applies retention now; returns the alerts deleted. */
  prune(): number {
    this.sinceLastPrune = 0;
    const byAge = this.db
      .prepare("DELETE FROM alerts WHERE ts_ms < ?")
      .run(this.newestMs - this.retention.maxAgeMs).changes;
    const byCount = this.db
      .prepare(
        `DELETE FROM alerts WHERE rowid IN (
           SELECT rowid FROM alerts ORDER BY ts_ms DESC, rowid DESC LIMIT -1 OFFSET ?)`,
      )
      .run(this.retention.maxAlerts).changes;
    this.pruned += byAge + byCount;
    return byAge + byCount;
  }

  count(): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM alerts").get() as { n: number }).n;
  }

  query(q: AlertQuery = {}): StoredAlert[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.sinceMs !== undefined) {
      where.push("ts_ms >= ?");
      args.push(q.sinceMs);
    }
    if (q.untilMs !== undefined) {
      where.push("ts_ms <= ?");
      args.push(q.untilMs);
    }
    if (q.minSeverity !== undefined) {
      const allowed = SEVERITIES.slice(SEVERITIES.indexOf(q.minSeverity));
      where.push(`severity IN (${allowed.map(() => "?").join(", ")})`);
      args.push(...allowed);
    }
    if (q.device !== undefined) {
      where.push("device = ?");
      args.push(q.device);
    }
    if (q.ruleId !== undefined) {
      where.push("rule_id = ?");
      args.push(q.ruleId);
    }
    const sql = `SELECT id, ts_ms, rule_id, severity, device, dedup_key, record FROM alerts
      ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY ts_ms DESC, rowid DESC LIMIT ?`;
    args.push(q.limit ?? 1000);
    return (this.db.prepare(sql).all(...args) as Row[]).map((r) => ({
      id: r.id,
      tsMs: r.ts_ms,
      ruleId: r.rule_id,
      severity: r.severity as Severity,
      device: r.device ?? "",
      dedupKey: r.dedup_key,
      json: r.record,
    }));
  }

  /** The fold state kept by the last run. */
  loadDedup(): DedupEntry[] {
    return (this.db.prepare("SELECT * FROM alert_dedup").all() as DedupRow[]).map((r) => ({
      key: r.key,
      ruleId: r.rule_id,
      cooldownMs: r.cooldown_ms,
      sentMs: r.sent_ms,
      folded: r.folded,
      firstFoldedMs: r.first_folded_ms,
      lastFoldedMs: r.last_folded_ms,
      pending: r.pending,
    }));
  }

  /** Writes changed fold state (null: the key was evicted). Inside a transaction or not. */
  saveDedup(changes: readonly { key: string; entry: DedupEntry | null }[]): void {
    for (const { key, entry: e } of changes) {
      if (e === null) this.dedupDelete.run(key);
      else
        this.dedupUpsert.run(
          e.key,
          e.ruleId,
          e.cooldownMs,
          e.sentMs,
          e.folded,
          e.firstFoldedMs,
          e.lastFoldedMs,
          e.pending === null || typeof e.pending === "string"
            ? e.pending
            : JSON.stringify(e.pending),
        );
    }
  }
}

interface Row {
  id: string;
  ts_ms: number;
  rule_id: string;
  severity: string;
  device: string | null;
  dedup_key: string;
  record: string;
}

interface DedupRow {
  key: string;
  rule_id: string;
  cooldown_ms: number;
  sent_ms: number;
  folded: number;
  first_folded_ms: number;
  last_folded_ms: number;
  pending: string | null;
}
