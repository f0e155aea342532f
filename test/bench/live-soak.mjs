#!/usr/bin/env node
/**
 * RSS soak of `egressd run` (issue 7: "Also report RSS after 10 minutes"): the daemon
 * captures live in a gateway namespace while tcpreplay loops a camera-VLAN capture (200
 * cameras streaming RTSP/RTP to an NVR, plus DNS, NTP, HTTP and TLS calls to "internet"
 * hosts) onto the veth from a camera namespace, at a steady rate, with the shipped rule
 * packs, device groups, the alert store and a log sink. Every interval it samples the
 * daemon's RSS (/proc/PID/status VmRSS) and /metrics (heap, flows, packets, drops); at the
 * end it stops the daemon with SIGTERM and checks it exits 0.
 *
 *   npm run build && node test/bench/live-soak.mjs [--seconds 600] [--pps 20000]
 *                                                  [--interval 30] [--packets 1200000]
 *
 * Verdict (exit 1 on a FAIL): RSS flat over the last 5 minutes (the last half of a
 * shorter run): it grows less than 10% and does not rise at every sample; no packet
 * dropped by the capture or the veth; clean exit 0 on SIGTERM. The rate the sender
 * reached is printed beside it (a rate not reached is the sender's limit, not a FAIL).
 *
 * The capture is test/fixtures/generated/camera-vlan-<packets>.pcap, the one run.mjs
 * generates (reused when it is fresh). Before anything is sent, every IPv4 address in it
 * (IP and ARP) is read and checked to be private 10/8 or documentation range, and each is
 * assigned to one of the two namespaces' interfaces: 10.20.0.0/24 but the gateway (the
 * cameras) to the camera side, the rest (gateway, NVR, DNS, NTP, internet hosts) to the
 * gateway side. A frame of any other type (IPv6 included) stops the run.
 *
 * Network safety: both namespaces are created here, joined by one veth pair created with
 * each end already in its namespace (it never exists in the host namespace), neither has a
 * route beyond its own subnets, and both are deleted at the end, also on failure or a
 * signal. The frames keep the capture's MAC addresses, which no interface has, so the
 * gateway namespace's kernel drops them after capture and answers nothing; ARP is off on
 * both ends and IPv6 disabled, so the kernels add no traffic of their own.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const GENERATOR = join(ROOT, "test/bench/generate-camera-vlan.mjs");
const FIXTURES = join(ROOT, "test/fixtures/generated");
const EGRESSD = join(ROOT, "bin/egressd.js");

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "600" },
    pps: { type: "string", default: "20000" },
    interval: { type: "string" },
    packets: { type: "string", default: "1200000" },
  },
});
const num = (s) => Number(String(s).replaceAll("_", ""));
const SECONDS = num(args.seconds);
const PPS = num(args.pps);
const PACKETS = num(args.packets);
// Every 30 s on a soak; a quick run gets more points than two.
const INTERVAL = args.interval !== undefined ? num(args.interval) : SECONDS >= 300 ? 30 : 10;
for (const [name, v] of Object.entries({ SECONDS, PPS, PACKETS, INTERVAL })) {
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`live-soak: --${name.toLowerCase()} must be a positive whole number`);
    process.exit(2);
  }
}
/** RSS may grow this much over the judged window before it counts as growth. */
const FLAT_GROWTH = 0.1;
/** The judged window: the last 5 minutes, or the last half of a shorter run. */
const WINDOW_SECONDS = Math.min(300, SECONDS / 2);

// Namespace names share netns.ts's prefix, so its stale-namespace sweep knows them too.
const NS_CAM = `egressd-t-${process.pid}-soakc`;
const NS_GW = `egressd-t-${process.pid}-soaks`;
const CAM_IF = "veth-c";
const GW_IF = "veth-s";
const HTTP = "127.0.0.1:9810"; // the gateway namespace's own loopback

