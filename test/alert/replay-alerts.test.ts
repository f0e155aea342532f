/**
 * `egressd replay --alerts`: rules evaluated at their triggers on the real namespace
 * capture, through the built CLI, with the test GeoIP databases making the lab's
 * documentation-range "internet" look like China.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, ROOT, requireBuild } from "../edge-cases/cli.js";

const CAPTURE = join(ROOT, "test/fixtures/real/namespace-clients.pcap");
const FIXTURES = join(ROOT, "test/fixtures/geoip");
const dir = mkdtempSync(join(tmpdir(), "egressd-alerts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG = `
geoip:
  country_db: ${FIXTURES}/test-country.mmdb
  asn_db: ${FIXTURES}/test-asn.mmdb
  bundled: false
  internet_ranges: [192.0.2.53/32, "2001:db8:0:1::53/128"]
devices:
  groups:
    - { name: lab-cameras, role: camera, cidrs: [192.0.2.10/32, "2001:db8:0:1::10/128"] }
alerts:
  cooldown: 0s  # every match is an alert here (dedup: test/alert/router.test.ts)
`;

const RULES = `
variables:
  watch_countries: [RU]
rules:
  - id: LAB-1
    name: Camera looks up an update host
    description: A camera asked for a name under example.test.
    severity: high
    tags: [call-home]
    trigger: dns_query
    when:
      source.role: camera
      dns.query: { suffix: update.example.test }
  - id: LAB-2
    name: Camera opens TLS to a watched country
    description: TLS from a camera to a country in watch_countries.
    severity: critical
    trigger: tls_client_hello
    when:
      source.role: camera
      destination.country: $watch_countries
`;

function run(...extra: string[]) {
  requireBuild();
  const config = join(dir, "config.yaml");
  const rules = join(dir, "rules.yaml");
  writeFileSync(config, CONFIG);
  writeFileSync(rules, RULES);
  const r = spawnSync(
    process.execPath,
    [
      BIN,
      "replay",
      "-c",
      config,
      "--alerts",
      "--rules",
      rules,
      "--summary",
      "json",
      ...extra,
      CAPTURE,
    ],
    { encoding: "utf8" },
  );
  const summary = JSON.parse(r.stderr.trim().split("\n").at(-1)!);
  const alerts =
    r.stdout.trim() === ""
      ? []
      : r.stdout
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l));
  return { status: r.status, alerts, summary, stderr: r.stderr };
}

describe("replay --alerts", () => {
  it("writes one ECS alert per match, at the trigger, saying which rule fired and why", () => {
    const { status, alerts, summary } = run();
    expect(status).toBe(0);
    expect(alerts.length).toBeGreaterThan(0);
    expect(summary.alerts).toBe(alerts.length);
    expect(summary.alerts_sent).toBe(alerts.length);
    expect(new Set(alerts.map((a) => a.event.id)).size).toBe(alerts.length);
    expect(new Set(alerts.map((a) => a.rule.id))).toEqual(new Set(["LAB-1"]));
    const a = alerts[0];
    expect(a.event).toMatchObject({ kind: "alert", severity: 73, action: "dns_query" });
    expect(a.dns.question.name).toMatch(/update\.example\.test$/);
    expect(a.egressd.source_device).toMatchObject({ group: "lab-cameras", role: "camera" });
    expect(a.egressd.reasons.join(" ")).toContain("update.example.test");
    expect(a.message).toMatch(/^Camera in lab-cameras \(192\.0\.2\.10\) looked up /);
    // The lab's DNS server is "internet" in China here.
    expect(a.destination.geo.country_iso_code).toBe("CN");
  });

  it("variables from the command line override the file's", () => {
    const { alerts } = run("--var", "watch_countries=CN,KP");
    const tls = alerts.filter((a) => a.rule.id === "LAB-2");
    expect(tls.length).toBeGreaterThan(0);
    expect(tls.some((a) => a.tls.client.server_name === "cam.example.test")).toBe(true);
    expect(tls[0].event.severity).toBe(99);
  });

  it("takes variables from the config file's rules section, and --var over them", () => {
    const config = join(dir, "config-vars.yaml");
    writeFileSync(config, `${CONFIG}\nrules:\n  variables:\n    watch_countries: [CN]\n`);
    const rules = join(dir, "rules.yaml");
    writeFileSync(rules, RULES);
    const replay = (...extra: string[]) =>
      spawnSync(
        process.execPath,
        [BIN, "replay", "-c", config, "--alerts", "--rules", rules, ...extra, CAPTURE],
        { encoding: "utf8" },
      )
        .stdout.trim()
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l));
    expect(replay().some((a) => a.rule.id === "LAB-2")).toBe(true);
    expect(replay("--var", "watch_countries=RU").some((a) => a.rule.id === "LAB-2")).toBe(false);
  });

  it("refuses rules with errors, listing each at file:line:col, and writes nothing", () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(
      bad,
      "rules:\n  - id: X\n    name: x\n    description: x\n    severity: urgent\n    trigger: dns_query\n    when: { dns.query: a.test }\n",
    );
    const r = spawnSync(process.execPath, [BIN, "replay", "--alerts", "--rules", bad, CAPTURE], {
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${bad.replaceAll(".", "\\.")}:5:15: `));
    expect(r.stdout).toBe("");
  });
});
