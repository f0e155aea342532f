/**
 * The inventory fed by the real pipeline: what a network admin would check on a camera
 * VLAN. Which hosts become devices, keyed how; who tried the internet and whether the
 * fence held; which names each device used; maker claims from DHCP, discovery and banners
 * attributed to the device that sent them; groups; bounds and evictions; determinism.
 */

import { describe, expect, it } from "vitest";
import { parseAddress } from "../../src/enrich/geoip/address.js";
import type { DeviceView } from "../../src/inventory/device.js";
import { DeviceGroups } from "../../src/inventory/groups.js";
import { Inventory, type InventoryOptions } from "../../src/inventory/inventory.js";
import { parseMac } from "../../src/inventory/mac.js";
import { hex, macBytes } from "../helpers/packets.js";
import { encodeMessage } from "../protocols/dns/build.js";
import {
  dhipReply,
  dhipSearch,
  sadpProbe,
  sadpProbeMatch,
  wsdHello,
} from "./discovery-datagrams.js";
import {
  BROADCAST,
  DHIP_GROUP,
  type Host,
  http,
  SADP_GROUP,
  Script,
  testIsLocal,
} from "./frames.js";
import { replayFrames } from "./pipeline.js";

const CAM: Host = { ip: "192.0.2.64", mac: "44:19:b6:12:34:56" };
const DAHUA: Host = { ip: "192.0.2.108", mac: "4c:11:bf:c2:0b:9d" };
const VMS: Host = { ip: "192.0.2.20", mac: "02:00:00:00:00:20" };
const DNS: Host = { ip: "192.0.2.53", mac: "02:00:00:00:00:53" };
const GW_MAC = "02:00:00:00:00:01";
const CLOUD: Host = { ip: "203.0.113.7", mac: GW_MAC };
const NTP: Host = { ip: "198.51.100.123", mac: GW_MAC };

function inventory(o: Partial<InventoryOptions> = {}): Inventory {
  return new Inventory({ maxDevices: 100, groups: new DeviceGroups(), isLocal: testIsLocal, ...o });
}

function run(
  s: Script,
  o: Partial<InventoryOptions> = {},
): { inv: Inventory; devices: Map<string, DeviceView> } {
  const inv = inventory(o);
  replayFrames(s.frames, { inventory: inv });
  return { inv, devices: new Map(inv.devices().map((d) => [d.id, d])) };
}

const id = (h: Host) => `mac:${h.mac.toUpperCase().replace(/:/g, "-")}`;

function dnsExchange(s: Script, client: Host, name: string, answer: string, sport: number): void {
  s.udp(client, DNS, sport, 53, encodeMessage({ id: sport, question: { name, type: 1 } }));
  s.udp(
    DNS,
    client,
    53,
    sport,
    encodeMessage({
      id: sport,
      response: true,
      question: { name, type: 1 },
      answers: [{ name, type: 1, data: answer }],
    }),
  );
}

