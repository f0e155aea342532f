/**
 * The dashboard and the alert rules against the real thing: `egressd run` captures live in
 * a test namespace (as test/e2e/daemon.test.ts does, with the shipped vendor-cloud and
 * firmware packs loaded), a real Prometheus in the same namespace scrapes it every second
 * with the job from config/prometheus/scrape-egressd.yml and evaluates
 * config/prometheus/egressd-alerts.yml. A camera looks up its vendor's cloud, fetches a
 * firmware file, opens TLS and reaches a closed port. Then every PromQL expression of the
 * dashboard (panels, annotations, variables; template variables and Grafana's intervals
 * substituted, with "All" and with one sensor, group and device chosen) goes through
 * Prometheus' /api/v1/query and must parse and return data: a panel whose metric was
 * renamed fails. Every metric the alert rules select must be exported, and every rule
 * must evaluate without error.
 *
 * Safety: packets only cross the veth between the two namespaces this test creates
 * (test/e2e/netns.ts), between documentation addresses assigned to them; Prometheus and
 * egressd listen on the server namespace's own loopback.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { labConfigYaml } from "../e2e/lab-config.js";
import { startServers, writeServerFiles } from "../e2e/make-client-captures.js";
import { ADDR, canUseNetns, createNetnsPair, type NetnsPair, type Server } from "../e2e/netns.js";
import { BIN, ROOT, requireBuild } from "../edge-cases/cli.js";
import {
  ALERTS_FILE,
  dashboardQueries,
  metricNames,
  readAlertRules,
  readDashboard,
  SCRAPE_FILE,
  substitute,
  variableQueries,
} from "./monitoring-files.js";

const EGRESSD_PORT = 9812;
const PROMETHEUS_PORT = 9090;
const hasPrometheus = existsSync("/usr/bin/prometheus");
const usable = hasPrometheus && canUseNetns();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Grafana's built-in intervals as a 1 s scrape gives them (rate windows of a few scrapes). */
const INTERVALS = { __rate_interval: "1m", __interval: "1m", __range: "5m" };

/**
 * A single chosen value as Grafana's Prometheus datasource writes it into a =~ matcher:
 * regex metacharacters escaped, and the backslash doubled for the PromQL string.
 */
