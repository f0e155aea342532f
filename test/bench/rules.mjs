#!/usr/bin/env node
/**
 * Rule engine benchmark: load + compile time and evaluations per second with the rule
 * packs (rules/*.yaml when there are any, plus the example rules and a generated pack of
 * camera policy rules on every trigger) and two large drop-in sets: a 100,000-entry
 * domain blocklist (half plain lines, half hosts format) and a 50,000-entry network list
 * (IPv4 /24s and /32s, some IPv6), each used by a rule.
 *
 *   npm run build && node test/bench/rules.mjs [--seconds S] [--rounds R]
 *
 * Contexts are synthetic (fixed seed): DNS queries for random, vendor-cloud and
 * blocklisted names; flows to random, listed and private addresses from cameras, NVRs
 * and workstations; TLS hellos; HTTP requests. Exits 1 if loading takes a second or more.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { writeBigLists } from "./big-lists.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const { loadRuleFiles, formatRuleProblem } = await import(join(ROOT, "dist/rules/index.js"));
const { Flow } = await import(join(ROOT, "dist/flow/flow.js"));
const { parseAddress } = await import(join(ROOT, "dist/enrich/geoip/address.js"));
const { FlowApp } = await import(join(ROOT, "dist/protocols/flow-app.js"));

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "0.5" },
    rounds: { type: "string", default: "3" },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const LOAD_LIMIT_MS = 1000;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc");

// --- Generate the test tree ------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), "egressd-rules-bench-"));
const rulesDir = join(dir, "rules");
const { blocked, listedV4, rand, pick, word, TLDS } = writeBigLists(rulesDir);

// A pack of camera policy rules: about what the shipped packs will hold, on every trigger.
const head = (id, name, severity, trigger) =>
  `  - id: ${id}\n    name: ${name}\n    severity: ${severity}\n    tags: [bench, attack.t1071]\n    trigger: ${trigger}\n`;
// $watch_countries comes from the shipped egress pack (or the example rules' defaults).
let pack = "variables:\n  nvr_group: nvr\n\nrules:\n";
pack += `${head("B-DNS-BLOCK", "Lookup of a blocklisted name", "high", "dns_query")}    when:\n      destination.domain: { in: big_blocklist }\n`;
pack += `${head("B-DNS-CLOUD", "Camera looks up a vendor cloud", "high", "dns_query")}    when:\n      source.role: camera\n      dns.query: { in: vendor_clouds }\n`;
pack += `${head("B-DNS-GLOB", "Camera looks up a relay name", "medium", "dns_query")}    when:\n      source.role: camera\n      dns.query: ["vtm*.ezvizlife.com", "**.p2p.example"]\n`;
pack += `${head("B-ANS", "Answer points into a listed network", "medium", "dns_answer")}    when:\n      dns.answer: { in: big_networks }\n`;
pack += `${head("B-NET", "Connection to a listed network", "high", "flow_attempt")}    when:\n      destination.ip: { in: big_networks }\n`;
pack += `${head("B-CC", "Camera to a watched country", "medium", "flow_attempt")}    when:\n      source.role: camera\n      destination.country: $watch_countries\n`;
pack += `${head("B-HARD", "Camera to a hard-coded address", "high", "flow_attempt")}    when:\n      source.role: camera\n      network.direction: outbound\n      destination.name_source: none\n`;
pack += `${head("B-PORTS", "Camera on ISUP/EHome ports", "medium", "flow_attempt")}    when:\n      source.role: camera\n      destination.port: [7660, 7661, "7662-7665", 6011, 8800, 37777]\n`;
pack += `${head("B-CORE", "Camera reaches the core network", "medium", "flow_attempt")}    when:\n      source.role: camera\n      network.direction: internal\n      not: { destination.role: [nvr, vms, dns, ntp, dhcp] }\n`;
pack += `${head("B-OUT-OK", "Camera got through to the internet", "high", "flow_outcome")}    when:\n      source.role: camera\n      network.direction: outbound\n      flow.outcome: established\n`;
pack += `${head("B-OUT-BLOCKED", "Camera blocked", "info", "flow_outcome")}    when:\n      source.role: camera\n      flow.outcome: [rejected, attempted]\n`;
pack += `${head("B-TLS", "Camera TLS to a vendor cloud", "high", "tls_client_hello")}    when:\n      source.role: camera\n      tls.sni: { in: [vendor_clouds, big_blocklist] }\n`;
pack += `${head("B-TLS-JA3", "Known bad JA3", "medium", "tls_client_hello")}    when:\n      tls.ja3: [e7d705a3286e19ea42f587b344ee6865, 6734f37431670b3ab4292b8f60f29984]\n`;
pack += `${head("B-FW", "Firmware pushed to a camera", "high", "http_request")}    when:\n      destination.role: camera\n      http.method: [PUT, POST]\n      any:\n        - http.path: { prefix: [/ISAPI/System/updateFirmware, /cgi-bin/upgrader.cgi] }\n        - http.body_magic: [hikvision-digicap, dahua-firmware-zip]\n`;
pack += `${head("B-EXPLOIT", "Hikvision webLanguage exploit", "critical", "http_request")}    when:\n      http.method: PUT\n      http.path: /SDK/webLanguage\n`;
pack += `${head("B-UA", "Tool user agent against a camera", "low", "http_request")}    when:\n      destination.role: camera\n      http.user_agent: { glob: ["*curl*", "*python-requests*", "*nmap*"] }\n`;
pack += `${head("B-RESP", "Firmware download", "medium", "http_response")}    when:\n      http.body_magic: [hikvision-digicap, dahua-firmware-zip, uimage, squashfs]\n`;
pack += `${head("B-BIG", "Camera uploads 50MB", "critical", "flow_threshold")}    threshold: { bytes_out: 50MB }\n    when:\n      source.role: camera\n      not: { destination.group: $nvr_group }\n`;
pack += `${head("B-LONG", "Camera session over an hour", "low", "flow_threshold")}    threshold: { duration: 1h }\n    when:\n      source.role: camera\n      network.direction: outbound\n`;
pack += `${head("B-END", "Large inbound transfer to a camera", "medium", "flow_end")}    when:\n      destination.role: camera\n      flow.bytes_in: { gt: 20MiB }\n`;
pack += `${head("B-NEW", "New device on the camera VLAN", "info", "device_first_seen")}    when:\n      device.role: camera\n`;
pack += `exceptions:\n  - id: lab\n    reason: the lab's test camera\n    when: { source.ip: 10.99.0.0/16 }\n`;
writeFileSync(join(rulesDir, "bench-pack.yaml"), pack);

const shipped = join(ROOT, "rules");
const hasPacks = readdirSync(shipped).some((f) => f.endsWith(".yaml") || f.endsWith(".yml"));
// The example rules define the same variables as the packs: one or the other.
const paths = [rulesDir, hasPacks ? shipped : join(ROOT, "test/rules/fixtures/example")];

// --- Load + compile ----------------------------------------------------------------------

function loadOnce() {
  const t0 = performance.now();
  const r = loadRuleFiles(paths);
  return { r, ms: performance.now() - t0 };
}

gc();
const heap0 = process.memoryUsage().heapUsed;
const loads = [];
let result;
for (let i = 0; i < ROUNDS; i++) {
  const { r, ms } = loadOnce();
  loads.push(ms);
  result = r;
}
gc();
const heapMb = (process.memoryUsage().heapUsed - heap0) / 1e6;
const errors = result.problems.filter((p) => p.severity === "error");
if (result.ruleSet === null) {
  for (const p of errors) console.error(formatRuleProblem(p));
  process.exit(1);
}
const rs = result.ruleSet;

// --- Synthetic contexts ----------------------------------------------------------------

const CAMERA = {
  id: "mac:44-19-B6-12-34-56",
  randomised_mac: false,
  group: "cameras",
  role: "camera",
  maker: "Hikvision",
};
const NVR = { id: "mac:44-19-B6-00-00-01", randomised_mac: false, group: "nvr", role: "nvr" };
const WS = {
  id: "mac:02-00-00-00-00-01",
  randomised_mac: true,
  group: "office",
  role: "workstation",
};
const GEO = (scope, countryIso, asNumber) => ({
  scope,
  range: undefined,
  countryIso,
  countryName: undefined,
  cityName: undefined,
  countrySource: undefined,
  asNumber,
  asOrganization: undefined,
  asSource: undefined,
});
const COUNTRIES = ["US", "DE", "NL", "CN", "FR", "GB", "RU", "JP"];
const VENDOR = [
  "litedev.hik-connect.com",
  "dev.ezvizlife.com",
  "www.easy4ipcloud.com",
  "devcl.ys7.com",
  "vtm3.ezvizlife.com",
];
const COMMON = [
  "pool.ntp.org",
  "time.windows.com",
  "www.example.com",
  "updates.example.net",
  "api.example.org",
];

function flowTo(dst, i) {
  const f = new Flow();
  const src = parseAddress(`10.20.${(i >> 8) & 255}.${i & 255}`);
  const d = parseAddress(dst);
  f.ipVersion = d.version;
  if (d.version === 6) {
    const s6 = parseAddress(`fd00::${i.toString(16)}`);
    f.src0 = s6.w0;
    f.src1 = s6.w1;
    f.src2 = s6.w2;
    f.src3 = s6.w3;
  } else {
    f.src3 = src.w3;
  }
  f.dst0 = d.w0;
  f.dst1 = d.w1;
  f.dst2 = d.w2;
  f.dst3 = d.w3;
  f.proto = i % 5 === 0 ? 17 : 6;
  f.srcPort = 40000 + (i % 20000);
  f.dstPort = pick([443, 80, 8800, 7660, 53, 123, 554, 8000]);
  f.vlanOuter = 20;
  const privateDst = dst.startsWith("10.");
  f.srcGeo = GEO("private");
  f.dstGeo = privateDst ? GEO("private") : GEO("internet", pick(COUNTRIES), 1000 + (i % 5000));
  f.srcDevice = pick([CAMERA, CAMERA, CAMERA, NVR, WS]);
  f.dstDevice = privateDst ? pick([NVR, CAMERA, null]) : null;
  f.domain = rand() < 0.6 ? pick([...COMMON, ...VENDOR, pick(blocked)]) : "";
  f.nameSource = f.domain === "" ? "none" : "dns";
  f.tcpState = pick([1, 2, 4, 6]);
  f.srcBytes = Math.floor(rand() * 80e6);
  f.dstBytes = Math.floor(rand() * 40e6);
  f.srcPackets = 10;
  f.dstPackets = 10;
  f.startSec = 1_790_000_000;
  f.lastSec = f.startSec + Math.floor(rand() * 7200);
  const app = new FlowApp();
  app.protocol = pick(["tls", "http", "dns", ""]);
  f.app = app;
  return f;
}

const N = 4096;
const flows = [];
for (let i = 0; i < N; i++) {
  const r = rand();
  const dst =
    r < 0.1
      ? pick(listedV4)
      : r < 0.3
        ? `10.20.0.${1 + (i % 200)}`
        : r < 0.4
          ? `2001:db8:${(i & 0xfff).toString(16)}::${i.toString(16)}`
          : `${11 + Math.floor(rand() * 200)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${1 + Math.floor(rand() * 250)}`;
  flows.push(flowTo(dst, i));
}
const ts = 1_790_000_100;
const randomName = () => `${word(6)}.${word(5)}.${pick(TLDS)}`;
const contexts = {
  dns_query: flows.map((flow) => ({
    trigger: "dns_query",
    tsSec: ts,
    tsNsec: 0,
    flow,
    dns: {
      queryName: rand() < 0.1 ? pick(blocked) : rand() < 0.1 ? pick(VENDOR) : randomName(),
      queryType: "A",
      answers: [],
    },
  })),
  dns_answer: flows.map((flow) => ({
    trigger: "dns_answer",
    tsSec: ts,
    tsNsec: 0,
    flow,
    dns: {
      queryName: randomName(),
      queryType: "A",
      rcode: "NOERROR",
      answers: [rand() < 0.1 ? pick(listedV4) : `${11 + Math.floor(rand() * 200)}.1.2.3`],
    },
  })),
  flow_attempt: flows.map((flow) => ({ trigger: "flow_attempt", tsSec: ts, tsNsec: 0, flow })),
  flow_outcome: flows.map((flow) => ({ trigger: "flow_outcome", tsSec: ts, tsNsec: 0, flow })),
  tls_client_hello: flows.map((flow) => ({
    trigger: "tls_client_hello",
    tsSec: ts,
    tsNsec: 0,
    flow,
    tls: {
      sni: rand() < 0.2 ? pick(VENDOR) : randomName(),
      alpn: ["h2"],
      ja3: "0123456789abcdef0123456789abcdef",
      ja4: "t13d1516h2_8daaf6152771_b186095e22b6",
    },
  })),
  http_request: flows.map((flow) => ({
    trigger: "http_request",
    tsSec: ts,
    tsNsec: 0,
    flow,
    http: {
      method: pick(["GET", "GET", "PUT", "POST"]),
      host: "cam.local",
      path: pick(["/", "/ISAPI/System/updateFirmware", "/index.html", "/cgi-bin/upgrader.cgi"]),
      userAgent: pick(["Mozilla/5.0", "curl/8.5.0"]),
    },
  })),
  flow_threshold: flows.map((flow, i) => ({
    trigger: "flow_threshold",
    tsSec: ts,
    tsNsec: 0,
    flow,
    threshold:
      i % 2 === 0 ? { kind: "bytes_out", value: 50_000_000 } : { kind: "duration", value: 3600 },
  })),
  flow_end: flows.map((flow) => ({ trigger: "flow_end", tsSec: ts, tsNsec: 0, flow })),
};

function bench(list) {
  let i = 0;
  let matches = 0;
  // Warm up, then time whole batches so the clock is read rarely.
  for (let k = 0; k < 20_000; k++) matches += rs.evaluate(list[k & (N - 1)]).length;
  matches = 0;
  let n = 0;
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  let now = t0;
  while (now < end) {
    for (let k = 0; k < 10_000; k++) {
      matches += rs.evaluate(list[i]).length;
      i = (i + 1) & (N - 1);
    }
    n += 10_000;
    now = performance.now();
  }
  return { perSec: n / ((now - t0) / 1000), matchRate: matches / n };
}

// --- Report ------------------------------------------------------------------------------

const fmt = (n) => Math.round(n).toLocaleString("en-US");
const sets = rs.sets.map(
  (s) => `${s.name} (${s.domains} names, ${s.networks} networks, ${s.asns} ASNs)`,
);
console.log(
  `rules: ${rs.rules.length} from ${result.files.length} files${hasPacks ? " (shipped packs included)" : " (no shipped packs yet: example + generated pack)"}`,
);
console.log(`sets used: ${sets.join("; ")}`);
console.log(`warnings: ${result.problems.length - errors.length}`);
console.log("");
console.log(
  `load + compile (${ROUNDS} rounds): first ${loads[0].toFixed(0)} ms, best ${Math.min(...loads).toFixed(0)} ms (limit ${LOAD_LIMIT_MS} ms); heap after load ${heapMb.toFixed(0)} MB`,
);
console.log("");
console.log("trigger             rules  evaluations/s   ns/eval  matches/eval");
let total = 0;
let count = 0;
for (const [trigger, list] of Object.entries(contexts)) {
  const n = rs.rules.filter((r) => r.trigger === trigger && r.enabled).length;
  const { perSec, matchRate } = bench(list);
  total += 1e9 / perSec;
  count++;
  console.log(
    `${trigger.padEnd(18)}  ${String(n).padStart(5)}  ${fmt(perSec).padStart(13)}  ${(1e9 / perSec).toFixed(0).padStart(8)}  ${matchRate.toFixed(3).padStart(12)}`,
  );
}
console.log(
  `${"mean".padEnd(18)}  ${"".padStart(5)}  ${fmt(1e9 / (total / count)).padStart(13)}  ${(total / count).toFixed(0).padStart(8)}`,
);

rmSync(dir, { recursive: true, force: true });
if (loads[0] >= LOAD_LIMIT_MS) {
  console.error(
    `load + compile took ${loads[0].toFixed(0)} ms: over the ${LOAD_LIMIT_MS} ms limit`,
  );
  process.exit(1);
}
