/**
 * The alert store (AlertStore) on a real SQLite file: insert and query filters, a duplicate
 * id ignored, retention by age (behind the newest alert) and by count, and the dedup state
 * written and read back across a reopen.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AlertDedup, type DedupEntry } from "../../src/alert/dedup.js";
import { AlertStore, type StoredAlert } from "../../src/alert/store.js";
import type { Severity } from "../../src/rules/index.js";
import { type Database, openDatabase } from "../../src/store/sqlite.js";

const T0 = Date.UTC(2024, 4, 1);
const KEEP_ALL = { maxAgeMs: 1e12, maxAlerts: 1e6 };

function alert(
  n: number,
  tsMs: number,
  severity: Severity = "high",
  device = "mac:00-00-00-00-00-01",
  ruleId = "R1",
): StoredAlert {
  const id = `id-${n}`;
  return {
    id,
    tsMs,
    ruleId,
    severity,
    device,
    dedupKey: `${ruleId}|${device}|cloud`,
    json: JSON.stringify({ event: { id }, n }),
  };
}

const ids = (alerts: StoredAlert[]) => alerts.map((a) => a.id);

let dir: string;
let path: string;
let db: Database;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "egressd-store-"));
  path = join(dir, "egressd.db");
  db = openDatabase(path);
});

afterEach(() => {
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("AlertStore", () => {
  it("stores alerts and answers queries newest first", () => {
    const store = new AlertStore(db, KEEP_ALL);
    const alerts = [
      alert(1, T0, "info", "cam-a", "R1"),
      alert(2, T0 + 1000, "low", "cam-b", "R2"),
      alert(3, T0 + 2000, "medium", "cam-a", "R1"),
      alert(4, T0 + 3000, "high", "10.0.0.9", "R3"),
      alert(5, T0 + 4000, "critical", "cam-a", "R2"),
    ];
    store.transaction(() => {
      for (const a of alerts) expect(store.insert(a)).toBe(true);
    });
    expect(store.count()).toBe(5);

    expect(store.query()).toEqual([...alerts].reverse());
    expect(ids(store.query({ sinceMs: T0 + 1000, untilMs: T0 + 3000 }))).toEqual([
      "id-4",
      "id-3",
      "id-2",
    ]);
    expect(ids(store.query({ minSeverity: "medium" }))).toEqual(["id-5", "id-4", "id-3"]);
    expect(ids(store.query({ minSeverity: "critical" }))).toEqual(["id-5"]);
    expect(ids(store.query({ minSeverity: "info" }))).toHaveLength(5);
    expect(ids(store.query({ device: "cam-a" }))).toEqual(["id-5", "id-3", "id-1"]);
    expect(ids(store.query({ device: "10.0.0.9" }))).toEqual(["id-4"]);
    expect(ids(store.query({ ruleId: "R2" }))).toEqual(["id-5", "id-2"]);
    expect(ids(store.query({ device: "cam-a", ruleId: "R1", minSeverity: "medium" }))).toEqual([
      "id-3",
    ]);
    expect(ids(store.query({ limit: 2 }))).toEqual(["id-5", "id-4"]);
    expect(store.query({ device: "nobody" })).toEqual([]);
  });

  it("orders alerts of the same time by insertion", () => {
    const store = new AlertStore(db, KEEP_ALL);
    for (const n of [1, 2, 3]) store.insert(alert(n, T0));
    expect(ids(store.query())).toEqual(["id-3", "id-2", "id-1"]);
  });

  it("ignores an alert whose id is already stored", () => {
    const store = new AlertStore(db, KEEP_ALL);
    expect(store.insert(alert(1, T0))).toBe(true);
    const again = { ...alert(1, T0 + 5000, "critical"), json: '{"other":true}' };
    expect(store.insert(again)).toBe(false);
    expect(store.count()).toBe(1);
    expect(store.query()[0]).toEqual(alert(1, T0));
  });

  it("prunes by age behind the newest alert, not the wall clock", () => {
    // These alerts are years old by the clock: retention must not delete them for that.
    const store = new AlertStore(db, { maxAgeMs: 5000, maxAlerts: 1e6 });
    for (const [n, t] of [
      [1, T0],
      [2, T0 + 1000],
      [3, T0 + 5000],
      [4, T0 + 10_000],
    ] as const)
      store.insert(alert(n, t));
    expect(store.prune()).toBe(2);
    expect(ids(store.query())).toEqual(["id-4", "id-3"]);
    expect(store.pruned).toBe(2);

    // A new store on the same file knows the newest alert from the table.
    db.close();
    db = openDatabase(path);
    const reopened = new AlertStore(db, { maxAgeMs: 1000, maxAlerts: 1e6 });
    expect(reopened.prune()).toBe(1);
    expect(ids(reopened.query())).toEqual(["id-4"]);
  });

  it("prunes by count, oldest first", () => {
    const store = new AlertStore(db, { maxAgeMs: 1e12, maxAlerts: 3 });
    // Inserted out of time order: the count bound goes by packet time.
    for (const [n, t] of [
      [1, T0 + 4000],
      [2, T0],
      [3, T0 + 3000],
      [4, T0 + 1000],
      [5, T0 + 2000],
    ] as const)
      store.insert(alert(n, t));
    expect(store.prune()).toBe(2);
    expect(ids(store.query())).toEqual(["id-1", "id-3", "id-5"]);
    expect(store.prune()).toBe(0);
  });

  it("applies retention on its own every 1000 inserts", () => {
    const store = new AlertStore(db, { maxAgeMs: 1e12, maxAlerts: 10 });
    store.transaction(() => {
      for (let n = 1; n <= 999; n++) store.insert(alert(n, T0 + n));
    });
    expect(store.count()).toBe(999);
    store.insert(alert(1000, T0 + 1000));
    expect(store.count()).toBe(10);
    expect(ids(store.query({ limit: 1 }))).toEqual(["id-1000"]);
    expect(store.pruned).toBe(990);
  });

  it("keeps the dedup state across a reopen", () => {
    const store = new AlertStore(db, KEEP_ALL);
    const a: DedupEntry = {
      key: "R1|cam|cloud",
      ruleId: "R1",
      cooldownMs: 900_000,
      sentMs: T0,
      folded: 3,
      firstFoldedMs: T0 + 10,
      lastFoldedMs: T0 + 20,
      pending: '{"message":"last one"}',
    };
    const b: DedupEntry = { ...a, key: "R2|cam|x", ruleId: "R2", folded: 0, pending: null };
    store.saveDedup([
      { key: a.key, entry: a },
      { key: b.key, entry: b },
    ]);
    const byKey = (es: DedupEntry[]) => [...es].sort((x, y) => x.key.localeCompare(y.key));
    expect(byKey(store.loadDedup())).toEqual([a, b]);

    // An update replaces the row; null deletes it.
    const a2 = { ...a, sentMs: T0 + 900_000, folded: 0, pending: null };
    store.saveDedup([
      { key: a.key, entry: a2 },
      { key: b.key, entry: null },
    ]);
    db.close();
    db = openDatabase(path);
    expect(new AlertStore(db, KEEP_ALL).loadDedup()).toEqual([a2]);
  });

  it("round-trips AlertDedup's changes: a repeat after the reopen still folds", () => {
    const store = new AlertStore(db, KEEP_ALL);
    const dedup = new AlertDedup({ maxKeys: 10 });
    dedup.sent("R1|cam|cloud", "R1", 60_000, T0, []);
    dedup.fold("R1|cam|cloud", T0 + 1000, "{}");
    store.saveDedup(dedup.takeDirty());
    db.close();

    db = openDatabase(path);
    const restored = new AlertDedup({ maxKeys: 10 });
    restored.restore(new AlertStore(db, KEEP_ALL).loadDedup());
    expect(restored.isRepeat("R1|cam|cloud", T0 + 59_999)).toBe(true);
    expect(restored.sent("R1|cam|cloud", "R1", 60_000, T0 + 60_000, [])).toEqual({
      count: 1,
      firstMs: T0 + 1000,
      lastMs: T0 + 1000,
    });
  });
});
