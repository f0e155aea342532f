import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAddress } from "../../src/enrich/geoip/address.js";
import type { GeoAnswer } from "../../src/enrich/geoip/types.js";
import { Flow } from "../../src/flow/flow.js";
import { TcpState } from "../../src/flow/tcp-state.js";
import type { DeviceSummary } from "../../src/inventory/index.js";
import {
  formatRuleProblem,
  type LoadOptions,
  type LoadResult,
  loadRuleFiles,
  type RuleContext,
  type RuleSet,
  type Trigger,
} from "../../src/rules/index.js";

/** A fixed wall clock for the loader (2026-06-01), so "already expired" warnings do not drift. */
export const NOW = Date.UTC(2026, 5, 1);

/** Packet time 2026-11-22T04:00:00Z. */
export const T0 = Date.UTC(2026, 10, 22, 4) / 1000;

export function geo(scope: GeoAnswer["scope"], country?: string, as?: number): GeoAnswer {
  return {
    scope,
    range: undefined,
    countryIso: country,
    countryName: undefined,
    cityName: undefined,
    countrySource: undefined,
    asNumber: as,
    asOrganization: undefined,
    asSource: undefined,
  };
}

export const CAMERA: DeviceSummary = {
  id: "mac:44-19-B6-12-34-56",
  mac: "44-19-B6-12-34-56",
  randomised_mac: false,
  group: "cameras",
  role: "camera",
  maker: "Hikvision",
  model: "DS-2CD2043G2",
};

export const NVR: DeviceSummary = {
  id: "mac:44-19-B6-00-00-01",
  mac: "44-19-B6-00-00-01",
  randomised_mac: false,
  group: "nvr",
  role: "nvr",
  maker: "Hikvision",
};

export interface FlowSpec {
  src?: string;
  dst?: string;
  srcPort?: number;
  dstPort?: number;
  proto?: number;
  vlan?: number;
  srcGeo?: GeoAnswer | null;
  dstGeo?: GeoAnswer | null;
  srcDevice?: DeviceSummary | null;
  dstDevice?: DeviceSummary | null;
  domain?: string;
  nameSource?: string;
  tcpState?: number;
  icmpErrors?: number;
  srcBytes?: number;
  dstBytes?: number;
  srcPackets?: number;
  dstPackets?: number;
  durationSec?: number;
  app?: object | null;
}

/**
 * A flow as the pipeline would hand it to rules: by default a camera (10.20.0.11) opening
 * TCP to an internet address in China (203.0.113.9:443, AS37963), answered.
 */
export function makeFlow(s: FlowSpec = {}): Flow {
  const f = new Flow();
  const src = parseAddress(s.src ?? "10.20.0.11")!;
  const dst = parseAddress(s.dst ?? "203.0.113.9")!;
  f.ipVersion = src.version;
  f.src0 = src.w0;
  f.src1 = src.w1;
  f.src2 = src.w2;
  f.src3 = src.w3;
  f.dst0 = dst.w0;
  f.dst1 = dst.w1;
  f.dst2 = dst.w2;
  f.dst3 = dst.w3;
  f.proto = s.proto ?? 6;
  f.srcPort = s.srcPort ?? 50000;
  f.dstPort = s.dstPort ?? 443;
  f.vlanOuter = s.vlan ?? 20;
  f.srcGeo = s.srcGeo === undefined ? geo("private") : s.srcGeo;
  f.dstGeo = s.dstGeo === undefined ? geo("internet", "CN", 37963) : s.dstGeo;
  f.srcDevice = s.srcDevice === undefined ? CAMERA : s.srcDevice;
  f.dstDevice = s.dstDevice === undefined ? null : s.dstDevice;
  f.domain = s.domain ?? "";
  f.nameSource = s.nameSource ?? "none";
  f.tcpState = s.tcpState ?? (f.proto === 6 ? TcpState.ESTABLISHED : 0);
  f.icmpErrors = s.icmpErrors ?? 0;
  f.srcBytes = s.srcBytes ?? 1000;
  f.dstBytes = s.dstBytes ?? 2000;
  f.srcPackets = s.srcPackets ?? 10;
  f.dstPackets = s.dstPackets ?? 12;
  f.startSec = T0;
  f.lastSec = T0 + (s.durationSec ?? 5);
  f.app = s.app ?? null;
  return f;
}

export function ctx(
  trigger: Trigger,
  flow: Flow | null,
  extra: Partial<RuleContext> = {},
): RuleContext {
  return { trigger, tsSec: T0 + 10, tsNsec: 0, flow, ...extra };
}

let dir: string | null = null;
let n = 0;

/** A fresh folder with the given files (relative path -> text). */
export function writeTree(files: Record<string, string>): string {
  dir ??= mkdtempSync(join(tmpdir(), "egressd-rules-"));
  const root = join(dir, `t${n++}`);
  for (const [path, text] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(join(full, ".."), { recursive: true });
    writeFileSync(full, text);
  }
  return root;
}

/** Loads YAML text as rules/rules.yaml in a fresh folder (plus any other files). */
export function load(
  yaml: string,
  options: LoadOptions = {},
  files: Record<string, string> = {},
): LoadResult & { file: string; problemLines: string[] } {
  const root = writeTree({ "rules.yaml": yaml, ...files });
  const file = join(root, "rules.yaml");
  const r = loadRuleFiles([file], { now: NOW, ...options });
  return {
    ...r,
    file,
    problemLines: r.problems.map((p) => formatRuleProblem(p).replace(`${root}/`, "")),
  };
}

/** Loads rules that must be valid; fails the test with the problems otherwise. */
export function rules(
  yaml: string,
  options: LoadOptions = {},
  files: Record<string, string> = {},
): RuleSet {
  const r = load(yaml, options, files);
  if (r.ruleSet === null) throw new Error(`rules did not load:\n${r.problemLines.join("\n")}`);
  return r.ruleSet;
}

/** One rule on `trigger` with the given `when:` body (indented YAML), as a RuleSet. */
export function oneRule(
  trigger: Trigger,
  when: string,
  extra = "",
  options: LoadOptions = {},
): RuleSet {
  return rules(
    `rules:\n  - id: R1\n    name: test rule\n    severity: low\n    trigger: ${trigger}\n${extra}    when:\n${when
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => `      ${l}`)
      .join("\n")}\n`,
    options,
  );
}

/** The reasons of rule R1's match, or null when it did not match. */
export function reasons(rs: RuleSet, c: RuleContext): string[] | null {
  const m = rs.evaluate(c).find((x) => x.rule.id === "R1");
  return m === undefined ? null : m.reasons;
}
