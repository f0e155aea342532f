/**
 * The daemon's HTTP listener over real HTTP(S), on a DaemonView built from real parts: a
 * Pipeline fed real frames (with GeoIP, the inventory and rules), a RuleEngine loaded from
 * a rule file, an AlertRouter on a SQLite file delivering through a webhook sink to a real
 * HTTP receiver on loopback. /metrics is checked value by value and with promtool;
 * /readyz, the JSON API, the bearer token and TLS are checked as a client sees them.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertRecord } from "../../src/alert/alert-record.js";
import { AlertRouter } from "../../src/alert/router.js";
import { WebhookSink } from "../../src/alert/sinks/webhook.js";
import type { RawPacket } from "../../src/capture/source.js";
import { parseConfig } from "../../src/config/load.js";
import type {
  CaptureState,
  CaptureStatus,
  ConfigReloadStatus,
  DaemonView,
  ReadyCheck,
} from "../../src/daemon/view.js";
import { FlowEnricher } from "../../src/enrich/flow-enricher.js";
import { GeoIp } from "../../src/enrich/geoip/index.js";
import { DEFAULT_FLOW_OPTIONS } from "../../src/flow/options.js";
import { type HttpListener, isLoopback, startHttpListener } from "../../src/http/server.js";
import { DeviceGroups } from "../../src/inventory/groups.js";
import { Inventory } from "../../src/inventory/inventory.js";
import { alertDeliveryHooks, registerAlertMetrics } from "../../src/metrics/alert-metrics.js";
import { DeviceTraffic } from "../../src/metrics/device-traffic.js";
import { packageVersion, registerPipelineMetrics } from "../../src/metrics/pipeline-metrics.js";
import { createRegistry } from "../../src/metrics/registry.js";
import { registerRuleMetrics } from "../../src/metrics/rule-metrics.js";
import { Pipeline } from "../../src/pipeline.js";
import { DEFAULT_INSPECTOR_OPTIONS } from "../../src/protocols/inspector.js";
import { RuleEngine } from "../../src/rules/engine.js";
import { loadRuleFiles } from "../../src/rules/index.js";
import { RuleTriggers } from "../../src/rules/triggers.js";
import { type Database, openDatabase } from "../../src/store/sqlite.js";
import { uint32, writeMmdb } from "../helpers/mmdb-writer.js";
import { ethernet, ipv4, tcp, udp } from "../helpers/packets.js";
import { selfSignedCert } from "../helpers/self-signed.js";
import { encodeMessage } from "../protocols/dns/build.js";

const T0 = Date.UTC(2026, 10, 22, 6) / 1000;
const LAB = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"];
const GW = "02:00:00:00:00:01";
const CAM1 = { ip: "10.20.0.11", mac: "44:19:b6:00:00:11", id: "mac:44-19-B6-00-00-11" };
const CAM2 = { ip: "10.20.0.12", mac: "44:19:b6:00:00:12", id: "mac:44-19-B6-00-00-12" };
const RESOLVER = "10.20.0.1";
const CN1 = "203.0.113.7";
const CN2 = "203.0.113.8";
const US = "198.51.100.9";
const TOKEN = "s3cret-token-for-tests";
/** Built long ago, so it is stale; the ASN database is recent. */
const OLD_BUILD = Date.UTC(2010, 0, 1) / 1000;
const NEW_BUILD = Date.UTC(2026, 9, 1) / 1000;

const RULES = `rules:
  - id: T-CN-001
    name: Camera connects to China
    severity: high
    trigger: flow_attempt
    when:
      source.role: camera
      destination.country: CN
`;

/** Everything the daemon would hold, built for real; the view reads it. */
interface Daemon {
  view: DaemonView;
  registry: Registry;
  pipeline: Pipeline;
  router: AlertRouter;
  captureState: { state: CaptureState; detail?: string };
  reloads: ConfigReloadStatus;
  feed(t: number, frame: Buffer): void;
}

