/**
 * Inventories built from the committed real captures (no root needed): the udhcpc/dnsmasq
 * DHCP exchange (a camera MAC with a Hikvision OUI), the dig/curl/openssl clients, and the
 * wsdd WS-Discovery hosts. A replay into a database, run twice, stores the same devices.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DeviceGroups } from "../../src/inventory/groups.js";
import { Inventory } from "../../src/inventory/inventory.js";
import { openInventory } from "../../src/inventory/open.js";
import { SqliteDeviceStore } from "../../src/store/devices.js";
import { testIsLocal } from "./frames.js";
import { replayFile } from "./pipeline.js";

const DHCP = "test/protocols/dhcp/fixtures/udhcpc-dnsmasq.pcap";
const CLIENTS = "test/fixtures/real/namespace-clients.pcap";
const WSDD = "test/protocols/discovery/fixtures/wsdd.pcap";

const dir = mkdtempSync(join(tmpdir(), "egressd-captures-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function build(file: string) {
  const inv = new Inventory({ maxDevices: 100, groups: new DeviceGroups(), isLocal: testIsLocal });
  await replayFile(file, { inventory: inv });
  return new Map(inv.devices().map((d) => [d.id, d]));
}

describe("inventory from real captures", () => {
  it("DHCP: the camera by chaddr, named and fingerprinted, its address from the ACK", async () => {
    const devices = await build(DHCP);
    expect([...devices.keys()].sort()).toEqual(["mac:02-00-00-00-53-01", "mac:44-19-B6-0D-0C-01"]);
    const cam = devices.get("mac:44-19-B6-0D-0C-01")!;
    expect(cam).toMatchObject({
      maker: "Hikvision",
      maker_sources: ["oui", "dhcp-hostname"],
      oui: { prefix: "4419B6", organisation: "Hangzhou Hikvision Digital Technology Co.,Ltd." },
      dhcp: {
        host_name: "HIKVISION-DS-2CD2043",
        vendor_class: "udhcp 1.35.0",
        fingerprint: "1,3,6,12,15,28,42",
        client_fqdn: "cam-lobby.cams.example.test",
      },
      first_seen: "2026-11-22T06:48:54.900103000Z",
    });
    expect(cam.ips.map((a) => a.ip)).toEqual(["192.0.2.120"]);
    // The server is a device too; its MAC is locally administered, so no maker.
    expect(devices.get("mac:02-00-00-00-53-01")).toMatchObject({
      randomised_mac: true,
      claims: [],
    });
  });

  it("clients and servers: one device per MAC with both address families, and the names used", async () => {
    const devices = await build(CLIENTS);
    const client = [...devices.values()].find((d) => d.ips.some((a) => a.ip === "192.0.2.10"))!;
    expect(client.ips.map((a) => a.ip)).toEqual(["192.0.2.10", "2001:db8:0:1::10"]);
    expect(client.domains.map((d) => d.name).sort()).toEqual([
      "cdn.example.test",
      "update.example.test",
    ]);
    expect(client.domains.find((d) => d.name === "cdn.example.test")!.lookups).toBe(8);
    expect(client.internet.attempted).toBe(0);
    const server = [...devices.values()].find((d) => d.ips.some((a) => a.ip === "192.0.2.53"))!;
    expect(server.flows.accepted).toBeGreaterThan(20);
  });

  it("wsdd announces a Windows-style host: a device, but no maker claim", async () => {
    const devices = await build(WSDD);
    expect(devices.size).toBe(2);
    for (const d of devices.values()) expect(d.claims).toEqual([]);
  });

  it("replaying the same capture into a database twice stores the same devices", async () => {
    const rows: string[] = [];
    for (const name of ["a", "b"]) {
      const inv = openInventory({
        dbPath: join(dir, name, "egressd.db"),
        maxDevices: 100,
        groups: new DeviceGroups(),
        isLocal: testIsLocal,
      });
      await replayFile(DHCP, { inventory: inv });
      inv.close();
      const store = SqliteDeviceStore.open(join(dir, name, "egressd.db"), { readonly: true });
      rows.push(JSON.stringify(store.load()));
      store.close();
    }
    expect(rows[0]).toBe(rows[1]);
    expect(rows[0]).toContain("HIKVISION-DS-2CD2043");
  });
});