describe("who becomes a device", () => {
  it("local endpoints by MAC; internet, multicast and broadcast addresses are not devices", () => {
    const s = new Script();
    s.udp(
      CAM,
      DNS,
      40000,
      53,
      encodeMessage({ id: 1, question: { name: "nvr.example.test", type: 1 } }),
    );
    s.tcp(CAM, CLOUD, 40001, 443, "unanswered");
    s.udp(
      CAM,
      SADP_GROUP,
      37020,
      37020,
      sadpProbeMatch({ mac: CAM.mac, ipv4: CAM.ip, model: "M", serial: "S", firmware: "F" }),
    );
    const { devices } = run(s);
    expect([...devices.keys()].sort()).toEqual([id(CAM), id(DNS)].sort());
    const cam = devices.get(id(CAM))!;
    expect(cam.ips.map((a) => a.ip)).toEqual([CAM.ip]);
    expect(cam.mac).toBe("44-19-B6-12-34-56");
    expect(cam.first_seen).toBe("2023-11-14T22:13:20.001000000Z");
    expect(cam.flows.initiated).toBe(3);
    expect(cam.packets.sent).toBe(3);
  });

  it("IPv4 and IPv6 addresses of one MAC are one device; VLAN recorded", () => {
    const s = new Script();
    s.udp(CAM, DNS, 40000, 53, Buffer.alloc(0), 20);
    s.udp(
      { ...CAM, ip: "2001:db8::64" },
      { ...DNS, ip: "2001:db8::53" },
      40000,
      53,
      Buffer.alloc(0),
      20,
    );
    const cam = run(s).devices.get(id(CAM))!;
    expect(cam.ips.map((a) => a.ip)).toEqual([CAM.ip, "2001:db8::64"]);
    expect(cam.vlans).toEqual([20]);
  });

  it("without a link layer, devices are keyed by IP; the MAC, once seen, takes the device over", () => {
    const s = new Script();
    s.udp({ ip: CAM.ip, mac: "" }, { ip: DNS.ip, mac: "" }, 40000, 53);
    const first = run(s);
    expect([...first.devices.keys()].sort()).toEqual(["ip:192.0.2.53", "ip:192.0.2.64"]);
    s.udp(CAM, DNS, 40001, 53);
    const { devices } = run(s);
    expect([...devices.keys()].sort()).toEqual([id(CAM), id(DNS)].sort());
    expect(devices.get(id(CAM))!.flows.initiated).toBe(2);
  });

  it("a MAC carrying many addresses is a router; hosts behind it become devices by IP", () => {
    const s = new Script();
    const gw = (ip: string): Host => ({ ip, mac: GW_MAC });
    for (let i = 1; i <= 6; i++) s.udp(gw(`10.1.0.${i}`), CAM, 40000, 554);
    const { devices, inv } = run(s);
    const router = devices.get(`mac:${GW_MAC.toUpperCase().replace(/:/g, "-")}`)!;
    expect(router.router).toBe(true);
    expect(router.ips).toHaveLength(5);
    expect(devices.get("ip:10.1.0.6")).toMatchObject({ behind_router: true });
    const a = parseAddress("10.1.0.6")!;
    expect(inv.deviceFor(4, 0, 0, 0, a.w3, parseMac(GW_MAC)!)?.id).toBe("ip:10.1.0.6");
  });

  it("a locally administered MAC is flagged randomised and gets no OUI claim", () => {
    const s = new Script();
    s.udp(VMS, DNS, 40000, 53);
    const vms = run(s).devices.get(id(VMS))!;
    expect(vms.randomised_mac).toBe(true);
    expect(vms.claims).toEqual([]);
    expect(vms.maker).toBeUndefined();
  });
});

describe("internet use: tried, and whether the fence held", () => {
  it("unanswered SYN, RST, handshake, UDP with and without an answer, inbound", () => {
    const s = new Script();
    s.tcp(CAM, CLOUD, 40001, 443, "unanswered");
    s.tcp(CAM, CLOUD, 40002, 8443, "reset");
    s.tcp(CAM, CLOUD, 40003, 80, "open");
    s.udp(CAM, NTP, 40004, 123, Buffer.alloc(48, 0x23));
    s.udp(NTP, CAM, 123, 40004, Buffer.alloc(48, 0x24));
    s.udp(CAM, { ip: "203.0.113.9", mac: GW_MAC }, 40005, 9);
    s.tcp({ ip: "198.51.100.20", mac: GW_MAC }, CAM, 50000, 80, "open");
    s.tcp(CAM, DNS, 40006, 53, "unanswered");
    const cam = run(s).devices.get(id(CAM))!;
    expect(cam.internet).toMatchObject({ attempted: 5, established: 2, inbound: 1 });
    expect(cam.internet.first_seen).toBe("2023-11-14T22:13:20.001000000Z");
    expect(cam.flows).toEqual({ initiated: 6, accepted: 1 });
  });
});