if (process.getuid?.() !== 0) {
  console.error("live-soak: needs root (network namespaces, capture)");
  process.exit(2);
}
for (const tool of ["tcpreplay", "curl"]) {
  try {
    execFileSync(tool, ["--version"], { stdio: "ignore" });
  } catch {
    console.error(`live-soak: needs ${tool} (Debian: apt-get install ${tool})`);
    process.exit(2);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ip = (...a) => execFileSync("ip", a, { stdio: ["ignore", "ignore", "pipe"] });
const mib = (bytes) => (bytes / 2 ** 20).toFixed(1);
const fmtInt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-");

// ---------------------------------------------------------------------------------------
// The capture: generated like run.mjs does (same name and metadata, so both reuse it)

function ensureCapture(packets) {
  const file = join(FIXTURES, `camera-vlan-${packets}.pcap`);
  const metaFile = `${file}.json`;
  const generatorHash = createHash("sha256").update(readFileSync(GENERATOR)).digest("hex");
  const want = { generatorHash, packets, seed: 1, cameras: 200, mix: "camera" };
  try {
    const meta = JSON.parse(readFileSync(metaFile, "utf8"));
    const fresh = Object.entries(want).every(([k, v]) => meta[k] === v);
    if (fresh && statSync(file).size === meta.bytes) return file;
  } catch {
    // no capture or no metadata yet: generate below
  }
  console.log(`generating ${relative(ROOT, file)} (${fmtInt(packets)} packets)...`);
  const argv = [GENERATOR, "--packets", `${packets}`, "--out", file];
  const r = spawnSync(process.execPath, [...argv, "--seed", "1", "--cameras", "200"], {
    stdio: "inherit",
  });
  if (r.status !== 0) throw new Error(`generator failed (${r.status ?? r.signal})`);
  writeFileSync(metaFile, `${JSON.stringify({ ...want, bytes: statSync(file).size }, null, 2)}\n`);
  return file;
}

const ipText = (b, at) => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
const allowed = (a) =>
  a.startsWith("10.") ||
  a.startsWith("192.0.2.") ||
  a.startsWith("198.51.100.") ||
  a.startsWith("203.0.113.");

/**
 * Every IPv4 address the capture's IP and ARP frames carry; throws on any other frame type
 * or an address outside 10/8 and the documentation ranges. Reads the file in chunks.
 */
function captureAddresses(file) {
  const fd = openSync(file, "r");
  const buf = Buffer.alloc(8 << 20);
  const found = new Set();
  let filePos = 24; // after the classic pcap header
  try {
    const header = Buffer.alloc(24);
    readSync(fd, header, 0, 24, 0);
    if (header.readUInt32LE(0) !== 0xa1b2c3d4 || header.readUInt32LE(20) !== 1) {
      throw new Error(`${file}: not a little-endian microsecond Ethernet pcap`);
    }
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, filePos);
      if (n === 0) break;
      let p = 0;
      while (p + 16 <= n) {
        const capLen = buf.readUInt32LE(p + 8);
        if (p + 16 + capLen > n) break; // the rest comes with the next chunk
        let f = p + 16 + 12;
        let type = buf.readUInt16BE(f);
        if (type === 0x8100) {
          f += 4;
          type = buf.readUInt16BE(f);
        }
        f += 2;
        if (type === 0x0800) {
          found.add(ipText(buf, f + 12));
          found.add(ipText(buf, f + 16));
        } else if (type === 0x0806) {
          found.add(ipText(buf, f + 14));
          found.add(ipText(buf, f + 24));
        } else {
          throw new Error(`${file}: a frame of EtherType 0x${type.toString(16)} (not sent)`);
        }
        p += 16 + capLen;
      }
      if (p === 0) throw new Error(`${file}: a record larger than ${buf.length} bytes`);
      filePos += p;
    }
  } finally {
    closeSync(fd);
  }
  found.delete("0.0.0.0"); // an ARP request's unknown target hardware side, not an address
  const bad = [...found].filter((a) => !allowed(a));
  if (bad.length > 0) throw new Error(`${file}: addresses outside the test ranges: ${bad}`);
  return found;
}

// ---------------------------------------------------------------------------------------
// Namespaces

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
}

/** Kills what still runs inside `ns` (only ever our own processes), then deletes it. */
function removeNetns(ns) {
  try {
    const pids = execFileSync("ip", ["netns", "pids", ns], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    for (const pid of pids.split("\n").filter(Boolean)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // already gone
      }
    }
  } catch {
    // namespace already gone
  }
  try {
    ip("netns", "del", ns); // takes its end of the veth, and with it the peer
  } catch {
    // already gone
  }
}

