/**
 * GeoIP and devices in flow records, end to end through the built CLI: the real
 * namespace capture (its "internet" is the documentation ranges) replayed with the test
 * databases, device groups, and an inventory database that `egressd devices` reads.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, ROOT, requireBuild } from "../edge-cases/cli.js";

const CAPTURE = join(ROOT, "test/fixtures/real/namespace-clients.pcap");
const FIXTURES = join(ROOT, "test/fixtures/geoip");
const dir = mkdtempSync(join(tmpdir(), "egressd-geoip-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Rec = Record<string, any>;

function replay(
  config: string | null,
  extra: string[] = [],
  capture = CAPTURE,
): { records: Rec[]; stderr: string } {
  requireBuild();
  const args = [BIN, "replay", "--summary", "none", ...extra];
  if (config !== null) {
    const path = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(path, config);
    args.push("--config", path);
  }
  args.push(capture);
  const r = spawnSync(process.execPath, args, { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  return {
    records: r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l)),
    stderr: r.stderr,
  };
}

const LAB = `
geoip:
  country_db: ${FIXTURES}/test-city.mmdb
  asn_db: ${FIXTURES}/test-asn.mmdb
  bundled: false
  internet_ranges: [192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, "2001:db8::/32"]
`;

describe("replay with GeoIP", () => {
  it("names the scope of every endpoint and gives special ranges no country", () => {
    const { records } = replay(null);
    expect(records.length).toBeGreaterThan(10);
    const scopes = new Set(records.map((r) => r.destination.scope));
    expect([...scopes].sort()).toEqual(
      ["documentation", "link-local", "multicast"].filter((s) => scopes.has(s)),
    );
    expect(scopes.has("documentation")).toBe(true);
    for (const r of records) {
      expect(r.destination.geo).toBeUndefined();
      expect(r.destination.as).toBeUndefined();
    }
  });

  it("looks up a lab's internet ranges in the configured databases, v4 and v6, and says which answered", () => {
    const { records } = replay(LAB);
    const v4 = records.find((r) => r.destination.ip === "192.0.2.53")!;
    expect(v4.destination.scope).toBe("internet");
    expect(v4.destination.geo).toEqual({
      country_iso_code: "CN",
      country_name: "China",
      city_name: "Hangzhou",
    });
    expect(v4.destination.as).toEqual({
      number: 37963,
      organization: { name: "Hangzhou Alibaba Advertising Co.,Ltd." },
    });
    expect(v4.egressd.geoip.destination).toEqual({ country: "GeoLite2-City", as: "GeoLite2-ASN" });
    const v6 = records.find((r) => String(r.destination.ip).startsWith("2001:db8:"))!;
    expect(v6.destination.geo.country_iso_code).toBe("CN");
    expect(v6.destination.as.number).toBe(37963);
  });

  it("leaves GeoIP out with --no-geoip", () => {
    const { records } = replay(LAB, ["--no-geoip"]);
    for (const r of records) {
      expect(r.destination.scope).toBeUndefined();
      expect(r.egressd.geoip).toBeUndefined();
    }
  });

  it("exits 1 naming the file when a configured database is missing", () => {
    const path = join(dir, "missing.yaml");
    writeFileSync(path, "geoip:\n  country_db: /nonexistent/GeoLite2-Country.mmdb\n");
    const r = spawnSync(process.execPath, [BIN, "replay", "--config", path, CAPTURE], {
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("/nonexistent/GeoLite2-Country.mmdb");
    expect(r.stdout).toBe("");
  });
});

const GROUPS = `
devices:
  groups:
    - name: lab-cameras
      role: camera
      cidrs: [192.0.2.10/32]
    - name: lab-servers
      role: server
      cidrs: [192.0.2.0/24]
`;

function devices(db: string, ...args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, "devices", "--db", db, ...args], {
    encoding: "utf8",
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe("replay with the device inventory", () => {
  it("tags each flow's endpoints with their device, group and role (first matching group)", () => {
    const { records } = replay(GROUPS);
    const https = records.find((r) => r.destination.port === 443 && r.source.ip === "192.0.2.10")!;
    expect(https.egressd.source_device).toMatchObject({
      id: "mac:8E-95-D7-F7-7A-13",
      group: "lab-cameras",
      role: "camera",
    });
    expect(https.egressd.destination_device).toMatchObject({
      group: "lab-servers",
      role: "server",
    });
  });

  it("keeps the inventory in SQLite across runs: devices --json lists it, a second replay adds to it", () => {
    const db = join(dir, "inventory.db");
    replay(GROUPS, ["--inventory", db]);
    const first = devices(db, "--json")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(first.map((d) => d.group).sort()).toEqual(["lab-cameras", "lab-servers"]);
    const camera = first.find((d) => d.group === "lab-cameras")!;
    expect(camera.mac).toBe("8E-95-D7-F7-7A-13");

    replay(GROUPS, ["--inventory", db]);
    const second = devices(db, "--json")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(second).toHaveLength(first.length);
    const again = second.find((d) => d.group === "lab-cameras")!;
    expect(again.first_seen).toBe(camera.first_seen);
    expect(again.packets.sent).toBe(camera.packets.sent * 2);
  });

  it("refuses a file that is not an egressd database, naming it", () => {
    const bogus = join(dir, "not-a-db.db");
    writeFileSync(bogus, "hello");
    const r = spawnSync(process.execPath, [BIN, "replay", "--inventory", bogus, CAPTURE], {
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(bogus);
  });
});
