/**
 * `tests:` in rule files and `egressd rules test`: the loader's checks at file:line:col,
 * the cases run on the real namespace capture (test/fixtures/real) with the test GeoIP
 * databases, and the command's output and exit codes.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, test, vi } from "vitest";
import { UsageError } from "../../src/cli/errors.js";
import { runRules, runRuleTest } from "../../src/cli/rules.js";
import { formatRuleProblem, loadRuleFiles } from "../../src/rules/index.js";
import { BIN, ROOT, requireBuild } from "../edge-cases/cli.js";
import { runCaptured } from "../helpers/captured-command.js";
import { NOW, writeTree } from "./helpers.js";

const RUNNER = "test/rules/fixtures/runner";
const LAB = `${RUNNER}/lab.yaml`;
const CAPTURE = resolve("test/fixtures/real/namespace-clients.pcap");
const CONFIG = resolve(RUNNER, "tests/lab.yaml");

const run = (args: string[]) => runCaptured(runRules, args);

/** A folder with `tests.yaml` (TEXT, $CAPTURE and $CONFIG replaced) and any other files. */
function tree(text: string, files: Record<string, string> = {}) {
  const root = writeTree({
    "tests.yaml": text.replaceAll("$CAPTURE", CAPTURE).replaceAll("$CONFIG", CONFIG),
    ...files,
  });
  return { root, file: join(root, "tests.yaml") };
}

/** Problems as file:line:col text, the temp folder left out. */
function problemsOf(paths: string[], root: string, options = {}) {
  const r = loadRuleFiles(paths, { now: NOW, ...options });
  return { ...r, lines: r.problems.map((p) => formatRuleProblem(p).replaceAll(`${root}/`, "")) };
}

/** A test case file run together with the lab rules. */
const FAILING = `
tests:
  - name: expects what does not happen
    capture: $CAPTURE
    config: $CONFIG
    expect:
      - rule: LAB-TLS-1
      - rule: LAB-DNS-1
        min: 5
  - name: a rule fires that must not
    capture: $CAPTURE
    config: $CONFIG
    expect:
      - rule: LAB-DNS-1
    absent: [LAB-HTTP-1]
  - name: the alerts are not the ones expected
    capture: $CAPTURE
    config: $CONFIG
    expect:
      - rule: LAB-HTTP-1
        where: { url.path: /c.txt, source.ip: 192.0.2.10 }
      - rule: LAB-HTTP-1
        max: 3
`;