/** Soak namespaces left by a run that died without cleaning up. */
function removeStaleNetns() {
  const list = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  for (const ns of list.split("\n").map((l) => l.split(" ")[0])) {
    const m = /^egressd-t-(\d+)-soak[cs]$/.exec(ns ?? "");
    if (m && !pidAlive(Number(m[1]))) removeNetns(ns);
  }
}

function setup(addresses) {
  removeStaleNetns();
  ip("netns", "add", NS_CAM);
  ip("netns", "add", NS_GW);
  ip("link", "add", CAM_IF, "netns", NS_CAM, "type", "veth", "peer", "name", GW_IF, "netns", NS_GW);
  const camSide = [...addresses].filter((a) => a.startsWith("10.20.0.") && a !== "10.20.0.1");
  const gwSide = [...addresses].filter((a) => !camSide.includes(a));
  for (const [ns, dev, addrs] of [
    [NS_CAM, CAM_IF, camSide],
    [NS_GW, GW_IF, gwSide],
  ]) {
    // No link-local address, no IPv6 at all, no ARP: the kernels stay silent on the link.
    ip("-n", ns, "link", "set", dev, "addrgenmode", "none");
    ip("netns", "exec", ns, "sysctl", "-q", `net.ipv6.conf.${dev}.disable_ipv6=1`);
    ip("-n", ns, "link", "set", dev, "arp", "off");
    // The capture's 802.1Q-tagged frames are 4 bytes longer than the MTU allows.
    ip("-n", ns, "link", "set", dev, "mtu", "1504");
    const batch = addrs.map((a) => `addr add ${a}/32 dev ${dev}`).join("\n");
    execFileSync("ip", ["-n", ns, "-batch", "-"], { input: `${batch}\n` });
    ip("-n", ns, "link", "set", "lo", "up");
    ip("-n", ns, "link", "set", dev, "up");
  }
  return { camSide, gwSide };
}

function teardown() {
  removeNetns(NS_CAM);
  removeNetns(NS_GW);
}

/** The veth's kernel counters, from inside its namespace. */
function vethStats(ns, dev) {
  const out = execFileSync("ip", ["-n", ns, "-j", "-s", "link", "show", dev], {
    encoding: "utf8",
  });
  return JSON.parse(out)[0].stats64;
}

// ---------------------------------------------------------------------------------------
// The daemon

/** Starts `cmd` inside `ns`; `ip netns exec` execs it, so the child's pid is the command's. */
function spawnIn(ns, argv) {
  const child = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
  // Always read the output: a daemon blocked on a full pipe would stop capturing.
  let output = "";
  const keep = (c) => {
    output = (output + c).slice(-32_768);
  };
  child.stdout.setEncoding("utf8").on("data", keep);
  child.stderr.setEncoding("utf8").on("data", keep);
  return { child, output: () => output };
}

function writeConfig(dir) {
  const file = join(dir, "egressd.yaml");
  writeFileSync(
    file,
    `sensor: { name: soak-gateway }
capture:
  interfaces: [${GW_IF}]
geoip:
  bundled: true
  internet_ranges: [198.51.100.0/24, 203.0.113.0/24]
devices:
  store: ${dir}/egressd.db
  groups:
    - { name: soak-gateway, role: gateway, cidrs: [10.20.0.1/32] }
    - { name: soak-cameras, role: camera, cidrs: [10.20.0.0/24] }
    - { name: soak-nvr, role: nvr, cidrs: [10.20.1.10/32] }
    - { name: soak-dns, role: dns, cidrs: [10.20.1.53/32] }
    - { name: soak-ntp, role: ntp, cidrs: [10.20.1.123/32] }
rules:
  paths: [${join(ROOT, "rules")}]
alerts:
  store: ${dir}/egressd.db
  sinks:
    - { name: file, type: log, file: ${dir}/alerts.json }
http:
  listen: ${HTTP}
`,
  );
  return file;
}

/** GET from the daemon's listener, through curl inside its namespace; null on failure. */
function httpGet(path) {
  const r = spawnSync(
    "ip",
    ["netns", "exec", NS_GW, "curl", "-sS", "-f", "--max-time", "5", `http://${HTTP}${path}`],
    { encoding: "utf8", timeout: 10_000 },
  );
  return r.status === 0 ? r.stdout : null;
}

/** The sum of every series of `name` (all label sets); NaN when there is none. */
function metric(text, name) {
  const re = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm");
  let sum = Number.NaN;
  for (const m of text.matchAll(re)) sum = (Number.isNaN(sum) ? 0 : sum) + Number(m[1]);
  return sum;
}

