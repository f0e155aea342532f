/**
 * `egressd devices`: the table, JSON Lines, RFC 4180 CSV and the phase-out report, read
 * back the way their users would (a JSON parser, a CSV parser, a person reading the
 * report), plus usage and database errors with their exit codes.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csvField, DEVICES_HELP, runDevices } from "../../src/cli/devices.js";
import { InputError, UsageError } from "../../src/cli/errors.js";
import type { DeviceView } from "../../src/inventory/device.js";
import { DeviceGroups } from "../../src/inventory/groups.js";
import { openInventory } from "../../src/inventory/open.js";
import { SqliteDeviceStore } from "../../src/store/devices.js";
import { hex, macBytes } from "../helpers/packets.js";
import { encodeMessage } from "../protocols/dns/build.js";
import { dhipReply, sadpProbeMatch } from "./discovery-datagrams.js";
import { BROADCAST, DHIP_GROUP, type Host, SADP_GROUP, Script, testIsLocal } from "./frames.js";
import { replayFrames } from "./pipeline.js";

const dir = mkdtempSync(join(tmpdir(), "egressd-devices-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const DB = join(dir, "egressd.db");

const CAM: Host = { ip: "192.0.2.64", mac: "44:19:b6:12:34:56" };
const CAM2: Host = { ip: "192.0.2.65", mac: "44:19:b6:12:34:57" };
const DAHUA: Host = { ip: "192.0.2.108", mac: "4c:11:bf:c2:0b:9d" };
const NVR: Host = { ip: "192.0.2.20", mac: "02:00:00:00:00:20" };
const DNS: Host = { ip: "192.0.2.53", mac: "02:00:00:00:00:53" };
const GW = "02:00:00:00:00:01";

/** A camera VLAN: two Hikvision cameras (one calls Hik-Connect), a Dahua camera, an NVR. */
function site(): Script {
  const s = new Script();
  const id = { model: "DS-2CD2043G2-I", serial: "SN1", firmware: "V5.7.3" };
  s.udp(CAM, SADP_GROUP, 37020, 37020, sadpProbeMatch({ ...id, mac: CAM.mac, ipv4: CAM.ip }));
  s.udp(
    CAM2,
    SADP_GROUP,
    37020,
    37020,
    sadpProbeMatch({ ...id, mac: CAM2.mac, ipv4: CAM2.ip, serial: "SN2" }),
  );
  s.udp(
    DAHUA,
    DHIP_GROUP,
    37810,
    37810,
    dhipReply({ ...id, mac: DAHUA.mac, ipv4: DAHUA.ip, model: "IPC-HDW5421S", vendor: "Dahua" }),
  );
  const name = "litedev.hik-connect.com";
  s.udp(CAM, DNS, 41000, 53, encodeMessage({ id: 1, question: { name, type: 1 } }));
  s.udp(
    DNS,
    CAM,
    53,
    41000,
    encodeMessage({
      id: 1,
      response: true,
      question: { name, type: 1 },
      answers: [{ name, type: 1, data: "203.0.113.7" }],
    }),
  );
  s.tcp(CAM, { ip: "203.0.113.7", mac: GW }, 40001, 443, "unanswered");
  s.tcp(DAHUA, { ip: "198.51.100.9", mac: GW }, 40002, 80, "open");
  s.udp(CAM, NVR, 40003, 554);
  // A device that names itself to break spreadsheets and terminals.
  const h = Buffer.alloc(236);
  h[0] = 1;
  h[1] = 1;
  h[2] = 6;
  macBytes("44:19:b6:00:00:99").copy(h, 28);
  const hostname = Buffer.from('=HYPERLINK("http://x","a,b")', "latin1");
  const dhcp = Buffer.concat([
    h,
    hex("63825363 350101"),
    Buffer.from([12, hostname.length]),
    hostname,
    Buffer.from([255]),
  ]);
  s.udp({ ip: "0.0.0.0", mac: "44:19:b6:00:00:99" }, BROADCAST, 68, 67, dhcp);
  return s;
}

const groups = new DeviceGroups([
  { name: "nvr", role: "nvr", macs: [NVR.mac] },
  { name: "cameras", role: "camera", cidrs: ["192.0.2.0/25"] },
]);

beforeAll(() => {
  const inv = openInventory({ dbPath: DB, maxDevices: 100, groups, isLocal: testIsLocal });
  replayFrames(site().frames, { inventory: inv });
  inv.close();
});

