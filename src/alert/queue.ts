/**
 * The durable per-sink alert queues (table alert_queue): every stored alert is copied into
 * the queue of each sink that wants it, in the same transaction as the store insert, and
 * stays there until that sink accepted it (at-least-once: the dispatcher acks only after
 * deliver() resolved, so a crash re-sends at most the batch that was in flight).
 *
 * Each queue is bounded in size (the oldest alerts beyond maxItems are dropped, counted as
 * overflow) and in age (alerts older than maxAgeMs are dropped by expire(), counted as
 * expired). Drops are reported once per event with a count through onDrop, never per alert.
 *
 * Queues of sinks that are no longer configured are NOT removed automatically: a sink
 * renamed or removed by mistake keeps its undelivered alerts until purge(sink) is called
 * explicitly; queuedSinks() lists them so the caller can warn.
 *
 * AlertQueues must be the only writer of alert_queue (it keeps a per-sink row count in
 * memory so that enforcing maxItems costs nothing per alert; the count is corrected from
 * the table by depth() and expire()).
 */
import type { Severity } from "../rules/index.js";
import type { Database, Statement } from "../store/sqlite.js";
import type { QueuedAlert } from "./sinks/sink.js";

export interface QueueBounds {
  /** Most alerts the queue holds; beyond it the oldest are dropped. */
  maxItems: number;
  /** Alerts queued longer than this are dropped by expire(). */
  maxAgeMs: number;
}

export type DropReason = "overflow" | "expired";

export interface QueueOptions {
  /** Called once per drop event (one enqueue's overflow, one expire() pass per sink). */
  onDrop?: (sink: string, reason: DropReason, count: number) => void;
}

export interface QueuedItem {
  seq: number;
  alert: QueuedAlert;
  /** Failed deliveries of this alert so far. */
  attempts: number;
}

export interface QueueStats {
  depth: number;
  /** Alerts dropped by the size bound since this process started. */
  overflow: number;
  /** Alerts dropped by the age bound since this process started. */
  expired: number;
}

interface SinkState {
  bounds: QueueBounds;
  /** Rows in the queue as far as this process knows (corrected by depth() and expire()). */
  count: number;
  overflow: number;
  expired: number;
}

interface Row {
  seq: number;
  alert_id: string;
  severity: string;
  body: string;
  attempts: number;
}

/** Larger than any seq: "no young row" in the expiry statement. */
const MAX_SEQ = Number.MAX_SAFE_INTEGER;

export class AlertQueues {
  private readonly sinks = new Map<string, SinkState>();
  private readonly onDrop: QueueOptions["onDrop"];
  private readonly insert: Statement;
  private readonly count: Statement;
  private readonly dropOldest: Statement;
  private readonly select: Statement;
  private readonly remove: Statement;
  private readonly bump: Statement;
  private readonly oldest: Statement;
  private readonly expireOld: Statement;
  private readonly removeAll: Statement;
  private readonly distinctSinks: Statement;

  constructor(db: Database, options: QueueOptions = {}) {
    this.onDrop = options.onDrop;
    this.insert = db.prepare(
      `INSERT OR IGNORE INTO alert_queue (sink, alert_id, severity, body, enqueued_ms)
       VALUES (?, ?, ?, ?, ?)`,
    );
    this.count = db.prepare("SELECT COUNT(*) AS n FROM alert_queue WHERE sink = ?");
    this.dropOldest = db.prepare(
      `DELETE FROM alert_queue WHERE seq IN
         (SELECT seq FROM alert_queue WHERE sink = ? ORDER BY seq LIMIT ?)`,
    );
    this.select = db.prepare(
      `SELECT seq, alert_id, severity, body, attempts FROM alert_queue
       WHERE sink = ? ORDER BY seq LIMIT ?`,
    );
    // A batch of seqs travels as one JSON array: one prepared statement for any batch size.
    this.remove = db.prepare(
      "DELETE FROM alert_queue WHERE sink = ? AND seq IN (SELECT value FROM json_each(?))",
    );
    this.bump = db.prepare(
      `UPDATE alert_queue SET attempts = attempts + 1
       WHERE sink = ? AND seq IN (SELECT value FROM json_each(?))`,
    );
    this.oldest = db.prepare(
      "SELECT enqueued_ms FROM alert_queue WHERE sink = ? ORDER BY seq LIMIT 1",
    );
    // The queue is FIFO: drop from the head up to the first alert young enough to keep.
    // This walks only the expired rows, not the whole queue (if the clock stepped back, an
    // old alert behind a younger one waits until that one expires too).
    this.expireOld = db.prepare(
      `DELETE FROM alert_queue WHERE sink = ? AND seq < COALESCE(
         (SELECT seq FROM alert_queue WHERE sink = ? AND enqueued_ms >= ? ORDER BY seq LIMIT 1),
         ${MAX_SEQ})`,
    );
    this.removeAll = db.prepare("DELETE FROM alert_queue WHERE sink = ?");
    this.distinctSinks = db.prepare("SELECT DISTINCT sink FROM alert_queue ORDER BY sink");
  }