describe("names a device used", () => {
  it("DNS lookups and named connections, counted per name", () => {
    const s = new Script();
    dnsExchange(s, CAM, "litedev.hik-connect.com", CLOUD.ip, 41000);
    s.tcp(CAM, CLOUD, 40001, 443, "unanswered");
    s.tcp(CAM, CLOUD, 40002, 443, "unanswered");
    dnsExchange(s, CAM, "pool.ntp.org", NTP.ip, 41001);
    const cam = run(s).devices.get(id(CAM))!;
    const names = Object.fromEntries(cam.domains.map((d) => [d.name, [d.lookups, d.flows]]));
    expect(names).toEqual({ "litedev.hik-connect.com": [1, 2], "pool.ntp.org": [1, 0] });
  });

  it("the per-device bound keeps the most used names and counts the rest", () => {
    const s = new Script();
    dnsExchange(s, CAM, "busy.example.test", CLOUD.ip, 41000);
    for (let i = 0; i < 3; i++) s.tcp(CAM, CLOUD, 40000 + i, 443, "unanswered");
    for (let i = 0; i < 5; i++) dnsExchange(s, CAM, `n${i}.example.test`, NTP.ip, 42000 + i);
    const cam = run(s, { limits: { domainsPerDevice: 3 } }).devices.get(id(CAM))!;
    expect(cam.domains.map((d) => d.name)).toContain("busy.example.test");
    expect(cam.domains).toHaveLength(3);
    expect(cam.dropped.domains).toBe(3);
  });
});

/** RFC 2131 BOOTREQUEST with the given options (code, value) and an end option. */
function dhcp(op: 1 | 2, chaddr: string, options: [number, Buffer][], yiaddr?: string): Buffer {
  const h = Buffer.alloc(236);
  h[0] = op;
  h[1] = 1;
  h[2] = 6;
  h.writeUInt32BE(0x01020304, 4);
  if (yiaddr) Buffer.from(yiaddr.split(".").map(Number)).copy(h, 16);
  macBytes(chaddr).copy(h, 28);
  const opts = options.map(([c, v]) => Buffer.concat([Buffer.from([c, v.length]), v]));
  return Buffer.concat([h, hex("63825363"), ...opts, Buffer.from([255])]);
}

describe("DHCP: the device is the chaddr", () => {
  it("a broadcast DISCOVER from 0.0.0.0 names the camera; the ACK gives it its address", () => {
    const s = new Script();
    const host = Buffer.from("HIKVISION-DS-2CD2043", "latin1");
    s.udp(
      { ip: "0.0.0.0", mac: CAM.mac },
      BROADCAST,
      68,
      67,
      dhcp(1, CAM.mac, [
        [53, Buffer.from([1])],
        [12, host],
        [55, Buffer.from([1, 3, 6, 12, 15, 28, 42])],
      ]),
    );
    s.udp(
      DNS,
      BROADCAST,
      67,
      68,
      dhcp(
        2,
        CAM.mac,
        [
          [53, Buffer.from([5])],
          [54, Buffer.from([192, 0, 2, 53])],
        ],
        "192.0.2.64",
      ),
    );
    const { devices } = run(s);
    const cam = devices.get(id(CAM))!;
    expect(cam.ips.map((a) => a.ip)).toEqual(["192.0.2.64"]);
    expect(cam.dhcp).toEqual({
      host_name: "HIKVISION-DS-2CD2043",
      fingerprint: "1,3,6,12,15,28,42",
    });
    expect(cam.maker).toBe("Hikvision");
    expect(cam.maker_sources).toEqual(["oui", "dhcp-hostname"]);
    expect([...devices.keys()].sort()).toEqual([id(CAM), id(DNS)].sort());
  });

  it("through a relay the packet comes from the relay: the chaddr is still the device", () => {
    const s = new Script();
    const relay: Host = { ip: "192.0.2.1", mac: GW_MAC };
    s.udp(
      relay,
      DNS,
      67,
      67,
      dhcp(1, DAHUA.mac, [
        [53, Buffer.from([3])],
        [60, Buffer.from("dahua", "latin1")],
      ]),
    );
    const { devices } = run(s);
    expect(devices.get(id(DAHUA))!.maker_sources).toEqual(["oui", "dhcp-vendor-class"]);
    expect(devices.get(`mac:${GW_MAC.toUpperCase().replace(/:/g, "-")}`)!.claims).toEqual([]);
  });
});