let dir: string;
let db: Database;
let geoip: GeoIp;
let receiver: Server;
/** What the webhook receiver answers, in order; then 200. */
const answers = [503, 200, 400];
const received: unknown[] = [];
let daemon: Daemon;
/** The pipeline the view shows: null until "capture starts". */
let running: Pipeline | null = null;
const listeners: HttpListener[] = [];

function buildDaemon(receiverUrl: string): Daemon {
  const rulesDir = join(dir, "rules");
  mkdirSync(rulesDir);
  writeFileSync(join(rulesDir, "rules.yaml"), RULES);
  const loaded = loadRuleFiles([rulesDir], {});
  expect(loaded.problems).toEqual([]);
  const engine = new RuleEngine({ ...loaded, ruleSet: loaded.ruleSet! }, [rulesDir], {});

  const inventory = new Inventory({
    maxDevices: 100,
    groups: new DeviceGroups([{ name: "cameras", role: "camera", cidrs: ["10.20.0.8/29"] }]),
    isLocal: (v, w0, w1, w2, w3) => geoip.lookup(v, w0, w1, w2, w3).scope !== "internet",
  });
  const registry = createRegistry();
  const router = new AlertRouter({
    sensor: "test-sensor",
    config: parseConfig("", "x.yaml").alerts,
    db,
    sinks: [
      {
        sink: new WebhookSink({ name: "soc", url: receiverUrl, timeoutMs: 5000 }),
        minSeverity: "info",
        bounds: { maxItems: 1000, maxAgeMs: 3_600_000 },
      },
    ],
    log: () => {},
    dispatcher: alertDeliveryHooks(registry),
  });
  router.start();
  const traffic = new DeviceTraffic();
  const triggers = new RuleTriggers(engine.current, (ctx) => {
    for (const match of engine.current.evaluate(ctx))
      router.submit(alertRecord(match, ctx), match, ctx.tsSec * 1000 + ctx.tsNsec / 1e6);
  });
  const pipeline = new Pipeline(
    DEFAULT_FLOW_OPTIONS,
    { flowEnded: (flow) => traffic.record(flow) },
    { options: { ...DEFAULT_INSPECTOR_OPTIONS, events: new Set() }, sink: { event() {} } },
    new FlowEnricher(geoip, inventory),
    triggers,
  );

  const captureState: Daemon["captureState"] = { state: "starting" };
  const reloads: ConfigReloadStatus = { success: 0, failure: 0, lastMs: 0, lastOk: true };
  const counts = { packets: 0, bytes: 0 };
  const view: DaemonView = {
    sensor: "test-sensor",
    startedMs: Date.UTC(2026, 10, 22, 5),
    pipeline: () => running,
    captures: (): CaptureStatus[] => [
      {
        interface: "eth1",
        state: captureState.state,
        ...(captureState.detail !== undefined ? { detail: captureState.detail } : {}),
        received: counts.packets,
        droppedKernel: 0,
        droppedInterface: 0,
        packets: counts.packets,
        bytes: counts.bytes,
        reopens: 0,
      },
    ],
    geoip: () => geoip,
    inventory: () => inventory,
    rules: () => engine,
    alerts: () => router,
    ready(): Record<string, ReadyCheck> {
      const capturing = captureState.state === "capturing";
      return {
        capture: capturing
          ? { ok: true }
          : { ok: false, detail: `eth1 is ${captureState.state}: ${captureState.detail ?? ""}` },
        rules: { ok: engine.current.rules.length > 0 },
        store: { ok: db.open },
      };
    },
    configReloads: () => reloads,
  };
  registerPipelineMetrics(registry, view);
  registerRuleMetrics(registry, engine);
  registerAlertMetrics(registry, view);
  traffic.register(registry);

  const raw: RawPacket = {
    buf: Buffer.alloc(0),
    offset: 0,
    capLen: 0,
    origLen: 0,
    tsSec: 0,
    tsNsec: 0,
    linkType: 1,
    interfaceId: 0,
    recordOffset: 0,
  };
  const feed = (t: number, frame: Buffer) => {
    counts.packets++;
    counts.bytes += frame.length;
    raw.buf = frame;
    raw.capLen = frame.length;
    raw.origLen = frame.length;
    raw.tsSec = Math.floor(T0 + t);
    raw.tsNsec = Math.round(t * 1e6 - Math.floor(t) * 1e6) * 1000;
    pipeline.packet(raw);
  };
  return { view, registry, pipeline, router, captureState, reloads, feed };
}