describe("tests: in rule files", () => {
  test("are parsed with their file and line; paths are relative to the rule file", () => {
    const r = loadRuleFiles([RUNNER], { now: NOW });
    expect(r.problems).toEqual([]);
    // tests/ holds the cases' config, which is not read as a rule file.
    expect(r.files).toEqual([LAB]);
    expect(r.tests).toEqual([
      {
        file: LAB,
        line: 31,
        col: 5,
        name: "the camera looks up its update host and fetches two files",
        capture: "test/fixtures/real/namespace-clients.pcap",
        config: `${RUNNER}/tests/lab.yaml`,
        variables: {},
        expect: [
          {
            rule: "LAB-DNS-1",
            min: 1,
            where: [
              { field: "dns.question.name", values: ["update.example.test"] },
              { field: "source.ip", values: ["192.0.2.10", "2001:db8:0:1::10"] },
            ],
            line: 35,
            col: 9,
          },
          {
            rule: "LAB-HTTP-1",
            min: 8,
            max: 8,
            where: [{ field: "url.path", values: ["/a.txt", "/b.txt"] }],
            line: 39,
            col: 9,
          },
        ],
        absent: ["LAB-TLS-1"],
      },
      expect.objectContaining({
        line: 44,
        name: "with China watched, its TLS to cam.example.test raises an alert",
        variables: { watch_countries: ["CN"] },
        absent: [],
      }),
    ]);
  });

  test("every problem is reported at file:line:col, like the rest of the file", () => {
    const { root, file } = tree(
      `rules:
  - { id: R1, name: r, severity: low, trigger: dns_query }
  - { id: R2, name: r, severity: low, trigger: dns_query, enabled: false }
tests:
  - name: missing capture
    capture: nothere.pcap
    expcet: [R1]
    absent: [R1]
  - capture: $CAPTURE
    expect:
      - { rule: R3 }
      - { rule: R1, min: 2, max: 1 }
      - { rule: R2 }
      - { rule: R1, where: { destinaton.domain: a.test } }
      - { rule: R1, where: [a] }
    absent: R1
  - name: checks nothing
    capture: $CAPTURE
    variables: { nope: 1 }
`,
    );
    const r = problemsOf([file], root);
    expect(r.lines).toEqual([
      'tests.yaml:6:14: test "missing capture": capture nothere.pcap: no such file',
      'tests.yaml:7:5: unknown key "expcet" in test tests[0]; did you mean "expect"?',
      'tests.yaml:9:5: missing required key "name" in test tests[1]',
      'tests.yaml:11:17: test tests[1]: no rule "R3"; did you mean "R1"?',
      "tests.yaml:12:34: test tests[1]: expect[1] (R1): max 1 is below min 2",
      "tests.yaml:13:17: warning: test tests[1]: rule R2 is disabled (enabled: false), so it never fires",
      'tests.yaml:14:30: warning: test tests[1]: expect[3] (R1): where: alert records have no field "destinaton"; did you mean "destination"?',
      "tests.yaml:15:28: test tests[1]: expect[4] (R1): where: expected a mapping of alert fields to values, such as { destination.domain: litedev.hik-connect.com }, found a list",
      "tests.yaml:16:13: test tests[1]: rule R1 is both expected and absent",
      'tests.yaml:17:5: warning: test "checks nothing": no expect: and no absent:, so it checks nothing',
      'tests.yaml:19:18: warning: test "checks nothing": no rule uses variable nope',
    ]);
    expect(r.ruleSet).toBeNull();
    // Only the complete cases come out.
    expect(r.tests.map((t) => t.name)).toEqual(["checks nothing"]);
  });

  test("a rule in another file of the load is a warning, in none an error", () => {
    const { root, file } = tree(
      "tests:\n  - name: t\n    capture: $CAPTURE\n    expect: [{ rule: LAB-DNS-1 }]\n",
    );
    const both = problemsOf([LAB, file], root);
    expect(both.lines).toEqual([
      `tests.yaml:4:22: warning: test "t": rule LAB-DNS-1 is in ${LAB}, not this file; the test needs that file loaded with it`,
    ]);
    expect(both.ruleSet).not.toBeNull();
    const alone = problemsOf([file], root);
    expect(alone.lines).toEqual(['tests.yaml:4:22: test "t": no rule "LAB-DNS-1"']);
    expect(alone.ruleSet).toBeNull();
  });

  test("a case's config is checked with the rules; replay (testFiles: false) skips the files", () => {
    const { root } = tree(
      "rules:\n  - { id: R1, name: r, severity: low, trigger: dns_query }\ntests:\n  - name: t\n    capture: gone.pcap\n    config: tests/bad.yaml\n    expect: [{ rule: R1 }]\n",
      { "tests/bad.yaml": "geoip:\n  bundeld: false\n" },
    );
    expect(problemsOf([root], root).lines).toEqual([
      'tests.yaml:5:14: test "t": capture gone.pcap: no such file',
      'tests.yaml:6:13: test "t": config tests/bad.yaml has errors (listed with it)',
      'tests/bad.yaml:2:3: unknown key "bundeld" in geoip; did you mean "bundled"?',
    ]);
    const skipped = problemsOf([root], root, { testFiles: false });
    expect(skipped.lines).toEqual([]);
    expect(skipped.ruleSet).not.toBeNull();
  });
});

