/**
 * `egressd alerts`: a real alert store (SQLite, written the way the alert router writes
 * it) read back through the command: time, severity, device and rule filters, the limit,
 * JSON Lines equal to the stored records, the table's alignment and escaping, and the
 * usage and database errors with their exit codes.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertDevice, alertId, dedupKey } from "../../src/alert/identity.js";
import { AlertStore } from "../../src/alert/store.js";
import { ALERTS_HELP, parseWhen, runAlerts } from "../../src/cli/alerts.js";
import { InputError, UsageError } from "../../src/cli/errors.js";
import type { DeviceView } from "../../src/inventory/device.js";
import type { Severity } from "../../src/rules/index.js";
import { SqliteDeviceStore } from "../../src/store/devices.js";
import { openDatabase } from "../../src/store/sqlite.js";
import { runCaptured } from "../helpers/captured-command.js";

const dir = mkdtempSync(join(tmpdir(), "egressd-alerts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const DB = join(dir, "egressd.db");

const HOUR = 3_600_000;
/** The wall clock when the store was written: --since 24h is relative to the clock. */
const NOW = Date.now();

const SCORE: Record<Severity, number> = { info: 1, low: 21, medium: 47, high: 73, critical: 99 };

interface AlertSpec {
  name: string;
  tsMs: number;
  rule: string;
  severity: Severity;
  message: string;
  source: { ip: string; mac?: string };
  /** The inventory device of the source. */
  deviceId?: string;
  /** A device_first_seen alert: the device, no flow. */
  newDevice?: string;
  domain?: string;
  repeats?: number;
}

/** An ECS record as src/alert/alert-record.ts and the router build it. */
function record(a: AlertSpec): Record<string, unknown> {
  const egressd: Record<string, unknown> = {
    trigger: a.newDevice !== undefined ? "device_first_seen" : "tls_client_hello",
    severity: a.severity,
    reasons: [{ field: "destination.domain", value: a.domain ?? "" }],
    tags: ["vendor-cloud"],
  };
  const r: Record<string, unknown> = {
    "@timestamp": new Date(a.tsMs).toISOString().replace("Z", "000000Z"),
    event: {
      kind: "alert",
      category: ["network"],
      severity: SCORE[a.severity],
      action: egressd.trigger,
      dataset: "egressd.alert",
    },
    rule: { id: a.rule, name: `${a.rule} name`, description: "test rule", ruleset: "test.yaml" },
  };
  if (a.newDevice !== undefined) {
    egressd.device = { id: a.newDevice, randomised_mac: false };
  } else {
    r.source = { ip: a.source.ip, port: 40001, ...(a.source.mac ? { mac: a.source.mac } : {}) };
    r.destination = {
      ip: "203.0.113.7",
      port: 443,
      ...(a.domain ? { domain: a.domain } : {}),
      geo: { country_iso_code: "CN" },
      as: { number: 37963, organization: { name: "Alibaba" } },
    };
    r.network = { transport: "tcp", protocol: "tls", community_id: "1:abc=" };
    if (a.deviceId !== undefined)
      egressd.source_device = { id: a.deviceId, randomised_mac: false, group: "cameras" };
  }
  r.message = a.message;
  r.egressd = egressd;
  const key = dedupKey(r);
  egressd.dedup_key = key;
  if (a.repeats !== undefined) {
    egressd.repeat = {
      count: a.repeats,
      first: new Date(a.tsMs - 600_000).toISOString(),
      last: new Date(a.tsMs - 60_000).toISOString(),
    };
  }
  r.observer = { name: "sensor-1", interface: { name: "eth1" } };
  (r.event as Record<string, unknown>).id = alertId(r, "sensor-1", key);
  return r;
}

const CAM = { ip: "10.20.0.11", mac: "44-19-B6-12-34-56" };
const CAM_ID = "mac:44-19-B6-12-34-56";
const DAHUA_ID = "mac:4C-11-BF-C2-0B-9D";
const ROUTER_ID = "mac:02-00-00-00-00-01";
const HOSTILE = "Camera \u001b]0;pwned\u0007 called \u001b[31mhome\r\nFAKE 2099 critical";