/** Camera -> internet TCP frames through the gateway's MAC. */
function out(cam: typeof CAM1, dst: string, dport: number, flags: string, payload?: Buffer) {
  return ethernet(ipv4({ src: cam.ip, dst }, tcp({ sport: 40000, dport, flags, payload })), {
    src: cam.mac,
    dst: GW,
  });
}
function back(cam: typeof CAM1, from: string, sport: number, flags: string) {
  return ethernet(ipv4({ src: from, dst: cam.ip }, tcp({ sport, dport: 40000, flags })), {
    src: GW,
    dst: cam.mac,
  });
}

/**
 * 15 frames: CAM1 opens, uses and closes TCP to China (alert); CAM2 looks a name up (DNS)
 * and sends a SYN to China (alert); CAM1 opens TCP to the US (left open); one truncated
 * IPv4 packet; one ARP frame; a last ACK 8 s on, so the closed flow is written.
 */
function traffic(feed: Daemon["feed"]): void {
  feed(0, out(CAM1, CN1, 443, "S"));
  feed(0.01, back(CAM1, CN1, 443, "SA"));
  feed(0.02, out(CAM1, CN1, 443, "A"));
  feed(0.03, out(CAM1, CN1, 443, "PA", Buffer.alloc(100, 0x78)));
  feed(0.04, out(CAM1, CN1, 443, "FA"));
  feed(0.05, back(CAM1, CN1, 443, "FA"));
  feed(0.06, out(CAM1, CN1, 443, "A"));
  const query = encodeMessage({ id: 7, question: { name: "cloud.example.com", type: 1 } });
  const answer = encodeMessage({
    id: 7,
    response: true,
    question: { name: "cloud.example.com", type: 1 },
    answers: [{ name: "cloud.example.com", type: 1, ttl: 300, data: CN2 }],
  });
  feed(
    1,
    ethernet(ipv4({ src: CAM2.ip, dst: RESOLVER }, udp(41000, 53, query)), {
      src: CAM2.mac,
      dst: GW,
    }),
  );
  feed(
    1.01,
    ethernet(ipv4({ src: RESOLVER, dst: CAM2.ip }, udp(53, 41000, answer)), {
      src: GW,
      dst: CAM2.mac,
    }),
  );
  feed(1.1, out(CAM2, CN2, 443, "S"));
  feed(2, out(CAM1, US, 8443, "S"));
  feed(2.01, back(CAM1, US, 8443, "SA"));
  // An IPv4 header cut after 10 bytes.
  feed(
    3,
    ethernet(ipv4({ src: CAM1.ip, dst: US }, udp(1, 2)), { src: CAM1.mac, dst: GW }).subarray(
      0,
      24,
    ),
  );
  const arp = Buffer.concat([
    Buffer.from("ffffffffffff441900000011" + "0806", "hex"),
    Buffer.alloc(28),
  ]);
  feed(3.5, arp);
  feed(8, out(CAM1, US, 8443, "A"));
}

async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
const auth = { Authorization: `Bearer ${TOKEN}` };

/** A sample's value: name{labels} value. */
/** The sum of every series of `name` (whatever its labels). */
function total(text: string, name: string): number {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm")))
    sum += Number(m[1]);
  return sum;
}

function sample(text: string, name: string, labels = ""): number | undefined {
  const escaped = `${name}${labels}`.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`^${escaped} (\\S+)$`, "m").exec(text);
  return m === null ? undefined : Number(m[1]);
}

/** Lines promtool reports for prom-client's own default metrics (gauges named *_total). */
const PROM_CLIENT_LINT =
  /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;

