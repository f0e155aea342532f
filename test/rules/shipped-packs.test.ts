/**
 * The shipped rule packs (rules/) check clean and pass their own test cases: real
 * captures made in network namespaces (rules/tests/make-captures.sh), including benign
 * ones that must raise nothing. Run through the built CLI, as an admin would.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { BIN, ROOT, requireBuild } from "../edge-cases/cli.js";

function egressd(...args: string[]) {
  requireBuild();
  return spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: ROOT });
}

describe("the shipped rule packs", () => {
  it("egressd rules check rules/ finds no problem", () => {
    const r = egressd("rules", "check", "rules/");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^rules\/: ok \(\d+ rules, .* \d+ tests\)/);
  });

  it("egressd rules test rules/ passes every case", () => {
    const r = egressd("rules", "test", "--json", "rules/");
    const cases = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const failed = cases.filter((c) => c.result !== "pass");
    expect(failed, JSON.stringify(failed, null, 2)).toEqual([]);
    expect(cases.length).toBeGreaterThanOrEqual(20);
    expect(r.status).toBe(0);
  });

  it("every pack has a case where none of its rules fires (a benign capture)", () => {
    const rules = egressd("rules", "list", "--json", "rules/")
      .stdout.trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const cases = egressd("rules", "test", "--json", "rules/")
      .stdout.trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const packs = [...new Set(rules.map((r) => String(r.file)))].sort();
    expect(packs.map((f) => f.replace(/^.*rules\//, ""))).toEqual([
      "baseline.yaml",
      "egress.yaml",
      "exfiltration.yaml",
      "exploits.yaml",
      "firmware.yaml",
      "segmentation.yaml",
      "vendor-cloud.yaml",
    ]);
    for (const pack of packs) {
      const ids = new Set(rules.filter((r) => r.file === pack).map((r) => r.id));
      const quiet = cases.filter(
        (c) =>
          String(c.file).endsWith(pack.replace(/^.*rules\//, "")) &&
          Object.keys(c.alerts).every((id) => !ids.has(id)),
      );
      expect(quiet.length, pack).toBeGreaterThan(0);
    }
  });
});
