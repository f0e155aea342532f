/**
 * Live capture (src/capture/live) on real interfaces with real traffic.
 *
 * Topology, all created here and removed in afterAll (also after a failure):
 *   namespace A (vA 10.201.0.1) -- veth -- [root: egl<pid>a] \
 *                                                             bridge egl<pid>br (no address)
 *   namespace B (vB 10.201.0.2) -- veth -- [root: egl<pid>b] /
 * The capture runs in this process, on the root-side veth ends. Traffic only ever goes
 * between the two namespaces' own addresses, bridged at layer 2: the bridge and the
 * root-side ends have no address (IPv4 or IPv6), so the root namespace neither routes nor
 * answers anything that crosses them. The retry tests add a third veth egl<pid>c whose
 * namespace end has an address no one owns: pinging it only puts ARP requests on that link.
 */

import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it, test } from "vitest";
import { LiveCaptureError } from "../../src/capture/live/errors.js";
import {
  defaultRouteInterface,
  LiveSource,
  type LiveSourceOptions,
  type LiveState,
  MultiSource,
} from "../../src/capture/live/live-source.js";
import { loadPcapAddon } from "../../src/capture/live/pcap-binding.js";
import { LinkType, type PacketSink, type RawPacket } from "../../src/capture/source.js";
import { canUseNetns, execIn, NETNS_PREFIX, removeStaleNetns } from "../e2e/netns.js";

const PID = process.pid;
const NS_A = `${NETNS_PREFIX}${PID}-liveA`;
const NS_B = `${NETNS_PREFIX}${PID}-liveB`;
const IF_A = `egl${PID}a`;
const IF_B = `egl${PID}b`;
const IF_C = `egl${PID}c`;
const BRIDGE = `egl${PID}br`;
const ADDR_A = "10.201.0.1";
const ADDR_B = "10.201.0.2";
/** On the retry link: vC has ADDR_C, and no one has ADDR_NOBODY. */
const ADDR_C = "10.201.1.1";
const ADDR_NOBODY = "10.201.1.2";

interface Seen {
  iface: number;
  linkType: number;
  tsNs: bigint;
  capLen: number;
  origLen: number;
  frame: Buffer;
  /** Wall clock when the sink got it. */
  at: number;
}

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function tryIp(...args: string[]): void {
  try {
    ip(...args);
  } catch {
    // already gone
  }
}

/** No IPv6 (so no link-local address, no MLD or router solicitations) on a root-side link. */
function quietRootLink(dev: string): void {
  ip("link", "set", dev, "addrgenmode", "none");
  writeFileSync(`/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`, "1");
}

/** A veth with `rootEnd` in this namespace and `nsEnd` (addressed `addr`) in namespace A or B. */
async function addVeth(rootEnd: string, ns: string, nsEnd: string, addr: string): Promise<void> {
  ip("link", "add", rootEnd, "type", "veth", "peer", "name", nsEnd, "netns", ns);
  quietRootLink(rootEnd);
  await execIn(ns, ["sysctl", "-q", `net.ipv6.conf.${nsEnd}.disable_ipv6=1`]);
  ip("-n", ns, "addr", "add", `${addr}/24`, "dev", nsEnd);
  ip("-n", ns, "link", "set", nsEnd, "up");
  ip("link", "set", rootEnd, "up");
}

