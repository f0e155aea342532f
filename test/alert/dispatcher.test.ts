/**
 * The dispatcher draining real SQLite queues into sinks written here: one that fails a
 * few times, one that stalls until released, one that refuses alerts for good, one that is
 * dead. Every alert must arrive once and in order, backoff must grow and stop growing,
 * Retry-After must be honoured, and a restart in the middle of an outage must lose nothing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Dispatcher, type DispatcherOptions, passes } from "../../src/alert/dispatcher.js";
import { AlertQueues, type DropReason } from "../../src/alert/queue.js";
import { type AlertSink, DeliveryError, type QueuedAlert } from "../../src/alert/sinks/sink.js";
import type { Severity } from "../../src/rules/index.js";
import { type Database, openDatabase } from "../../src/store/sqlite.js";

function alert(n: number, severity: Severity = "high"): QueuedAlert {
  const id = `alert-${n}`;
  return { id, severity, json: JSON.stringify({ event: { id }, message: `alert ${n}` }) };
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `alert-${from + i}`);

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Records every call; `behave` decides per call (1-based) whether it fails. */
class TestSink implements AlertSink {
  readonly type = "webhook";
  /** Alerts the sink accepted, in order. */
  readonly accepted: string[] = [];
  /** Every deliver() call: when, and which alerts. */
  readonly calls: { at: number; ids: string[] }[] = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(
    readonly name: string,
    readonly maxBatch: number,
    private readonly behave: (call: number, ids: string[]) => Promise<void> | void = () => {},
  ) {}

  async deliver(alerts: readonly QueuedAlert[]): Promise<void> {
    const ids = alerts.map((a) => a.id);
    this.calls.push({ at: performance.now(), ids });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.behave(this.calls.length, ids);
      this.accepted.push(...ids);
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {}
}

/** Fails its first `n` calls (with `error`), then accepts everything. */
function failing(n: number, error: () => Error = () => new DeliveryError("receiver down")) {
  return (call: number) => {
    if (call <= n) throw error();
  };
}

/** Holds every deliver() until release() is called. */
class Gate {
  private waiting: (() => void)[] = [];
  private open = false;
  wait = (): Promise<void> =>
    this.open ? Promise.resolve() : new Promise((r) => this.waiting.push(r));
  get held(): number {
    return this.waiting.length;
  }
  release(): void {
    this.open = true;
    for (const r of this.waiting.splice(0)) r();
  }
}

let dir: string;
let path: string;
let db: Database;
let queues: AlertQueues;
let drops: [string, DropReason, number][];
const dispatchers: Dispatcher[] = [];

function setup(sinks: AlertSink[], options: DispatcherOptions = {}, maxItems = 10_000): Dispatcher {
  for (const s of sinks) queues.configure(s.name, { maxItems, maxAgeMs: 3_600_000 });
  const d = new Dispatcher(queues, sinks, { baseBackoffMs: 5, maxBackoffMs: 20, ...options });
  dispatchers.push(d);
  d.start();
  return d;
}

/** What capture does: store and enqueue in one transaction, then wake the dispatchers. */
function enqueue(sink: string, from: number, to: number, nowMs = Date.now()): void {
  db.transaction(() => {
    for (let n = from; n <= to; n++) queues.enqueue(sink, alert(n), nowMs);
  })();
  for (const d of dispatchers) d.notify(sink);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "egressd-dispatch-"));
  path = join(dir, "egressd.db");
  db = openDatabase(path);
  drops = [];
  queues = new AlertQueues(db, { onDrop: (s, reason, n) => drops.push([s, reason, n]) });
});