const ALERTS: AlertSpec[] = [
  {
    name: "hik1h",
    tsMs: NOW - 1 * HOUR,
    rule: "EGR-VC-001",
    severity: "critical",
    message: "Camera in cameras (Hikvision, 10.20.0.11) opened TLS to litedev.hik-connect.com",
    source: CAM,
    deviceId: CAM_ID,
    domain: "litedev.hik-connect.com",
    repeats: 12,
  },
  {
    name: "unknown2h",
    tsMs: NOW - 2 * HOUR,
    rule: "EGR-VC-001",
    severity: "info",
    message: "10.20.0.99 opened TLS to litedev.hik-connect.com (203.0.113.7, CN)",
    source: { ip: "10.20.0.99" },
    domain: "litedev.hik-connect.com",
  },
  {
    name: "dns3h",
    tsMs: NOW - 3 * HOUR,
    rule: "EGR-DNS-002",
    severity: "medium",
    message: "Camera in cameras (Hikvision, 10.20.0.11) looked up hik-connect.com (A)",
    source: CAM,
    deviceId: CAM_ID,
    domain: "hik-connect.com",
  },
  {
    name: "router4h",
    tsMs: NOW - 4 * HOUR,
    rule: "EGR-DNS-002",
    severity: "medium",
    message: "Router (10.20.0.1) looked up example.net (A)",
    source: { ip: "10.20.0.1", mac: "02-00-00-00-00-01" },
    deviceId: ROUTER_ID,
    domain: "example.net",
  },
  {
    name: "firmware30h",
    tsMs: NOW - 30 * HOUR,
    rule: "EGR-FW-003",
    severity: "high",
    message: "Camera in cameras (Dahua, 10.20.0.12) sent GET /firmware.bin to 203.0.113.7",
    source: { ip: "10.20.0.12", mac: "4C-11-BF-C2-0B-9D" },
    deviceId: DAHUA_ID,
  },
  {
    name: "new50h",
    tsMs: NOW - 50 * HOUR,
    rule: "EGR-NEW-004",
    severity: "low",
    message: "New device ip:10.20.0.30 in cameras seen",
    source: { ip: "10.20.0.30" },
    newDevice: "ip:10.20.0.30",
  },
  // A replayed capture's alerts: packet times long before the wall clock.
  {
    name: "replayHostile",
    tsMs: Date.parse("2024-03-10T08:15:30.123Z"),
    rule: "EGR-VC-001",
    severity: "high",
    message: HOSTILE,
    source: CAM,
    deviceId: CAM_ID,
    domain: "evil\u001b[2J.example",
  },
  {
    name: "replayMidnight",
    tsMs: Date.parse("2024-03-09T23:59:59Z"),
    rule: "EGR-FW-003",
    severity: "critical",
    message: "Camera in cameras (Dahua, 10.20.0.12) received 4 MB from 203.0.113.7",
    source: { ip: "10.20.0.12", mac: "4C-11-BF-C2-0B-9D" },
    deviceId: DAHUA_ID,
  },
];

/** The stored JSON of each alert, by name. */
const stored = new Map<string, string>();

function deviceView(id: string, mac: string, ips: string[], router = false): DeviceView {
  const seen = new Date(NOW - 60 * HOUR).toISOString();
  const last = new Date(NOW).toISOString();
  return {
    id,
    mac,
    randomised_mac: false,
    router,
    group: "cameras",
    maker: "Hikvision",
    ips: ips.map((ip) => ({ ip, first_seen: seen, last_seen: last })),
    vlans: [20],
    first_seen: seen,
    last_seen: last,
    packets: { sent: 10, received: 10 },
    bytes: { sent: 1000, received: 1000 },
    flows: { initiated: 2, accepted: 0 },
    internet: { attempted: 1, established: 0, inbound: 0 },
    domains: [],
    claims: [],
    dropped: { ips: 0, domains: 0, claims: 0 },
  };
}