/** Removes what a crashed earlier run of this file left in the root namespace. */
function removeStaleLinks(): void {
  const out = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" });
  for (const m of out.matchAll(/^\d+: (egl(\d+)(?:a|b|c|br))[@:]/gm)) {
    const pid = Number(m[2]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === "EPERM";
    }
    if (!alive || pid === PID) tryIp("link", "del", m[1] as string);
  }
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A sink that keeps a copy of every packet (the RawPacket itself is reused). */
function collector(): PacketSink & { seen: Seen[]; interfaces: [number, number, number][] } {
  const seen: Seen[] = [];
  const interfaces: [number, number, number][] = [];
  return {
    seen,
    interfaces,
    interface(id, linkType, snapLen) {
      interfaces.push([id, linkType, snapLen]);
    },
    packet(p: RawPacket) {
      seen.push({
        iface: p.interfaceId,
        linkType: p.linkType,
        tsNs: BigInt(p.tsSec) * 1_000_000_000n + BigInt(p.tsNsec),
        capLen: p.capLen,
        origLen: p.origLen,
        frame: Buffer.from(p.buf.subarray(p.offset, p.offset + p.capLen)),
        at: Date.now(),
      });
    },
  };
}

const isIcmpEcho = (f: Buffer, type: number) =>
  f.readUInt16BE(12) === 0x0800 && f[23] === 1 && f[34] === type;
const udpDstPort = (f: Buffer) =>
  f.readUInt16BE(12) === 0x0800 && f[23] === 17 ? f.readUInt16BE(36) : -1;
const isArp = (f: Buffer) => f.readUInt16BE(12) === 0x0806;

function ping(ns: string, to: string, count: number): Promise<unknown> {
  // Exit 1: no reply (expected towards ADDR_NOBODY).
  return execIn(ns, ["ping", "-n", "-c", String(count), "-i", "0.2", "-W", "1", to], {
    okCodes: [0, 1],
  });
}

/** `count` UDP datagrams of `size` payload bytes from A to B's `port` (nobody listens: fine). */
function sendUdp(port: number, size: number, count: number): Promise<unknown> {
  const script = `
    const s = require("node:dgram").createSocket("udp4");
    s.bind({ address: "${ADDR_A}" }, async () => {
      for (let i = 0; i < ${count}; i++) {
        await new Promise((r) => s.send(Buffer.alloc(${size}, i), ${port}, "${ADDR_B}", r));
      }
      s.close();
    });`;
  return execIn(NS_A, [process.execPath, "-e", script]);
}

/** Starts a LiveSource, waiting until it reports "capturing"; returns it and its run(). */
async function start(
  options: LiveSourceOptions,
  sink: PacketSink,
): Promise<{ source: LiveSource; done: Promise<unknown>; states: [LiveState, string?][] }> {
  const states: [LiveState, string?][] = [];
  const source = new LiveSource({
    ...options,
    onState: (s, d) => {
      states.push([s, d]);
      options.onState?.(s, d);
    },
  });
  const done = source.run(sink);
  done.catch(() => {});
  await Promise.race([
    waitFor("capturing", () => states.some(([s]) => s === "capturing")),
    done.then(() => {
      throw new Error("run() ended before capturing");
    }),
  ]);
  return { source, done, states };
}

/**
 * LiveSource and its imports, compiled to a temp dir that another user can read, so a
 * child node process can run the real code without a build step.
 */
function compileForChild(dir: string): string {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const out = join(dir, "src/capture/live");
  mkdirSync(out, { recursive: true });
  for (const rel of [
    "src/capture/source.ts",
    "src/capture/live/errors.ts",
    "src/capture/live/pcap-binding.ts",
    "src/capture/live/live-source.ts",
  ]) {
    const js = ts.transpileModule(readFileSync(join(root, rel), "utf8"), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const target = join(dir, rel.replace(/\.ts$/, ".js"));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, js);
  }
  writeFileSync(join(dir, "package.json"), '{"type":"module"}');
  symlinkSync(join(root, "src/capture/live/native"), join(out, "native"));
  return join(out, "live-source.js");
}

function missingPrerequisite(what: string): void {
  test(`prerequisite: ${what}`, (ctx) => {
    if (process.env.CI) throw new Error(`CI must run the live capture tests, but ${what}`);
    ctx.skip(`skipped: ${what} (CI runs this as root)`);
  });
}

describe("live capture between test namespaces", () => {
  if (!canUseNetns()) return missingPrerequisite("cannot create network namespaces (needs root)");
  try {
    loadPcapAddon();
  } catch (e) {
    return missingPrerequisite((e as Error).message);
  }

  beforeAll(async () => {
    removeStaleNetns();
    removeStaleLinks();
    ip("netns", "add", NS_A);
    ip("netns", "add", NS_B);
    ip("-n", NS_A, "link", "set", "lo", "up");
    ip("-n", NS_B, "link", "set", "lo", "up");
    ip("link", "add", BRIDGE, "type", "bridge");
    quietRootLink(BRIDGE);
    await addVeth(IF_A, NS_A, "vA", ADDR_A);
    await addVeth(IF_B, NS_B, "vB", ADDR_B);
    ip("link", "set", IF_A, "master", BRIDGE);
    ip("link", "set", IF_B, "master", BRIDGE);
    ip("link", "set", BRIDGE, "up");
    // The bridge forwards once both ports are up: wait for A to reach B.
    await waitFor("A to reach B", () => {
      try {
        execFileSync("ip", ["netns", "exec", NS_A, "ping", "-c1", "-W1", ADDR_B], {
          stdio: "ignore",
        });
        return true;
      } catch {
        return false;
      }
    });
  });

  afterAll(() => {
    tryIp("link", "del", IF_C);
    tryIp("netns", "del", NS_A);
    tryIp("netns", "del", NS_B);
    tryIp("link", "del", BRIDGE);
  });

  it("delivers pings and UDP with the link type, nanosecond times, snaplen and stats", async () => {
    const sink = collector();
    const { source, done } = await start({ interface: IF_A, snaplen: 96, interfaceId: 3 }, sink);
    const before = Date.now();
    await ping(NS_A, ADDR_B, 3);
    await sendUdp(5555, 1000, 5);
    await waitFor(
      "5 UDP datagrams",
      () => sink.seen.filter((s) => udpDstPort(s.frame) === 5555).length === 5,
    );
    const stats = source.stats();
    source.stop();
    await expect(done).resolves.toEqual({
      packets: sink.seen.length,
      bytesRead: expect.any(Number),
    });

    expect(sink.interfaces).toEqual([[3, LinkType.ETHERNET, 96]]);
    const requests = sink.seen.filter((s) => isIcmpEcho(s.frame, 8));
    const replies = sink.seen.filter((s) => isIcmpEcho(s.frame, 0));
    expect(requests.length).toBe(3);
    expect(replies.length).toBe(3);
    for (const s of sink.seen) {
      expect(s.iface).toBe(3);
      expect(s.linkType).toBe(LinkType.ETHERNET);
      // Packet time is the kernel's, taken between the send and the delivery.
      const ms = Number(s.tsNs / 1_000_000n);
      expect(ms).toBeGreaterThanOrEqual(before - 5);
      expect(ms).toBeLessThanOrEqual(s.at + 5);
      expect(s.capLen).toBe(Math.min(96, s.origLen));
    }
    const udp = sink.seen.filter((s) => udpDstPort(s.frame) === 5555);
    // 14 Ethernet + 20 IPv4 + 8 UDP + 1000, cut to the snaplen.
    expect(udp.map((s) => [s.origLen, s.capLen])).toEqual(Array(5).fill([1042, 96]));
    // Nanosecond precision: a microsecond clock would leave every time a multiple of 1000.
    expect(sink.seen.some((s) => s.tsNs % 1000n !== 0n)).toBe(true);
    expect(stats.packets).toBe(sink.seen.length);
    expect(stats.bytes).toBe(sink.seen.reduce((n, s) => n + s.origLen, 0));
    expect(stats.received).toBeGreaterThanOrEqual(sink.seen.length);
    expect(stats.droppedKernel).toBe(0);
    expect(stats.reopens).toBe(0);
  });

  it("applies the BPF filter, and delivers within the block timeout without immediate mode", async () => {
    const sink = collector();
    const { source, done } = await start(
      { interface: IF_B, filter: "udp dst port 5556", immediate: false, timeoutMs: 100 },
      sink,
    );
    await ping(NS_A, ADDR_B, 2);
    await sendUdp(5557, 100, 3);
    const sent = Date.now();
    await sendUdp(5556, 100, 1);
    await waitFor("the filtered datagram", () => sink.seen.length > 0, 2_000);
    // Nothing else comes through the filter, however long we wait.
    await new Promise((r) => setTimeout(r, 300));
    source.stop();
    await done;
    expect(sink.seen.map((s) => udpDstPort(s.frame))).toEqual([5556]);
    expect(sink.seen[0]?.origLen).toBe(142);
    // Kernel block timeout 100 ms: no packet waits for a block to fill.
    expect((sink.seen[0]?.at ?? 0) - sent).toBeLessThan(1_000);
  });

  it("rejects a bad filter with a LiveCaptureError of kind filter", async () => {
    const source = new LiveSource({ interface: IF_A, filter: "udp port banana" });
    const err = await source.run(collector()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LiveCaptureError);
    expect((err as LiveCaptureError).kind).toBe("filter");
    expect((err as LiveCaptureError).message).toMatch(/"udp port banana": .*banana/);
  });

  it("is stopped safely from inside the sink", async () => {
    let source: LiveSource | undefined;
    let delivered = 0;
    const sink: PacketSink = {
      packet() {
        delivered++;
        source?.stop();
      },
    };
    const started = await start({ interface: IF_A, immediate: true }, sink);
    source = started.source;
    await sendUdp(5558, 10, 20);
    await expect(started.done).resolves.toMatchObject({ packets: expect.any(Number) });
    // The rest of that batch still went to the sink; nothing after the stop did.
    const atStop = delivered;
    await sendUdp(5558, 10, 5);
    await new Promise((r) => setTimeout(r, 200));
    expect(delivered).toBe(atStop);
    expect(started.states.at(-1)).toEqual(["stopped", undefined]);
  });

  it("MultiSource: both interfaces into one sink, ids 0 and 1", async () => {
    const sink = collector();
    const multi = new MultiSource([
      { interface: IF_A, immediate: true },
      { interface: IF_B, immediate: true },
    ]);
    const done = multi.run(sink);
    await waitFor("both interfaces", () => sink.interfaces.length === 2);
    await ping(NS_A, ADDR_B, 2);
    await waitFor("2 requests on each", () =>
      [0, 1].every(
        (id) => sink.seen.filter((s) => s.iface === id && isIcmpEcho(s.frame, 8)).length === 2,
      ),
    );
    const stats = multi.stats();
    multi.stop();
    await done;
    expect(sink.interfaces.sort()).toEqual([
      [0, LinkType.ETHERNET, 262144],
      [1, LinkType.ETHERNET, 262144],
    ]);
    expect(stats.map((s) => s.packets)).toEqual(
      [0, 1].map((id) => sink.seen.filter((s) => s.iface === id).length),
    );
  });

  it("waits for a missing interface, and comes back after it is deleted and recreated", async () => {
    const sink = collector();
    const states: [LiveState, string?][] = [];
    const source = new LiveSource({
      interface: IF_C,
      immediate: true,
      retry: { initialMs: 50, maxMs: 200 },
      onState: (s, d) => states.push([s, d]),
    });
    const done = source.run(sink);
    done.catch(() => {});
    await waitFor("down", () => states.length > 0);
    expect(states[0]?.[0]).toBe("down");
    expect(states[0]?.[1]).toContain(IF_C);

    await addVeth(IF_C, NS_A, "vC", ADDR_C);
    await waitFor("capturing", () => states.some(([s]) => s === "capturing"));
    await ping(NS_A, ADDR_NOBODY, 1);
    await waitFor("ARP for the unowned address", () => sink.seen.some((s) => isArp(s.frame)));

    const capturingAt = states.length;
    ip("link", "del", IF_C);
    await waitFor("down again", () => states.slice(capturingAt).some(([s]) => s === "down"));
    const seenBefore = sink.seen.length;
    await addVeth(IF_C, NS_A, "vC", ADDR_C);
    await waitFor("capturing again", () =>
      states.slice(capturingAt).some(([s]) => s === "capturing"),
    );
    await ping(NS_A, ADDR_NOBODY, 1);
    await waitFor("ARP after the reopen", () =>
      sink.seen.slice(seenBefore).some((s) => isArp(s.frame)),
    );

    const stats = source.stats();
    source.stop();
    await done;
    ip("link", "del", IF_C);
    expect(stats.reopens).toBe(1);
    expect(stats.packets).toBe(sink.seen.length);
    // The interface is declared again on every open.
    expect(sink.interfaces).toEqual([
      [0, LinkType.ETHERNET, 262144],
      [0, LinkType.ETHERNET, 262144],
    ]);
    const kinds = states.map(([s]) => s);
    expect(kinds.at(-1)).toBe("stopped");
    expect(kinds.filter((s) => s === "capturing")).toHaveLength(2);
  });

  it("an interface taken down goes down, and comes back when it is up", async () => {
    const sink = collector();
    await addVeth(IF_C, NS_A, "vC", ADDR_C);
    const { source, done, states } = await start(
      { interface: IF_C, immediate: true, retry: { initialMs: 50, maxMs: 200 } },
      sink,
    );
    ip("link", "set", IF_C, "down");
    await waitFor("down", () => states.some(([s]) => s === "down"));
    expect(states.find(([s]) => s === "down")?.[1]).toMatch(/went down|not up/);
    ip("link", "set", IF_C, "up");
    await waitFor("capturing again", () => states.filter(([s]) => s === "capturing").length === 2);
    await ping(NS_A, ADDR_NOBODY, 1);
    await waitFor("ARP after coming up", () => sink.seen.some((s) => isArp(s.frame)));
    source.stop();
    await done;
    ip("link", "del", IF_C);
    expect(source.stats().reopens).toBe(1);
  });
});

describe("live capture without privileges", () => {
  const haveSetpriv = (() => {
    try {
      execFileSync("setpriv", ["--version"], { stdio: "ignore" });
      return process.getuid?.() === 0;
    } catch {
      return false;
    }
  })();
  if (!haveSetpriv) return missingPrerequisite("needs root and setpriv to run a child as nobody");
  try {
    loadPcapAddon();
  } catch (e) {
    return missingPrerequisite((e as Error).message);
  }

  let dir = "";
  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("reports kind permission with the setcap hint", async () => {
    dir = mkdtempSync(join(tmpdir(), "egressd-live-"));
    chmodSync(dir, 0o755);
    const module = compileForChild(dir);
    // Opening lo is refused before any packet could be read: no traffic at all.
    const script = `
      import { LiveSource } from ${JSON.stringify(module)};
      new LiveSource({ interface: "lo" }).run({ packet() {} }).then(
        () => console.log(JSON.stringify({ resolved: true })),
        (e) => console.log(JSON.stringify({ name: e.name, kind: e.kind, message: e.message })),
      );`;
    const argv = ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all"];
    const child = spawn(
      "setpriv",
      [...argv, process.execPath, "--input-type=module", "-e", script],
      {
        cwd: dir,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let errOut = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (errOut += c));
    const code = await new Promise<number | null>((res, rej) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        rej(new Error(`child timed out: ${out}${errOut}`));
      }, 20_000);
      child.on("exit", (c) => {
        clearTimeout(timer);
        res(c);
      });
    });
    expect(code, errOut).toBe(0);
    const result = JSON.parse(out);
    expect(result.name).toBe("LiveCaptureError");
    expect(result.kind).toBe("permission");
    expect(result.message).toContain("lo");
    expect(result.message).toContain(
      "sudo setcap cap_net_raw,cap_net_admin=eip $(readlink -f $(which node))",
    );
    expect(result.message).toContain("AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN");
    expect(result.message).toContain("--cap-add NET_RAW --cap-add NET_ADMIN");
  });
});

describe("defaultRouteInterface", () => {
  it("names the interface of the lowest-metric default route", () => {
    const dir = mkdtempSync(join(tmpdir(), "egressd-route-"));
    try {
      const file = join(dir, "route");
      const header =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";
      writeFileSync(
        file,
        `${header}` +
          "wlan0\t00000000\t0102A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n" +
          "eth1\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +
          "eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n" +
          // Not up (flags 0): never chosen.
          "eth9\t00000000\t0100000A\t0000\t0\t0\t1\t00000000\t0\t0\t0\n",
      );
      expect(defaultRouteInterface(file)).toBe("eth0");
      writeFileSync(file, `${header}eth1\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n`);
      expect(defaultRouteInterface(file)).toBeNull();
      expect(defaultRouteInterface(join(dir, "missing"))).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("agrees with `ip route show default` on this machine", () => {
    const out = execFileSync("ip", ["-4", "route", "show", "default"], { encoding: "utf8" });
    const dev = /\bdev (\S+)/.exec(out)?.[1] ?? null;
    expect(defaultRouteInterface()).toBe(dev);
  });
});
