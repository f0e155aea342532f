/**
 * End to end: cameras announce themselves on a real (virtual) wire and the inventory built
 * from the capture knows them. Two network namespaces from test/e2e/netns.ts joined by one
 * veth pair: the "camera" side has three macvlan interfaces on its veth, each a camera
 * with its own MAC (a Hikvision OUI, a Dahua OUI, a randomised one); the other side is the
 * VMS with dnsmasq (DNS and DHCP) and a stand-in "cloud" address.
 *
 * The cameras send what camera-indicators.md section 4 documents: a real DHCP exchange
 * (busybox udhcpc, as camera firmware runs it, against dnsmasq), a Hikvision SADP
 * probe-match and a Dahua DHIP reply by multicast (239.255.255.250:37020 and
 * 239.255.255.251:37810), an ONVIF WS-Discovery Hello (239.255.255.250:3702), a DNS lookup
 * of litedev.hik-connect.com (answered by our dnsmasq with 203.0.113.7) and connections to
 * that address. Multicast leaves through the sending macvlan with IP_MULTICAST_IF (no
 * multicast route needed) and a listener in the VMS namespace confirms every datagram
 * arrived. tcpdump records the camera side's veth; the pipeline and inventory run on the
 * file; tshark checks which MACs were on the wire.
 *
 * Safety: only the two namespaces created here, no default route in either; addresses are
 * 192.0.2.0/24 and 203.0.113.7 on the namespaces' own interfaces, multicast stays on the
 * veth; both namespaces are deleted at the end.
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runDevices } from "../../src/cli/devices.js";
import type { DeviceView } from "../../src/inventory/device.js";
import { DeviceGroups } from "../../src/inventory/groups.js";
import { openInventory } from "../../src/inventory/open.js";
import { canUseNetns, createNetnsPair, type NetnsPair, SERVER_IF } from "../e2e/netns.js";
import { encodeMessage } from "../protocols/dns/build.js";
import { dhipReply, sadpProbe, sadpProbeMatch, wsdHello } from "./discovery-datagrams.js";
import { testIsLocal } from "./frames.js";
import { replayFile } from "./pipeline.js";

const VMS_IP = "192.0.2.53";
const CLOUD_IP = "203.0.113.7";
const CLOUD_NAME = "litedev.hik-connect.com";

interface Camera {
  dev: string;
  mac: string;
  ip: string;
}
const HIK: Camera = { dev: "cam-hik", mac: "44:19:b6:0d:0c:02", ip: "192.0.2.64" };
const DAHUA: Camera = { dev: "cam-dahua", mac: "4c:11:bf:0d:0c:03", ip: "192.0.2.108" };
const ONVIF: Camera = { dev: "cam-onvif", mac: "0a:00:5e:0d:0c:04", ip: "192.0.2.77" };
const CAMERAS = [HIK, DAHUA, ONVIF];

/**
 * Sends from one interface only (SO_BINDTODEVICE), so that every frame carries the sending
 * camera's own MAC: with three interfaces on one subnet the kernel would otherwise pick any.
 */
const SENDER = String.raw`
import socket, sys
kind, dev, src, sport, dst, dport, payload = sys.argv[1:8]
payload = bytes.fromhex(payload)
if kind == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, int(sport)))
    s.sendto(payload, (dst, int(dport)))
    if len(sys.argv) > 8:
        s.settimeout(5)
        print(s.recv(4096).hex())
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
    s.bind((src, int(sport)))
    s.settimeout(5)
    try:
        s.connect((dst, int(dport)))
    except ConnectionRefusedError:
        print("refused")
        sys.exit(0)
    s.sendall(payload)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    print(data.split(b"\r\n")[0].decode())
`;

/** Joins the discovery groups on the VMS side and prints each datagram's source and port until it has `count`. */
const LISTENER = `
import socket, sys, select
count, ifaddr = int(sys.argv[1]), sys.argv[2]
socks = []
for group, port in (("239.255.255.250", 37020), ("239.255.255.250", 3702), ("239.255.255.251", 37810)):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((group, port))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + socket.inet_aton(ifaddr))
    socks.append(s)
print("ready", flush=True)
got = 0
while got < count:
    for s in select.select(socks, [], [], 60)[0] or sys.exit("timed out waiting for datagrams"):
        data, addr = s.recvfrom(65536)
        print(addr[0], s.getsockname()[1], flush=True)
        got += 1
`;