function promtool(text: string): { status: number | null; problems: string[] } {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, timeout: 20_000 });
  const problems = `${r.stdout}${r.stderr}`
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  return { status: r.status, problems };
}

async function waitFor(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "egressd-http-"));
  writeFileSync(
    join(dir, "country.mmdb"),
    writeMmdb(
      [
        { network: "203.0.113.0/24", data: { country: { iso_code: "CN" } } },
        { network: "198.51.100.0/24", data: { country: { iso_code: "US" } } },
      ],
      { databaseType: "GeoLite2-Country", buildEpoch: OLD_BUILD },
    ),
  );
  writeFileSync(
    join(dir, "asn.mmdb"),
    writeMmdb([{ network: "203.0.113.0/24", data: { autonomous_system_number: uint32(64500) } }], {
      databaseType: "GeoLite2-ASN",
      buildEpoch: NEW_BUILD,
    }),
  );
  geoip = GeoIp.open({
    countryDb: join(dir, "country.mmdb"),
    asnDb: join(dir, "asn.mmdb"),
    bundled: false,
    internetRanges: LAB,
    maxAgeDays: 365,
  });
  db = openDatabase(join(dir, "egressd.db"));
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      const status = answers.shift() ?? 200;
      if (status === 200) received.push(JSON.parse(body));
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const port = (receiver.address() as AddressInfo).port;
  daemon = buildDaemon(`http://127.0.0.1:${port}/alerts`);
  const listener = await startHttpListener({
    listen: "127.0.0.1:0",
    registry: daemon.registry,
    view: daemon.view,
  });
  listeners.push(listener);
  base = listener.url;
});

afterAll(async () => {
  for (const l of listeners) await l.close();
  await daemon?.router.close(0);
  db?.close();
  geoip?.close();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  receiver?.closeAllConnections();
  rmSync(dir, { recursive: true, force: true });
});