describe("runRuleTest", () => {
  test("a passing case: its alerts by rule and no reasons", async () => {
    const { tests } = loadRuleFiles([RUNNER], { now: NOW });
    const r = await runRuleTest(tests[0]!, [RUNNER]);
    expect(r).toMatchObject({
      pass: true,
      reasons: [],
      alerts: { "LAB-DNS-1": 4, "LAB-HTTP-1": 8 },
    });
    // The case's variables: China watched, so LAB-TLS-1 fires (it does not in the first case).
    const r2 = await runRuleTest(tests[1]!, [RUNNER]);
    expect(r2.pass).toBe(true);
    expect(r2.alerts["LAB-TLS-1"]).toBe(10);
  });

  test("each unmet expectation is one reason, naming the rule and the counts", async () => {
    const { root, file } = tree(FAILING);
    const loaded = loadRuleFiles([LAB, file], { now: NOW });
    expect(loaded.ruleSet).not.toBeNull();
    const results = [];
    for (const t of loaded.tests.filter((x) => x.file === file)) {
      results.push(await runRuleTest(t, [LAB, file]));
    }
    expect(root).not.toBe("");
    expect(results.map((r) => r.pass)).toEqual([false, false, false]);
    expect(results.map((r) => r.reasons)).toEqual([
      [
        "LAB-TLS-1: expected at least 1 alert, got 0",
        "LAB-DNS-1: expected at least 5 alerts, got 4",
      ],
      [
        "LAB-HTTP-1 fired 8 times but must not (first at 2026-11-22T04:29:49.329968000Z: Camera in lab-cameras (192.0.2.10) sent GET /a.txt to update.example.test (192.0.2.53, CN, AS37963 Hangzhou Alibaba Advertising Co.,Ltd.) on port 80)",
      ],
      [
        "LAB-HTTP-1: 0 of 8 alerts have url.path = /c.txt and source.ip = 192.0.2.10 (url.path seen: /a.txt, /b.txt)",
        "LAB-HTTP-1: expected at most 3 alerts, got 8",
      ],
    ]);
  });

  test("rules in another file apply: an exception there makes an absent rule pass", async () => {
    const { file } = tree(
      `exceptions:
  - id: X1
    rules: [LAB-HTTP-1]
    reason: the lab's web server
    when: { http.path: [/a.txt, /b.txt] }
tests:
  - name: the lab's fetches are allowed
    capture: $CAPTURE
    config: $CONFIG
    absent: [LAB-HTTP-1]
`,
    );
    const loaded = loadRuleFiles([LAB, file], { now: NOW });
    const t = loaded.tests.find((x) => x.file === file)!;
    expect(await runRuleTest(t, [LAB, file])).toMatchObject({ pass: true, reasons: [] });
    // Without the exception's file the same case fails.
    expect((await runRuleTest(t, [LAB])).reasons).toEqual([
      expect.stringMatching(/^LAB-HTTP-1 fired 8 times but must not/),
    ]);
  });

  test("a damaged capture fails the case with the reader's error", async () => {
    const { root, file } = tree(
      "tests:\n  - name: cut\n    capture: cut.pcap\n    config: $CONFIG\n    expect: [{ rule: LAB-DNS-1 }]\n",
      { "cut.pcap": "" },
    );
    // The capture up to the middle of a record header.
    writeFileSync(join(root, "cut.pcap"), readFileSync(CAPTURE).subarray(0, 20_000));
    const loaded = loadRuleFiles([LAB, file], { now: NOW });
    const r = await runRuleTest(loaded.tests.find((x) => x.file === file)!, [LAB, file]);
    expect(r.pass).toBe(false);
    expect(r.reasons).toEqual([
      `capture ${root}/cut.pcap is damaged: truncated record header at byte offset 19994: 16 bytes needed, only 6 remain`,
    ]);
  });
});