function writeStore(path: string, specs: AlertSpec[]): void {
  const db = openDatabase(path);
  try {
    const store = new AlertStore(db, { maxAgeMs: 1e12, maxAlerts: 1e6 });
    store.transaction(() => {
      for (const a of specs) {
        const r = record(a);
        const json = JSON.stringify(r);
        stored.set(a.name, json);
        store.insert({
          id: String((r.event as Record<string, unknown>).id),
          tsMs: a.tsMs,
          ruleId: a.rule,
          severity: a.severity,
          device: alertDevice(r),
          dedupKey: dedupKey(r),
          json,
        });
      }
    });
  } finally {
    db.close();
  }
}

beforeAll(() => {
  writeStore(DB, ALERTS);
  // The inventory, in the same database: the camera at 10.20.0.11, a router whose MAC
  // carried 10.20.0.99 among others (that address is a device of its own).
  const inventory = SqliteDeviceStore.open(DB);
  try {
    inventory.save(
      [
        deviceView(CAM_ID, "44:19:B6:12:34:56", ["10.20.0.11"]),
        deviceView(ROUTER_ID, "02:00:00:00:00:01", ["10.20.0.1", "10.20.0.99"], true),
      ],
      [],
      0,
    );
  } finally {
    inventory.close();
  }
});

function alerts(...args: string[]) {
  return runCaptured(runAlerts, args);
}

/** The alerts --json printed, by name, in the printed order. */
async function names(...args: string[]): Promise<string[]> {
  const { code, out } = await alerts("--db", DB, "--json", ...args);
  expect(code).toBe(0);
  const byJson = new Map([...stored].map(([name, json]) => [json, name]));
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => byJson.get(l) ?? `not stored: ${l}`);
}

const NEWEST_FIRST = [
  "hik1h",
  "unknown2h",
  "dns3h",
  "router4h",
  "firmware30h",
  "new50h",
  "replayHostile",
  "replayMidnight",
];

describe("JSON Lines", () => {
  it("prints every stored record exactly, newest first, one per line", async () => {
    const { code, out, err } = await alerts("--db", DB, "--json");
    expect(code).toBe(0);
    expect(err).toBe("");
    expect(out).toBe(`${NEWEST_FIRST.map((n) => stored.get(n)).join("\n")}\n`);
    // What jq reads: each line one object.
    const first = JSON.parse(out.split("\n")[0]!);
    expect(first.rule.id).toBe("EGR-VC-001");
    expect(first.egressd.repeat.count).toBe(12);
  });
});

