#!/usr/bin/env node
/**
 * Alert storm benchmark (issue 6): a compromised camera opens 10,000 new connections to
 * the internet every second for a minute, each one an alert (flow_attempt, camera,
 * outbound). egressd replay --alerts must read every packet, fold the repeats, hold the
 * rest back under the rate limit and account for every rule match, while the store, the
 * sink queue and the dedup table stay within their configured bounds and memory stays flat.
 *
 *   npm run build && node test/bench/alert-storm.mjs [--seconds 60] [--reps 3]
 *
 * Runs on the same capture, in the same process tree, so the rates compare: tcpdump
 * reading and writing it, egressd replay without --alerts (flow records), with --alerts in
 * memory (no store, no sinks), and with --alerts through the SQLite store and a log sink
 * (the store is sampled while it runs, for the peak queue depth). Memory: peak heap on a
 * storm twice as long, beside the full one. Both run past the first 30 s of packet time,
 * where unanswered SYNs (flows.timeouts.tcp_new) only pile up in the flow table, so the
 * comparison sees what the alert path keeps, not the table filling. The captures are
 * generated into test/fixtures/generated/ (documentation and private addresses only; they
 * are only read, never sent).
 *
 * Checks (exit 1 when one fails): every packet read and every flow matched; alerts stored
 * <= retention.max_alerts; queue rows <= queue.max_items, none dropped; dedup rows <=
 * max_dedup_keys; the log sink got every stored alert; rule matches = alerts sent one by
 * one + repeats reported (egressd.repeat.count) + held back reported (the EGRESSD-RATE-LIMIT
 * summaries' egressd.held_back.total), counted both in the store and in the sink's file;
 * peak heap on the double storm no larger than on the full one (within slack).
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURES = join(ROOT, "test/fixtures/generated");
const EGRESSD = join(ROOT, "bin/egressd.js");
const EGRESSD_MAIN = join(ROOT, "dist/cli/main.js");
const Database = createRequire(join(ROOT, "package.json"))("better-sqlite3");

const FLOWS_PER_SECOND = 10_000;
const INTERNET = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"];
/** Half the storm goes to these, so dedup has repeats to fold. */
const FIXED_DESTINATIONS = [
  "203.0.113.10",
  "203.0.113.11",
  "198.51.100.20",
  "192.0.2.30",
  "192.0.2.31",
];
/**
 * What a Mirai-like scanner knocks on. The source port cycles every 64,000 flows and the
 * port changes with each cycle, so a 5-tuple comes back only after 640,000 flows (64 s),
 * long after flows.timeouts.tcp_new ended its flow: every SYN is a new flow.
 */
const SCAN_PORTS = [23, 2323, 80, 8080, 81, 7547, 5555, 37215, 52869, 8443];
const CAMERA_IP = "10.20.0.66";
const ALERTS = {
  cooldown: "15m",
  max_dedup_keys: 20_000,
  rate_limit: { per_second: 20, burst: 200 },
  retention: { max_alerts: 100_000 },
  queueMaxItems: 50_000,
};
/** Unanswered SYNs stay in the flow table this long (set in the config below). */
const TCP_NEW_SECONDS = 30;
const RATE_LIMIT_RULE_ID = "EGRESSD-RATE-LIMIT";
// As in run.mjs. The live heap is sampled once a second, at different moments of the flow
// table's churn on the two storms, so equal live sets still differ by a few MB.
const HEAP_SLACK_BYTES = 32 * 2 ** 20;
const HEAP_SLACK_RATIO = 0.25;
/** No run may take longer than this (a hung egressd fails the bench instead of hanging it). */
const RUN_TIMEOUT_MS = 10 * 60_000;

const { values: opts } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    reps: { type: "string", default: "3" },
  },
});
const SECONDS = Math.max(2, Math.round(Number(opts.seconds)));
const REPS = Math.max(1, Math.round(Number(opts.reps)));

const fmtInt = (n) =>
  n == null || Number.isNaN(n) ? "n/a" : Math.round(n).toLocaleString("en-US");
