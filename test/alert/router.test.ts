/**
 * The alert path from a rule match to the sinks (AlertRouter) on a real SQLite file with
 * real sinks that record what they get: every match is sent, folded into a count or held
 * back by the rate limit, and each of those is reported somewhere; per-sink severity
 * filters; the store and the queues written together; the fold state surviving a restart;
 * finish() and close() handing out everything owed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AlertRouter, RATE_LIMIT_RULE_ID } from "../../src/alert/router.js";
import { type AlertSink, DeliveryError, type QueuedAlert } from "../../src/alert/sinks/sink.js";
import type { AlertsConfig } from "../../src/config/config.js";
import { parseConfig } from "../../src/config/load.js";
import type { RuleMatch, Severity } from "../../src/rules/index.js";
import { type Database, openDatabase } from "../../src/store/sqlite.js";

type Json = Record<string, unknown>;

const T0 = Date.UTC(2024, 4, 1, 10);
const SCORE: Record<Severity, number> = { info: 1, low: 21, medium: 47, high: 73, critical: 99 };

/** A sink that keeps every alert it is given. */
class RecordingSink implements AlertSink {
  readonly type = "log" as const;
  readonly maxBatch = 50;
  readonly got: QueuedAlert[] = [];
  closed = false;
  constructor(readonly name: string) {}
  async deliver(alerts: readonly QueuedAlert[]): Promise<void> {
    this.got.push(...alerts);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  records(): Json[] {
    return this.got.map((a) => JSON.parse(a.json) as Json);
  }
}

/** A receiver that is down: every delivery fails (retryable). */
class DeadSink extends RecordingSink {
  attempts = 0;
  override async deliver(): Promise<void> {
    this.attempts++;
    throw new DeliveryError("connection refused");
  }
}

/** Packet time as alertRecord writes it: nanoseconds. */
function iso(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000000Z`;
}

function ruleMatch(id: string, severity: Severity, cooldownSeconds?: number): RuleMatch {
  return {
    rule: {
      id,
      name: `rule ${id}`,
      description: `what ${id} catches`,
      severity,
      tags: [],
      references: [],
      trigger: "tls_client_hello",
      enabled: true,
      ...(cooldownSeconds !== undefined ? { cooldownSeconds } : {}),
      file: "rules/test.yaml",
      line: 1,
    },
    reasons: [],
  };
}

/** A record shaped like alertRecord()'s: `device` is a device id, `to` a name or address. */
function alertRecord(m: RuleMatch, tsMs: number, device: string, to: string): Json {
  const isIp = /^[\d.]+$/.test(to);
  return {
    "@timestamp": iso(tsMs),
    event: {
      kind: "alert",
      severity: SCORE[m.rule.severity],
      action: "tls_client_hello",
      dataset: "egressd.alert",
    },
    rule: { id: m.rule.id, name: m.rule.name, description: m.rule.description },
    source: { ip: "10.20.0.11", port: 40000 },
    destination: isIp ? { ip: to, port: 443 } : { ip: "203.0.113.7", port: 443, domain: to },
    message: `${device} opened TLS to ${to}`,
    egressd: {
      trigger: "tls_client_hello",
      severity: m.rule.severity,
      reasons: [],
      tags: [],
      source_device: { id: device },
    },
  };
}

function config(overrides: Partial<AlertsConfig> = {}): AlertsConfig {
  return { ...parseConfig("", "x.yaml").alerts, ...overrides };
}

let dir: string;
let path: string;
let db: Database;
let logs: string[];
let routers: AlertRouter[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "egressd-router-"));
  path = join(dir, "egressd.db");
  db = openDatabase(path);
  logs = [];
  routers = [];
});

afterEach(async () => {
  // A test that failed half way still stops its dispatchers before the file goes.
  for (const r of routers) await r.dispatcher?.stop(1000);
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

function newRouter(
  c: AlertsConfig,
  sinks: { sink: AlertSink; minSeverity?: Severity }[],
  database: Database | null = db,
): AlertRouter {
  const r = new AlertRouter({
    sensor: "sensor-1",
    config: c,
    db: database,
    sinks: sinks.map((s) => ({
      sink: s.sink,
      minSeverity: s.minSeverity ?? "info",
      bounds: { maxItems: 100_000, maxAgeMs: 7 * 86_400_000 },
    })),
    log: (level, message) => logs.push(`${level}: ${message}`),
  });
  routers.push(r);
  return r;
}

/** Hands one match to the router, built from its parts. */
function submit(r: AlertRouter, m: RuleMatch, tsMs: number, device: string, to: string): void {
  r.submit(alertRecord(m, tsMs, device, to), m, tsMs);
}

const egressdOf = (r: Json) => (r.egressd ?? {}) as Json;
const ruleIdOf = (r: Json) => String((r.rule as Json | undefined)?.id);
const repeatOf = (r: Json) => egressdOf(r).repeat as { count: number; first: string; last: string };

describe("AlertRouter", () => {
  it("accounts for every match of a storm: sent, folded into a count, or held back", async () => {
    const beacon = ruleMatch("R-BEACON", "medium");
    const scan = ruleMatch("R-SCAN", "high");
    const lookup = ruleMatch("R-LOOKUP", "low", 20);
    const c2 = ruleMatch("R-C2", "critical");
    // A small dedup table so that the scan's new keys evict keys with repeats owed.
    const soc = new RecordingSink("soc");
    const pager = new RecordingSink("pager");
    const r = newRouter(
      config({ cooldown: 60, max_dedup_keys: 8, rate_limit: { per_second: 2, burst: 5 } }),
      [{ sink: soc }, { sink: pager, minSeverity: "high" }],
    );
    r.start();

    let submitted = 0;
    const go = (m: RuleMatch, t: number, device: string, to: string) => {
      submit(r, m, t, device, to);
      submitted++;
    };
    for (let i = 0; i < 1500; i++) {
      const t = T0 + i * 100;
      if (i % 3 === 0) go(beacon, t, "cam-a", "cloud.example");
      // The scan runs from 30 s to 100 s: a new destination, so a new alert, each time.
      else if (i % 3 === 1 && i >= 300 && i < 1000) go(scan, t, "cam-b", `198.51.100.${i % 250}`);
      else if (i % 3 === 2) go(lookup, t, "cam-c", `ntp${i % 4}.example`);
      if (i % 97 === 0) go(c2, t, "cam-d", "c2.example");
      // Three at once, then silence: keys with repeats owed that go cold and are evicted.
      if (i % 50 === 0) for (let k = 0; k < 3; k++) go(c2, t, "cam-e", `burst${i}.example`);
      r.tick(t); // the replay's packet clock
    }
    r.finish();
    const left = await r.close(10_000);
    expect(left).toEqual({ soc: 0, pager: 0 });

    const s = r.stats;
    expect(s.matches).toBe(submitted);
    expect(s.sent - s.summaries + s.folded + s.heldBack).toBe(s.matches);
    // The storm went through every path.
    expect(s.folded).toBeGreaterThan(100);
    expect(s.heldBack).toBeGreaterThan(100);
    expect(r.dedup.evictions).toBeGreaterThan(0);

    // What the SOC was told adds up to every match.
    const records = soc.records();
    let repeats = 0;
    let held = 0;
    let plain = 0;
    let dedupSummaries = 0;
    let heldSummaries = 0;
    for (const rec of records) {
      const e = egressdOf(rec);
      repeats += repeatOf(rec)?.count ?? 0;
      held += (e.held_back as { total: number } | undefined)?.total ?? 0;
      if (e.summary === true) dedupSummaries++;
      else if (ruleIdOf(rec) === RATE_LIMIT_RULE_ID) heldSummaries++;
      else plain++;
    }
    expect(held).toBe(s.heldBack);
    expect(repeats).toBe(s.folded);
    expect(repeats + held + plain).toBe(submitted);
    expect(dedupSummaries).toBeGreaterThan(0);
    expect(heldSummaries).toBeGreaterThan(0);
    expect(dedupSummaries + heldSummaries).toBe(s.summaries);

    // Everything sent is stored once, and the "info and above" sink got each exactly once.
    const store = r.store!;
    expect(store.count()).toBe(s.sent);
    const stored = store.query({ limit: 100_000 });
    const socIds = soc.got.map((a) => a.id);
    expect(new Set(socIds).size).toBe(socIds.length);
    expect([...socIds].sort()).toEqual(stored.map((a) => a.id).sort());
    // Each delivered record is the stored one, with its id as event.id.
    const byId = new Map(stored.map((a) => [a.id, a.json]));
    for (const a of soc.got) {
      expect(a.json).toBe(byId.get(a.id));
      expect((JSON.parse(a.json).event as Json).id).toBe(a.id);
    }
    // The pager got exactly the high and critical ones.
    const severe = store.query({ minSeverity: "high", limit: 100_000 });
    expect(severe.length).toBeGreaterThan(0);
    expect(severe.length).toBeLessThan(stored.length);
    expect(pager.got.map((a) => a.id).sort()).toEqual(severe.map((a) => a.id).sort());
    expect(pager.got.every((a) => a.severity === "high" || a.severity === "critical")).toBe(true);
    expect(soc.closed && pager.closed).toBe(true);
  });

  it("gives each sink the severities it asked for, in order", async () => {
    const soc = new RecordingSink("soc");
    const pager = new RecordingSink("pager");
    const mid = new RecordingSink("mid");
    const r = newRouter(config(), [
      { sink: soc },
      { sink: pager, minSeverity: "high" },
      { sink: mid, minSeverity: "medium" },
    ]);
    r.start();
    const severities: Severity[] = ["info", "low", "medium", "high", "critical", "low"];
    severities.forEach((sev, i) => {
      submit(r, ruleMatch(`R-${i}`, sev), T0 + i, "cam-a", "cloud.example");
    });
    expect(await r.close(5000)).toEqual({ soc: 0, pager: 0, mid: 0 });
    const rules = (sink: RecordingSink) => sink.records().map(ruleIdOf);
    expect(rules(soc)).toEqual(["R-0", "R-1", "R-2", "R-3", "R-4", "R-5"]);
    expect(rules(mid)).toEqual(["R-2", "R-3", "R-4"]);
    expect(rules(pager)).toEqual(["R-3", "R-4"]);
    expect(pager.got.map((a) => a.severity)).toEqual(["high", "critical"]);
  });

  it("stores an alert and queues its copies in one transaction", () => {
    const soc = new RecordingSink("soc");
    const pager = new RecordingSink("pager");
    const r = newRouter(config(), [{ sink: soc }, { sink: pager, minSeverity: "high" }]);
    // Not started: what is queued stays queued for us to look at.
    submit(r, ruleMatch("R-HIGH", "high"), T0, "cam-a", "cloud.example");
    submit(r, ruleMatch("R-LOW", "low"), T0 + 1, "cam-a", "cloud.example");
    const queued = () =>
      db.prepare("SELECT sink, alert_id, body FROM alert_queue ORDER BY seq").all() as {
        sink: string;
        alert_id: string;
        body: string;
      }[];
    const stored = r.store!.query();
    expect(stored.map((a) => a.ruleId)).toEqual(["R-LOW", "R-HIGH"]);
    const [low, high] = stored;
    expect(queued()).toEqual([
      { sink: "soc", alert_id: high!.id, body: high!.json },
      { sink: "pager", alert_id: high!.id, body: high!.json },
      { sink: "soc", alert_id: low!.id, body: low!.json },
    ]);

    // A queue write that fails takes the store insert with it; the router counts and
    // logs it instead of throwing into the capture path, and the key is not "sent".
    db.exec(`CREATE TEMP TRIGGER fail_pager BEFORE INSERT ON alert_queue
             WHEN NEW.sink = 'pager' BEGIN SELECT RAISE(ABORT, 'disk full'); END`);
    submit(r, ruleMatch("R-CRIT", "critical"), T0 + 2, "cam-a", "cloud.example");
    expect(r.stats.storeErrors).toBe(1);
    expect(r.store!.count()).toBe(2);
    expect(queued()).toHaveLength(3);
    db.exec("DROP TRIGGER fail_pager");
    // The same alert again, a moment later: not folded as a repeat of the lost one.
    submit(r, ruleMatch("R-CRIT", "critical"), T0 + 3, "cam-a", "cloud.example");
    expect(r.store!.count()).toBe(3);
    expect(queued()).toHaveLength(5);
  });

  it("reports folded repeats on the next alert after the cooldown, and as summaries", async () => {
    const soc = new RecordingSink("soc");
    const r = newRouter(config({ cooldown: 60 }), [{ sink: soc }]);
    r.start();
    const m = ruleMatch("R1", "medium");
    submit(r, m, T0, "cam-a", "cloud.example");
    submit(r, m, T0 + 1000, "cam-a", "cloud.example");
    submit(r, m, T0 + 2000, "cam-a", "cloud.example");
    // Past the cooldown: the next alert carries the two repeats.
    submit(r, m, T0 + 60_000, "cam-a", "cloud.example");
    // Two more fold; no alert comes, so the cooldown's end brings a summary, once.
    submit(r, m, T0 + 61_000, "cam-a", "cloud.example");
    submit(r, m, T0 + 62_500, "cam-a", "cloud.example");
    r.tick(T0 + 119_999);
    expect(r.stats.summaries).toBe(0);
    r.tick(T0 + 120_000);
    r.tick(T0 + 121_000);
    expect(r.stats).toMatchObject({ matches: 6, sent: 3, folded: 4, heldBack: 0, summaries: 1 });
    await r.close(5000);

    const recs = soc.records();
    expect(recs).toHaveLength(3);
    expect(egressdOf(recs[0]!).repeat).toBeUndefined();
    expect(repeatOf(recs[1]!)).toEqual({ count: 2, first: iso(T0 + 1000), last: iso(T0 + 2000) });
    expect(recs[1]!["@timestamp"]).toBe(iso(T0 + 60_000));
    const summary = recs[2]!;
    expect(egressdOf(summary).summary).toBe(true);
    expect(repeatOf(summary)).toEqual({
      count: 2,
      first: iso(T0 + 61_000),
      last: iso(T0 + 62_500),
    });
    expect(summary.message).toBe(
      `2 more like this between ${iso(T0 + 61_000)} and ${iso(T0 + 62_500)}: cam-a opened TLS to cloud.example`,
    );
    expect(egressdOf(summary).dedup_key).toBe("R1|cam-a|cloud.example");
    expect(new Set(soc.got.map((a) => a.id)).size).toBe(3);
  });

  it("keeps the fold state across a restart", async () => {
    const m = ruleMatch("R1", "high");
    const first = new RecordingSink("soc");
    const r1 = newRouter(config({ cooldown: 600 }), [{ sink: first }]);
    r1.start();
    submit(r1, m, T0, "cam-a", "cloud.example");
    submit(r1, m, T0 + 1000, "cam-a", "cloud.example");
    await r1.close(5000);
    db.close();
    expect(first.got).toHaveLength(1);

    // A new process on the same file: a repeat within the cooldown still folds.
    db = openDatabase(path);
    const second = new RecordingSink("soc");
    const r2 = newRouter(config({ cooldown: 600 }), [{ sink: second }]);
    r2.start();
    submit(r2, m, T0 + 2000, "cam-a", "cloud.example");
    expect(r2.stats).toMatchObject({ matches: 1, sent: 0, folded: 1 });
    // After it, the next alert carries the repeats of both runs.
    submit(r2, m, T0 + 600_000, "cam-a", "cloud.example");
    await r2.close(5000);
    expect(second.got).toHaveLength(1);
    expect(repeatOf(second.records()[0]!)).toEqual({
      count: 2,
      first: iso(T0 + 1000),
      last: iso(T0 + 2000),
    });
  });

  it("saves a key's fold state with its alert, so a crash cannot send it twice", () => {
    const m = ruleMatch("R1", "high");
    const r1 = newRouter(config({ cooldown: 600 }), [{ sink: new RecordingSink("soc") }]);
    submit(r1, m, T0, "cam-a", "cloud.example");
    db.close(); // killed: no close(), no periodic save

    db = openDatabase(path);
    const r2 = newRouter(config({ cooldown: 600 }), [{ sink: new RecordingSink("soc") }]);
    submit(r2, m, T0 + 1000, "cam-a", "cloud.example");
    expect(r2.stats).toMatchObject({ matches: 1, sent: 0, folded: 1 });
    expect(r2.store!.count()).toBe(1);
  });

  it("does not fold forever after a run that ended with finish()", async () => {
    const m = ruleMatch("R1", "high");
    const r1 = newRouter(config({ cooldown: 60 }), [{ sink: new RecordingSink("soc") }]);
    submit(r1, m, T0, "cam-a", "cloud.example");
    submit(r1, m, T0 + 1000, "cam-a", "cloud.example");
    r1.finish(); // the summary of that repeat goes out at T0 + 1000
    await r1.close(0);
    db.close();

    db = openDatabase(path);
    const soc = new RecordingSink("soc");
    const r2 = newRouter(config({ cooldown: 60 }), [{ sink: soc }]);
    r2.start();
    // Within the cooldown that the summary started: folded.
    submit(r2, m, T0 + 30_000, "cam-a", "cloud.example");
    expect(r2.stats.folded).toBe(1);
    // Long after it: sent, carrying that repeat.
    submit(r2, m, T0 + 3_600_000, "cam-a", "cloud.example");
    expect(r2.stats).toMatchObject({ matches: 2, sent: 1, folded: 1 });
    await r2.close(5000);
    expect(repeatOf(soc.records().at(-1)!)).toMatchObject({ count: 1 });
  });

  it("reports a storm held back once tokens return, on the next alert's packet time", () => {
    const r = newRouter(config({ rate_limit: { per_second: 1, burst: 2 } }), [
      { sink: new RecordingSink("soc") },
    ]);
    for (const to of ["a", "b", "c", "d"]) {
      submit(r, ruleMatch("R1", "high"), T0, "cam-a", `${to}.example`);
    }
    expect(r.stats).toMatchObject({ sent: 2, heldBack: 2, summaries: 0 });
    // Two seconds later: one token for this alert, one for the summary. No tick() needed.
    submit(r, ruleMatch("R1", "high"), T0 + 2000, "cam-a", "e.example");
    expect(r.stats).toMatchObject({ sent: 4, heldBack: 2, summaries: 1 });
    const [held] = r.store!.query({ ruleId: RATE_LIMIT_RULE_ID });
    expect(JSON.parse(held!.json).egressd.held_back).toEqual({ total: 2, by_rule: { R1: 2 } });
  });

  it("finish() reports every repeat owed and everything held back", async () => {
    const soc = new RecordingSink("soc");
    const pager = new RecordingSink("pager");
    const r = newRouter(config({ cooldown: 900, rate_limit: { per_second: 0.001, burst: 1 } }), [
      { sink: soc },
      { sink: pager, minSeverity: "high" },
    ]);
    r.start();
    const beacon = ruleMatch("R-A", "medium");
    submit(r, beacon, T0, "cam-a", "cloud.example");
    submit(r, beacon, T0 + 1000, "cam-a", "cloud.example");
    submit(r, beacon, T0 + 2000, "cam-a", "cloud.example");
    submit(r, ruleMatch("R-B", "low"), T0 + 3000, "cam-b", "198.51.100.1");
    submit(r, ruleMatch("R-C", "critical"), T0 + 4000, "cam-c", "198.51.100.2");
    submit(r, ruleMatch("R-C", "critical"), T0 + 5000, "cam-c", "198.51.100.3");
    expect(r.stats).toMatchObject({ matches: 6, sent: 1, folded: 2, heldBack: 3, summaries: 0 });

    r.finish();
    expect(r.stats).toMatchObject({ matches: 6, sent: 3, folded: 2, heldBack: 3, summaries: 2 });
    // Reported once: a second finish() has nothing more to say.
    r.finish();
    expect(r.stats.sent).toBe(3);
    await r.close(5000);

    const recs = soc.records();
    expect(recs.map(ruleIdOf)).toEqual(["R-A", "R-A", RATE_LIMIT_RULE_ID]);
    expect(repeatOf(recs[1]!)).toMatchObject({ count: 2 });
    const held = recs[2]!;
    expect(egressdOf(held)).toMatchObject({
      severity: "critical",
      held_back: { total: 3, by_rule: { "R-C": 2, "R-B": 1 } },
    });
    expect(held.message).toBe(
      `3 alerts held back by the rate limit between ${iso(T0 + 3000)} and ${iso(T0 + 5000)} (R-C: 2, R-B: 1)`,
    );
    expect(held["@timestamp"]).toBe(iso(T0 + 5000));
    // The held-back summary is as severe as the worst alert it stands for.
    expect(pager.records().map(ruleIdOf)).toEqual([RATE_LIMIT_RULE_ID]);
  });

  it("close() drains to the sinks; what a dead sink did not take waits for the next start", async () => {
    const soc = new RecordingSink("soc");
    const dead = new DeadSink("siem");
    const r1 = newRouter(config(), [{ sink: soc }, { sink: dead }]);
    r1.start();
    for (let i = 0; i < 120; i++) {
      submit(r1, ruleMatch("R1", "high"), T0 + i, "cam-a", `198.51.100.${i}`);
    }
    const left = await r1.close(300);
    expect(left).toEqual({ soc: 0, siem: 120 });
    expect(soc.got).toHaveLength(120);
    expect(dead.attempts).toBeGreaterThan(0);
    expect(dead.closed).toBe(true);
    db.close();

    db = openDatabase(path);
    const siem = new RecordingSink("siem");
    const r2 = newRouter(config(), [{ sink: siem }]);
    expect(logs.some((l) => l.includes('"soc"'))).toBe(false); // the soc queue is empty
    r2.start();
    expect(await r2.close(5000)).toEqual({ siem: 0 });
    expect(siem.got.map((a) => a.id)).toEqual(soc.got.map((a) => a.id));
  });

  it("without a store, only the output callback sees alerts", () => {
    const out: Json[] = [];
    const r = new AlertRouter({
      sensor: "sensor-1",
      config: config({ cooldown: 60 }),
      db: null,
      sinks: [],
      output: (rec) => out.push(rec),
      log: () => {},
    });
    const m = ruleMatch("R1", "low");
    submit(r, m, T0, "cam-a", "cloud.example");
    submit(r, m, T0 + 1, "cam-a", "cloud.example");
    r.finish();
    expect(r.store).toBeNull();
    expect(out.map((o) => egressdOf(o).summary ?? false)).toEqual([false, true]);
    expect((out[0]!.observer as Json).name).toBe("sensor-1");
  });
});
