/**
 * The durable per-sink alert queues on a real SQLite file: order, duplicates, acks,
 * the size and age bounds with their drop counts, the caller's transaction, and queues
 * surviving a reopen of the database.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AlertQueues, type DropReason } from "../../src/alert/queue.js";
import type { QueuedAlert } from "../../src/alert/sinks/sink.js";
import type { Severity } from "../../src/rules/index.js";
import { type Database, openDatabase } from "../../src/store/sqlite.js";

function alert(n: number, severity: Severity = "high"): QueuedAlert {
  const id = `alert-${n}`;
  return { id, severity, json: JSON.stringify({ event: { id }, message: `alert ${n}` }) };
}

const ids = (items: { alert: QueuedAlert }[]) => items.map((i) => i.alert.id);

let dir: string;
let path: string;
let db: Database;
let drops: [string, DropReason, number][];
let queues: AlertQueues;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "egressd-queue-"));
  path = join(dir, "egressd.db");
  db = openDatabase(path);
  drops = [];
  queues = new AlertQueues(db, { onDrop: (sink, reason, n) => drops.push([sink, reason, n]) });
});

afterEach(() => {
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("AlertQueues", () => {
  it("hands alerts out oldest first, per sink, until acked", () => {
    queues.configure("soc", { maxItems: 100, maxAgeMs: 60_000 });
    queues.configure("file", { maxItems: 100, maxAgeMs: 60_000 });
    for (let n = 1; n <= 5; n++) queues.enqueue("soc", alert(n), 1000 + n);
    queues.enqueue("file", alert(9, "low"), 2000);

    const head = queues.peek("soc", 3);
    expect(ids(head)).toEqual(["alert-1", "alert-2", "alert-3"]);
    expect(head[0]!.alert).toEqual(alert(1));
    expect(head.every((h) => h.attempts === 0)).toBe(true);
    expect(ids(queues.peek("file", 10))).toEqual(["alert-9"]);
    expect(queues.peek("file", 10)[0]!.alert.severity).toBe("low");

    // Peeking does not remove; ack does, and only for that sink.
    expect(ids(queues.peek("soc", 3))).toEqual(["alert-1", "alert-2", "alert-3"]);
    expect(queues.ack("file", [head[0]!.seq])).toBe(0);
    expect(queues.ack("soc", [head[0]!.seq, head[1]!.seq])).toBe(2);
    expect(ids(queues.peek("soc", 10))).toEqual(["alert-3", "alert-4", "alert-5"]);
    expect(queues.depth("soc")).toBe(3);
    expect(queues.depth("file")).toBe(1);
  });

  it("ignores a second enqueue of the same alert for the same sink", () => {
    queues.configure("soc", { maxItems: 100, maxAgeMs: 60_000 });
    queues.configure("file", { maxItems: 100, maxAgeMs: 60_000 });
    expect(queues.enqueue("soc", alert(1), 1000)).toBe(true);
    expect(queues.enqueue("soc", alert(1), 2000)).toBe(false);
    expect(queues.enqueue("file", alert(1), 2000)).toBe(true);
    expect(queues.depth("soc")).toBe(1);
    expect(queues.oldestAgeMs("soc", 5000)).toBe(4000);
  });

  it("counts failed attempts", () => {
    queues.configure("soc", { maxItems: 100, maxAgeMs: 60_000 });
    for (let n = 1; n <= 3; n++) queues.enqueue("soc", alert(n), 1000);
    const seqs = queues.peek("soc", 2).map((h) => h.seq);
    queues.attempted("soc", seqs);
    queues.attempted("soc", seqs);
    expect(queues.peek("soc", 3).map((h) => h.attempts)).toEqual([2, 2, 0]);
  });

  it("drops the oldest alerts beyond maxItems and reports each overflow once with its count", () => {
    queues.configure("soc", { maxItems: 3, maxAgeMs: 60_000 });
    queues.configure("file", { maxItems: 100, maxAgeMs: 60_000 });
    for (let n = 1; n <= 3; n++) queues.enqueue("soc", alert(n), 1000);
    expect(drops).toEqual([]);
    queues.enqueue("soc", alert(4), 1000);
    queues.enqueue("soc", alert(5), 1000);
    queues.enqueue("file", alert(6), 1000);
    expect(ids(queues.peek("soc", 10))).toEqual(["alert-3", "alert-4", "alert-5"]);
    expect(queues.stats("soc")).toEqual({ depth: 3, overflow: 2, expired: 0 });
    expect(queues.stats("file")).toEqual({ depth: 1, overflow: 0, expired: 0 });
    expect(drops).toEqual([
      ["soc", "overflow", 1],
      ["soc", "overflow", 1],
    ]);

    // Lowering the bound drops the excess at the next enqueue, in one event.
    queues.configure("soc", { maxItems: 1, maxAgeMs: 60_000 });
    queues.enqueue("soc", alert(7), 1000);
    expect(ids(queues.peek("soc", 10))).toEqual(["alert-7"]);
    expect(drops.at(-1)).toEqual(["soc", "overflow", 3]);
    expect(queues.stats("soc").overflow).toBe(5);
  });

  it("expires alerts older than maxAgeMs per sink and reports each sink once", () => {
    queues.configure("soc", { maxItems: 100, maxAgeMs: 10_000 });
    queues.configure("file", { maxItems: 100, maxAgeMs: 60_000 });
    for (let n = 1; n <= 4; n++) queues.enqueue("soc", alert(n), n * 1000);
    queues.enqueue("file", alert(5), 1000);

    expect(queues.expire(12_500)).toBe(2);
    expect(ids(queues.peek("soc", 10))).toEqual(["alert-3", "alert-4"]);
    expect(queues.stats("soc")).toEqual({ depth: 2, overflow: 0, expired: 2 });
    expect(queues.stats("file")).toEqual({ depth: 1, overflow: 0, expired: 0 });
    expect(drops).toEqual([["soc", "expired", 2]]);
    expect(queues.expire(12_500)).toBe(0);
    expect(drops).toHaveLength(1);
  });

  it("enqueues inside the caller's transaction: a rollback leaves nothing queued", () => {
    queues.configure("soc", { maxItems: 2, maxAgeMs: 60_000 });
    queues.enqueue("soc", alert(1), 1000);
    queues.enqueue("soc", alert(2), 1000);
    const store = db.transaction(() => {
      queues.enqueue("soc", alert(3), 1000);
      queues.enqueue("soc", alert(4), 1000);
      throw new Error("store insert failed");
    });
    expect(() => store()).toThrow("store insert failed");
    expect(ids(queues.peek("soc", 10))).toEqual(["alert-1", "alert-2"]);
    // The next enqueue still enforces the bound from what the table really holds.
    queues.enqueue("soc", alert(5), 1000);
    expect(ids(queues.peek("soc", 10))).toEqual(["alert-2", "alert-5"]);
    expect(queues.depth("soc")).toBe(2);
  });

  it("refuses to enqueue for a sink it was not configured for", () => {
    expect(() => queues.enqueue("nowhere", alert(1), 1000)).toThrow(/not configured/);
  });

  it("keeps queues across a reopen, including those of sinks no longer configured", () => {
    queues.configure("soc", { maxItems: 100, maxAgeMs: 60_000 });
    queues.configure("old", { maxItems: 100, maxAgeMs: 60_000 });
    for (let n = 1; n <= 3; n++) queues.enqueue("soc", alert(n), 1000);
    queues.enqueue("old", alert(4), 1000);
    db.close();

    db = openDatabase(path);
    const again = new AlertQueues(db);
    again.configure("soc", { maxItems: 2, maxAgeMs: 60_000 });
    expect(ids(again.peek("soc", 10))).toEqual(["alert-1", "alert-2", "alert-3"]);
    expect(again.depth("soc")).toBe(3);
    // The remembered count is the table's: the next enqueue trims to the new bound.
    again.enqueue("soc", alert(5), 1000);
    expect(ids(again.peek("soc", 10))).toEqual(["alert-3", "alert-5"]);
    // "old" is not configured any more, yet its alert waits for an explicit purge.
    expect(again.queuedSinks()).toEqual(["old", "soc"]);
    expect(again.expire(10_000_000)).toBe(2); // only configured sinks expire
    expect(again.depth("old")).toBe(1);
    expect(again.purge("old")).toBe(1);
    expect(again.queuedSinks()).toEqual([]);
  });
});
