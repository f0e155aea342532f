/**
 * `egressd run` on the wire: a camera namespace and a gateway namespace joined by a veth,
 * real servers (dnsmasq, nginx, openssl s_server, a busybox upload sink) on documentation
 * addresses in the gateway, egressd capturing live on the gateway's veth. Real clients in
 * the camera namespace (dig, curl, openssl s_client) raise alerts within 2 seconds;
 * /metrics shows the counters and passes promtool; traffic to the NVR raises nothing;
 * SIGHUP with a broken rule file keeps the old rules; SIGTERM flushes flows and exits 0.
 *
 * Safety: packets only cross the veth between the two namespaces this test creates
 * (test/e2e/netns.ts), between documentation addresses assigned to them.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, requireBuild } from "../edge-cases/cli.js";
import { labConfigYaml } from "./lab-config.js";
import { startServers, writeServerFiles } from "./make-client-captures.js";
import {
  ADDR,
  canUseNetns,
  createNetnsPair,
  type NetnsPair,
  SERVER_IF,
  type Server,
} from "./netns.js";

const NVR = "192.0.2.54";
const PORT = 9811;
const usable = canUseNetns();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const RULES = `rules:
  - id: T-DNS
    name: Camera looks up its update host
    severity: high
    trigger: dns_query
    when: { source.role: camera, dns.query: { suffix: update.example.test } }
  - id: T-TLS
    name: Camera opens TLS to a watched country
    severity: critical
    trigger: tls_client_hello
    when: { source.role: camera, destination.country: CN }
  - id: T-FW
    name: Camera downloads a firmware image
    severity: critical
    trigger: http_request
    when: { source.role: camera, http.path: { suffix: .dav } }
  - id: T-UP
    name: Camera uploads to the internet
    severity: high
    trigger: flow_threshold
    threshold: { bytes_out: 100kB }
    when: { source.role: camera, destination.scope: internet }
  - id: T-END
    name: A flow to port 9999 ended
    severity: low
    trigger: flow_end
    when: { destination.port: 9999 }
  - id: T-NVR
    name: Anything to the NVR
    severity: info
    trigger: flow_attempt
    when: { destination.ip: ${NVR}, not: { destination.role: nvr } }
`;

describe.skipIf(!usable)("egressd run on a live interface", () => {
  let pair: NetnsPair;
  let daemon: Server;
  let dir: string;
  let alertsFile: string;
  let rulesFile: string;

  const alerts = (): any[] =>
    existsSync(alertsFile)
      ? readFileSync(alertsFile, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [];
  const http = async (path: string) =>
    (
      await pair.run(
        pair.server,
        ["curl", "-sS", "-w", "\n%{http_code}", `http://127.0.0.1:${PORT}${path}`],
        {
          okCodes: [0, 7, 22],
        },
      )
    ).stdout;
  async function waitFor(what: () => boolean | Promise<boolean>, label: string, ms = 10_000) {
    const end = Date.now() + ms;
    while (!(await what())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${label}\n${daemon.output()}`);
      await sleep(50);
    }
  }
  /**
   * Runs a client in the camera namespace and watches the alert file meanwhile; resolves
   * with how long after its evidence (the alert's packet time) rule `id`'s alert was there.
   */
  async function alertLatency(id: string, argv: string[], okCodes = [0]): Promise<number> {
    const before = alerts().filter((a) => a.rule.id === id).length;
    const client = pair.run(pair.client, argv, { okCodes });
    let arrived = 0;
    await waitFor(
      () => {
        if (alerts().filter((a) => a.rule.id === id).length === before) return false;
        arrived = Date.now();
        return true;
      },
      `alert ${id}`,
      8000,
    );
    await client;
    const alert = alerts().filter((a) => a.rule.id === id)[before];
    const evidenceMs = Date.parse(alert["@timestamp"].replace(/\.(\d{3})\d*Z$/, ".$1Z"));
    return arrived - evidenceMs;
  }

  beforeAll(async () => {
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), "egressd-daemon-"));
    writeServerFiles(dir);
    writeFileSync(join(dir, "digicap.dav"), Buffer.alloc(4096, 7));
    writeFileSync(join(dir, "upload.bin"), Buffer.alloc(300_000, 1));
    pair = await createNetnsPair();
    await startServers(pair, dir);
    // The NVR: another address on the gateway's veth. An upload sink on TCP 9000: reads
    // whatever comes until the client closes, and answers nothing.
    execFileSync("ip", ["-n", pair.server, "addr", "add", `${NVR}/24`, "dev", SERVER_IF]);
    pair.spawn(pair.server, [
      "python3",
      "-c",
      'import socket\ns = socket.create_server(("0.0.0.0", 9000))\nwhile True:\n  c, _ = s.accept()\n  while c.recv(65536): pass\n  c.close()',
    ]);
    alertsFile = join(dir, "alerts.json");
    rulesFile = join(dir, "rules.yaml");
    writeFileSync(rulesFile, RULES);
    const config = join(dir, "egressd.yaml");
    writeFileSync(
      config,
      labConfigYaml({
        dir,
        rulePaths: [rulesFile],
        httpPort: PORT,
        alertsFile,
        groups: [`{ name: lab-nvr, role: nvr, cidrs: [${NVR}/32] }`],
      }),
    );
    daemon = pair.spawn(pair.server, [process.execPath, BIN, "run", "-c", config]);
    await waitFor(async () => (await http("/readyz")).endsWith("200"), "/readyz", 20_000);
  }, 60_000);

  afterAll(async () => {
    await pair?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("raises alerts within 2 seconds of the traffic", async () => {
    const server = ADDR.server4;
    const latencies: Record<string, number> = {};
    latencies.dns = await alertLatency("T-DNS", [
      "dig",
      `@${server}`,
      "update.example.test",
      "+tries=1",
      "+time=2",
    ]);
    latencies.tls = await alertLatency("T-TLS", [
      "openssl",
      "s_client",
      "-connect",
      `${server}:443`,
      "-servername",
      "cam.example.test",
    ]);
    latencies.firmware = await alertLatency("T-FW", [
      "curl",
      "-sS",
      "--max-time",
      "5",
      "-o",
      "/dev/null",
      `http://${server}/digicap.dav`,
    ]);
    latencies.upload = await alertLatency(
      "T-UP",
      [
        "curl",
        "-sS",
        "--max-time",
        "3",
        "-o",
        "/dev/null",
        "--data-binary",
        `@${join(dir, "upload.bin")}`,
        `http://${server}:9000/`,
      ],
      [28], // the sink never answers: curl times out after sending everything
    );
    for (const [what, ms] of Object.entries(latencies)) {
      expect(ms, `${what} alert after ${ms} ms`).toBeLessThan(2000);
    }
    const tls = alerts().find((a) => a.rule.id === "T-TLS");
    expect(tls).toMatchObject({
      event: { kind: "alert" },
      observer: { name: "lab-gateway" },
      destination: { ip: server, geo: { country_iso_code: "CN" } },
      tls: { client: { server_name: "cam.example.test" } },
    });
    expect(tls.egressd.source_device).toMatchObject({ group: "lab-cameras", role: "camera" });
  }, 30_000);

  it("benign traffic to the NVR raises nothing", async () => {
    for (let i = 0; i < 3; i++) {
      await pair.run(pair.client, [
        "python3",
        "-c",
        `import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); [s.sendto(b"rtp"*100, ("${NVR}", 5004)) for _ in range(20)]`,
      ]);
    }
    await pair.run(pair.client, ["ping", "-n", "-c", "2", "-i", "0.2", NVR]);
    await sleep(500);
    expect(alerts().filter((a) => a.destination?.ip === NVR)).toEqual([]);
  });

  it("/metrics shows the counters and passes promtool", async () => {
    const text = (await http("/metrics")).replace(/\n200$/, "\n");
    const value = (re: RegExp) => Number(re.exec(text)?.[1]);
    expect(
      value(/^egressd_capture_packets_total\{[^}]*interface="veth-s"[^}]*\} (\S+)$/m),
    ).toBeGreaterThan(50);
    expect(value(/^egressd_rules_reload_success (\S+)$/m)).toBe(1);
    expect(text).toMatch(/^egressd_rule_matches_total\{rule_id="T-DNS",severity="high"\} [1-9]/m);
    expect(text).toMatch(/^egressd_flows_active /m);
    const promtool = execFileSync("promtool", ["check", "metrics"], {
      input: text,
      encoding: "utf8",
    });
    expect(promtool.trim()).toBe("");
  });

  it("SIGHUP with a broken rule file keeps the old rules running", async () => {
    writeFileSync(rulesFile, `${RULES}  - id: BROKEN\n    severity: [\n`);
    process.kill(daemon.child.pid!, "SIGHUP");
    await waitFor(
      async () => /^egressd_rules_reload_success 0$/m.test(await http("/metrics")),
      "the failed reload",
    );
    expect(daemon.output()).toMatch(/reload failed; still running the previous config/);
    const ms = await alertLatency("T-DNS", [
      "dig",
      `@${ADDR.server4}`,
      "a.update.example.test",
      "+tries=1",
      "+time=2",
    ]);
    expect(ms).toBeLessThan(2000);
    writeFileSync(rulesFile, RULES);
  }, 20_000);

  it("SIGTERM flushes the open flows (flow_end rules run) and exits 0", async () => {
    await pair.run(pair.client, [
      "python3",
      "-c",
      `import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("${ADDR.server4}", 9999))`,
    ]);
    await sleep(300);
    expect(alerts().some((a) => a.rule.id === "T-END")).toBe(false);
    process.kill(daemon.child.pid!, "SIGTERM");
    const code = await new Promise<number | null>((resolve) =>
      daemon.child.once("exit", (c) => resolve(c)),
    );
    expect(code).toBe(0);
    expect(alerts().some((a) => a.rule.id === "T-END")).toBe(true);
    expect(daemon.output()).toMatch(/"msg":"stopped"/);
  }, 30_000);
});