describe("filters", () => {
  it("--since DURATION is back from the wall clock", async () => {
    expect(await names("--since", "24h")).toEqual(["hik1h", "unknown2h", "dns3h", "router4h"]);
    expect(await names("--since", "1d12h")).toEqual([
      "hik1h",
      "unknown2h",
      "dns3h",
      "router4h",
      "firmware30h",
    ]);
  });

  it("--since and --until together, durations", async () => {
    expect(await names("--since", "48h", "--until", "2h30m")).toEqual([
      "dns3h",
      "router4h",
      "firmware30h",
    ]);
  });

  it("ISO 8601 times: UTC without an offset, offsets honoured, a date alone is midnight UTC", async () => {
    expect(await names("--since", "2024-03-10", "--until", "2024-03-10T23:59:59Z")).toEqual([
      "replayHostile",
    ]);
    // 08:15:30.000 is before the alert's 08:15:30.123; a space works as the separator.
    expect(await names("--until", "2024-03-10 08:15:30")).toEqual(["replayMidnight"]);
    expect(await names("--until", "2024-03-10T09:15:31+01:00")).toEqual([
      "replayHostile",
      "replayMidnight",
    ]);
    expect(await names("--until", "2024-03-10T09:15:31+0100")).toEqual([
      "replayHostile",
      "replayMidnight",
    ]);
    // Inclusive at both ends, to the millisecond.
    expect(
      await names("--since", "2024-03-09T23:59:59Z", "--until", "2024-03-10T08:15:30.123Z"),
    ).toEqual(["replayHostile", "replayMidnight"]);
  });

  it("--severity LEVEL is that level and above, in any case", async () => {
    expect(await names("--severity", "high")).toEqual([
      "hik1h",
      "firmware30h",
      "replayHostile",
      "replayMidnight",
    ]);
    expect(await names("--severity", "CRITICAL")).toEqual(["hik1h", "replayMidnight"]);
    expect(await names("--severity", "info")).toEqual(NEWEST_FIRST);
    expect(await names("--severity", "medium")).toHaveLength(6);
  });

  it("--device: an inventory id, a MAC in any spelling", async () => {
    expect(await names("--device", CAM_ID)).toEqual(["hik1h", "dns3h", "replayHostile"]);
    expect(await names("--device", "44:19:b6:12:34:56")).toEqual([
      "hik1h",
      "dns3h",
      "replayHostile",
    ]);
    expect(await names("--device", "4c-11-bf-c2-0b-9d")).toEqual(["firmware30h", "replayMidnight"]);
  });

  it("--device ADDRESS: the inventory's device that used it, or the address itself", async () => {
    // The camera's alerts are stored under its MAC id: the inventory knows its address.
    expect(await names("--device", "10.20.0.11")).toEqual(["hik1h", "dns3h", "replayHostile"]);
    // No device known for it: stored by address. The router that carried it is not it.
    expect(await names("--device", "10.20.0.99")).toEqual(["unknown2h"]);
    // A device known only by its address: "ip:10.20.0.30".
    expect(await names("--device", "10.20.0.30")).toEqual(["new50h"]);
    expect(await names("--device", "10.20.0.250")).toEqual([]);
  });

  it("--rule, and filters combined", async () => {
    expect(await names("--rule", "EGR-VC-001")).toEqual(["hik1h", "unknown2h", "replayHostile"]);
    expect(await names("--rule", "EGR-VC-001", "--severity", "high")).toEqual([
      "hik1h",
      "replayHostile",
    ]);
    expect(
      await names("--rule", "EGR-VC-001", "--device", "10.20.0.11", "--since", "2024-03-11"),
    ).toEqual(["hik1h"]);
  });

  it("--limit keeps the newest and says when it cut some off", async () => {
    const { code, out, err } = await alerts("--db", DB, "--json", "--limit", "2");
    expect(code).toBe(0);
    expect(out).toBe(`${stored.get("hik1h")}\n${stored.get("unknown2h")}\n`);
    expect(err).toBe("egressd: showing the newest 2 alerts; more match (use --limit)\n");
    // Exactly as many as match: nothing was cut off.
    const all = await alerts("--db", DB, "--json", "--limit", "8");
    expect(all.out.split("\n")).toHaveLength(9);
    expect(all.err).toBe("");
    // The limit applies after merging the device's several ids.
    expect(await names("--device", "10.20.0.11", "--limit", "2")).toEqual(["hik1h", "dns3h"]);
  });
});