  /** Sets (or changes) a sink's bounds; its queue may already hold alerts from a previous run. */
  configure(sink: string, bounds: QueueBounds): void {
    const state = this.sinks.get(sink);
    if (state !== undefined) {
      state.bounds = { ...bounds };
      return;
    }
    this.sinks.set(sink, {
      bounds: { ...bounds },
      count: this.countRows(sink),
      overflow: 0,
      expired: 0,
    });
  }

  /** The configured sinks. */
  configured(): string[] {
    return [...this.sinks.keys()];
  }

  /** Sinks that have queued alerts, configured or not (a removed sink's queue stays). */
  queuedSinks(): string[] {
    return (this.distinctSinks.all() as { sink: string }[]).map((r) => r.sink);
  }

  /**
   * Queues an alert for a sink. Opens no transaction: the caller wraps the store insert
   * and every sink's enqueue in one db.transaction. A second enqueue of the same alert id
   * for the same sink is a no-op. Returns whether the alert was queued.
   */
  enqueue(sink: string, alert: QueuedAlert, nowMs: number): boolean {
    const state = this.state(sink);
    if (this.insert.run(sink, alert.id, alert.severity, alert.json, nowMs).changes === 0) {
      return false;
    }
    state.count++;
    if (state.count > state.bounds.maxItems) {
      // Dropping the excess by the in-memory count, never recounting here: a dead sink's
      // full queue must not cost a COUNT(*) per alert on the capture path. A rolled-back
      // transaction that made the count high is corrected by resync().
      const excess = state.count - state.bounds.maxItems;
      const dropped = this.dropOldest.run(sink, excess).changes;
      state.count -= dropped;
      state.overflow += dropped;
      if (dropped > 0) this.onDrop?.(sink, "overflow", dropped);
    }
    return true;
  }

  /** Recounts every queue from the table (after a transaction that rolled back). */
  resync(): void {
    for (const [sink, state] of this.sinks) state.count = this.countRows(sink);
  }

  /** Up to n alerts of a sink's queue, oldest first; they stay queued until ack(). */
  peek(sink: string, n: number): QueuedItem[] {
    return (this.select.all(sink, n) as Row[]).map((r) => ({
      seq: r.seq,
      alert: { id: r.alert_id, json: r.body, severity: r.severity as Severity },
      attempts: r.attempts,
    }));
  }

  /** Removes delivered alerts. Seqs no longer queued (dropped meanwhile) are ignored. */
  ack(sink: string, seqs: readonly number[]): number {
    if (seqs.length === 0) return 0;
    const removed = this.remove.run(sink, JSON.stringify(seqs)).changes;
    const state = this.sinks.get(sink);
    if (state !== undefined) state.count = Math.max(0, state.count - removed);
    return removed;
  }

  /** Records one more failed delivery of these alerts. */
  attempted(sink: string, seqs: readonly number[]): void {
    if (seqs.length > 0) this.bump.run(sink, JSON.stringify(seqs));
  }

  /** Alerts queued for a sink, counted in the table. */
  depth(sink: string): number {
    const n = this.countRows(sink);
    const state = this.sinks.get(sink);
    if (state !== undefined) state.count = n;
    return n;
  }

  /** How long the oldest queued alert has waited; 0 when the queue is empty. */
  oldestAgeMs(sink: string, nowMs: number): number {
    const row = this.oldest.get(sink) as { enqueued_ms: number } | undefined;
    return row === undefined ? 0 : Math.max(0, nowMs - row.enqueued_ms);
  }

  /** Drops alerts older than each configured sink's maxAgeMs. Returns how many in all. */
  expire(nowMs: number): number {
    let total = 0;
    for (const [sink, state] of this.sinks) {
      const dropped = this.expireOld.run(sink, sink, nowMs - state.bounds.maxAgeMs).changes;
      state.count = this.countRows(sink);
      if (dropped === 0) continue;
      state.expired += dropped;
      total += dropped;
      this.onDrop?.(sink, "expired", dropped);
    }
    return total;
  }

  stats(sink: string): QueueStats {
    const state = this.sinks.get(sink);
    return {
      depth: this.depth(sink),
      overflow: state?.overflow ?? 0,
      expired: state?.expired ?? 0,
    };
  }

  /**
   * Deletes a sink's whole queue and forgets its bounds: the explicit step for a sink that
   * was removed from the config. Returns how many undelivered alerts were deleted.
   */
  purge(sink: string): number {
    this.sinks.delete(sink);
    return this.removeAll.run(sink).changes;
  }

  private state(sink: string): SinkState {
    const state = this.sinks.get(sink);
    if (state === undefined) throw new Error(`alert queue for sink "${sink}" is not configured`);
    return state;
  }

  private countRows(sink: string): number {
    return (this.count.get(sink) as { n: number }).n;
  }
}