function missingPrerequisite(what: string): void {
  test(`prerequisite: ${what}`, (ctx) => {
    if (process.env.CI) throw new Error(`CI must run the namespace discovery test, but ${what}`);
    ctx.skip(
      `skipped: ${what} (CI runs this; run as root with busybox, dnsmasq, tcpdump, tshark, python3)`,
    );
  });
}

function haveTool(argv: string[]): boolean {
  try {
    execFileSync(argv[0]!, argv.slice(1), { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("cameras announcing themselves between network namespaces", () => {
  if (!canUseNetns())
    return missingPrerequisite("cannot create network namespaces (needs root and `ip netns`)");
  for (const [tool, argv] of [
    ["busybox udhcpc", ["busybox", "udhcpc", "--help"]],
    ["dnsmasq", ["dnsmasq", "--version"]],
    ["tcpdump", ["tcpdump", "--version"]],
    ["tshark", ["tshark", "--version"]],
    ["python3", ["python3", "--version"]],
  ] as const) {
    if (!haveTool([...argv])) return missingPrerequisite(`${tool} is not installed`);
  }

  let dir = "";
  let pair: NetnsPair | undefined;
  let pcap = "";
  let received: string[] = [];
  const tcpResults: string[] = [];
  let devices = new Map<string, DeviceView>();
  let dbPath = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "egressd-netns-inv-"));
    writeFileSync(join(dir, "send.py"), SENDER);
    writeFileSync(join(dir, "listen.py"), LISTENER);
    pair = await createNetnsPair();
    const p = pair;
    const cams = p.client;
    const vms = p.server;
    const ip = (ns: string, ...args: string[]) => p.run(ns, ["ip", ...args]);
    // The camera side's veth only carries the macvlans: no address of its own, and ARP
    // answered only by the interface that holds the address (no "ARP flux").
    await ip(cams, "addr", "flush", "dev", "veth-c");
    await p.run(cams, [
      "sysctl",
      "-q",
      "net.ipv4.conf.all.arp_ignore=1",
      "net.ipv4.conf.all.arp_announce=2",
    ]);
    for (const c of CAMERAS) {
      await ip(cams, "link", "add", c.dev, "link", "veth-c", "type", "macvlan", "mode", "bridge");
      await ip(cams, "link", "set", c.dev, "address", c.mac, "addrgenmode", "none");
      await ip(cams, "addr", "add", `${c.ip}/24`, "dev", c.dev);
      await ip(cams, "link", "set", c.dev, "up");
      // The stand-in cloud address is on the VMS side's veth: an on-link route, no gateway.
      await ip(
        cams,
        "route",
        "add",
        `${CLOUD_IP}/32`,
        "dev",
        c.dev,
        "metric",
        String(10 + CAMERAS.indexOf(c)),
      );
    }
    await ip(vms, "addr", "add", `${CLOUD_IP}/24`, "dev", SERVER_IF);

    // VMS side: dnsmasq answers DNS from the command line only and hands out DHCP leases;
    // a web server on the cloud address; the multicast listener.
    p.spawn(vms, [
      ...["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts"],
      ...[
        "--bind-interfaces",
        `--interface=${SERVER_IF}`,
        "--pid-file=",
        "--user=root",
        "--log-facility=-",
      ],
      `--host-record=${CLOUD_NAME},${CLOUD_IP}`,
      "--dhcp-range=192.0.2.60,192.0.2.70,255.255.255.0,1h",
      `--dhcp-leasefile=${join(dir, "leases")}`,
      "--dhcp-authoritative",
      "--no-ping",
    ]);
    writeFileSync(join(dir, "index.html"), "ok\n");
    p.spawn(vms, ["python3", "-m", "http.server", "--bind", CLOUD_IP, "--directory", dir, "80"]);
    const listener = p.spawn(vms, ["python3", join(dir, "listen.py"), "3", VMS_IP]);
    // Wait until every socket is there, rather than sleeping and hoping.
    const want = [`udp ${VMS_IP}:53`, `tcp ${CLOUD_IP}:80`, `udp 0.0.0.0%${SERVER_IF}:67`];
    let missing: string[] = want;
    let ss = "";
    for (let i = 0; i < 200 && (missing.length > 0 || !listener.output().includes("ready")); i++) {
      ss = (await p.run(vms, ["ss", "-Hlntu"])).stdout;
      const have = new Set(
        ss.split("\n").map((l) => {
          const f = l.trim().split(/\s+/);
          return `${f[0]} ${f[4]}`;
        }),
      );
      missing = want.filter((w) => !have.has(w));
      await new Promise((r) => setTimeout(r, 50));
    }
    if (missing.length > 0 || !listener.output().includes("ready"))
      throw new Error(
        `VMS side not ready: missing ${missing.join(", ")}\n${ss}\n${listener.output()}`,
      );

    pcap = join(dir, "cameras.pcap");
    const capture = await p.startCapture(pcap);
    const send = (
      c: Camera,
      kind: "udp" | "tcp",
      sport: number,
      dst: string,
      dport: number,
      payload: Buffer,
      reply = false,
    ) =>
      p.run(cams, [
        "python3",
        join(dir, "send.py"),
        kind,
        c.dev,
        c.ip,
        String(sport),
        dst,
        String(dport),
        payload.toString("hex"),
        ...(reply ? ["reply"] : []),
      ]);
    try {
      // The VMS looks for Hikvision devices (its own probe: no claim for it).
      // (Not looped back to the VMS's own listener, which counts the cameras' datagrams.)
      await p.run(vms, [
        "python3",
        "-c",
        `import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("${VMS_IP}")); s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0); s.bind(("${VMS_IP}", 37020)); s.sendto(bytes.fromhex("${sadpProbe().toString("hex")}"), ("239.255.255.250", 37020))`,
      ]);
      // The Hikvision camera boots: DHCP, then SADP.
      await p.run(cams, [
        "busybox",
        "udhcpc",
        "-i",
        HIK.dev,
        "-f",
        "-q",
        "-n",
        "-t",
        "3",
        "-T",
        "1",
        "-s",
        "/bin/true",
        "-x",
        "hostname:HIKVISION-DS-2CD2043",
        "-r",
        HIK.ip,
      ]);
      await send(
        HIK,
        "udp",
        37020,
        "239.255.255.250",
        37020,
        sadpProbeMatch({
          mac: HIK.mac,
          ipv4: HIK.ip,
          model: "DS-2CD2043G2-I",
          serial: "DS-2CD2043G2-I20240101AAWRK1",
          firmware: "V5.7.3 build 220112",
        }),
      );
      await send(
        DAHUA,
        "udp",
        37810,
        "239.255.255.251",
        37810,
        dhipReply({
          mac: DAHUA.mac,
          ipv4: DAHUA.ip,
          model: "IPC-HDW5421S",
          serial: "1F006E4PAX00075",
          firmware: "2.400.0.8",
          vendor: "Dahua",
        }),
      );
      await send(
        ONVIF,
        "udp",
        3702,
        "239.255.255.250",
        3702,
        wsdHello({ manufacturer: "Uniview", model: "IPC2124SR3", name: "lobby", ipv4: ONVIF.ip }),
      );
      // The Hikvision camera calls home: looks the platform up, is refused on 443.
      const q = encodeMessage({ id: 0x4242, rd: true, question: { name: CLOUD_NAME, type: 1 } });
      const answer = await send(HIK, "udp", 41000, VMS_IP, 53, q, true);
      expect(answer.stdout.trim().length).toBeGreaterThan(q.length * 2);
      tcpResults.push(
        (await send(HIK, "tcp", 41001, CLOUD_IP, 443, Buffer.from("x"))).stdout.trim(),
      );
      // The Dahua camera gets through on port 80.
      const get = Buffer.from(`GET / HTTP/1.1\r\nHost: ${CLOUD_IP}\r\nConnection: close\r\n\r\n`);
      tcpResults.push((await send(DAHUA, "tcp", 41002, CLOUD_IP, 80, get)).stdout.trim());
      await new Promise<void>((resolve, reject) => {
        const done = (code: number | null) =>
          code === 0 ? resolve() : reject(new Error(`multicast listener: ${listener.output()}`));
        if (listener.child.exitCode !== null) done(listener.child.exitCode);
        else listener.child.on("exit", done);
      });
      received = listener
        .output()
        .split("\n")
        .filter((l) => /^\d/.test(l));
      // Let the last replies and FINs reach tcpdump before stopping it.
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await capture.stop();
    }

    dbPath = join(dir, "egressd.db");
    const inv = openInventory({
      dbPath,
      maxDevices: 100,
      groups: new DeviceGroups([
        { name: "vms", role: "vms", cidrs: [`${VMS_IP}/32`] },
        { name: "cameras", role: "camera", cidrs: ["192.0.2.0/24"] },
      ]),
      isLocal: testIsLocal,
    });
    await replayFile(pcap, { inventory: inv });
    devices = new Map(inv.devices().map((d) => [d.mac ?? d.id, d]));
    inv.close();
  });

  afterAll(async () => {
    await pair?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const dev = (c: Camera) => devices.get(c.mac.toUpperCase().replace(/:/g, "-"))!;

  test("every multicast announcement reached the VMS namespace", () => {
    expect(received.sort()).toEqual(
      [`${DAHUA.ip} 37810`, `${HIK.ip} 37020`, `${ONVIF.ip} 3702`].sort(),
    );
    expect(tcpResults).toEqual(["refused", "HTTP/1.0 200 OK"]);
  });

  /** MACs of frames tshark selects with `filter`, in our format. */
  const tsharkMacs = (filter: string): Set<string> => {
    const rows = execFileSync(
      "tshark",
      ["-n", "-r", pcap, "-Y", filter, "-T", "fields", "-e", "eth.src"],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      },
    );
    return new Set(
      rows
        .split("\n")
        .filter((l) => l !== "")
        .map((m) => m.toUpperCase().replace(/:/g, "-")),
    );
  };

  test("the devices are the MACs tshark sees sending IP", () => {
    // Every MAC that sent from an address of its own is a device...
    const assigned = tsharkMacs("(ip and ip.src != 0.0.0.0) or (ipv6 and ipv6.src != ::)");
    for (const c of CAMERAS) expect(assigned).toContain(c.mac.toUpperCase().replace(/:/g, "-"));
    for (const mac of assigned) expect(devices.has(mac), mac).toBe(true);
    // ...and every device sent IP. Not the converse: the veths' MLD reports from "::" to
    // ff02::16 share one flow (the MAC is not part of a flow's key), so only the first
    // sender's MAC is learned from them.
    const any = tsharkMacs("ip or ipv6");
    for (const mac of devices.keys()) expect(any.has(mac), mac).toBe(true);
  });

  test("the Hikvision camera: OUI, SADP and its DHCP host name agree; it tried Hik-Connect and was refused", () => {
    const d = dev(HIK);
    expect(d).toMatchObject({
      maker: "Hikvision",
      group: "cameras",
      role: "camera",
      model: "DS-2CD2043G2-I",
      serial: "DS-2CD2043G2-I20240101AAWRK1",
      firmware: ["V5.7.3 build 220112"],
    });
    expect(d.maker_sources).toEqual(["sadp", "oui", "dhcp-hostname"]);
    expect(d.dhcp).toMatchObject({
      host_name: "HIKVISION-DS-2CD2043",
      vendor_class: "udhcp 1.35.0",
    });
    expect(d.ips.map((a) => a.ip)).toEqual([HIK.ip]);
    expect(d.domains).toEqual([
      expect.objectContaining({ name: CLOUD_NAME, lookups: 1, flows: 1 }),
    ]);
    expect(d.internet).toMatchObject({ attempted: 1, established: 0 });
  });

  test("the Dahua camera by DHIP and OUI got through to the internet", () => {
    expect(dev(DAHUA)).toMatchObject({
      maker: "Dahua",
      maker_sources: ["dhip", "oui"],
      model: "IPC-HDW5421S",
      internet: { attempted: 1, established: 1 },
    });
  });

  test("the ONVIF camera with a randomised MAC is known by its WS-Discovery manufacturer only", () => {
    expect(dev(ONVIF)).toMatchObject({
      maker: "Uniview",
      maker_sources: ["ws-discovery"],
      randomised_mac: true,
      name: "lobby",
    });
  });

  test("the VMS probed for cameras but is not one", () => {
    const vms = [...devices.values()].find((d) => d.ips.some((a) => a.ip === VMS_IP))!;
    expect(vms).toMatchObject({ group: "vms", role: "vms", claims: [] });
  });

  test("the phase-out report from the saved database names the camera that tried a vendor cloud", async () => {
    let out = "";
    await runDevices(["--db", dbPath, "--report", "--json"], { write: (s: string) => (out += s) });
    const report = JSON.parse(out);
    expect(report.tried_vendor_cloud.map((r: { ip: string; ips: string[] }) => r.ips)).toEqual([
      [HIK.ip],
    ]);
    expect(report.called_internet.map((r: { maker: string }) => r.maker).sort()).toEqual([
      "Dahua",
      "Hikvision",
    ]);
  });
});
