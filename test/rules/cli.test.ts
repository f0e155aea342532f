import { join } from "node:path";
import { afterEach, describe, expect, test, vi } from "vitest";
import { UsageError } from "../../src/cli/errors.js";
import { runRules } from "../../src/cli/rules.js";
import { runCaptured } from "../helpers/captured-command.js";
import { writeTree } from "./helpers.js";

const EXAMPLE = "test/rules/fixtures/example";

const run = (args: string[]) => runCaptured(runRules, args);

describe("egressd rules", () => {
  afterEach(() => vi.restoreAllMocks());

  test("check of valid rules says ok on stdout, exit 0", async () => {
    expect(await run(["check", EXAMPLE])).toEqual({
      code: 0,
      out: `${EXAMPLE}: ok (5 rules, 1 exception, 3 sets used)\n`,
      err: "",
    });
  });

  test("check prints every problem as file:line:col on stderr, exit 1", async () => {
    const root = writeTree({
      "a.yaml":
        "rules:\n  - id: R1\n    name: x\n    severity: hgh\n    trigger: dns_query\n    when:\n      http.method: GET\n",
      "b.yaml": "rules:\n  - id: R1\n    name: y\n    severity: low\n    trigger: flow_end\n",
    });
    const r = await run(["check", root]);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toBe(
      `${root}/a.yaml:4:15: rule R1: severity: expected one of "info", "low", "medium", "high", "critical", found string "hgh"; did you mean "high"?\n` +
        `${root}/a.yaml:7:7: http.method is not known at trigger dns_query; it is known at http_request, http_response\n` +
        `${root}/b.yaml:2:9: duplicate rule id "R1"; already used at ${root}/a.yaml:2:9\n`,
    );
  });

  test("warnings do not fail the check", async () => {
    const root = writeTree({
      "a.yaml":
        "rules:\n  - id: R1\n    name: x\n    severity: low\n    trigger: flow_end\n    when:\n      network.protocol: mqtt\n",
    });
    const r = await run(["check", join(root, "a.yaml")]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(
      /^.*a\.yaml:7:25: warning: network\.protocol: not one of the known values/,
    );
    expect(r.out).toBe(`${join(root, "a.yaml")}: ok (1 rule, 0 exceptions, 0 sets used)\n`);
  });

  test("--var sets variables as the config would", async () => {
    const root = writeTree({
      "a.yaml":
        "rules:\n  - id: R1\n    name: x\n    severity: low\n    trigger: flow_end\n    when:\n      destination.country: $watch\n",
    });
    expect((await run(["check", root])).code).toBe(1);
    expect((await run(["check", "--var", "watch=CN,RU", root])).code).toBe(0);
    await expect(run(["check", "--var", "watch", root])).rejects.toThrow(UsageError);
  });

  test("check with no path checks rules/", async () => {
    const r = await run(["check"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^rules\/: ok \(/);
  });

  test("list: a table with id, severity, trigger, hits, tags, name", async () => {
    const r = await run(["list", EXAMPLE]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    expect(r.out).toBe(
      [
        "ID          SEVERITY  TRIGGER                        HITS  TAGS                                               NAME",
        "EGR-EX-001  high      dns_query                      0     call-home,attack.t1071,attack.command-and-control  Camera looks up a camera vendor's cloud",
        "EGR-EX-002  high      flow_outcome                   0     call-home,segmentation,attack.t1071                Camera reaches the internet by a hard-coded address",
        "EGR-EX-003  critical  flow_threshold bytes_out=50MB  0     exfiltration,attack.t1041                          Camera uploads 50 MB to somewhere other than the NVR",
        "EGR-EX-004  high      http_request                   0     firmware,attack.t1495                              Firmware pushed to a camera over HTTP",
        "EGR-EX-005  medium    flow_attempt                   0     call-home                                          Camera connects to a watched country or a P2P relay",
        "",
      ].join("\n"),
    );
  });

  test("list --json: one object per rule", async () => {
    const r = await run(["list", "--json", EXAMPLE]);
    const rows = r.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(5);
    expect(rows[2]).toEqual({
      id: "EGR-EX-003",
      name: "Camera uploads 50 MB to somewhere other than the NVR",
      description: "Video or audio leaving the camera network.",
      severity: "critical",
      tags: ["exfiltration", "attack.t1041"],
      references: [],
      trigger: "flow_threshold",
      thresholds: [{ kind: "bytes_out", value: 50_000_000, text: "50MB" }],
      enabled: true,
      file: join(EXAMPLE, "camera.yaml"),
      line: 39,
      hits: 0,
    });
  });

  test("list of broken rules prints the problems and exits 1", async () => {
    const root = writeTree({ "a.yaml": "rules: 5\n" });
    const r = await run(["list", root]);
    expect(r).toEqual({
      code: 1,
      out: "",
      err: `${root}/a.yaml:1:8: rules: expected a list, found number 5\n`,
    });
  });

  test("usage errors", async () => {
    await expect(run([])).rejects.toThrow("rules needs a subcommand: check or list");
    await expect(run(["lint"])).rejects.toThrow(
      'unknown rules subcommand "lint"; known: check, list',
    );
    await expect(run(["check", "--json"])).rejects.toThrow("--json is for rules list");
    await expect(run(["check", "--bogus"])).rejects.toThrow(UsageError);
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: egressd rules check/);
  });

  test("a path that does not exist", async () => {
    const r = await run(["check", "no/such/rules"]);
    expect(r).toEqual({
      code: 1,
      out: "",
      err: "no/such/rules: cannot read: no such file or directory\n",
    });
  });
});
