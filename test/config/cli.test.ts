import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test, vi } from "vitest";
import { runConfig } from "../../src/cli/config.js";
import { UsageError } from "../../src/cli/errors.js";
import { configJsonSchema } from "../../src/config/config.js";
import { runCaptured } from "../helpers/captured-command.js";

const run = (args: string[]) => runCaptured(runConfig, args);

describe("egressd config", () => {
  const dir = mkdtempSync(join(tmpdir(), "egressd-config-cli-"));
  afterEach(() => vi.restoreAllMocks());

  test("check with no file checks config/egressd.yaml", async () => {
    expect(await run(["check"])).toEqual({ code: 0, out: "config/egressd.yaml: ok\n", err: "" });
  });

  test("check prints every problem as file:line:col and exits 1", async () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "devices:\n  max_device: 5\nflows:\n  max_flows: 0\n");
    expect(await run(["check", file])).toEqual({
      code: 1,
      out: "",
      err:
        `${file}:2:3: unknown key "max_device" in devices; did you mean "max_devices"?\n` +
        `${file}:4:14: flows.max_flows: expected an integer >= 1, found number 0\n`,
    });
  });

  test("check of a missing file exits 1", async () => {
    const file = join(dir, "missing.yaml");
    expect(await run(["check", file])).toEqual({
      code: 1,
      out: "",
      err: `${file}: cannot read: no such file\n`,
    });
  });

  test("schema prints the JSON Schema", async () => {
    const r = await run(["schema"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(configJsonSchema());
  });

  test("--help", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: egressd config check \[FILE\]/);
  });

  test("usage errors", async () => {
    await expect(run([])).rejects.toThrow(UsageError);
    await expect(run(["lint"])).rejects.toThrow('unknown config subcommand "lint"');
    await expect(run(["check", "a", "b"])).rejects.toThrow(UsageError);
    await expect(run(["schema", "x"])).rejects.toThrow(UsageError);
    await expect(run(["check", "--bogus"])).rejects.toThrow(UsageError);
  });
});