describe("discovery: claims go to the device that announced itself", () => {
  const cam = {
    mac: CAM.mac,
    ipv4: CAM.ip,
    model: "DS-2CD2043G2-I",
    serial: "DS-2CD2043G2-I2024AAWRK1",
    firmware: "V5.7.3 build 220112",
  };

  it("SADP: the camera's probe-match, not the VMS's probe", () => {
    const s = new Script();
    s.udp(VMS, SADP_GROUP, 37020, 37020, sadpProbe());
    s.udp(CAM, SADP_GROUP, 37020, 37020, sadpProbeMatch(cam));
    const { devices } = run(s);
    expect(devices.get(id(VMS))!.claims).toEqual([]);
    const c = devices.get(id(CAM))!;
    expect(c).toMatchObject({
      maker: "Hikvision",
      model: cam.model,
      serial: cam.serial,
      firmware: [cam.firmware],
      device_class: "142378",
    });
    expect(c.maker_sources).toEqual(["sadp", "oui"]);
  });

  it("DHIP: a unicast reply to the searcher is attributed by its MAC, whichever end started the flow", () => {
    const s = new Script();
    // The VMS searches the camera directly; the reply comes back in the same flow.
    s.udp(VMS, DAHUA, 50000, 37810, dhipSearch());
    s.udp(
      DAHUA,
      VMS,
      37810,
      50000,
      dhipReply({ ...cam, mac: DAHUA.mac, ipv4: DAHUA.ip, model: "IPC-HDW5421S", vendor: "Dahua" }),
    );
    const { devices } = run(s);
    expect(devices.get(id(VMS))!.claims).toEqual([]);
    expect(devices.get(id(DAHUA))!).toMatchObject({
      maker: "Dahua",
      model: "IPC-HDW5421S",
      maker_sources: ["dhip", "oui"],
    });
  });

  it("DHIP multicast and WS-Discovery Hello from a randomised MAC", () => {
    const s = new Script();
    const onvif: Host = { ip: "192.0.2.77", mac: "0a:00:00:00:00:77" };
    s.udp(
      DAHUA,
      DHIP_GROUP,
      37810,
      37810,
      dhipReply({
        ...cam,
        mac: DAHUA.mac,
        ipv4: DAHUA.ip,
        model: "IPC-HFW2431S",
        vendor: "General",
      }),
    );
    s.udp(
      onvif,
      SADP_GROUP,
      3702,
      3702,
      wsdHello({ manufacturer: "Uniview", model: "IPC2124SR3", name: "lobby", ipv4: onvif.ip }),
    );
    const { devices } = run(s);
    expect(devices.get(id(DAHUA))!.model).toBe("IPC-HFW2431S");
    expect(devices.get(id(onvif))!).toMatchObject({
      maker: "Uniview",
      randomised_mac: true,
      maker_sources: ["ws-discovery"],
      name: "lobby",
    });
  });

  it("a firmware change is remembered: the device reappearing upgraded", () => {
    const s = new Script();
    s.udp(CAM, SADP_GROUP, 37020, 37020, sadpProbeMatch(cam));
    s.wait(3600);
    s.udp(
      CAM,
      SADP_GROUP,
      37020,
      37020,
      sadpProbeMatch({ ...cam, firmware: "V5.8.0 build 240101" }),
    );
    expect(run(s).devices.get(id(CAM))!.firmware).toEqual([cam.firmware, "V5.8.0 build 240101"]);
  });
});

describe("banners: claims go to the server side", () => {
  it("HTTP Server and RTSP realm of the camera, not of the VMS that asked", () => {
    const s = new Script();
    s.tcp(VMS, CAM, 50001, 80, {
      request: http("GET / HTTP/1.1\nHost: 192.0.2.64\n\n"),
      response: http("HTTP/1.1 401 Unauthorized\nServer: App-webs/\nContent-Length: 0\n\n"),
    });
    s.tcp(VMS, DAHUA, 50002, 554, {
      request: http("OPTIONS rtsp://192.0.2.108/ RTSP/1.0\nCSeq: 1\n\n"),
      response: http(
        'RTSP/1.0 401 Unauthorized\nCSeq: 1\nServer: Dahua Rtsp Server\nWWW-Authenticate: Digest realm="Login to 4M0ABC", nonce="1"\n\n',
      ),
    });
    const { devices } = run(s);
    expect(devices.get(id(VMS))!.claims).toEqual([]);
    expect(devices.get(id(CAM))!.maker_sources).toEqual(["http-server", "oui"]);
    expect(devices.get(id(DAHUA))!.claims.map((c) => c.evidence)).toContain(
      "RTSP Server: Dahua Rtsp Server",
    );
  });
});