function grafanaEscape(value: string): string {
  return value.replace(/\\/g, "\\\\\\\\").replace(/[$^*{}[\]'+?.()|]/g, "\\\\$&");
}

interface PromResult {
  status: string;
  error?: string;
  data?: { resultType: string; result: unknown[] } | string[] | any;
}

describe.skipIf(!usable)("the dashboard and alert rules against a live egressd", () => {
  let pair: NetnsPair;
  let daemon: Server;
  let prometheus: Server;
  let dir: string;

  /** GET on Prometheus' HTTP API, from inside the namespace ("unreachable" while it starts). */
  async function api(path: string, params: Record<string, string | string[]> = {}) {
    const args = Object.entries(params).flatMap(([k, v]) =>
      (Array.isArray(v) ? v : [v]).flatMap((one) => ["--data-urlencode", `${k}=${one}`]),
    );
    const { code, stdout, stderr } = await pair.run(
      pair.server,
      [
        "curl",
        "-sS",
        "--max-time",
        "10",
        "--get",
        ...args,
        `http://127.0.0.1:${PROMETHEUS_PORT}${path}`,
      ],
      { okCodes: [0, 7] },
    );
    if (code === 7) return { status: "unreachable", error: stderr } as PromResult;
    return JSON.parse(stdout) as PromResult;
  }
  const query = (expr: string) => api("/api/v1/query", { query: expr });
  async function waitFor(
    what: () => Promise<boolean>,
    label: string | (() => string),
    ms = 20_000,
  ) {
    const end = Date.now() + ms;
    const text = () => (typeof label === "string" ? label : label());
    while (!(await what())) {
      // A daemon or Prometheus that exited will not come back: say so now, with its output.
      for (const [name, p] of [
        ["egressd", daemon],
        ["prometheus", prometheus],
      ] as const) {
        if (p !== undefined && p.child.exitCode !== null)
          throw new Error(
            `${name} exited (${p.child.exitCode}) waiting for ${text()}\n${p.output()}`,
          );
      }
      if (Date.now() > end)
        throw new Error(
          `timed out waiting for ${text()}\n--- egressd\n${daemon.output()}\n--- prometheus\n${prometheus?.output()}`,
        );
      await sleep(250);
    }
  }
  const seen = async (expr: string) => {
    const r = await query(expr);
    return r.status === "success" && r.data.result.length > 0;
  };

  beforeAll(async () => {
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), "egressd-monitoring-"));
    writeServerFiles(dir);
    writeFileSync(join(dir, "digicap.dav"), Buffer.alloc(4096, 7));
    pair = await createNetnsPair();
    await startServers(pair, dir);

    const config = join(dir, "egressd.yaml");
    writeFileSync(
      config,
      labConfigYaml({
        dir,
        rulePaths: [`${ROOT}/rules/vendor-cloud.yaml`, `${ROOT}/rules/firmware.yaml`],
        httpPort: EGRESSD_PORT,
        alertsFile: `${dir}/alerts.json`,
        extra: "flows:\n  timeouts: { tcp_closed: 1s, tcp_new: 2s, udp: 2s }\n",
      }),
    );
    daemon = pair.spawn(pair.server, [process.execPath, BIN, "run", "-c", config]);

    // The shipped scrape job as users paste it, pointed at this egressd every second. The
    // target has no sensor label beside it, so the relabelling names the sensor.
    const scrape = parse(readFileSync(SCRAPE_FILE, "utf8")).scrape_configs[0];
    scrape.scrape_interval = "1s";
    scrape.static_configs = [{ targets: [`127.0.0.1:${EGRESSD_PORT}`] }];
    const promConfig = join(dir, "prometheus.yml");
    writeFileSync(
      promConfig,
      stringify({
        global: { scrape_interval: "1s", evaluation_interval: "1s" },
        rule_files: [ALERTS_FILE],
        scrape_configs: [scrape],
      }),
    );
    prometheus = pair.spawn(pair.server, [
      "prometheus",
      `--config.file=${promConfig}`,
      `--storage.tsdb.path=${join(dir, "tsdb")}`,
      `--web.listen-address=127.0.0.1:${PROMETHEUS_PORT}`,
    ]);
    await waitFor(() => seen('up{job="egressd"} == 1'), "Prometheus to scrape egressd", 40_000);

    // The camera's traffic, once Prometheus watches: the counters rise between scrapes.
    const server = ADDR.server4;
    const run = (argv: string[], okCodes = [0]) => pair.run(pair.client, argv, { okCodes });
    await run(["dig", `@${server}`, "litedev.hik-connect.com", "+tries=1", "+time=2"], [0, 9]);
    await run(["dig", `@${server}`, "cdn.example.test", "+tries=1", "+time=2"]);
    await run([
      "curl",
      "-sS",
      "--max-time",
      "5",
      "-o",
      "/dev/null",
      `http://${server}/digicap.dav`,
    ]);
    await run(
      ["openssl", "s_client", "-connect", `${server}:443`, "-servername", "cam.example.test"],
      [0, 1],
    );
    await run(["curl", "-sS", "--max-time", "3", `http://${server}:81/`], [7]);
    // Flow timeouts run on packet time: a steady ping moves the clock so the flows above end
    // (and are recorded) within seconds.
    pair.spawn(pair.client, ["ping", "-n", "-q", "-i", "0.2", server]);
    const expected = [
      'egressd_alerts_sent_total{rule_id=~"EGR-VC-.*"}',
      'egressd_alerts_sent_total{rule_id=~"EGR-FW-.*"}',
      'egressd_device_internet_connections_total{device!="other"}',
      'egressd_internet_connections_total{outcome="rejected"} > 0',
    ];
    let missing = expected;
    await waitFor(
      async () => {
        const found = await Promise.all(missing.map(seen));
        missing = missing.filter((_, i) => !found[i]);
        return missing.length === 0;
      },
      () => `the alerts and flow records in Prometheus: missing ${missing.join(", ")}`,
    );
    // Two more scrapes, so every rate() has two samples of the new series.
    await sleep(2500);
  }, 120_000);

  afterAll(async () => {
    await pair?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs every dashboard query with these variable values; returns the failures. */
  async function failingQueries(values: Record<string, string>): Promise<string[]> {
    const failures: string[] = [];
    for (const q of dashboardQueries(readDashboard())) {
      const expr = substitute(q.expr, { ...INTERVALS, ...values });
      const r = await query(expr);
      if (r.status !== "success") failures.push(`${q.where}: ${r.error}\n  ${expr}`);
      else if (r.data.result.length === 0) failures.push(`${q.where}: no data\n  ${expr}`);
    }
    return failures;
  }

  /** The values Grafana offers for each variable, resolving them in order as Grafana does. */
  async function variableValues(chosen: Record<string, string>) {
    const offered: Record<string, string[]> = {};
    for (const v of variableQueries(readDashboard())) {
      const selector = substitute(v.selector, chosen);
      const r = await api(`/api/v1/label/${v.label}/values`, { "match[]": selector });
      expect(r.status, `${v.name}: ${r.error}`).toBe("success");
      offered[v.name] = r.data as string[];
    }
    return offered;
  }

  it("names the sensor from the target's host (the scrape config's relabelling)", async () => {
    const r = await query("egressd_build_info");
    expect(r.data.result).toHaveLength(1);
    expect(r.data.result[0].metric).toMatchObject({ job: "egressd", sensor: "127.0.0.1" });
  });

  it("every dashboard query returns data with every variable on All", async () => {
    const all = { sensor: ".*", group: ".*", device: ".*" };
    const offered = await variableValues(all);
    expect(offered.sensor).toEqual(["127.0.0.1"]);
    expect(offered.group).toContain("lab-cameras");
    expect(offered.device?.filter((d) => d !== "other").length).toBeGreaterThan(0);
    expect(await failingQueries(all)).toEqual([]);
  }, 60_000);

  it("every dashboard query returns data with one sensor, group and device chosen", async () => {
    const sensor = grafanaEscape("127.0.0.1");
    const offered = await variableValues({ sensor, group: "lab-cameras", device: ".*" });
    // The camera: the one device of the group with series of its own.
    const devices = offered.device!.filter((d) => d !== "other");
    expect(devices).toHaveLength(1);
    const device = grafanaEscape(devices[0]!);
    expect(await failingQueries({ sensor, group: "lab-cameras", device })).toEqual([]);
  }, 60_000);

  it("shows what the camera did", async () => {
    const value = async (expr: string) => Number((await query(expr)).data.result[0]?.value[1]);
    expect(await value('sum(egressd_alerts_sent_total{rule_id="EGR-VC-001"})')).toBe(1);
    expect(await value('sum(egressd_alerts_sent_total{rule_id="EGR-FW-002"})')).toBe(1);
    expect(
      await value('sum(egressd_inventory_devices_by_maker{group="lab-cameras", role="camera"})'),
    ).toBe(1);
    expect(await value('egressd_inventory_internet_devices{outcome="established"}')).toBe(1);
    expect(await value('egressd_internet_connections_total{outcome="rejected"}')).toBeGreaterThan(
      0,
    );
    expect(
      await value('sum(egressd_device_internet_connections_total{country="CN"})'),
    ).toBeGreaterThan(0);
  });

  it("exports every metric the alert rules select, and the rules evaluate without error", async () => {
    const missing: string[] = [];
    for (const rule of readAlertRules()) {
      for (const name of metricNames(rule.expr)) {
        if (!(await seen(`count(${name})`))) missing.push(`${rule.alert}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
    const r = await api("/api/v1/rules");
    const rules = r.data.groups.flatMap((g: any) => g.rules);
    expect(rules.length).toBe(readAlertRules().length);
    expect(
      rules.filter((x: any) => x.health !== "ok").map((x: any) => `${x.name}: ${x.lastError}`),
    ).toEqual([]);
  }, 30_000);

  it("egressd's metrics, new ones included, pass promtool check metrics", async () => {
    const { stdout } = await pair.run(pair.server, [
      "curl",
      "-sS",
      `http://127.0.0.1:${EGRESSD_PORT}/metrics`,
    ]);
    const own = stdout
      .split("\n")
      .filter((l) => /^(# (HELP|TYPE) )?egressd_/.test(l))
      .join("\n");
    expect(own).toMatch(/^egressd_internet_network_connections_total\{/m);
    const lint = execFileSync("promtool", ["check", "metrics"], {
      input: `${own}\n`,
      encoding: "utf8",
    });
    expect(lint.trim()).toBe("");
  });
});
