/**
 * The inventory in SQLite: what was learned survives a restart exactly, a restart keeps
 * adding to it, evictions reach the file, and any file that is not egressd's database
 * is refused with a message that says so.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DeviceGroups } from "../../src/inventory/groups.js";
import { openInventory } from "../../src/inventory/open.js";
import { SqliteDeviceStore } from "../../src/store/devices.js";
import {
  APPLICATION_ID,
  openDatabase,
  SCHEMA_VERSION,
  StoreError,
} from "../../src/store/sqlite.js";
import { dhipReply, sadpProbeMatch } from "./discovery-datagrams.js";
import { DHIP_GROUP, type Host, SADP_GROUP, Script, testIsLocal } from "./frames.js";
import { replayFrames } from "./pipeline.js";

const Database = createRequire(import.meta.url)("better-sqlite3");
const dir = mkdtempSync(join(tmpdir(), "egressd-store-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const dbPath = () => join(dir, `t${n++}`, "egressd.db");

const CAM: Host = { ip: "192.0.2.64", mac: "44:19:b6:12:34:56" };
const DAHUA: Host = { ip: "192.0.2.108", mac: "4c:11:bf:c2:0b:9d" };
const CLOUD: Host = { ip: "203.0.113.7", mac: "02:00:00:00:00:01" };
const groups = new DeviceGroups([{ name: "cams", role: "camera", cidrs: ["192.0.2.0/24"] }]);

function day(s: Script): void {
  s.udp(
    CAM,
    SADP_GROUP,
    37020,
    37020,
    sadpProbeMatch({
      mac: CAM.mac,
      ipv4: CAM.ip,
      model: "DS-2CD2043G2-I",
      serial: "SN1",
      firmware: "V5.7.3",
    }),
  );
  s.udp(
    DAHUA,
    DHIP_GROUP,
    37810,
    37810,
    dhipReply({
      mac: DAHUA.mac,
      ipv4: DAHUA.ip,
      model: "IPC-HDW5421S",
      serial: "SN2",
      firmware: "2.400",
      vendor: "Dahua",
    }),
  );
  s.tcp(CAM, CLOUD, 40001, 443, "unanswered");
  s.udp({ ...CAM, ip: "2001:db8::64" }, { ip: "2001:db8::1", mac: "02:00:00:00:00:01" }, 40000, 53);
}

const open = (path: string, maxDevices = 100, g = groups) =>
  openInventory({ dbPath: path, maxDevices, groups: g, isLocal: testIsLocal });

describe("round trip and restart", () => {
  it("a reopened inventory is the saved one, field for field", () => {
    const path = dbPath();
    const s = new Script();
    day(s);
    const inv = open(path);
    replayFrames(s.frames, { inventory: inv });
    const byId = (ds: ReturnType<typeof inv.devices>) =>
      [...ds].sort((a, b) => a.id.localeCompare(b.id));
    const before = byId(inv.devices());
    inv.close();
    const again = open(path);
    expect(byId(again.devices())).toEqual(before);
    expect(again.stats).toEqual({ devices: 3, learned: 0, evicted: 0 });
    again.close();
  });

  it("a restart keeps adding: first seen stays, counters and addresses grow", () => {
    const path = dbPath();
    const s1 = new Script(1_700_000_000);
    day(s1);
    const inv1 = open(path);
    replayFrames(s1.frames, { inventory: inv1 });
    const cam1 = inv1.devices().find((d) => d.id === "mac:44-19-B6-12-34-56")!;
    inv1.close();

    const s2 = new Script(1_700_086_400);
    s2.tcp(CAM, CLOUD, 40002, 443, "open");
    s2.udp({ ...CAM, ip: "192.0.2.65" }, SADP_GROUP, 37020, 37020);
    const inv2 = open(path);
    replayFrames(s2.frames, { inventory: inv2 });
    inv2.close();

    const cam = open(path)
      .devices()
      .find((d) => d.id === "mac:44-19-B6-12-34-56")!;
    expect(cam.first_seen).toBe(cam1.first_seen);
    expect(cam.last_seen > cam1.last_seen).toBe(true);
    expect(cam.internet).toMatchObject({ attempted: 2, established: 1 });
    expect(cam.ips.map((a) => a.ip)).toEqual(["192.0.2.64", "2001:db8::64", "192.0.2.65"]);
    expect(cam.claims).toEqual(cam1.claims);
    expect(cam.maker).toBe("Hikvision");
  });

  it("a smaller bound at start evicts the oldest; the file follows and counts them", () => {
    const path = dbPath();
    const s = new Script();
    day(s);
    const inv = open(path);
    replayFrames(s.frames, { inventory: inv });
    inv.close();
    const small = open(path, 1);
    expect(small.stats).toMatchObject({ devices: 1, evicted: 2 });
    small.close();
    const store = SqliteDeviceStore.open(path, { readonly: true });
    const { devices, evictedTotal } = store.load();
    store.close();
    expect(devices).toHaveLength(1);
    expect(evictedTotal).toBe(2);
  });

  it("groups are re-evaluated against the config in force at start", () => {
    const path = dbPath();
    const s = new Script();
    day(s);
    const inv = open(path);
    replayFrames(s.frames, { inventory: inv });
    inv.close();
    const regrouped = open(
      path,
      100,
      new DeviceGroups([{ name: "dahua", role: "camera", ouis: ["4C:11:BF"] }]),
    );
    const byId = new Map(regrouped.devices().map((d) => [d.id, d.group]));
    expect(byId.get("mac:4C-11-BF-C2-0B-9D")).toBe("dahua");
    expect(byId.get("mac:44-19-B6-12-34-56")).toBeUndefined();
    regrouped.close();
    // Saved at close: the file agrees without the config.
    const store = SqliteDeviceStore.open(path, { readonly: true });
    expect(
      store.load().devices.find((d) => d.id === "mac:44-19-B6-12-34-56")!.group,
    ).toBeUndefined();
    store.close();
  });

  it("the file is WAL, marked as egressd's, at the current schema", () => {
    const path = dbPath();
    open(path).close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.pragma("application_id", { simple: true })).toBe(APPLICATION_ID);
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });

  it("sqlite3 users get queryable columns", () => {
    const path = dbPath();
    const s = new Script();
    day(s);
    const inv = open(path);
    replayFrames(s.frames, { inventory: inv });
    inv.close();
    const db = new Database(path, { readonly: true });
    const rows = db
      .prepare(
        "SELECT mac, maker, device_group, role FROM devices WHERE maker IS NOT NULL ORDER BY mac",
      )
      .all();
    db.close();
    expect(rows).toEqual([
      { mac: "44-19-B6-12-34-56", maker: "Hikvision", device_group: "cams", role: "camera" },
      { mac: "4C-11-BF-C2-0B-9D", maker: "Dahua", device_group: "cams", role: "camera" },
    ]);
  });
});

describe("files that are not egressd's database", () => {
  const refused = (path: string, readonly = false): string => {
    try {
      openDatabase(path, { readonly }).close();
    } catch (e) {
      expect(e).toBeInstanceOf(StoreError);
      return (e as Error).message;
    }
    throw new Error("opened");
  };

  it("a text file", () => {
    const path = join(dir, "notes.txt");
    writeFileSync(path, "cameras on floor 2\n".repeat(100));
    expect(refused(path)).toBe(`${path} is not an egressd database: it is not an SQLite file`);
  });

  it("another program's SQLite database is left alone", () => {
    const path = join(dir, "other.db");
    const db = new Database(path);
    db.exec("CREATE TABLE customers (id INTEGER)");
    db.close();
    expect(refused(path)).toContain(
      "is not an egressd database (SQLite application_id 0, tables customers)",
    );
    const check = new Database(path, { readonly: true });
    expect(check.prepare("SELECT name FROM sqlite_master").all()).toEqual([{ name: "customers" }]);
    check.close();
  });

  it("a newer egressd's database", () => {
    const path = join(dir, "newer.db");
    const db = new Database(path);
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma("user_version = 99");
    db.close();
    expect(refused(path)).toContain(
      `written by a newer egressd (schema 99; this one knows up to ${SCHEMA_VERSION})`,
    );
  });

  it("reading where there is nothing", () => {
    const path = join(dir, "missing", "egressd.db");
    expect(refused(path, true)).toBe(`${path}: no egressd database there`);
  });

  it("a damaged row names the device", () => {
    const path = dbPath();
    const s = new Script();
    day(s);
    const inv = open(path);
    replayFrames(s.frames, { inventory: inv });
    inv.close();
    const db = new Database(path);
    db.prepare('UPDATE devices SET record = \'{"id": "mac:44-19-B6-12-34-56"\' WHERE id = ?').run(
      "mac:44-19-B6-12-34-56",
    );
    db.close();
    expect(() => open(path)).toThrow(/device row "mac:44-19-B6-12-34-56" is damaged/);
  });
});