const fmtMB = (bytes) =>
  bytes == null || Number.isNaN(bytes) ? "n/a" : `${(bytes / 1e6).toFixed(0)} MB`;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ok = (pass) => (pass ? "OK" : "FAIL");

// ---------------------------------------------------------------------------------------
// The capture: one TCP SYN per flow, Ethernet/IPv4/TCP with an MSS option, 100 us apart

/** mulberry32, seeded: the same arguments give the same file byte for byte. */
function makeRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ipWord = (s) => s.split(".").reduce((w, o) => w * 256 + Number(o), 0);
/** Ones' complement sum of big-endian 16-bit words in buf[start, end). */
function sum16(buf, start, end, sum = 0) {
  for (let i = start; i < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  return sum;
}
const fold16 = (sum) => {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
};

const FRAME = 14 + 20 + 24; // Ethernet, IPv4, TCP with a 4-byte MSS option
const RECORD = 16 + FRAME;
const CAMERA_MAC = [0x44, 0x19, 0xb6, 0x00, 0x00, 0x66]; // a Hikvision OUI
const GATEWAY_MAC = [0x02, 0x00, 0x00, 0x20, 0x00, 0x01]; // locally administered
const T0 = 1_704_067_200; // 2024-01-01T00:00:00Z

function writeStorm(file, seconds) {
  const flows = seconds * FLOWS_PER_SECOND;
  const random = makeRandom(6);
  const fixed = FIXED_DESTINATIONS.map(ipWord);
  const internet = INTERNET.map((c) => ipWord(c.split("/")[0]));
  const src = ipWord(CAMERA_IP);
  const buf = Buffer.alloc(24 + flows * RECORD);
  buf.writeUInt32LE(0xa1b2c3d4, 0); // microsecond pcap, little-endian
  buf.writeUInt16LE(2, 4);
  buf.writeUInt16LE(4, 6);
  buf.writeUInt32LE(262144, 16);
  buf.writeUInt32LE(1, 20); // Ethernet
  for (let i = 0, at = 24; i < flows; i++, at += RECORD) {
    const dst =
      random() < 0.5
        ? fixed[Math.floor(random() * fixed.length)]
        : internet[Math.floor(random() * internet.length)] + 1 + Math.floor(random() * 254);
    const sport = 1024 + (i % 64_000);
    const dport = SCAN_PORTS[Math.floor(i / 64_000) % SCAN_PORTS.length];
    buf.writeUInt32LE(T0 + Math.floor(i / FLOWS_PER_SECOND), at);
    buf.writeUInt32LE((i % FLOWS_PER_SECOND) * (1e6 / FLOWS_PER_SECOND), at + 4);
    buf.writeUInt32LE(FRAME, at + 8);
    buf.writeUInt32LE(FRAME, at + 12);
    const e = at + 16;
    buf.set(GATEWAY_MAC, e);
    buf.set(CAMERA_MAC, e + 6);
    buf.writeUInt16BE(0x0800, e + 12);
    const ip = e + 14;
    buf.writeUInt16BE(0x4500, ip);
    buf.writeUInt16BE(20 + 24, ip + 2);
    buf.writeUInt16BE(i & 0xffff, ip + 4);
    buf.writeUInt16BE(0x4000, ip + 6); // DF
    buf[ip + 8] = 64;
    buf[ip + 9] = 6;
    buf.writeUInt32BE(src, ip + 12);
    buf.writeUInt32BE(dst, ip + 16);
    buf.writeUInt16BE(fold16(sum16(buf, ip, ip + 20)), ip + 10);
    const tcp = ip + 20;
    buf.writeUInt16BE(sport, tcp);
    buf.writeUInt16BE(dport, tcp + 2);
    buf.writeUInt32BE(Math.floor(random() * 4294967296), tcp + 4);
    buf[tcp + 12] = 6 << 4; // 24-byte header
    buf[tcp + 13] = 0x02; // SYN
    buf.writeUInt16BE(64240, tcp + 14);
    buf.writeUInt32BE(0x020405b4, tcp + 20); // MSS 1460
    // Pseudo-header: addresses, protocol, TCP length.
    const pseudo = sum16(buf, ip + 12, ip + 20, 6 + 24);
    buf.writeUInt16BE(fold16(sum16(buf, tcp, tcp + 24, pseudo)), tcp + 16);
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, buf);
  return { file, seconds, flows, packets: flows, bytes: buf.length };
}

// Regenerated when missing or when the generator or what it draws on changed.
const generatorHash = createHash("sha256")
  .update([makeRandom, ipWord, sum16, fold16, writeStorm].map(String).join("\n"))
  .update(JSON.stringify([FLOWS_PER_SECOND, INTERNET, FIXED_DESTINATIONS, SCAN_PORTS, CAMERA_IP]))
  .update(JSON.stringify([FRAME, CAMERA_MAC, GATEWAY_MAC, T0]))
  .digest("hex");

function ensureStorm(seconds) {
  const file = join(FIXTURES, `alert-storm-${seconds}s.pcap`);
  const metaFile = `${file}.json`;
  try {
    const meta = JSON.parse(readFileSync(metaFile, "utf8"));
    if (meta.generatorHash === generatorHash && existsSync(file)) return { file, ...meta };
  } catch {
    // no capture or no metadata yet
  }
  console.log(`generating ${relative(ROOT, file)} (${seconds} s of storm)...`);
  const c = writeStorm(file, seconds);
  const meta = { generatorHash, seconds, flows: c.flows, packets: c.packets, bytes: c.bytes };
  writeFileSync(metaFile, `${JSON.stringify(meta, null, 2)}\n`);
  return { file, ...meta };
}

// ---------------------------------------------------------------------------------------
// The rule and the config (JSON is YAML), in a temp dir per run so no run sees another's store

const RULE = `rules:
  - id: BENCH-STORM-001
    name: Camera opens a connection to the internet
    severity: high
    trigger: flow_attempt
    when:
      source.role: camera
      network.direction: outbound
`;

function makeSetup(dir, withStore) {
  const rules = join(dir, "rules");
  mkdirSync(rules, { recursive: true });
  writeFileSync(join(rules, "storm.yaml"), RULE);
  const alerts = {
    cooldown: ALERTS.cooldown,
    max_dedup_keys: ALERTS.max_dedup_keys,
    rate_limit: ALERTS.rate_limit,
    retention: ALERTS.retention,
  };
  const store = join(dir, "egressd.db");
  const sinkFile = join(dir, "alerts.json");
  if (withStore) {
    alerts.store = store;
    alerts.sinks = [
      { name: "file", type: "log", file: sinkFile, queue: { max_items: ALERTS.queueMaxItems } },
    ];
  }
  const config = {
    sensor: { name: "alert-storm-bench" },
    geoip: { internet_ranges: INTERNET },
    devices: { groups: [{ name: "cameras", role: "camera", cidrs: ["10.20.0.0/24"] }] },
    flows: { timeouts: { tcp_new: `${TCP_NEW_SECONDS}s` } },
    alerts,
  };
  const configFile = join(dir, "egressd.yaml");
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  return { rules, configFile, store: withStore ? store : null, sinkFile };
}

// ---------------------------------------------------------------------------------------
// Running the tools

/** The JSON summary: the last stderr line that is an object with "packets". */
function parseSummary(stderr) {
  const lines = stderr.split(/\r?\n/).reverse();
  for (const line of lines) {
    if (!line.startsWith("{")) continue;
    try {
      const o = JSON.parse(line);
      if (o && typeof o === "object" && "packets" in o) return o;
    } catch {
      // not JSON; keep looking
    }
  }
  return null;
}

/** Row counts of the store's tables, or null when it cannot be read (yet). */
function storeCounts(db) {
  try {
    const queues = {};
    for (const r of db.prepare("SELECT sink, COUNT(*) AS n FROM alert_queue GROUP BY sink").all())
      queues[r.sink] = r.n;
    return {
      alerts: db.prepare("SELECT COUNT(*) AS n FROM alerts").get().n,
      dedup: db.prepare("SELECT COUNT(*) AS n FROM alert_dedup").get().n,
      queues,
    };
  } catch {
    return null;
  }
}

/**
 * Runs egressd replay to its end, stdout to /dev/null; with `store`, samples the store's
 * row counts every 100 ms (a read-only WAL reader does not block the writer) for the peaks.
 * Resolves with summary null when egressd failed or printed no summary.
 */
function runEgressd(args, store = null, nodeFlags = []) {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, [...nodeFlags, EGRESSD, "replay", ...args], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const peak = { alerts: 0, dedup: 0, queues: {}, samples: 0 };
    let db = null;
    const sample = () => {
      if (store === null) return;
      if (db === null) {
        if (!existsSync(store)) return;
        try {
          db = new Database(store, { readonly: true, fileMustExist: true, timeout: 100 });
        } catch {
          return;
        }
      }
      const c = storeCounts(db);
      if (c === null) return;
      peak.samples++;
      peak.alerts = Math.max(peak.alerts, c.alerts);
      peak.dedup = Math.max(peak.dedup, c.dedup);
      for (const [sink, n] of Object.entries(c.queues))
        peak.queues[sink] = Math.max(peak.queues[sink] ?? 0, n);
    };
    const sampler = setInterval(sample, 100);
    const killer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
    const done = (status, error) => {
      clearInterval(sampler);
      clearTimeout(killer);
      db?.close();
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const summary = status === 0 ? parseSummary(stderr) : null;
      const live = /^\{"live_heap_max_bytes".*$/m.exec(stderr);
      const liveHeap = live === null ? null : JSON.parse(live[0]);
      resolve({ args, seconds, status, error, summary, stderr, peak, liveHeap });
    };
    child.on("error", (err) => done(null, err.message));
    child.on("close", (code, signal) => done(code ?? signal, null));
  });
}