async function devices(...args: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await runDevices(["--db", DB, ...args], { write: (s: string) => (out += s) });
  return { code, out };
}

/** RFC 4180 reader: quoted fields, doubled quotes, CRLF records. */
function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += c;
  }
  expect(field).toBe("");
  return rows;
}

describe("listing", () => {
  it("--json: one object per device, every field", async () => {
    const { code, out } = await devices("--json");
    expect(code).toBe(0);
    const lines = out
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as DeviceView);
    expect(lines).toHaveLength(6);
    const cam = lines.find((d) => d.mac === "44-19-B6-12-34-56")!;
    expect(cam).toMatchObject({
      maker: "Hikvision",
      group: "cameras",
      role: "camera",
      model: "DS-2CD2043G2-I",
    });
    expect(cam.domains[0]).toMatchObject({ name: "litedev.hik-connect.com", lookups: 1, flows: 1 });
    // Known makers first, by name; then unknown.
    expect(lines.map((d) => d.maker ?? "unknown")).toEqual([
      "Dahua",
      "Hikvision",
      "Hikvision",
      "Hikvision",
      "unknown",
      "unknown",
    ]);
  });

  it("--csv: RFC 4180, one row per device, formulas defused", async () => {
    const { out } = await devices("--csv");
    expect(out.endsWith("\r\n")).toBe(true);
    const rows = readCsv(out);
    const header = rows[0]!;
    expect(header.slice(0, 6)).toEqual(["id", "mac", "randomised_mac", "ips", "vlans", "maker"]);
    expect(rows.slice(1).every((r) => r.length === header.length)).toBe(true);
    const col = (r: string[], name: string) => r[header.indexOf(name)];
    const hostile = rows.find((r) => col(r, "mac") === "44-19-B6-00-00-99")!;
    expect(col(hostile, "dhcp_host_name")).toBe(`'=HYPERLINK("http://x","a,b")`);
    const cam = rows.find((r) => col(r, "mac") === "44-19-B6-12-34-56")!;
    expect(col(cam, "vendor_clouds")).toBe("litedev.hik-connect.com");
    expect(col(cam, "internet_attempted")).toBe("1");
    expect(col(cam, "internet_established")).toBe("0");
    expect(col(cam, "maker_sources")).toBe("sadp oui");
  });

  it("the table: aligned columns, one line per device", async () => {
    const { code, out } = await devices();
    expect(code).toBe(0);
    const lines = out.trimEnd().split("\n");
    expect(lines).toHaveLength(7);
    expect(lines[0]).toMatch(/^MAC +IP +VLAN +MAKER \(EVIDENCE\) +GROUP +ROLE +MODEL +FIRST SEEN/);
    const makerAt = lines[0]!.indexOf("MAKER");
    const dahua = lines.find((l) => l.startsWith("4C-11-BF-C2-0B-9D"))!;
    expect(dahua.slice(makerAt)).toMatch(/^Dahua \(dhip,oui\) +cameras +camera +IPC-HDW5421S /);
    expect(dahua).toContain("1 tried, 1 got through");
    const cam = lines.find((l) => l.startsWith("44-19-B6-12-34-56"))!;
    expect(cam).toMatch(/1 tried, 0 got through +Hikvision$/);
  });
});