describe("table", () => {
  it("aligned columns: time to the second, severity, rule, repeats, message", async () => {
    const { code, out, err } = await alerts("--db", DB, "--since", "24h");
    expect(code).toBe(0);
    expect(err).toBe("");
    const lines = out.split("\n");
    expect(lines.pop()).toBe("");
    expect(lines).toHaveLength(5);
    const header = lines[0]!;
    expect(header.split(/ +/)).toEqual(["TIME", "SEVERITY", "RULE", "REPEATS", "MESSAGE"]);
    const starts = ["SEVERITY", "RULE", "REPEATS", "MESSAGE"].map((h) => header.indexOf(h));
    for (const line of lines.slice(1)) {
      for (const s of starts) {
        // Every cell starts where its header does, after at least two spaces.
        expect(line.slice(s - 2, s)).toBe("  ");
        expect(line[s]).not.toBe(" ");
      }
    }
    const time = `${new Date(NOW - HOUR).toISOString().slice(0, 19)}Z`;
    expect(lines[1]!.split(/ {2,}/)).toEqual([
      time,
      "critical",
      "EGR-VC-001",
      "12",
      "Camera in cameras (Hikvision, 10.20.0.11) opened TLS to litedev.hik-connect.com",
    ]);
    expect(lines[2]!.split(/ {2,}/).slice(1, 4)).toEqual(["info", "EGR-VC-001", "-"]);
  });

  it("no REPEATS column when no alert folded repeats", async () => {
    const { out } = await alerts("--db", DB, "--rule", "EGR-FW-003");
    const lines = out.trimEnd().split("\n");
    expect(lines[0]!.split(/ +/)).toEqual(["TIME", "SEVERITY", "RULE", "MESSAGE"]);
    expect(lines[2]!.split(/ {2,}/)).toEqual([
      "2024-03-09T23:59:59Z",
      "critical",
      "EGR-FW-003",
      "Camera in cameras (Dahua, 10.20.0.12) received 4 MB from 203.0.113.7",
    ]);
  });

  it("escapes control characters a device put in the message", async () => {
    const { out } = await alerts("--db", DB, "--since", "2024-03-10", "--until", "2024-03-11");
    const lines = out.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe(
      "2024-03-10T08:15:30Z  high      EGR-VC-001  Camera \\x1b]0;pwned\\x07 called \\x1b[31mhome\\x0d\\x0aFAKE 2099 critical",
    );
    // Nothing below 0x20 (or DEL and the C1 controls) but the newlines between rows.
    expect([...out].filter((c) => (c < " " && c !== "\n") || (c >= "\x7f" && c <= "\x9f"))).toEqual(
      [],
    );
    // JSON Lines carry the record as stored: JSON escapes the controls itself.
    const json = await alerts(
      "--db",
      DB,
      "--json",
      "--since",
      "2024-03-10",
      "--until",
      "2024-03-11",
    );
    expect(json.out).toBe(`${stored.get("replayHostile")}\n`);
    expect(JSON.parse(json.out).message).toBe(HOSTILE);
  });

  it("no match: exit 0, nothing on stdout, 'no alerts' on stderr (table form only)", async () => {
    expect(await alerts("--db", DB, "--rule", "EGR-NONE")).toEqual({
      code: 0,
      out: "",
      err: "no alerts\n",
    });
    expect(await alerts("--db", DB, "--rule", "EGR-NONE", "--json")).toEqual({
      code: 0,
      out: "",
      err: "",
    });
    // A time window that misses: the newest alert's packet time explains a replay's store.
    const { code, err } = await alerts("--db", DB, "--since", "10m");
    expect(code).toBe(0);
    expect(err).toBe(
      `no alerts (the newest stored alert is from ${new Date(NOW - HOUR).toISOString().slice(0, 19)}Z; alert times are packet times)\n`,
    );
  });

  it("an empty store", async () => {
    const empty = join(dir, "empty.db");
    openDatabase(empty).close();
    expect(await alerts("--db", empty)).toEqual({
      code: 0,
      out: "",
      err: "no alerts (the store holds none)\n",
    });
  });
});

describe("where the store is", () => {
  it("-c CONFIG: the config's alerts.store, relative to the config's folder; --db wins", async () => {
    const confDir = mkdtempSync(join(dir, "conf-"));
    const other: AlertSpec = { ...ALERTS[0]!, name: "other", rule: "EGR-OTHER-009" };
    writeStore(join(confDir, "alerts.db"), [other]);
    const config = join(confDir, "egressd.yaml");
    writeFileSync(config, "alerts:\n  store: alerts.db\n");
    const fromConfig = await alerts("-c", config, "--json");
    expect(fromConfig.code).toBe(0);
    expect(fromConfig.out).toBe(`${stored.get("other")}\n`);
    expect(await names("-c", config)).toEqual(NEWEST_FIRST);
  });

  it("--device ADDRESS without a readable inventory: matched by address alone, said so", async () => {
    const confDir = mkdtempSync(join(dir, "conf-"));
    const config = join(confDir, "egressd.yaml");
    writeFileSync(config, `alerts:\n  store: ${DB}\ndevices:\n  store: missing.db\n`);
    const { code, out, err } = await alerts("-c", config, "--device", "10.20.0.99");
    expect(code).toBe(0);
    expect(out).toContain("10.20.0.99 opened TLS");
    expect(err).toBe(
      `egressd: no inventory to look 10.20.0.99 up in (${join(confDir, "missing.db")}: no egressd database there); matching the address alone\n`,
    );
  });
});