describe("the daemon's listener", () => {
  it("before capture starts: zeros, not ready, and promtool finds nothing wrong", async () => {
    const m = await get(`${base}/metrics`);
    expect(m.status).toBe(200);
    expect(sample(m.text, "egressd_packets_total", '{outcome="ip"}')).toBe(0);
    expect(sample(m.text, "egressd_flows_active")).toBe(0);
    expect(sample(m.text, "egressd_capture_up", '{interface="eth1"}')).toBe(0);
    expect(sample(m.text, "egressd_capture_state", '{interface="eth1",state="starting"}')).toBe(1);
    expect(sample(m.text, "egressd_alerts_delivered_total", '{sink="soc"}')).toBe(0);
    expect(sample(m.text, "egressd_alert_delivery_duration_seconds_count", '{sink="soc"}')).toBe(0);
    const lint = promtool(m.text);
    expect(lint.problems.filter((l) => !PROM_CLIENT_LINT.test(l))).toEqual([]);

    const r = await get(`${base}/readyz`);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.text)).toEqual({
      ready: false,
      failing: { capture: { ok: false, detail: "eth1 is starting: " } },
    });
    expect((await get(`${base}/api/flows`)).text).toBe(
      `${JSON.stringify({ active: 0, count: 0, more: false, flows: [] })}\n`,
    );
  });

  it("capturing: every pipeline, GeoIP, inventory and alert metric has its value", async () => {
    daemon.captureState.state = "capturing";
    running = daemon.pipeline;
    traffic(daemon.feed);
    // Alert 1 fails once (503), then goes (200); alert 2 is refused for good (400).
    await waitFor("the deliveries", () => answers.length === 0 && received.length === 1);
    await waitFor("the queue to empty", () => daemon.router.queues!.depth("soc") === 0);
    daemon.reloads.success = 2;
    daemon.reloads.failure = 1;
    daemon.reloads.lastMs = Date.UTC(2026, 10, 22, 7);
    daemon.reloads.lastOk = false;

    const m = (await get(`${base}/metrics`)).text;
    const v = (name: string, labels = "") => sample(m, name, labels);
    expect(
      v(
        "egressd_build_info",
        `{version="${packageVersion()}",nodejs_version="${process.versions.node}"}`,
      ),
    ).toBe(1);
    expect(v("egressd_start_time_seconds")).toBe(Date.UTC(2026, 10, 22, 5) / 1000);
    expect(v("egressd_capture_packets_total", '{interface="eth1"}')).toBe(15);
    expect(v("egressd_capture_up", '{interface="eth1"}')).toBe(1);
    expect(v("egressd_capture_dropped_packets_total", '{interface="eth1",where="kernel"}')).toBe(0);
    expect(v("egressd_packets_total", '{outcome="ip"}')).toBe(13);
    expect(v("egressd_packets_total", '{outcome="non_ip"}')).toBe(1);
    expect(v("egressd_packets_total", '{outcome="skipped"}')).toBe(1);
    expect(v("egressd_decode_anomalies_total", '{kind="truncated_ipv4"}')).toBe(1);
    expect(v("egressd_decode_anomalies_total", '{kind="truncated_tcp"}')).toBe(0);
    expect(v("egressd_flows_created_total")).toBe(4);
    expect(v("egressd_flows_active")).toBe(3);
    expect(v("egressd_flows_ended_total", '{reason="tcp_closed"}')).toBe(1);
    expect(v("egressd_flows_ended_total", '{reason="evicted"}')).toBe(0);
    expect(v("egressd_flows_evicted_total")).toBe(0);
    expect(v("egressd_packet_clock_timestamp_seconds")).toBe(T0 + 8);
    expect(v("egressd_protocol_flows_total", '{protocol="dns"}')).toBe(1);
    expect(v("egressd_dns_names_cached")).toBe(1);
    expect(v("egressd_dns_names_learned_total")).toBe(1);
    const country = `database="GeoLite2-Country",kind="country",path="${join(dir, "country.mmdb")}"`;
    const asn = `database="GeoLite2-ASN",kind="asn",path="${join(dir, "asn.mmdb")}"`;
    expect(v("egressd_geoip_database_build_timestamp_seconds", `{${country}}`)).toBe(OLD_BUILD);
    expect(v("egressd_geoip_database_stale", `{${country}}`)).toBe(1);
    expect(v("egressd_geoip_database_stale", `{${asn}}`)).toBe(0);
    // Two cameras and the resolver; internet addresses are not devices.
    expect(v("egressd_inventory_devices")).toBe(3);
    expect(v("egressd_inventory_devices_learned_total")).toBe(3);
    expect(v("egressd_config_reload_success")).toBe(0);
    expect(v("egressd_config_reloads_total", '{result="failure"}')).toBe(1);
    expect(v("egressd_config_last_reload_timestamp_seconds")).toBe(
      Date.UTC(2026, 10, 22, 7) / 1000,
    );
    expect(v("egressd_rules_loaded")).toBe(1);
    // The closed flow to China: CAM1 sent SYN, ACK, 100 bytes, FIN, ACK (IP bytes).
    expect(
      v("egressd_device_internet_bytes_sent_total", `{device="${CAM1.id}",group="cameras"}`),
    ).toBe(40 + 40 + 140 + 40 + 40);
    expect(
      v("egressd_device_internet_connections_total", `{device="${CAM1.id}",country="CN"}`),
    ).toBe(1);
    // Alerts: two sent and stored; one delivered after one failure, one rejected.
    expect(total(m, "egressd_alerts_sent_total")).toBe(2);
    expect(m).toMatch(/^egressd_alerts_sent_total\{rule_id="[^"]+",severity="[a-z]+"\} \d+$/m);
    expect(v("egressd_alerts_folded_total")).toBe(0);
    expect(v("egressd_alerts_stored")).toBe(2);
    expect(v("egressd_alert_queue_depth", '{sink="soc"}')).toBe(0);
    expect(v("egressd_alert_queue_oldest_age_seconds", '{sink="soc"}')).toBe(0);
    expect(v("egressd_alert_queue_dropped_total", '{sink="soc",reason="overflow"}')).toBe(0);
    expect(v("egressd_alert_delivery_failures_total", '{sink="soc"}')).toBe(1);
    expect(v("egressd_alert_deliveries_total", '{sink="soc"}')).toBe(1);
    expect(v("egressd_alerts_delivered_total", '{sink="soc"}')).toBe(1);
    expect(v("egressd_alerts_rejected_total", '{sink="soc"}')).toBe(1);
    expect(v("egressd_alert_sink_consecutive_failures", '{sink="soc"}')).toBe(0);
    expect(v("egressd_alert_delivery_duration_seconds_count", '{sink="soc"}')).toBe(1);
    expect(v("egressd_alert_delivery_duration_seconds_bucket", '{le="+Inf",sink="soc"}')).toBe(1);

    const lint = promtool(m);
    expect(lint.problems.filter((l) => !PROM_CLIENT_LINT.test(l))).toEqual([]);
    // egressd's own series alone pass with no problem at all.
    const own = m
      .split("\n")
      .filter((l) => /^(# (HELP|TYPE) )?egressd_/.test(l))
      .join("\n");
    expect(promtool(`${own}\n`)).toEqual({ status: 0, problems: [] });
  });

  it("/readyz says ready, then names the failing check", async () => {
    expect(await get(`${base}/readyz`)).toMatchObject({ status: 200, text: "ready\n" });
    daemon.captureState.state = "down";
    daemon.captureState.detail = "eth1: No such device exists";
    try {
      const r = await get(`${base}/readyz`);
      expect(r.status).toBe(503);
      expect(r.headers.get("content-type")).toMatch(/^application\/json/);
      expect(JSON.parse(r.text).failing).toEqual({
        capture: { ok: false, detail: "eth1 is down: eth1: No such device exists" },
      });
      const m = (await get(`${base}/metrics`)).text;
      expect(sample(m, "egressd_capture_up", '{interface="eth1"}')).toBe(0);
      expect(sample(m, "egressd_capture_state", '{interface="eth1",state="down"}')).toBe(1);
    } finally {
      daemon.captureState.state = "capturing";
      delete daemon.captureState.detail;
    }
  });

  it("/api/alerts filters the store as `egressd alerts` does", async () => {
    const all = JSON.parse((await get(`${base}/api/alerts`)).text);
    expect(all).toMatchObject({ count: 2, more: false });
    expect(all.alerts.map((a: any) => a.rule.id)).toEqual(["T-CN-001", "T-CN-001"]);
    expect(all.alerts[0].observer.name).toBe("test-sensor");

    const byDevice = JSON.parse((await get(`${base}/api/alerts?device=${CAM2.ip}`)).text);
    expect(byDevice.count).toBe(1);
    expect(byDevice.alerts[0].egressd.source_device.id).toBe(CAM2.id);
    const byMac = JSON.parse((await get(`${base}/api/alerts?device=${CAM1.mac}`)).text);
    expect(byMac.alerts.map((a: any) => a.egressd.source_device.id)).toEqual([CAM1.id]);

    const limited = JSON.parse((await get(`${base}/api/alerts?limit=1`)).text);
    expect(limited).toMatchObject({ count: 1, more: true });
    expect(JSON.parse((await get(`${base}/api/alerts?severity=critical`)).text).count).toBe(0);
    expect(
      JSON.parse((await get(`${base}/api/alerts?severity=high&rule=T-CN-001`)).text).count,
    ).toBe(2);
    // Packet time: the capture's alerts are before 06:01 and none is after it.
    expect(
      JSON.parse((await get(`${base}/api/alerts?since=2026-11-22T06:00:00Z`)).text).count,
    ).toBe(2);
    expect(
      JSON.parse((await get(`${base}/api/alerts?since=2026-11-22T06:01:00Z`)).text).count,
    ).toBe(0);
    // A duration counts back from the wall clock (the capture is from 2026-11-22).
    expect(JSON.parse((await get(`${base}/api/alerts?since=3650d`)).text).count).toBe(2);

    for (const [query, message] of [
      ["severity=urgent", /severity: unknown level "urgent"/],
      ["since=yesterday", /since: "yesterday" is neither a duration/],
      ["limit=0", /limit: a whole number/],
      ["sevrity=high", /unknown parameter "sevrity" \(accepted: since, until, severity/],
    ] as const) {
      const r = await get(`${base}/api/alerts?${query}`);
      expect(r.status).toBe(400);
      expect(JSON.parse(r.text).error).toMatch(message);
    }
  });

  it("/api/devices, /api/flows and /api/status", async () => {
    const devices = JSON.parse((await get(`${base}/api/devices`)).text);
    const cam1 = devices.devices.find((d: any) => d.id === CAM1.id);
    expect(cam1).toMatchObject({ group: "cameras", role: "camera" });
    expect(devices.stats.devices).toBe(devices.devices.length);

    const flows = JSON.parse((await get(`${base}/api/flows?active`)).text);
    expect(flows).toMatchObject({ active: 3, count: 3, more: false });
    // Most recently active first: the flow to the US had the last packet.
    const first = flows.flows[0];
    expect(first.destination).toMatchObject({ ip: US, port: 8443 });
    expect(first.event.type).toEqual(["connection"]);
    expect(first.event.reason).toBeUndefined();
    expect(first.egressd.active).toBe(true);
    expect(first.destination.geo.country_iso_code).toBe("US");
    const dns = flows.flows.find((f: any) => f.destination.port === 53);
    expect(dns.network.protocol).toBe("dns");

    const one = JSON.parse((await get(`${base}/api/flows?limit=1`)).text);
    expect(one).toMatchObject({ active: 3, count: 1, more: true });
    const cam2 = JSON.parse((await get(`${base}/api/flows?device=${CAM2.id}`)).text);
    expect(cam2.flows.map((f: any) => f.destination.ip).sort()).toEqual([CN2, RESOLVER].sort());
    expect((await get(`${base}/api/flows?active=false`)).status).toBe(400);

    const status = JSON.parse((await get(`${base}/api/status`)).text);
    expect(status).toMatchObject({
      sensor: "test-sensor",
      version: packageVersion(),
      nodejs: process.version,
      started: "2026-11-22T05:00:00.000Z",
      ready: true,
      captures: [{ interface: "eth1", state: "capturing", packets: 15 }],
      config_reloads: { success: 2, failure: 1, last: "2026-11-22T07:00:00.000Z", last_ok: false },
      rules: { loaded: 1 },
      inventory: { devices: devices.stats.devices },
      alerts: {
        sent: 2,
        stored: 2,
        sinks: [{ name: "soc", type: "webhook", queued: 0, consecutive_failures: 0 }],
      },
    });
    expect(status.pipeline.flows).toMatchObject({ active: 3, created: 4 });
    expect(status.geoip).toEqual([
      expect.objectContaining({
        name: "GeoLite2-Country",
        built: "2010-01-01T00:00:00.000Z",
        stale: true,
      }),
      expect.objectContaining({ name: "GeoLite2-ASN", stale: false }),
    ]);

    expect((await get(`${base}/api/nothing`)).status).toBe(404);
    expect((await fetch(`${base}/api/status`, { method: "POST" })).status).toBe(405);
  });
});

describe("the listener's access control", () => {
  it("asks for the bearer token on every path but /healthz, and takes only the right one", async () => {
    const l = await startHttpListener({
      listen: "127.0.0.1:0",
      registry: daemon.registry,
      view: daemon.view,
      token: TOKEN,
    });
    listeners.push(l);
    for (const path of ["/metrics", "/readyz", "/api/status", "/api/alerts"]) {
      const none = await get(`${l.url}${path}`);
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toBe('Bearer realm="egressd"');
      const wrong = await get(`${l.url}${path}`, { Authorization: `Bearer ${TOKEN}x` });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get("www-authenticate")).toBe(
        'Bearer realm="egressd", error="invalid_token"',
      );
      expect((await get(`${l.url}${path}`, { Authorization: `Basic ${TOKEN}` })).status).toBe(401);
      expect((await get(`${l.url}${path}`, auth)).status).toBe(200);
    }
    expect(await get(`${l.url}/healthz`)).toMatchObject({ status: 200, text: "ok\n" });
  });

  it("refuses a non-loopback address without a token unless allowed", async () => {
    const refused = startHttpListener({
      listen: "0.0.0.0:0",
      registry: daemon.registry,
      view: daemon.view,
    });
    await expect(refused).rejects.toThrow(
      /refusing to serve metrics and the API on 0\.0\.0\.0:0, which is not a loopback address, without a bearer token.*http\.allow_unauthenticated: true/,
    );
    await expect(
      startHttpListener({ listen: ":0", registry: daemon.registry, view: daemon.view }),
    ).rejects.toThrow(/without a bearer token/);
    await expect(
      startHttpListener({
        listen: "127.0.0.1:0",
        registry: daemon.registry,
        view: daemon.view,
        token: " ",
      }),
    ).rejects.toThrow(/token is empty/);
    expect(
      ["127.0.0.1", "127.1.2.3", "::1", "localhost", "::ffff:127.0.0.1"].map(isLoopback),
    ).toEqual([true, true, true, true, true]);
    expect(["0.0.0.0", "::", "10.0.0.1", "egressd.example"].some(isLoopback)).toBe(false);
    // Bound to the wildcard but only ever asked over loopback.
    const allowed = await startHttpListener({
      listen: "0.0.0.0:0",
      registry: daemon.registry,
      view: daemon.view,
      allowUnauthenticated: true,
    });
    listeners.push(allowed);
    const port = allowed.address.split(":").pop();
    expect((await get(`http://127.0.0.1:${port}/api/status`)).status).toBe(200);
    const withToken = await startHttpListener({
      listen: "0.0.0.0:0",
      registry: daemon.registry,
      view: daemon.view,
      token: TOKEN,
    });
    listeners.push(withToken);
    const port2 = withToken.address.split(":").pop();
    expect((await get(`http://127.0.0.1:${port2}/metrics`, auth)).status).toBe(200);
  });

  it("without a view (egressd replay --metrics) serves /metrics and /healthz only, anywhere", async () => {
    const l = await startHttpListener({ listen: "0.0.0.0:0", registry: daemon.registry });
    listeners.push(l);
    const port = l.address.split(":").pop();
    expect((await get(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    expect((await get(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await get(`http://127.0.0.1:${port}/readyz`)).status).toBe(404);
    expect((await get(`http://127.0.0.1:${port}/api/status`)).status).toBe(404);
  });

  it("serves HTTPS with a certificate and key, the token still asked for", async () => {
    const pem = selfSignedCert(dir, "listener");
    const l = await startHttpListener({
      listen: "127.0.0.1:0",
      registry: daemon.registry,
      view: daemon.view,
      token: TOKEN,
      tls: pem,
    });
    listeners.push(l);
    expect(l.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const httpsGet = (path: string, headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(
          `${l.url}${path}`,
          { ca: pem.cert, headers, timeout: 5000 },
          (res) => {
            let body = "";
            res.on("data", (c) => {
              body += c;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", reject);
        req.end();
      });
    expect((await httpsGet("/readyz", {})).status).toBe(401);
    expect(await httpsGet("/readyz", auth)).toEqual({ status: 200, body: "ready\n" });
    const m = await httpsGet("/metrics", auth);
    expect(total(m.body, "egressd_alerts_sent_total")).toBe(2);
    // Plain HTTP to the TLS port gets nothing useful.
    await expect(get(`http://${l.address}/healthz`)).rejects.toThrow();
    await expect(
      startHttpListener({
        listen: "127.0.0.1:0",
        registry: daemon.registry,
        tls: { cert: pem.cert, key: "not a key" },
      }),
    ).rejects.toThrow(/^tls: cannot use the certificate and key/);
  });
});