describe("--report", () => {
  it("text: counts by maker and group, who called the internet, who tried a vendor cloud", async () => {
    const { code, out } = await devices("--report");
    expect(code).toBe(0);
    expect(out).toContain("6 devices, seen from 2023-11-14T22:13:20Z to ");
    expect(out).toContain("2 called the internet, 1 tried a camera vendor's cloud");
    const section = (title: string) => out.split(`\n${title}`)[1]!.split("\n\n")[0]!.split("\n");
    const byMaker = section("By maker");
    expect(byMaker[1]).toMatch(/^MAKER +DEVICES +CALLED INTERNET +TRIED VENDOR CLOUD/);
    expect(byMaker[2]).toMatch(/^Hikvision +3 +1 +1 /);
    expect(byMaker[3]).toMatch(/^unknown +2 +0 +0 /);
    expect(byMaker[4]).toMatch(/^Dahua +1 +1 +0 /);
    const byGroup = section("By group");
    expect(byGroup.slice(2).map((l) => l.split(/ {2,}/).slice(0, 3).join("|"))).toEqual([
      "cameras|camera|4",
      "-|-|1",
      "nvr|nvr|1",
    ]);
    const clouds = section("Devices that tried a camera vendor's cloud (1)");
    expect(clouds[2]).toMatch(
      /^44-19-B6-12-34-56 +192\.0\.2\.64 +Hikvision +cameras +Hikvision +litedev\.hik-connect\.com \(1\/1\)$/,
    );
    const internet = section("Devices that called the internet (2)");
    expect(internet.slice(2).map((l) => l.split(/ {2,}/)[0])).toEqual([
      "4C-11-BF-C2-0B-9D",
      "44-19-B6-12-34-56",
    ]);
  });

  it("--json: the report as one object", async () => {
    const report = JSON.parse((await devices("--report", "--json")).out);
    expect(report.devices).toBe(6);
    expect(report.by_maker[0]).toMatchObject({
      maker: "Hikvision",
      devices: 3,
      called_internet: 1,
      tried_vendor_cloud: 1,
    });
    expect(report.tried_vendor_cloud[0].vendor_clouds).toEqual([
      { name: "litedev.hik-connect.com", vendor: "Hikvision", lookups: 1, flows: 1 },
    ]);
    expect(report.by_maker_and_group).toContainEqual(
      expect.objectContaining({ maker: "unknown", group: "nvr", role: "nvr", devices: 1 }),
    );
  });

  it("--csv: counts per maker and group", async () => {
    const rows = readCsv((await devices("--report", "--csv")).out);
    expect(rows[0]).toEqual([
      "maker",
      "group",
      "role",
      "devices",
      "called_internet",
      "tried_vendor_cloud",
      "first_seen",
      "last_seen",
    ]);
    expect(rows.slice(1).map((r) => r.slice(0, 6).join("|"))).toEqual([
      "Hikvision|cameras|camera|2|1|1",
      "Dahua|cameras|camera|1|1|0",
      "Hikvision|||1|0|0",
      "unknown|cameras|camera|1|0|0",
      "unknown|nvr|nvr|1|0|0",
    ]);
  });
});

describe("what a hostile device cannot do", () => {
  it("control characters in stored fields are shown escaped, never sent to the terminal", async () => {
    const path = join(dir, "hostile.db");
    const inv = openInventory({
      dbPath: path,
      maxDevices: 10,
      groups: new DeviceGroups(),
      isLocal: testIsLocal,
    });
    replayFrames(site().frames.slice(0, 1), { inventory: inv });
    const view = inv.devices()[0]!;
    inv.close();
    const store = SqliteDeviceStore.open(path);
    store.save([{ ...view, model: "cam\u001b]0;pwned\u0007" }], [], 0);
    store.close();
    let out = "";
    await runDevices(["--db", path], { write: (s: string) => (out += s) });
    expect(out).toContain("cam\\x1b]0;pwned\\x07");
    // Nothing below 0x20 but the newlines between rows.
    expect([...out].filter((c) => c < " " && c !== "\n")).toEqual([]);
  });

  it("csvField quotes and defuses", () => {
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("-1+1")).toBe("'-1+1");
    expect(csvField("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvField(42)).toBe("42");
    expect(csvField(undefined)).toBe("");
  });
});

describe("usage and errors", () => {
  it("--help", async () => {
    const { code, out } = await devices("--help");
    expect(code).toBe(0);
    expect(out).toBe(DEVICES_HELP);
    expect(out).toContain("--report");
  });

  it.each([
    [["--json", "--csv"], "--json and --csv exclude each other"],
    [["--verbose"], "Unknown option '--verbose'"],
    [["devices.db"], 'devices takes no arguments, got "devices.db"'],
  ])("%j is a usage error (exit 2)", async (args, message) => {
    await expect(runDevices(args, { write: () => {} })).rejects.toThrow(UsageError);
    await expect(runDevices(args, { write: () => {} })).rejects.toThrow(message);
  });

  it("no database, or not egressd's: an input error (exit 1) naming the file", async () => {
    const missing = join(dir, "nowhere", "egressd.db");
    await expect(runDevices(["--db", missing], { write: () => {} })).rejects.toThrow(
      new InputError(`${missing}: no egressd database there`),
    );
    const text = join(dir, "notes.txt");
    writeFileSync(text, "not a database\n".repeat(200));
    await expect(runDevices(["--db", text], { write: () => {} })).rejects.toThrow(
      /is not an egressd database/,
    );
  });
});