function vmRssBytes(pid) {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

// ---------------------------------------------------------------------------------------
// The run

const dir = mkdtempSync(join(tmpdir(), "egressd-soak-"));
const started = []; // our children, killed by pid on the way out
process.on("exit", () => {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  teardown();
  rmSync(dir, { recursive: true, force: true });
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(130));

try {
  const file = ensureCapture(PACKETS);
  const addresses = captureAddresses(file);
  const { camSide, gwSide } = setup(addresses);
  console.log(
    `live soak: ${relative(ROOT, file)} looped by tcpreplay at ${fmtInt(PPS)} packets/s for ` +
      `${SECONDS} s, ${NS_CAM}/${CAM_IF} -> ${NS_GW}/${GW_IF}; ${camSide.length} camera-side ` +
      `and ${gwSide.length} gateway-side addresses; sampling every ${INTERVAL} s\n`,
  );

  const config = writeConfig(dir);
  const daemon = spawnIn(NS_GW, [process.execPath, EGRESSD, "run", "-c", config]);
  started.push(daemon.child);
  const pid = daemon.child.pid;
  const readyBy = Date.now() + 60_000;
  while (httpGet("/readyz") === null) {
    if (daemon.child.exitCode !== null || Date.now() > readyBy) {
      throw new Error(`egressd run did not become ready\n${daemon.output()}`);
    }
    await sleep(200);
  }
  if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("egressd.js")) {
    throw new Error(`pid ${pid} is not the daemon`);
  }

  const rows = [];
  const sample = (t, prev) => {
    const text = httpGet("/metrics");
    if (text === null) throw new Error(`/metrics did not answer\n${daemon.output()}`);
    const packets = metric(text, "egressd_capture_packets_total");
    const veth = vethStats(NS_GW, GW_IF);
    const row = {
      t,
      rssBytes: vmRssBytes(pid),
      heapBytes: metric(text, "nodejs_heap_size_used_bytes"),
      processRssBytes: metric(text, "process_resident_memory_bytes"),
      flows: metric(text, "egressd_flows_active"),
      packets,
      drops: metric(text, "egressd_capture_dropped_packets_total"),
      vethDrops: veth.rx.dropped,
      matches: metric(text, "egressd_rule_matches_total"),
      alertsStored: metric(text, "egressd_alerts_stored"),
      pps: prev ? (packets - prev.packets) / (t - prev.t) : Number.NaN,
    };
    rows.push(row);
    return row;
  };
  const print = (r) => ({
    "t (s)": r.t,
    "VmRSS MiB": mib(r.rssBytes),
    "metrics RSS MiB": mib(r.processRssBytes),
    "heap used MiB": mib(r.heapBytes),
    "flows active": fmtInt(r.flows),
    packets: fmtInt(r.packets),
    "packets/s": fmtInt(r.pps),
    "capture drops": fmtInt(r.drops),
    "veth drops": fmtInt(r.vethDrops),
    "rule matches": fmtInt(r.matches),
    "alerts stored": fmtInt(r.alertsStored),
  });

  const sent0 = vethStats(NS_CAM, CAM_IF).tx.packets;
  let last = sample(0, null);
  console.log(`ready, idle: VmRSS ${mib(last.rssBytes)} MiB, heap ${mib(last.heapBytes)} MiB`);
  // --loop=0 repeats the file until --duration ends it.
  const replayArgv = ["tcpreplay", "-q", "--loop=0", `--pps=${PPS}`, `--duration=${SECONDS}`];
  const replay = spawnIn(NS_CAM, [...replayArgv, "-i", CAM_IF, file]);
  started.push(replay.child);
  const replayExit = once(replay.child, "exit");
  const killReplay = setTimeout(() => replay.child.kill("SIGINT"), (SECONDS + 60) * 1000);
  const t0 = Date.now();
  for (let k = 1; k * INTERVAL <= SECONDS; k++) {
    await sleep(Math.max(0, t0 + k * INTERVAL * 1000 - Date.now()));
    if (replay.child.exitCode !== null && k * INTERVAL < SECONDS - 2) {
      throw new Error(`tcpreplay stopped early\n${replay.output()}`);
    }
    last = sample(Math.round((Date.now() - t0) / 1000), last);
    console.log(
      `${String(last.t).padStart(4)} s  VmRSS ${mib(last.rssBytes)} MiB  heap ${mib(last.heapBytes)} MiB  ` +
        `flows ${fmtInt(last.flows)}  ${fmtInt(last.pps)} packets/s  drops ${fmtInt(last.drops)}`,
    );
  }
  const [replayCode] = await replayExit;
  clearTimeout(killReplay);
  const replaySeconds = (Date.now() - t0) / 1000;
  if (replayCode !== 0) throw new Error(`tcpreplay exited ${replayCode}\n${replay.output()}`);
  // Let the capture hand over what is still in the kernel's block, then the totals.
  await sleep(1500);
  const sent = vethStats(NS_CAM, CAM_IF).tx.packets - sent0;
  const end = sample(Math.round((Date.now() - t0) / 1000), last);
  end.pps = Number.NaN; // a partial interval after the sender stopped

  const stopAt = Date.now();
  const exited = once(daemon.child, "exit");
  daemon.child.kill("SIGTERM");
  const stopTimer = setTimeout(() => daemon.child.kill("SIGKILL"), 60_000);
  const [exitCode, exitSignal] = await exited;
  clearTimeout(stopTimer);
  const stopSeconds = (Date.now() - stopAt) / 1000;

  console.log();
  console.table(rows.map(print));

  // --- verdict ------------------------------------------------------------------------
  const active = rows.filter((r) => r.t > 0 && r !== end);
  const at = (t) => active.reduce((a, b) => (Math.abs(b.t - t) < Math.abs(a.t - t) ? b : a));
  const first = at(60);
  const final = active[active.length - 1];
  const window = active.filter((r) => r.t >= final.t - WINDOW_SECONDS);
  const w0 = window[0];
  const growth = (final.rssBytes - w0.rssBytes) / w0.rssBytes;
  const steps = window.slice(1).map((r, i) => r.rssBytes - window[i].rssBytes);
  // A leak shows as a rise at every sample; judged only with enough samples to mean it.
  const climbing = steps.length >= 3 && steps.every((d) => d > 0);
  const flat = growth < FLAT_GROWTH && !climbing;
  const drops = end.drops + end.vethDrops;
  const capturedRate = (end.packets - rows[0].packets) / replaySeconds;
  const sentRate = sent / replaySeconds;
  const pct = (x) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;

  const verdicts = [
    `${flat ? "PASS" : "FAIL"} RSS flat: ${mib(w0.rssBytes)} MiB at ${w0.t} s -> ` +
      `${mib(final.rssBytes)} MiB at ${final.t} s (${pct(growth)} over the last ` +
      `${final.t - w0.t} s, limit ${pct(FLAT_GROWTH)}; ` +
      `${climbing ? "rose at every sample" : "no monotone climb"})`,
    `     RSS at ${first.t} s ${mib(first.rssBytes)} MiB, at ${final.t} s ` +
      `${mib(final.rssBytes)} MiB (${pct((final.rssBytes - first.rssBytes) / first.rssBytes)}); ` +
      `heap used ${mib(first.heapBytes)} -> ${mib(final.heapBytes)} MiB; idle before traffic ` +
      `${mib(rows[0].rssBytes)} MiB`,
    `${drops === 0 ? "PASS" : "FAIL"} drops: ${fmtInt(end.drops)} by the capture, ` +
      `${fmtInt(end.vethDrops)} by the veth; ${fmtInt(end.packets - rows[0].packets)} ` +
      `packets captured of ${fmtInt(sent)} sent`,
    `${sentRate >= PPS * 0.95 ? "     " : "NOT REACHED"} rate: sender ${fmtInt(sentRate)} ` +
      `packets/s, captured ${fmtInt(capturedRate)} packets/s (target ${fmtInt(PPS)}) over ` +
      `${replaySeconds.toFixed(0)} s`,
    `${exitCode === 0 ? "PASS" : "FAIL"} SIGTERM: exit ${exitCode ?? exitSignal} after ` +
      `${stopSeconds.toFixed(1)} s`,
  ];
  console.log(verdicts.join("\n"));
  if (exitCode !== 0) console.log(daemon.output());
  if (verdicts.some((v) => v.startsWith("FAIL"))) process.exitCode = 1;
} catch (e) {
  console.error(`live-soak: ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  teardown();
}