describe("usage and errors", () => {
  it("--help", async () => {
    const { code, out } = await alerts("--help");
    expect(code).toBe(0);
    expect(out).toBe(ALERTS_HELP);
    expect(out).toContain("--since WHEN");
    expect(out).toContain("info, low, medium, high, critical");
  });

  it.each([
    [["--severity", "urgent"], 'unknown level "urgent"; one of info, low, medium, high, critical'],
    [["--since", "24"], '--since: "24" is neither a duration'],
    [["--since", "yesterday"], '--since: "yesterday" is neither a duration'],
    [["--until", "2026-02-30"], '--until: "2026-02-30" is neither a duration'],
    [["--until", "2026-11-22T06:00:00+25"], "is neither a duration"],
    [["--since", "1h", "--until", "2h"], "--since 1h is after --until 2h"],
    [["--limit", "0"], '--limit needs a positive integer, got "0"'],
    [["--limit", "1e3"], '--limit needs a positive integer, got "1e3"'],
    [["--device", ""], "--device needs a value"],
    [["alerts.db"], 'alerts takes no arguments, got "alerts.db"'],
    [["--verbose"], "Unknown option '--verbose'"],
    [["--since"], "argument missing"],
  ])("%j is a usage error (exit 2)", async (args, message) => {
    const run = runAlerts(["--db", DB, ...args], { write: () => {} });
    await expect(run).rejects.toThrow(UsageError);
    await expect(runAlerts(["--db", DB, ...args], { write: () => {} })).rejects.toThrow(message);
  });

  it("parseWhen: durations from the given clock, times as written", () => {
    expect(parseWhen("since", "90m", 10_000_000)).toBe(10_000_000 - 5_400_000);
    expect(parseWhen("since", "0s", 42)).toBe(42);
    // Without an offset a time is UTC, whatever the machine's time zone.
    const tz = process.env.TZ;
    process.env.TZ = "Asia/Kolkata";
    try {
      expect(new Date(0).getTimezoneOffset()).toBe(-330);
      expect(parseWhen("since", "2024-03-10T08:15", 0)).toBe(Date.UTC(2024, 2, 10, 8, 15));
      expect(parseWhen("since", "2024-03-10", 0)).toBe(Date.UTC(2024, 2, 10));
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });

  it("no database, or not egressd's: an input error (exit 1) naming the file", async () => {
    const missing = join(dir, "nowhere", "egressd.db");
    await expect(runAlerts(["--db", missing], { write: () => {} })).rejects.toThrow(
      new InputError(`${missing}: no egressd database there`),
    );
    // Another program's SQLite database.
    const foreign = join(dir, "foreign.db");
    const Database = createRequire(import.meta.url)("better-sqlite3");
    const db = new Database(foreign);
    db.exec("CREATE TABLE alerts (id TEXT, body TEXT); INSERT INTO alerts VALUES ('1', 'x')");
    db.close();
    await expect(runAlerts(["--db", foreign], { write: () => {} })).rejects.toThrow(
      /foreign\.db is not an egressd database \(SQLite application_id 0, tables alerts\)/,
    );
    const text = join(dir, "notes.txt");
    writeFileSync(text, "not a database\n".repeat(200));
    await expect(runAlerts(["--db", text, "--json"], { write: () => {} })).rejects.toThrow(
      new InputError(`${text} is not an egressd database: it is not an SQLite file`),
    );
  });
});