afterEach(async () => {
  for (const d of dispatchers.splice(0)) await d.stop(1000);
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("passes", () => {
  it("orders severities info < low < medium < high < critical", () => {
    expect(passes("info", "info")).toBe(true);
    expect(passes("medium", "low")).toBe(false);
    expect(passes("medium", "medium")).toBe(true);
    expect(passes("medium", "critical")).toBe(true);
    expect(passes("critical", "high")).toBe(false);
  });
});

describe("Dispatcher", () => {
  it("delivers every alert once and in order across failures", async () => {
    const sink = new TestSink("soc", 7, failing(3));
    const failures: number[] = [];
    const recovered: number[] = [];
    const delivered: number[] = [];
    const d = setup([sink], {
      onFailure: (_s, _e, n) => failures.push(n),
      onRecovered: (_s, n) => recovered.push(n),
      onDelivered: (_s, count, seconds) => {
        expect(seconds).toBeGreaterThanOrEqual(0);
        delivered.push(count);
      },
    });
    enqueue("soc", 1, 30);
    // More alerts arrive during the outage.
    await waitFor("first failure", () => failures.length >= 1);
    enqueue("soc", 31, 50);
    await waitFor("empty queue", () => queues.depth("soc") === 0);

    expect(sink.accepted).toEqual(range(1, 50));
    expect(failures).toEqual([1, 2, 3]);
    expect(recovered).toEqual([3]);
    expect(delivered.reduce((a, b) => a + b, 0)).toBe(50);
    // The failed calls were all for the head of the queue.
    for (const call of sink.calls.slice(0, 3)) expect(call.ids[0]).toBe("alert-1");
    expect(d.status().soc).toMatchObject({
      depth: 0,
      consecutiveFailures: 0,
      lastError: "receiver down",
    });
    expect(d.status().soc!.lastSuccessMs).not.toBeNull();
  });

  it("grows the backoff from base, doubling, and stops at max (equal jitter)", async () => {
    const high = new TestSink("high", 10, failing(6));
    const low = new TestSink("low", 10, failing(6));
    const waits: Record<string, number[]> = { high: [], low: [] };
    const onFailure = (s: string, _e: Error, _n: number, ms: number) => waits[s]!.push(ms);
    const options = { baseBackoffMs: 10, maxBackoffMs: 80, onFailure };
    setup([high], { ...options, random: () => 1 });
    setup([low], { ...options, random: () => 0 });
    enqueue("high", 1, 3);
    enqueue("low", 1, 3);
    await waitFor("both queues empty", () => queues.depth("high") + queues.depth("low") === 0);

    // random 1 waits the full delay, random 0 half of it.
    expect(waits.high).toEqual([10, 20, 40, 80, 80, 80]);
    expect(waits.low).toEqual([5, 10, 20, 40, 40, 40]);
    // And the loop really waited that long between attempts.
    for (let i = 1; i < high.calls.length; i++) {
      const gap = high.calls[i]!.at - high.calls[i - 1]!.at;
      expect(gap).toBeGreaterThanOrEqual(waits.high[i - 1]! - 2);
    }
    expect(high.accepted).toEqual(range(1, 3));
    expect(low.accepted).toEqual(range(1, 3));
  });

  it("waits as long as the receiver's Retry-After when it is longer than the backoff", async () => {
    const sink = new TestSink(
      "soc",
      10,
      failing(1, () => new DeliveryError("429", true, 200)),
    );
    const waits: number[] = [];
    setup([sink], { onFailure: (_s, _e, _n, ms) => waits.push(ms) });
    enqueue("soc", 1, 2);
    await waitFor("empty queue", () => queues.depth("soc") === 0);
    expect(waits).toEqual([200]);
    expect(sink.calls[1]!.at - sink.calls[0]!.at).toBeGreaterThanOrEqual(198);

    // A Retry-After shorter than the backoff does not shorten it.
    const other = new TestSink(
      "other",
      10,
      failing(1, () => new DeliveryError("429", true, 1)),
    );
    const otherWaits: number[] = [];
    setup([other], {
      baseBackoffMs: 100,
      maxBackoffMs: 100,
      random: () => 1,
      onFailure: (_s, _e, _n, ms) => otherWaits.push(ms),
    });
    enqueue("other", 1, 1);
    await waitFor("empty queue", () => queues.depth("other") === 0);
    expect(otherWaits).toEqual([100]);
  });

  it("drops a batch the receiver refuses for good, reports it, and goes on", async () => {
    const refusal = new DeliveryError("HTTP 400", false);
    const sink = new TestSink("soc", 2, (_call, ids) => {
      if (ids.includes("alert-3")) throw refusal;
    });
    const rejected: [string, number, Error][] = [];
    const failures: Error[] = [];
    setup([sink], {
      onRejected: (s, n, e) => rejected.push([s, n, e]),
      onFailure: (_s, e) => failures.push(e),
    });
    enqueue("soc", 1, 6);
    await waitFor("empty queue", () => queues.depth("soc") === 0);
    expect(sink.accepted).toEqual(["alert-1", "alert-2", "alert-5", "alert-6"]);
    expect(rejected).toEqual([["soc", 2, refusal]]);
    expect(failures).toEqual([]);
    expect(sink.calls).toHaveLength(3);
  });

  it("retries any other error as retryable", async () => {
    const sink = new TestSink(
      "soc",
      10,
      failing(2, () => new TypeError("socket hang up")),
    );
    const failures: string[] = [];
    setup([sink], { onFailure: (_s, e) => failures.push(e.message) });
    enqueue("soc", 1, 3);
    await waitFor("empty queue", () => queues.depth("soc") === 0);
    expect(failures).toEqual(["socket hang up", "socket hang up"]);
    expect(sink.accepted).toEqual(range(1, 3));
    expect(sink.calls.map((c) => c.ids)).toEqual([range(1, 3), range(1, 3), range(1, 3)]);
  });

  it("marks failed attempts on the queued alerts", async () => {
    const gate = new Gate();
    const sink = new TestSink("soc", 10, async (call) => {
      if (call <= 2) throw new DeliveryError("down");
      await gate.wait();
    });
    setup([sink]);
    enqueue("soc", 1, 2);
    await waitFor("third call", () => sink.calls.length === 3);
    expect(queues.peek("soc", 10).map((i) => i.attempts)).toEqual([2, 2]);
    gate.release();
    await waitFor("empty queue", () => queues.depth("soc") === 0);
  });

  it("keeps one deliver in flight per sink, however often it is notified", async () => {
    const gate = new Gate();
    const sink = new TestSink("soc", 3, () => gate.wait());
    const d = setup([sink]);
    enqueue("soc", 1, 5);
    d.notify("soc");
    await waitFor("a held delivery", () => gate.held === 1);
    for (let n = 6; n <= 10; n++) {
      enqueue("soc", n, n);
      d.notify("soc");
      d.notify();
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(sink.calls).toHaveLength(1);
    gate.release();
    await waitFor("empty queue", () => queues.depth("soc") === 0);
    expect(sink.maxInFlight).toBe(1);
    expect(sink.accepted).toEqual(range(1, 10));
  });

  it("drain() returns at its deadline with a dead sink and leaves the alerts queued", async () => {
    const dead = new TestSink("dead", 10, failing(Number.POSITIVE_INFINITY));
    const live = new TestSink("live", 10);
    const d = setup([dead, live]);
    enqueue("dead", 1, 4);
    enqueue("live", 1, 4);
    const started = Date.now();
    const left = await d.drain(started + 150);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(145);
    expect(took).toBeLessThan(1000);
    expect(left).toEqual({ dead: 4, live: 0 });
    expect(live.accepted).toEqual(range(1, 4));
    await d.stop(1000);
    expect(queues.depth("dead")).toBe(4);
  });

  it("finds alerts enqueued without notify() at its next poll", async () => {
    const sink = new TestSink("soc", 10);
    setup([sink], { pollIntervalMs: 30 });
    await new Promise((r) => setTimeout(r, 10));
    queues.enqueue("soc", alert(1), Date.now());
    await waitFor("empty queue", () => queues.depth("soc") === 0, 1000);
    expect(sink.accepted).toEqual(["alert-1"]);
  });

  it("drain() returns as soon as every queue is empty", async () => {
    const sink = new TestSink("soc", 10);
    const d = setup([sink]);
    enqueue("soc", 1, 25);
    const started = Date.now();
    expect(await d.drain(started + 5000)).toEqual({ soc: 0 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(sink.accepted).toEqual(range(1, 25));
  });

  it("stop() lets the delivery in flight finish and acks it", async () => {
    const gate = new Gate();
    const sink = new TestSink("soc", 10, () => gate.wait());
    const d = setup([sink]);
    enqueue("soc", 1, 3);
    await waitFor("a held delivery", () => gate.held === 1);
    setTimeout(() => gate.release(), 50);
    await d.stop(2000);
    expect(sink.accepted).toEqual(range(1, 3));
    expect(queues.depth("soc")).toBe(0);
  });

  it("stop() gives up on a stalled delivery after its bound; the alerts stay queued", async () => {
    const gate = new Gate();
    const sink = new TestSink("soc", 10, () => gate.wait());
    const d = setup([sink]);
    enqueue("soc", 1, 3);
    await waitFor("a held delivery", () => gate.held === 1);
    const started = Date.now();
    await d.stop(100);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(queues.depth("soc")).toBe(3);
    // The database closes; the late success cannot be acked, and must not blow up.
    db.close();
    gate.release();
    await waitFor("late delivery", () => sink.accepted.length === 3);
    await new Promise((r) => setTimeout(r, 20));
  });

  it("expires old alerts periodically and reports the count", async () => {
    const dead = new TestSink("dead", 10, failing(Number.POSITIVE_INFINITY));
    queues.configure("dead", { maxItems: 100, maxAgeMs: 1000 });
    const d = new Dispatcher(queues, [dead], {
      baseBackoffMs: 5,
      maxBackoffMs: 20,
      expireIntervalMs: 20,
    });
    dispatchers.push(d);
    enqueue("dead", 1, 3, Date.now() - 5000);
    enqueue("dead", 4, 4, Date.now());
    d.start();
    await waitFor("expiry", () => drops.length > 0);
    expect(drops).toEqual([["dead", "expired", 3]]);
    expect(queues.peek("dead", 10).map((i) => i.alert.id)).toEqual(["alert-4"]);
    expect(queues.stats("dead")).toEqual({ depth: 1, overflow: 0, expired: 3 });
  });

  it("loses nothing when restarted in the middle of an outage", async () => {
    const dead = new TestSink("soc", 4, failing(Number.POSITIVE_INFINITY));
    const first = setup([dead]);
    enqueue("soc", 1, 10);
    await waitFor("a few failures", () => dead.calls.length >= 3);
    enqueue("soc", 11, 20);
    await first.stop(1000);
    db.close();

    // A new process: same file, new queues and dispatcher, the receiver is back.
    db = openDatabase(path);
    queues = new AlertQueues(db);
    const back = new TestSink("soc", 4);
    setup([back]);
    await waitFor("empty queue", () => queues.depth("soc") === 0);
    expect(back.accepted).toEqual(range(1, 20));
    expect(dead.accepted).toEqual([]);
  });

  it("after a crash re-sends only the batch that was in flight", async () => {
    const gate = new Gate();
    const stalled = new TestSink("soc", 3, () => gate.wait());
    setup([stalled]);
    enqueue("soc", 1, 8);
    await waitFor("a held delivery", () => gate.held === 1);
    // kill -9 while the receiver holds alerts 1-3: nothing was acked.
    db.close();

    db = openDatabase(path);
    queues = new AlertQueues(db);
    const back = new TestSink("soc", 3);
    setup([back]);
    await waitFor("empty queue", () => queues.depth("soc") === 0);
    expect(back.accepted).toEqual(range(1, 8));
    // The crashed process's delivery completing late: its ack finds the old db closed.
    gate.release();
    await waitFor("late delivery", () => stalled.accepted.length === 3);
    const seen = [...stalled.calls[0]!.ids, ...back.accepted];
    expect(seen.filter((id, i) => seen.indexOf(id) !== i)).toEqual(range(1, 3));
  });
});