describe("egressd rules test", () => {
  afterEach(() => vi.restoreAllMocks());

  test("prints PASS per case and the count; exit 0 when all pass", async () => {
    expect(await run(["test", RUNNER])).toEqual({
      code: 0,
      out:
        `PASS ${LAB}:31 the camera looks up its update host and fetches two files\n` +
        `PASS ${LAB}:44 with China watched, its TLS to cam.example.test raises an alert\n` +
        "2 tests: 2 passed, 0 failed\n",
      err: "",
    });
  });

  test("FAIL cases list their reasons indented; exit 1; the same output every run", async () => {
    const { file } = tree(FAILING);
    const r = await run(["test", LAB, file]);
    expect(r.code).toBe(1);
    expect(r.out.split("\n")).toEqual([
      `PASS ${LAB}:31 the camera looks up its update host and fetches two files`,
      `PASS ${LAB}:44 with China watched, its TLS to cam.example.test raises an alert`,
      `FAIL ${file}:3 expects what does not happen`,
      "  LAB-TLS-1: expected at least 1 alert, got 0",
      "  LAB-DNS-1: expected at least 5 alerts, got 4",
      `FAIL ${file}:10 a rule fires that must not`,
      expect.stringMatching(/^ {2}LAB-HTTP-1 fired 8 times but must not \(first at /),
      `FAIL ${file}:16 the alerts are not the ones expected`,
      "  LAB-HTTP-1: 0 of 8 alerts have url.path = /c.txt and source.ip = 192.0.2.10 (url.path seen: /a.txt, /b.txt)",
      "  LAB-HTTP-1: expected at most 3 alerts, got 8",
      "5 tests: 2 passed, 3 failed",
      "",
    ]);
    // The tests use rules of another file: said once per reference, as warnings.
    expect(r.err).toMatch(
      /tests\.yaml:7:15: warning: test "expects what does not happen": rule LAB-TLS-1 is in /,
    );
    expect(await run(["test", LAB, file])).toEqual(r);
  });

  test("--json: one object per case", async () => {
    const r = await run(["test", "--json", RUNNER]);
    expect(r.code).toBe(0);
    expect(
      r.out
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([
      {
        file: LAB,
        line: 31,
        name: "the camera looks up its update host and fetches two files",
        result: "pass",
        reasons: [],
        alerts: { "LAB-DNS-1": 4, "LAB-HTTP-1": 8 },
      },
      {
        file: LAB,
        line: 44,
        name: "with China watched, its TLS to cam.example.test raises an alert",
        result: "pass",
        reasons: [],
        alerts: { "LAB-DNS-1": 4, "LAB-HTTP-1": 8, "LAB-TLS-1": 10 },
      },
    ]);
  });

  test("a load problem (a missing capture) runs nothing: file:line:col on stderr, exit 1", async () => {
    const { file } = tree(
      "tests:\n  - name: t\n    capture: missing.pcap\n    expect: [{ rule: LAB-DNS-1 }]\n",
    );
    const r = await run(["test", LAB, file]);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toContain(
      `${file}:3:14: test "t": capture ${file.replace("tests.yaml", "missing.pcap")}: no such file\n`,
    );
  });

  test("rules check accepts tests: and counts them", async () => {
    expect(await run(["check", RUNNER])).toEqual({
      code: 0,
      out: `${RUNNER}: ok (3 rules, 0 exceptions, 0 sets used, 2 tests)\n`,
      err: "",
    });
  });

  test("usage errors", async () => {
    await expect(run(["tst", RUNNER])).rejects.toThrow(UsageError);
    await expect(run(["test", "--bogus", RUNNER])).rejects.toThrow(UsageError);
  });

  test("through the built CLI: exit 0, 1 and 2", () => {
    requireBuild();
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [BIN, "rules", ...args], { cwd: ROOT, encoding: "utf8" });
    const ok = cli("test", RUNNER);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^PASS .*\n2 tests: 2 passed, 0 failed\n$/s);
    const { file } = tree(FAILING);
    const failed = cli("test", LAB, file);
    expect(failed.status).toBe(1);
    expect(failed.stdout).toMatch(/\n5 tests: 2 passed, 3 failed\n$/);
    expect(cli("test", "--bogus").status).toBe(2);
  });
});