/**
 * The live heap: summary.heap_used_peak_bytes is sampled between collections, so it counts
 * garbage V8 has not collected yet, and V8 lets that grow with the heap (a storm twice as
 * long showed a ~40% higher peak over the same ~340 MB live after every full GC). This
 * preload forces a full GC every second of wall time and reports the largest heap left,
 * on its own runs (the GCs slow egressd, so these runs are not timed).
 */
const LIVE_HEAP_PRELOAD = `
const samples = [];
const timer = setInterval(() => {
  globalThis.gc();
  samples.push(process.memoryUsage().heapUsed);
}, 1000);
timer.unref();
process.on("exit", () => {
  const max = samples.length > 0 ? Math.max(...samples) : null;
  process.stderr.write(JSON.stringify({ live_heap_max_bytes: max, samples: samples.length }) + "\\n");
});
`;

/** How a failed run looks, to paste into an issue: the command and what it said last. */
function describeFailure(run) {
  const cmd = `node bin/egressd.js replay ${run.args.join(" ")}`;
  const why =
    run.error ?? (run.status === 0 ? "exit 0 but no JSON summary on stderr" : `exit ${run.status}`);
  // This machine's bundled GeoIP data is old; its two warnings say nothing about the run.
  const tail = run.stderr
    .split("\n")
    .filter((l) => l.trim() !== "" && !/GeoIP database .* was built/.test(l))
    .slice(-4);
  return `${cmd}: ${why}${tail.length > 0 ? `; stderr ends: ${tail.join(" | ")}` : ""}`;
}

