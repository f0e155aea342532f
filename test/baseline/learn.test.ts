/**
 * Learning and enforcing baselines on the lab's real captures: learn on the camera's
 * benign traffic, enforce on the same traffic plus a vendor-cloud lookup and an upload
 * (rules/tests/drift.pcap): exactly those drift alerts fire. Re-learning keeps the
 * admin's comments and edits; --diff shows what a learn would change.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  parseBaseline,
  readBaselineFile,
  writeBaseline,
} from "../../src/baseline/baseline-file.js";
import { BaselineLearner } from "../../src/baseline/learn.js";
import type { GroupBaseline } from "../../src/baseline/model.js";
import { BaselineMonitor } from "../../src/baseline/monitor.js";
import { exportMud } from "../../src/baseline/mud/export.js";
import { importMud } from "../../src/baseline/mud/import.js";
import { validateMud } from "../../src/baseline/mud/validate.js";
import { CaptureRun, openCaptureFile, runCaptureWithRules } from "../../src/cli/capture-run.js";
import { diffText, runLearn } from "../../src/cli/learn.js";
import { ConfigError } from "../../src/config/errors.js";
import { loadConfig } from "../../src/config/load.js";
import { formatRuleProblem, loadRuleFiles } from "../../src/rules/index.js";
import { runCaptured } from "../helpers/captured-command.js";
import { CAMERA, makeFlow, NVR } from "../rules/helpers.js";

const TESTS = resolve("rules/tests");
const LAB = join(TESTS, "lab.yaml");
const dir = mkdtempSync(join(tmpdir(), "egressd-baseline-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function learn(...captures: string[]) {
  const learner = new BaselineLearner();
  const run = new CaptureRun({
    config: loadConfig(LAB),
    geoipAgeWarnings: false,
    command: "learn",
  });
  try {
    for (const c of captures)
      await run.run(await openCaptureFile(join(TESTS, c)), { watches: [learner] });
  } finally {
    run.close();
  }
  return learner.result();
}

describe("egressd learn", () => {
  it("writes, per group, the peers, names, ports, protocols and volume seen", async () => {
    const b = await learn("benign.pcap");
    const cams = b.groups.find((g) => g.group === "cameras")!;
    expect(cams.role).toBe("camera");
    expect(cams.destinations.map((e) => [e.group, e.ports, e.protocols])).toEqual([
      ["recorders", ["tcp/554"], ["rtsp"]],
      ["resolvers", ["udp/53"], ["dns"]],
      ["timeservers", ["udp/123"], ["ntp"]],
    ]);
    expect(cams.lookups.map((l) => l.name)).toEqual(["ntp.cctv.lan", "nvr.cctv.lan"]);
    expect(cams.destinations[0]!.devices).toEqual(["mac:44-19-B6-0D-0C-11"]);
    expect(cams.volume?.bytes_out_per_day?.max).toBeGreaterThan(10_000);
    // The NVR's side: the camera reached it, so its baseline allows cameras in on 554.
    const nvr = b.groups.find((g) => g.group === "recorders")!;
    expect(nvr.destinations).toMatchObject([
      { group: "cameras", direction: "in", ports: ["tcp/554"] },
    ]);
    // What it writes is what it reads back.
    const file = join(dir, "one.yaml");
    writeBaseline(file, b);
    expect(readBaselineFile(file)).toEqual(b);
  });

  it("learning again keeps the admin's comments and edits, adds counts, appends new entries", async () => {
    const file = join(dir, "edited.yaml");
    writeBaseline(file, await learn("benign.pcap"));
    const edited = readFileSync(file, "utf8")
      .replace(
        "      - group: recorders",
        "      # the NVR: the only place video may go\n      - group: recorders",
      )
      .replace(
        "    lookups:\n      - name: ntp.cctv.lan",
        '      - domain: "*.pool.ntp.org" # allowed by hand: the vendor\'s NTP fallback\n        ports: [udp/123]\n    lookups:\n      - name: ntp.cctv.lan',
      );
    writeFileSync(file, edited);
    writeBaseline(file, await learn("benign.pcap", "drift.pcap"));
    const text = readFileSync(file, "utf8");
    expect(text).toContain("# the NVR: the only place video may go");
    expect(text).toContain('domain: "*.pool.ntp.org" # allowed by hand');
    const cams = readBaselineFile(file).groups.find((g) => g.group === "cameras")!;
    // benign.pcap learned twice more (once alone, once with drift.pcap): counts add up.
    expect(cams.destinations.find((e) => e.group === "recorders")!.flows).toBe(3);
    expect(cams.destinations.map((e) => e.group ?? e.domain ?? e.network)).toEqual([
      "recorders",
      "resolvers",
      "timeservers",
      "*.pool.ntp.org",
      "203.0.113.40/32",
    ]);
    expect(cams.lookups.map((l) => l.name)).toContain("litedev.hik-connect.com");
  });

  it("--diff shows what would change and writes nothing", async () => {
    const file = join(dir, "diff.yaml");
    copyFileSync(join(TESTS, "baseline-benign.yaml"), file);
    const before = readFileSync(file, "utf8");
    const r = await runCaptured(runLearn, [
      "-c",
      LAB,
      "-o",
      file,
      "--diff",
      join(TESTS, "drift.pcap"),
    ]);
    expect(r.code).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(before);
    expect(r.out).toContain("+ cameras: network 203.0.113.40/32 tcp/8080");
    expect(r.out).toContain("+ cameras: lookup litedev.hik-connect.com");
    expect(r.out).toMatch(/~ cameras: bytes_out_per_day max \d+ -> \d+/);
    expect(diffText(readBaselineFile(file), readBaselineFile(file), file)).toBe(
      `${file}: no changes\n`,
    );
  });

  it("a broken baseline file is reported at file:line:col, with a did-you-mean", () => {
    const bad =
      "version: 1\ngroups:\n  - group: cameras\n    destinations:\n      - domian: x.example\n        ports: [tcp/99999]\n";
    expect(() => parseBaseline(bad, "b.yaml")).toThrow(ConfigError);
    try {
      parseBaseline(bad, "b.yaml");
    } catch (err) {
      expect((err as ConfigError).message).toMatch(
        /b\.yaml:5:9: unknown key "domian".*did you mean "domain"\?/,
      );
    }
    expect(() =>
      parseBaseline(
        "groups:\n  - group: c\n    destinations:\n      - domain: x\n        ports: [tcp/99999]\n",
        "p.yaml",
      ),
    ).toThrow(/p\.yaml:5:17: .*"tcp\/99999" is not a port/);
  });
});

describe("enforcing a baseline", () => {
  it("exactly the lookup, the new destination and the day's volume drift", async () => {
    const loaded = loadRuleFiles([resolve("rules/baseline.yaml")], {});
    expect(loaded.problems.map(formatRuleProblem)).toEqual([]);
    const config = loadConfig(join(TESTS, "lab-baseline.yaml"));
    const drift = await runCaptureWithRules({
      capture: join(TESTS, "drift.pcap"),
      config,
      ruleSet: loaded.ruleSet!,
    });
    const seen = (drift.alerts as any[]).map((a) => [
      a.rule.id,
      a.egressd.baseline.kind,
      a.egressd.baseline.what,
    ]);
    expect(seen).toEqual([
      ["EGR-BL-001", "lookup", "litedev.hik-connect.com"],
      ["EGR-BL-002", "destination", "tcp/8080 to 203.0.113.40"],
      ["EGR-BL-004", "volume", expect.stringMatching(/^\d+ bytes out on 2026-11-22$/)],
    ]);
    const benign = await runCaptureWithRules({
      capture: join(TESTS, "benign.pcap"),
      config,
      ruleSet: loaded.ruleSet!,
    });
    expect(benign.alerts).toEqual([]);
  });
});

describe("learn -> export MUD -> import MUD -> enforce", () => {
  it("gives the same destination and port verdicts as the learned baseline", async () => {
    const learned = await learn("benign.pcap");
    // Every group goes through MUD and back (each group is its own MUD file).
    const imported = learned.groups.map((g) => {
      const { mud } = exportMud(g, { now: new Date("2026-11-22T00:00:00Z") });
      const text = JSON.stringify(mud, null, 2);
      return importMud(validateMud(text, `${g.group}.json`), { group: g.group }).baseline;
    });
    const verdicts = async (groups: typeof learned.groups) => {
      const file = join(dir, `rt-${Math.random().toString(36).slice(2)}.yaml`);
      writeBaseline(file, { version: 1, groups });
      const config = loadConfig(join(TESTS, "lab.yaml"));
      config.baseline.files = [file];
      const loaded = loadRuleFiles([resolve("rules/baseline.yaml")], {});
      const out: string[] = [];
      for (const capture of ["benign.pcap", "drift.pcap", "segmentation.pcap", "egress.pcap"]) {
        const r = await runCaptureWithRules({
          capture: join(TESTS, capture),
          config,
          ruleSet: loaded.ruleSet!,
        });
        for (const a of r.alerts as any[]) {
          // MUD says where and on which ports: names looked up and daily volume are
          // baseline-only facts, so those verdicts are not compared.
          if (["destination", "port"].includes(a.egressd.baseline.kind))
            out.push(`${capture} ${a.rule.id} ${a.egressd.baseline.what}`);
        }
      }
      return out;
    };
    const before = await verdicts(learned.groups);
    expect(before.length).toBeGreaterThan(5);
    expect(await verdicts(imported)).toEqual(before);
  });
});

describe("BaselineMonitor", () => {
  const cams: GroupBaseline = {
    group: "cameras",
    destinations: [{ domain: "api.vendor.example", ports: ["tcp/443"] }],
    lookups: [],
    volume: { bytes_out_per_day: { min: 0, max: 10_000 } },
  };

  it("waits for a TCP flow's SNI or Host before calling an unnamed destination new", () => {
    const m = new BaselineMonitor([cams]);
    const named = makeFlow({ dst: "203.0.113.7", dstPort: 443, srcBytes: 10, dstBytes: 10 });
    named.id = 1;
    expect(m.flowStarted(named)).toBeNull();
    named.domain = "api.vendor.example";
    expect(m.flowNamed(named)).toBeNull();
    expect(m.flowRecord(named, true)).toEqual([]);
    // Never named: the verdict comes when the flow ends.
    const unnamed = makeFlow({ dst: "203.0.113.8", dstPort: 443, srcBytes: 10, dstBytes: 10 });
    unnamed.id = 2;
    expect(m.flowStarted(unnamed)).toBeNull();
    expect(m.flowRecord(unnamed, true)).toMatchObject([
      {
        kind: "destination",
        what: "tcp/443 to 203.0.113.8",
        nearest: "domain api.vendor.example tcp/443",
      },
    ]);
  });

  it("counts what a device sends as the responder too, as learning does", () => {
    const m = new BaselineMonitor([cams], { volumeFactor: 2 });
    // An NVR pulls 50 kB from the camera: the camera is the responder.
    const pulled = makeFlow({
      src: "10.20.0.2",
      srcDevice: NVR,
      dst: "10.20.0.11",
      dstDevice: CAMERA,
      srcBytes: 100,
      dstBytes: 50_000,
    });
    expect(m.flowRecord(pulled, true).map((d) => d.kind)).toContain("volume");
  });
});

describe("baseline entries are found through their index", () => {
  it("names, wildcards, exact addresses, wider networks, groups and local scope", () => {
    const m = new BaselineMonitor([
      {
        group: "cameras",
        destinations: [
          { domain: "ntp.example.org", ports: ["udp/123"] },
          { domain: "*.ys7.com", ports: ["tcp/443"] },
          { network: "203.0.113.7/32", ports: ["tcp/8000-8100"] },
          { network: "198.51.100.0/24", ports: ["tcp/*"] },
          { group: "nvr", ports: ["tcp/554"] },
          { scope: "local", ports: ["udp/53"] },
        ],
        lookups: [],
      },
    ]);
    const verdict = (spec: Parameters<typeof makeFlow>[0]) => {
      const f = makeFlow({ srcBytes: 10, dstBytes: 10, ...spec });
      f.id = Math.floor(Math.random() * 1e9);
      return m.flowStarted(f)?.kind ?? m.flowRecord(f, true)[0]?.kind ?? "allowed";
    };
    expect(verdict({ proto: 17, dstPort: 123, domain: "ntp.example.org" })).toBe("allowed");
    expect(verdict({ dstPort: 443, domain: "a.b.ys7.com" })).toBe("allowed");
    expect(verdict({ dstPort: 443, domain: "ys7.com" })).toBe("destination");
    expect(verdict({ dst: "203.0.113.7", dstPort: 8050 })).toBe("allowed");
    expect(verdict({ dst: "203.0.113.7", dstPort: 22 })).toBe("port");
    expect(verdict({ dst: "198.51.100.77", dstPort: 9999 })).toBe("allowed");
    expect(verdict({ dst: "10.20.0.2", dstDevice: NVR, dstPort: 554, dstGeo: null })).toBe(
      "allowed",
    );
    expect(verdict({ dst: "10.20.0.53", proto: 17, dstPort: 53, dstGeo: null })).toBe("allowed");
    expect(verdict({ dst: "192.0.2.99", dstPort: 443 })).toBe("destination");
    expect(m.lookup(makeFlow(), "x.ys7.com")).toBeNull();
    expect(m.lookup(makeFlow(), "ys7.com.evil.example")?.kind).toBe("lookup");
  });
});
