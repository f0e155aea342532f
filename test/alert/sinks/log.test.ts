/**
 * The log sink writing real files: each line is the stored ECS record plus log.level,
 * the logrotate pattern (rename, reopen, new file at the same path), the stdout mode on a
 * descriptor the test opened, and write failures reported as retryable DeliveryErrors.
 */
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Dispatcher } from "../../../src/alert/dispatcher.js";
import { AlertQueues } from "../../../src/alert/queue.js";
import { LogSink } from "../../../src/alert/sinks/log.js";
import { DeliveryError, type QueuedAlert } from "../../../src/alert/sinks/sink.js";
import type { Severity } from "../../../src/rules/index.js";
import { openDatabase } from "../../../src/store/sqlite.js";

const SEVERITIES: Severity[] = ["info", "low", "medium", "high", "critical"];

/** An ECS alert record as alertRecord() shapes it, as JSON text the way the store keeps it. */
function alert(n: number, severity: Severity = SEVERITIES[n % 5]!): QueuedAlert {
  const id = `01J${String(n).padStart(8, "0")}`;
  const record = {
    "@timestamp": `2026-06-01T10:00:${String(n % 60).padStart(2, "0")}.000Z`,
    event: { kind: "alert", severity: 73, action: "dns_query", dataset: "egressd.alert", id },
    rule: { id: "CAM-1", name: "Camera calls home", description: "A camera looked up a cloud" },
    message: `Camera in cams (Hikvision, 10.0.0.${n}) looked up dev.hik-connect.com "ü"\n`,
    source: { ip: `10.0.0.${n}`, port: 50000 + n, mac: "44-19-b6-00-00-01" },
    destination: { ip: "203.0.113.7", port: 53, geo: { country_iso_code: "CN" } },
    network: { transport: "udp", vlan: { id: 20 }, community_id: "1:abc=" },
    egressd: { trigger: "dns_query", severity, reasons: [], tags: ["call-home"], repeat: null },
  };
  return { id, severity, json: JSON.stringify(record) };
}

/** The line the sink must write for an alert: its record, with log.level in front. */
const lineOf = (a: QueuedAlert) => `{"log.level":"${a.severity}",${a.json.slice(1)}`;

const linesIn = (path: string) => readFileSync(path, "utf8").split("\n").slice(0, -1);

let dir: string;
let sinks: LogSink[];

function sink(options: Omit<ConstructorParameters<typeof LogSink>[0], "name">): LogSink {
  const s = new LogSink({ name: "log", ...options });
  sinks.push(s);
  return s;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "egressd-logsink-"));
  sinks = [];
});

afterEach(async () => {
  for (const s of sinks) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("LogSink", () => {
  it("writes each alert as one JSON line: the record plus log.level", async () => {
    const file = join(dir, "nested", "deeper", "alerts.json");
    const log = sink({ file });
    expect(log.type).toBe("log");
    expect(log.maxBatch).toBe(500);
    const batch = [1, 2, 3, 4, 5].map((n) => alert(n));
    await log.deliver(batch);
    // Written when deliver() resolved, not later.
    const lines = linesIn(file);
    expect(lines).toEqual(batch.map(lineOf));
    for (const [i, line] of lines.entries()) {
      const { "log.level": level, ...record } = JSON.parse(line);
      expect(level).toBe(batch[i]!.severity);
      expect(record).toEqual(JSON.parse(batch[i]!.json));
    }
  });

  it("appends to an existing file", async () => {
    const file = join(dir, "alerts.json");
    writeFileSync(file, "earlier line\n");
    await sink({ file }).deliver([alert(1)]);
    expect(linesIn(file)).toEqual(["earlier line", lineOf(alert(1))]);
  });

  it("reopen() after a rename writes to a new file at the original path (logrotate)", async () => {
    const file = join(dir, "alerts.json");
    const log = sink({ file });
    await log.deliver([alert(1), alert(2)]);
    renameSync(file, `${file}.1`);
    // Until reopened, lines follow the renamed file.
    await log.deliver([alert(3)]);
    log.reopen();
    await log.deliver([alert(4), alert(5)]);
    expect(linesIn(`${file}.1`)).toEqual([1, 2, 3].map((n) => lineOf(alert(n))));
    expect(linesIn(file)).toEqual([4, 5].map((n) => lineOf(alert(n))));
  });

  it("writes to a descriptor it was given (stdout mode) and leaves it open", async () => {
    const path = join(dir, "stdout.txt");
    const fd = openSync(path, "a");
    try {
      const log = sink({ fd, maxBatch: 2 });
      expect(log.maxBatch).toBe(2);
      await log.deliver([alert(1), alert(2)]);
      await log.deliver([alert(3)]);
      await log.close();
      expect(linesIn(path)).toEqual([1, 2, 3].map((n) => lineOf(alert(n))));
    } finally {
      // Throws EBADF if the sink closed it.
      closeSync(fd);
    }
  });

  it("reports a file it cannot open as a retryable failure, and recovers", async () => {
    const blocker = join(dir, "logs");
    writeFileSync(blocker, "not a directory");
    const file = join(blocker, "alerts.json");
    const log = sink({ file });
    const error = await log.deliver([alert(1)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).retryable).toBe(true);
    expect((error as Error).message).toContain(file);

    rmSync(blocker);
    mkdirSync(blocker);
    await log.deliver([alert(1)]);
    expect(linesIn(file)).toEqual([lineOf(alert(1))]);
  });

  it("reports a failed write as retryable and starts the next line on its own", async () => {
    const path = join(dir, "stdout.txt");
    writeFileSync(path, "");
    const readOnly = openSync(path, "r");
    try {
      const log = sink({ fd: readOnly });
      const error = await log.deliver([alert(1)]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeliveryError);
      expect((error as DeliveryError).retryable).toBe(true);
    } finally {
      closeSync(readOnly);
    }
    expect(readFileSync(path, "utf8")).toBe("");
  });

  it("refuses for good a batch with a record that is not JSON, writing none of it", async () => {
    const file = join(dir, "alerts.json");
    const log = sink({ file });
    const bad: QueuedAlert = { id: "bad", severity: "high", json: "{not json" };
    const error = await log.deliver([alert(1), bad]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).retryable).toBe(false);
    await log.deliver([alert(2)]);
    expect(linesIn(file)).toEqual([lineOf(alert(2))]);
  });

  it("fails deliveries after close()", async () => {
    const log = sink({ file: join(dir, "alerts.json") });
    await log.deliver([alert(1)]);
    await log.close();
    await expect(log.deliver([alert(2)])).rejects.toBeInstanceOf(DeliveryError);
  });

  it("drains a durable queue into the file in order", async () => {
    const db = openDatabase(join(dir, "egressd.db"));
    try {
      const file = join(dir, "alerts.json");
      const log = sink({ file, maxBatch: 64 });
      const queues = new AlertQueues(db);
      queues.configure(log.name, { maxItems: 10_000, maxAgeMs: 3_600_000 });
      const dispatcher = new Dispatcher(queues, [log]);
      dispatcher.start();
      const alerts = Array.from({ length: 1000 }, (_, i) => alert(i + 1));
      db.transaction(() => {
        for (const a of alerts) queues.enqueue(log.name, a, Date.now());
      })();
      dispatcher.notify(log.name);
      const left = await dispatcher.drain(Date.now() + 10_000);
      await dispatcher.stop(1000);
      expect(left).toEqual({ log: 0 });
      expect(linesIn(file)).toEqual(alerts.map(lineOf));
    } finally {
      db.close();
    }
  });
});