function timedTcpdump(file) {
  const start = process.hrtime.bigint();
  const r = spawnSync("tcpdump", ["-n", "-r", file, "-w", "/dev/null"], {
    stdio: ["ignore", "ignore", "pipe"],
    timeout: RUN_TIMEOUT_MS,
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.error || r.status !== 0) return null;
  return seconds;
}

// ---------------------------------------------------------------------------------------
// Accounting: what the sinks got must add up to every rule match

/** Counts alert records (the store's or the sink file's) by kind. */
function account(records) {
  const a = { total: 0, single: 0, summaries: 0, rateLimit: 0, repeats: 0, heldBack: 0 };
  for (const r of records) {
    a.total++;
    const eg = r.egressd ?? {};
    a.repeats += eg.repeat?.count ?? 0;
    if (r.rule?.id === RATE_LIMIT_RULE_ID) {
      a.rateLimit++;
      a.heldBack += eg.held_back?.total ?? 0;
    } else if (eg.summary === true) a.summaries++;
    else a.single++;
  }
  return a;
}

/** What the store and the sink's file hold after a run with a store. */
function inspect(setup) {
  const db = new Database(setup.store, { readonly: true, fileMustExist: true });
  try {
    const counts = storeCounts(db);
    const records = db.prepare("SELECT record FROM alerts").all();
    const stored = account(records.map((r) => JSON.parse(r.record)));
    const lines = existsSync(setup.sinkFile)
      ? readFileSync(setup.sinkFile, "utf8")
          .split("\n")
          .filter((l) => l !== "")
      : [];
    const delivered = account(lines.map((l) => JSON.parse(l)));
    const ids = new Set(lines.map((l) => JSON.parse(l).event?.id));
    return { counts, stored, delivered, uniqueDelivered: ids.size };
  } finally {
    db.close();
  }
}

/** Every check of one store-backed storm run; returns the failures. */
function checkStorm(capture, run, found) {
  const s = run.summary;
  const fail = [];
  const matches = s.alerts;
  if (s.packets !== capture.packets)
    fail.push(`read ${fmtInt(s.packets)} of ${fmtInt(capture.packets)} packets`);
  if (s.flows_created !== capture.flows || s.flows_evicted !== 0)
    fail.push(`${fmtInt(s.flows_created)} flows created, ${fmtInt(s.flows_evicted)} evicted`);
  if (matches !== capture.flows)
    fail.push(`${fmtInt(matches)} rule matches for ${fmtInt(capture.flows)} flows`);
  const c = found.counts;
  if (Math.max(c.alerts, run.peak.alerts) > ALERTS.retention.max_alerts)
    fail.push(`store held ${fmtInt(Math.max(c.alerts, run.peak.alerts))} alerts`);
  for (const sink of new Set([...Object.keys(run.peak.queues), ...Object.keys(c.queues)])) {
    const rows = Math.max(run.peak.queues[sink] ?? 0, c.queues[sink] ?? 0);
    if (rows > ALERTS.queueMaxItems) fail.push(`queue ${sink} held ${fmtInt(rows)} rows`);
  }
  if (Math.max(c.dedup, run.peak.dedup) > ALERTS.max_dedup_keys)
    fail.push(`dedup table held ${fmtInt(Math.max(c.dedup, run.peak.dedup))} keys`);
  if (/dropped from its queue/.test(run.stderr)) fail.push("the sink queue dropped alerts");
  if (found.delivered.total !== found.stored.total || found.uniqueDelivered !== found.stored.total)
    fail.push(
      `sink file has ${fmtInt(found.delivered.total)} alerts (${fmtInt(found.uniqueDelivered)} ids), store ${fmtInt(found.stored.total)}`,
    );
  for (const [where, a] of [
    ["store", found.stored],
    ["sink file", found.delivered],
  ]) {
    const reported = a.single + a.repeats + a.heldBack;
    if (reported !== matches)
      fail.push(`${where}: ${fmtInt(reported)} accounted for, ${fmtInt(matches)} matches`);
  }
  return fail;
}

// ---------------------------------------------------------------------------------------
// Main

if (!existsSync(EGRESSD_MAIN)) {
  console.error(`alert storm: ${relative(ROOT, EGRESSD_MAIN)} missing; run npm run build`);
  process.exit(1);
}

const full = ensureStorm(SECONDS);
const long = ensureStorm(SECONDS * 2);
const tmp = mkdtempSync(join(os.tmpdir(), "egressd-storm-"));
const failures = [];

/** A store-backed storm run in a fresh temp dir, checked; failures recorded with `label`. */
async function stormRun(capture, label, nodeFlags = []) {
  const setup = makeSetup(mkdtempSync(join(tmp, "store-")), true);
  const run = await runEgressd(alertArgs(setup, capture), setup.store, nodeFlags);
  let found = null;
  try {
    found = inspect(setup);
  } catch (err) {
    failures.push(`${label}: cannot read the store: ${err.message}`);
  }
  if (run.summary === null) {
    const after =
      found === null
        ? ""
        : ` (afterwards the store holds ${fmtInt(found.counts.alerts)} alerts, ${fmtInt(found.counts.queues.file ?? 0)} still queued; the sink file ${fmtInt(found.delivered.total)})`;
    failures.push(`${label}: ${describeFailure(run)}${after}`);
    return null;
  }
  if (found !== null)
    for (const f of checkStorm(capture, run, found)) failures.push(`${label}: ${f}`);
  return found === null ? null : { run, found };
}

const alertArgs = (setup, capture) => [
  ...["--alerts", "-c", setup.configFile, "--rules", setup.rules],
  ...["--summary", "json", "--no-progress", relative(ROOT, capture.file)],
];

const tcpdumpTimes = [];
const plainRuns = [];
const memoryRuns = [];
const storeRuns = [];
const longRuns = [];
const liveRuns = [];
try {
  console.log(
    `alert storm: ${relative(ROOT, full.file)}, ${fmtInt(full.flows)} flows (${fmtInt(FLOWS_PER_SECOND)}/s for ${full.seconds} s of packet time), ${fmtMB(full.bytes)}`,
  );
  console.log(
    `timing: tcpdump -r -w /dev/null; egressd replay; replay --alerts in memory; replay --alerts with store + log sink  x${REPS} each; the store run on ${long.seconds} s x1; then both storms with a full GC every second (live heap)`,
  );
  readFileSync(full.file); // into the page cache before the first timing
  const memorySetup = makeSetup(join(tmp, "memory"), false);
  const plainArgs = ["-c", memorySetup.configFile, "--summary", "json", "--no-progress"];
  // Interleaved, so a burst of load on a shared machine hits every mode alike.
  for (let i = 0; i < REPS; i++) {
    const t = timedTcpdump(full.file);
    if (t !== null) tcpdumpTimes.push(t);
    for (const [runs, args] of [
      [plainRuns, [...plainArgs, relative(ROOT, full.file)]],
      [memoryRuns, alertArgs(memorySetup, full)],
    ]) {
      const r = await runEgressd(args);
      if (r.summary !== null) runs.push(r);
      else failures.push(describeFailure(r));
    }
    const stored = await stormRun(full, `run ${i + 1}`);
    if (stored !== null) storeRuns.push(stored);
  }
  const stored = await stormRun(long, `${long.seconds} s run`);
  if (stored !== null) longRuns.push(stored);
  const preload = join(tmp, "live-heap.mjs");
  writeFileSync(preload, LIVE_HEAP_PRELOAD);
  for (const capture of [full, long]) {
    const label = `${capture.seconds} s live-heap run`;
    liveRuns.push(await stormRun(capture, label, ["--expose-gc", "--import", preload]));
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------
// Report

const rows = [];
const row = (label, runs, capture) => {
  if (runs.length === 0) {
    rows.push([label, "0", "failed", "", "", "", "", ""]);
    return;
  }
  const seconds = median(runs.map((r) => r.seconds));
  rows.push([
    label,
    `${runs.length}`,
    seconds.toFixed(2),
    fmtInt(capture.packets / seconds),
    fmtInt(median(runs.map((r) => r.summary.packets_per_second))),
    fmtInt(runs[0].summary.alerts),
    fmtMB(Math.max(...runs.map((r) => r.summary.max_rss_bytes))),
    fmtMB(Math.max(...runs.map((r) => r.summary.heap_used_peak_bytes))),
  ]);
};
if (tcpdumpTimes.length > 0) {
  const seconds = median(tcpdumpTimes);
  rows.push(["tcpdump -r -w /dev/null", `${tcpdumpTimes.length}`, seconds.toFixed(2)]);
  rows[0].push(fmtInt(full.packets / seconds), "", "", "", "");
} else console.log("(tcpdump failed or is not installed)");
row("egressd replay (flow records)", plainRuns, full);
row("egressd replay --alerts, in memory", memoryRuns, full);
row(
  "egressd replay --alerts, store + sink",
  storeRuns.map((s) => s.run),
  full,
);
row(
  `  same, ${long.seconds} s storm`,
  longRuns.map((s) => s.run),
  long,
);

console.log();
const header = ["run", "runs", "wall s", "packets/s", "in-process pkt/s", "rule matches"];
header.push("peak RSS", "peak heap");
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const r of rows) console.log(line(r));
console.log("(wall = median, including Node start-up; packets/s = file packets / wall)");
console.log();

// The storm's story, from the last store-backed run that finished (every run was checked).
if (storeRuns.length === 0) {
  console.log("storm: no store-backed run finished; see the failures below");
} else {
  const { run, found } = storeRuns[storeRuns.length - 1];
  const s = run.summary;
  const st = found.stored;
  const dropped = /dropped from its queue/.test(run.stderr);
  const queuePeak = Math.max(run.peak.queues.file ?? 0, found.counts.queues.file ?? 0);
  const storePeak = Math.max(run.peak.alerts, found.counts.alerts);
  const dedupPeak = Math.max(run.peak.dedup, found.counts.dedup);
  console.log(`storm (last run, store + log sink; store sampled ${run.peak.samples} times):`);
  console.log(
    `  capture     ${fmtInt(s.packets)} of ${fmtInt(full.packets)} packets read, ${fmtInt(s.flows_created)} flows (${fmtInt(s.flows_evicted)} evicted), ${fmtInt(s.alerts)} rule matches  ${ok(s.packets === full.packets && s.alerts === full.flows && s.flows_evicted === 0)}`,
  );
  console.log(
    `  store       ${fmtInt(found.counts.alerts)} alerts at the end, peak ${fmtInt(storePeak)} (max_alerts ${fmtInt(ALERTS.retention.max_alerts)})  ${ok(storePeak <= ALERTS.retention.max_alerts)}`,
  );
  console.log(
    `  queue file  ${fmtInt(found.counts.queues.file ?? 0)} rows at the end, peak ${fmtInt(queuePeak)} (max_items ${fmtInt(ALERTS.queueMaxItems)}), ${dropped ? "alerts DROPPED" : "none dropped"}  ${ok(queuePeak <= ALERTS.queueMaxItems && !dropped)}`,
  );
  console.log(
    `  dedup       ${fmtInt(found.counts.dedup)} keys at the end, peak ${fmtInt(dedupPeak)} (max_dedup_keys ${fmtInt(ALERTS.max_dedup_keys)})  ${ok(dedupPeak <= ALERTS.max_dedup_keys)}`,
  );
  console.log(
    `  sent        ${fmtInt(st.total)} alerts: ${fmtInt(st.single)} one by one, ${fmtInt(st.summaries)} repeat summaries, ${fmtInt(st.rateLimit)} ${RATE_LIMIT_RULE_ID} summaries (rate_limit ${ALERTS.rate_limit.per_second}/s, burst ${ALERTS.rate_limit.burst})`,
  );
  console.log(
    `  sink file   ${fmtInt(found.delivered.total)} alerts delivered, ${fmtInt(found.uniqueDelivered)} distinct ids  ${ok(found.delivered.total === st.total && found.uniqueDelivered === st.total)}`,
  );
  // Live capture drops what egressd cannot keep up with; a replay shows the margin.
  const keepsUp = s.packets_per_second / FLOWS_PER_SECOND;
  console.log(
    `  keeps up    ${fmtInt(s.packets_per_second)} packets/s in-process = ${keepsUp.toFixed(1)}x the storm's ${fmtInt(FLOWS_PER_SECOND)} new flows/s (${full.seconds} s of storm in ${s.duration_seconds.toFixed(1)} s)  ${ok(keepsUp >= 1)}`,
  );
  if (keepsUp < 1) failures.push(`${fmtInt(s.packets_per_second)} packets/s cannot keep up`);
  for (const [where, a] of [
    ["store    ", st],
    ["sink file", found.delivered],
  ]) {
    const sum = a.single + a.repeats + a.heldBack;
    console.log(
      `  accounting  ${where}: matches ${fmtInt(s.alerts)} = sent ${fmtInt(a.single)} + folded repeats ${fmtInt(a.repeats)} + held back ${fmtInt(a.heldBack)} = ${fmtInt(sum)}  ${sum === s.alerts ? "OK" : "MISMATCH"}`,
    );
  }
}

if (storeRuns.length > 0 && longRuns.length > 0) {
  const peakOf = (runs, key) => Math.max(...runs.map((r) => r.run.summary[key]));
  console.log(
    `  memory      peak heap_used ${fmtMB(peakOf(storeRuns, "heap_used_peak_bytes"))} (${full.seconds} s) / ${fmtMB(peakOf(longRuns, "heap_used_peak_bytes"))} (${long.seconds} s), uncollected garbage included; peak RSS ${fmtMB(peakOf(storeRuns, "max_rss_bytes"))} / ${fmtMB(peakOf(longRuns, "max_rss_bytes"))}`,
  );
}
const [liveFull, liveLong] = liveRuns.map((r) => r?.run.liveHeap ?? null);
if (full.seconds < TCP_NEW_SECONDS) {
  // Shorter storms end while the flow table is still filling: growth there is expected.
  console.log(
    `  live heap   not compared: the storm must outlast flows.timeouts.tcp_new (${TCP_NEW_SECONDS} s)`,
  );
} else if (liveFull?.live_heap_max_bytes != null && liveLong?.live_heap_max_bytes != null) {
  const a = liveFull.live_heap_max_bytes;
  const b = liveLong.live_heap_max_bytes;
  const allowed = a + Math.max(HEAP_SLACK_BYTES, HEAP_SLACK_RATIO * a);
  const flat = b <= allowed;
  console.log(
    `  live heap   after a full GC every second: max ${fmtMB(a)} on ${fmtInt(full.flows)} flows (${full.seconds} s, ${liveFull.samples} samples), ${fmtMB(b)} on ${fmtInt(long.flows)} flows (${long.seconds} s, ${liveLong.samples} samples); allowed up to ${fmtMB(allowed)} -> ${flat ? "flat" : "GROWS"}`,
  );
  if (!flat) failures.push("the live heap grows with the storm's length");
} else {
  console.log("  live heap   not measured: a live-heap run on each storm is needed");
  failures.push("the memory comparison could not run");
}
if (plainRuns.length > 0 && memoryRuns.length > 0 && storeRuns.length > 0) {
  const rate = (runs) => median(runs.map((r) => r.summary.packets_per_second));
  const memory = rate(memoryRuns);
  const stored = rate(storeRuns.map((s) => s.run));
  console.log(
    `  cost        in-process: ${fmtInt(rate(plainRuns))} packets/s writing flow records, ${fmtInt(memory)} with --alerts in memory, ${fmtInt(stored)} with the store and sink (${(memory / stored).toFixed(2)}x the in-memory time)`,
  );
}

console.log();
if (failures.length === 0) {
  console.log("ALERT STORM: PASS");
} else {
  console.log("ALERT STORM: FAIL");
  for (const f of failures) console.log(`  - ${f}`);
  process.exitCode = 1;
}