describe("groups, lookups, bounds, determinism", () => {
  const groups = new DeviceGroups([
    { name: "nvr", role: "nvr", macs: [VMS.mac] },
    { name: "cams-vlan20", role: "camera", cidrs: ["192.0.2.0/24"], vlans: [20] },
    { name: "lan", role: "other", cidrs: ["192.0.2.0/24"] },
  ]);

  it("deviceFor gives group, role, maker; groups follow the VLAN the device is seen on", () => {
    const s = new Script();
    s.udp(CAM, VMS, 40000, 554, Buffer.alloc(0), 20);
    s.udp(DNS, VMS, 40000, 554);
    const { inv } = run(s, { groups });
    const a = parseAddress(CAM.ip)!;
    expect(inv.deviceFor(4, 0, 0, 0, a.w3, parseMac(CAM.mac)!)).toEqual({
      id: id(CAM),
      mac: "44-19-B6-12-34-56",
      randomised_mac: false,
      group: "cams-vlan20",
      role: "camera",
      maker: "Hikvision",
      maker_sources: ["oui"],
    });
    // By address alone (no MAC known to the caller).
    expect(inv.deviceFor(4, 0, 0, 0, a.w3, -1)?.id).toBe(id(CAM));
    expect(inv.deviceFor(4, 0, 0, 0, parseAddress(DNS.ip)!.w3, -1)).toMatchObject({
      group: "lan",
      role: "other",
    });
    expect(inv.deviceFor(4, 0, 0, 0, parseAddress(VMS.ip)!.w3, -1)).toMatchObject({
      group: "nvr",
      role: "nvr",
    });
    expect(inv.deviceFor(4, 0, 0, 0, parseAddress(CLOUD.ip)!.w3, -1)).toBeNull();
    inv.setGroups(new DeviceGroups());
    expect(inv.deviceFor(4, 0, 0, 0, a.w3, -1)?.group).toBeUndefined();
  });

  it("maxDevices: the least recently seen are evicted and counted", () => {
    const s = new Script();
    const hosts = [1, 2, 3, 4, 5].map(
      (i): Host => ({ ip: `192.0.2.${100 + i}`, mac: `44:19:b6:00:00:0${i}` }),
    );
    // Host 1 keeps talking, so 2 and 3 are the oldest when 4 and 5 arrive.
    for (const h of hosts) {
      s.udp(h, SADP_GROUP, 37020, 37020);
      s.udp(hosts[0]!, SADP_GROUP, 37020, 37020);
      s.wait(120);
    }
    const { inv, devices } = run(s, { maxDevices: 3 });
    expect(inv.stats).toEqual({ devices: 3, learned: 5, evicted: 2 });
    expect([...devices.keys()].sort()).toEqual([hosts[0]!, hosts[3]!, hosts[4]!].map(id).sort());
  });

  it("addresses per device are bounded; the oldest goes", () => {
    const s = new Script();
    for (let i = 1; i <= 4; i++)
      s.udp({ ip: `2001:db8::${i}`, mac: CAM.mac }, SADP_GROUP, 3702, 3702);
    const cam = run(s, { limits: { ipsPerDevice: 2 } }).devices.get(id(CAM))!;
    // By packet time, whatever order the flow records come out in.
    expect(cam.ips.map((a) => a.ip).sort()).toEqual(["2001:db8::3", "2001:db8::4"]);
    expect(cam.dropped.ips).toBeGreaterThanOrEqual(2);
  });

  it("the same capture builds the same inventory, byte for byte", () => {
    const s = new Script();
    dnsExchange(s, CAM, "litedev.hik-connect.com", CLOUD.ip, 41000);
    s.tcp(CAM, CLOUD, 40001, 443, "unanswered");
    s.udp(
      DAHUA,
      DHIP_GROUP,
      37810,
      37810,
      dhipReply({
        mac: DAHUA.mac,
        ipv4: DAHUA.ip,
        model: "X",
        serial: "Y",
        firmware: "Z",
        vendor: "Dahua",
      }),
    );
    const one = JSON.stringify(run(s, { groups }).inv.devices());
    const two = JSON.stringify(run(s, { groups }).inv.devices());
    expect(one).toBe(two);
    expect(one).toContain("litedev.hik-connect.com");
  });
});
