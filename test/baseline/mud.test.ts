/**
 * MUD (RFC 8520) import and export: RFC 8520's own example and MUD files published by
 * MUD implementations (test/fixtures/mud/README.md says where each comes from) validated
 * and imported; broken and hostile files refused at file:line:col with the JSON path;
 * a hand-built baseline exported, checked by the validator and against the JSON shape of
 * the RFC's YANG trees, and imported back unchanged for everything MUD can say; and the
 * `egressd mud` command in-process with its exit codes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  parseBaseline,
  readBaselineFile,
  writeBaseline,
} from "../../src/baseline/baseline-file.js";
import type { GroupBaseline } from "../../src/baseline/model.js";
import { exportMud, mudExpressible } from "../../src/baseline/mud/export.js";
import { importMud } from "../../src/baseline/mud/import.js";
import { ACLS_ROOT, MUD_ROOT } from "../../src/baseline/mud/types.js";
import { validateMud } from "../../src/baseline/mud/validate.js";
import { UsageError } from "../../src/cli/errors.js";
import { MUD_HELP, runMud } from "../../src/cli/mud.js";
import { ConfigError } from "../../src/config/errors.js";
import { runCaptured } from "../helpers/captured-command.js";

const FIXTURES = join(import.meta.dirname, "../fixtures/mud");
const fixture = (name: string) => join(FIXTURES, name);
const dir = mkdtempSync(join(tmpdir(), "egressd-mud-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function validateFile(name: string) {
  return validateMud(readFileSync(fixture(name), "utf8"), fixture(name));
}

/** The problems a ConfigError carries, as "line:col message" (file names left out). */
function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError)
      return err.problems.map((p) => `${p.line}:${p.col} ${p.message}`);
    throw err;
  }
  throw new Error("expected a ConfigError");
}

/** A small MUD file around the given ACEs, one from-device ACL (and a to-device one). */
function mudText(fromAces: unknown[], toAces: unknown[] = []): string {
  return JSON.stringify(
    {
      [MUD_ROOT]: {
        "mud-version": 1,
        "mud-url": "https://maker.example.com/cam.json",
        "last-update": "2024-05-01T10:00:00Z",
        "is-supported": true,
        "from-device-policy": { "access-lists": { "access-list": [{ name: "fr" }] } },
        "to-device-policy": { "access-lists": { "access-list": [{ name: "to" }] } },
      },
      [ACLS_ROOT]: {
        acl: [
          { name: "fr", type: "ipv4-acl-type", aces: { ace: fromAces } },
          { name: "to", type: "ipv4-acl-type", aces: { ace: toAces } },
        ],
      },
    },
    null,
    2,
  );
}

const accept = { forwarding: "accept" };

describe("real MUD files", () => {
  it("imports RFC 8520's example: the reply ACE folds into the device's own flow", () => {
    const v = validateFile("rfc8520-lightbulb2000.json");
    expect(v.warnings).toEqual([]);
    const { baseline, warnings } = importMud(v, { group: "lights", role: "camera" });
    expect(warnings).toEqual([]);
    expect(baseline).toEqual({
      group: "lights",
      role: "camera",
      source: "mud: https://lighting.example.com/lightbulb2000",
      destinations: [{ domain: "test.example.com", ports: ["tcp/443"] }],
      lookups: [{ name: "test.example.com" }],
    });
  });

  it("imports Cisco's MUD-Manager luminaire: my-controller, local-networks, UDP replies", () => {
    const v = validateFile("cisco-luminaire-150.json");
    expect(v.warnings).toEqual([]);
    // my-controller has no meaning until the admin names the group.
    expect(problemsOf(() => importMud(v, { group: "lights" }))).toEqual([
      "129:36 acls.acl[1].aces.ace[1].matches.ietf-mud:mud.my-controller: my-controller: which device group controls these devices? give --my-controller GROUP",
    ]);
    const { baseline, warnings } = importMud(v, { group: "lights", myController: "lighting-ctl" });
    expect(warnings).toEqual([]);
    expect(baseline.source).toBe("mud: https://luminaire.example.com/Luminaire_150");
    expect(baseline.destinations).toEqual([
      { domain: "fw-update.luminaire.example.com", ports: ["tcp/443"] },
      { group: "lighting-ctl", ports: ["udp/5684"] },
      { scope: "local", ports: ["udp/5683"] },
    ]);
    expect(baseline.lookups).toEqual([{ name: "fw-update.luminaire.example.com" }]);
  });

  it("refuses CIRA's published SmartToaster file, naming every mistake in it", () => {
    const problems = problemsOf(() => validateFile("cira-smarttoaster2k.json"));
    expect(problems).toHaveLength(22);
    expect(problems.slice(0, 3)).toEqual([
      '38:13 acls.acl[0].aces.ace[0]: missing required key "actions"',
      '42:19 acls.acl[0].aces.ace[0].matches.ipv4: unknown key "ietf-acldns:s:qrc-dnsname"; did you mean "ietf-acldns:src-dnsname"?',
      '45:17 acls.acl[0].aces.ace[0].matches: unknown key "actions"; actions belongs in the ACE, next to matches',
    ]);
    expect(problems).toContain(
      '97:21 acls.acl[1].aces.ace[2].matches.udp: unknown key "ietf-mud:direction-initiated"; ietf-mud:direction-initiated is for tcp only (RFC 8520): UDP opens no connection',
    );
  });

  it("reads mudmaker's extension example: unknown extensions are warnings, not errors", () => {
    const v = validateFile("mudmaker-directed-broadcasts.json");
    expect(v.warnings.map((w) => `${w.line}:${w.col} ${w.message}`)).toEqual([
      "2:19 mud: no from-device-policy or to-device-policy: the file allows nothing",
      '11:5 mud: "mud-directed-broadcasts:directed-broadcasts" is from a module egressd does not know; ignored',
    ]);
    const { baseline } = importMud(v, { group: "x" });
    expect(baseline.destinations).toEqual([]);
    expect(baseline.source).toBe("mud: https://iot.example.com/modelX.json");
  });
});

describe("broken and hostile MUD files", () => {
  it("reports bad JSON at line:col", () => {
    const text = '{\n  "ietf-mud:mud": {\n    "mud-version": 1,,\n  }\n}\n';
    const [p] = problemsOf(() => validateMud(text, "bad.json"));
    expect(p).toMatch(/^3:22 not valid JSON: /);
    expect(problemsOf(() => validateMud('{"ietf-mud:mud": {', "cut.json"))[0]).toMatch(
      /^1:19 not valid JSON: /,
    );
  });

  it("names a policy's missing ACL, with a did-you-mean", () => {
    // The to-device policy names "too"; the file's ACL is "to", which is then unused.
    const text = mudText([]).replace('"name": "to"\n', '"name": "too"\n');
    expect(problemsOf(() => validateMud(text, "m.json"))).toEqual([
      '20:21 mud.to-device-policy.access-lists.access-list[0].name: no ACL named "too"; did you mean "to"?',
      '35:7 warning: acls.acl[1]: ACL "to" is in no from-device-policy or to-device-policy; ignored',
    ]);
  });

  it("names unknown match keys with a did-you-mean, and every other shape mistake", () => {
    const text = mudText([
      {
        name: "a",
        matches: { ipv4: { "dst-dnsnme": "x.example.com", protocol: 6 } },
        actions: accept,
      },
      {
        name: "b",
        matches: { ipv4: { "ietf-acldns:dst-dnsname": "*.example.com" } },
        actions: accept,
      },
      { name: "c", matches: { ipv4: { protocol: 17 }, tcp: {} }, actions: accept },
      { name: "d", matches: { udp: { "destination-port": { port: 70000 } } }, actions: accept },
      {
        name: "e",
        matches: { tcp: { "source-port": { "lower-port": 9, "upper-port": 1 } } },
        actions: accept,
      },
      {
        name: "f",
        matches: { ipv4: { "destination-ipv4-network": "10.1.2.3/8" } },
        actions: accept,
      },
      { name: "g", matches: { "ietf-mud:mud": { "local-networks": true } }, actions: accept },
      { name: "a", matches: { ipv6: {} }, actions: { forwarding: "ACCEPT" } },
      { name: "h", matches: { "ietf-foo:bar": 1 }, actions: accept },
    ]).replace('"mud-version": 1', '"mud-version": 2');
    const problems = problemsOf(() => validateMud(text, "m.json")).map((p) =>
      p.replace(/^\d+:\d+ /, ""),
    );
    expect(problems).toEqual([
      "mud.mud-version: egressd reads MUD version 1 (RFC 8520), found 2",
      'acls.acl[0].aces.ace[0].matches.ipv4: unknown key "dst-dnsnme"; did you mean "ietf-acldns:dst-dnsname"?',
      'acls.acl[0].aces.ace[1].matches.ipv4.ietf-acldns:dst-dnsname: "*.example.com" is not a DNS name (no wildcards in MUD)',
      "acls.acl[0].aces.ace[2].matches: tcp matches with protocol 17",
      "acls.acl[0].aces.ace[3].matches.udp.destination-port.port: expected an integer from 0 to 65535, found 70000",
      "acls.acl[0].aces.ace[4].matches.tcp.source-port: lower-port 9 is above upper-port 1",
      'acls.acl[0].aces.ace[5].matches.ipv4.destination-ipv4-network: "10.1.2.3/8" has host bits set; did you mean 10.0.0.0/8?',
      'acls.acl[0].aces.ace[6].matches.ietf-mud:mud.local-networks: expected [null] (a YANG "empty" leaf in JSON), found true',
      'acls.acl[0].aces.ace[7].name: a second ACE named "a"',
      "acls.acl[0].aces.ace[7].matches: ipv6 matches in an ipv4-acl-type ACL",
      'acls.acl[0].aces.ace[7].actions.forwarding: unknown action "ACCEPT"; did you mean "accept"?',
      'acls.acl[0].aces.ace[8].matches: unknown key "ietf-foo:bar"; known keys: eth, ipv4, ipv6, tcp, udp, icmp, ietf-mud:mud, egress-interface, ingress-interface',
    ]);
  });

  it("refuses what is not a MUD file at all, and duplicate keys", () => {
    expect(problemsOf(() => validateMud("[1, 2]", "a.json"))).toEqual([
      "1:1 expected an object, found a list",
    ]);
    expect(problemsOf(() => validateMud('{"a": 1}', "o.json"))).toEqual([
      '1:1 missing "ietf-mud:mud": this is not a MUD file (RFC 8520)',
      '1:2 unknown key "a"; known keys: ietf-mud:mud, ietf-access-control-list:acls, ietf-access-control-list:access-lists',
    ]);
    const dup = mudText([]).replace(
      '"mud-version": 1,',
      '"mud-version": 1,\n    "mud-version": 1,',
    );
    expect(problemsOf(() => validateMud(dup, "d.json"))).toEqual([
      "4:5 duplicate key in an object",
    ]);
    const http = mudText([]).replace("https://maker", "http://maker");
    expect(problemsOf(() => validateMud(http, "h.json"))[0]).toContain(
      "a MUD URL must be an https:// URL",
    );
    // A "__proto__" key is only an unknown key, not a prototype.
    const proto = mudText([
      { name: "p", matches: { ipv4: { ["__proto__"]: { protocol: 6 } } }, actions: accept },
    ]);
    expect(problemsOf(() => validateMud(proto, "p.json")).join("\n")).toContain(
      'unknown key "__proto__"',
    );
  });

  it("skips deny ACEs with a warning: an allow-list cannot hold them", () => {
    const text = mudText([
      { name: "deny-all", matches: { ipv4: { protocol: 6 } }, actions: { forwarding: "drop" } },
      {
        name: "ntp",
        matches: {
          ipv4: { protocol: 17, "ietf-acldns:dst-dnsname": "pool.ntp.org" },
          udp: { "destination-port": { operator: "eq", port: 123 } },
        },
        actions: accept,
      },
    ]);
    const { baseline, warnings } = importMud(validateMud(text, "deny.json"), { group: "cams" });
    expect(warnings.map((w) => w.message)).toEqual([
      'acls.acl[0].aces.ace[0].actions.forwarding: ACE "deny-all" is "drop": a deny cannot be part of an allow-list; skipped',
    ]);
    expect(baseline.destinations).toEqual([{ domain: "pool.ntp.org", ports: ["udp/123"] }]);
  });

  it("names an unmapped controller; --controller maps it; manufacturer is skipped, said so", () => {
    const uri = "https://controller.example.com/nvr";
    const text = mudText([
      {
        name: "nvr",
        matches: {
          "ietf-mud:mud": { controller: uri },
          ipv4: { protocol: 6 },
          tcp: { "destination-port": { port: 8000 } },
        },
        actions: accept,
      },
      {
        name: "mfg",
        matches: { "ietf-mud:mud": { manufacturer: "maker.example.com" } },
        actions: accept,
      },
    ]);
    const v = validateMud(text, "c.json");
    const [problem] = problemsOf(() => importMud(v, { group: "cams" }));
    expect(problem).toContain(
      `controller "${uri}" is not mapped to a device group; give --controller ${uri}=GROUP`,
    );
    const { baseline, warnings } = importMud(v, {
      group: "cams",
      controllers: new Map([[uri, "nvr"]]),
    });
    expect(baseline.destinations).toEqual([{ group: "nvr", ports: ["tcp/8000"] }]);
    expect(warnings.map((w) => w.message)).toEqual([
      'acls.acl[0].aces.ace[1].matches.ietf-mud:mud.manufacturer: manufacturer "maker.example.com" (devices whose MUD URL is under that name) cannot be expressed: egressd knows makers by name; the ACE is skipped',
    ]);
  });

  it("reads ports and directions the way the flow goes", () => {
    const text = mudText(
      [
        // The device serves RTSP to the local network: a from-device ACE with only a source port.
        {
          name: "rtsp-reply",
          matches: {
            "ietf-mud:mud": { "local-networks": [null] },
            ipv4: { protocol: 17 },
            udp: { "source-port": { port: 554 } },
          },
          actions: accept,
        },
        {
          name: "range",
          matches: {
            ipv4: { protocol: 6, "destination-ipv4-network": "198.51.100.0/24" },
            tcp: { "destination-port": { "lower-port": 8000, "upper-port": 8100 } },
          },
          actions: accept,
        },
        {
          name: "neq",
          matches: {
            ipv4: { protocol: 17, "destination-ipv4-network": "198.51.100.9/32" },
            udp: { "destination-port": { operator: "neq", port: 53 } },
          },
          actions: accept,
        },
        { name: "ping", matches: { ipv4: { protocol: 1 }, icmp: { type: 8 } }, actions: accept },
        {
          name: "gre",
          matches: {
            "ietf-mud:mud": { "same-manufacturer": [null] },
            ipv4: { protocol: 47, dscp: 10 },
          },
          actions: accept,
        },
      ],
      [
        {
          name: "rtsp",
          matches: {
            "ietf-mud:mud": { "local-networks": [null] },
            ipv4: { protocol: 17 },
            udp: { "destination-port": { port: 554 } },
          },
          actions: accept,
        },
        {
          name: "ssh-in",
          matches: {
            ipv4: { protocol: 6, "source-ipv4-network": "192.0.2.0/24" },
            tcp: { "ietf-mud:direction-initiated": "to-device", "destination-port": { port: 22 } },
          },
          actions: accept,
        },
      ],
    );
    const { baseline, warnings } = importMud(validateMud(text, "p.json"), { group: "cams" });
    expect(baseline.destinations).toEqual([
      { direction: "in", network: "192.0.2.0/24", ports: ["tcp/22"] },
      { direction: "in", scope: "local", ports: ["udp/554"] },
      { network: "0.0.0.0/0", ports: ["icmp"] },
      { network: "198.51.100.0/24", ports: ["tcp/8000-8100"] },
      { network: "198.51.100.9/32", ports: ["udp/0-52", "udp/54-65535"] },
      { same_maker: true, ports: ["gre"] },
    ]);
    expect(warnings.map((w) => w.message)).toEqual([
      'acls.acl[0].aces.ace[3].matches.icmp: ACE "ping": ICMP type not kept; any ICMP is allowed',
      'acls.acl[0].aces.ace[4].matches.ipv4.dscp: ACE "gre": dscp is not kept; the entry allows any',
    ]);
  });
});

/** A learned-looking group: every kind of entry, and what MUD cannot say. */
const CAMERAS: GroupBaseline = {
  group: "cameras",
  role: "camera",
  learned: { from: "2024-05-01T00:00:00Z", to: "2024-05-08T00:00:00Z", devices: 12, flows: 9000 },
  destinations: [
    {
      domain: "ntp.example.org",
      name_source: "dns",
      ports: ["udp/123"],
      protocols: ["ntp"],
      flows: 300,
      devices: ["a"],
    },
    {
      domain: "Cloud.Example.COM",
      ports: ["tcp/443", "tcp/8000-8100"],
      protocols: ["tls"],
      countries: ["CN"],
      asns: [37963],
      flows: 50,
    },
    { domain: "*.ys7.com", ports: ["tcp/443"] },
    { group: "nvr", ports: ["tcp/554", "tcp/8000"] },
    { group: "nvr", direction: "in", ports: ["tcp/80", "udp/*"] },
    { network: "203.0.113.7/32", ports: ["tcp/*", "icmp", "ipv6-icmp", "sctp/80"] },
    { network: "2001:db8::/32", ports: ["udp/5000-5010", "gre"] },
    { scope: "local", direction: "in", ports: ["udp/3702", "icmp"] },
    { same_maker: true, ports: ["*"] },
  ],
  lookups: [
    { name: "ntp.example.org", queries: 40 },
    { name: "cloud.example.com", queries: 9 },
    { name: "tracker.example.net", queries: 3 },
  ],
  volume: { bytes_out_per_day: { min: 100, max: 9000, days: 7 } },
};

/**
 * The JSON shape of the nodes an exported MUD file may have, from the YANG trees of
 * RFC 8520 section 2.1 (ietf-mud) and RFC 8519 section 4.1 (ietf-access-control-list,
 * ietf-packet-fields), with ietf-acldns (RFC 8520 section 11): list entries are "[]".
 */
const YANG_SHAPE: Record<string, "number" | "string" | "boolean" | "empty" | "object" | "list"> = {
  "ietf-mud:mud": "object",
  "ietf-mud:mud/mud-version": "number",
  "ietf-mud:mud/mud-url": "string",
  "ietf-mud:mud/last-update": "string",
  "ietf-mud:mud/cache-validity": "number",
  "ietf-mud:mud/is-supported": "boolean",
  "ietf-mud:mud/systeminfo": "string",
  "ietf-mud:mud/from-device-policy": "object",
  "ietf-mud:mud/from-device-policy/access-lists": "object",
  "ietf-mud:mud/from-device-policy/access-lists/access-list": "list",
  "ietf-mud:mud/from-device-policy/access-lists/access-list[]": "object",
  "ietf-mud:mud/from-device-policy/access-lists/access-list[]/name": "string",
  "ietf-mud:mud/to-device-policy": "object",
  "ietf-mud:mud/to-device-policy/access-lists": "object",
  "ietf-mud:mud/to-device-policy/access-lists/access-list": "list",
  "ietf-mud:mud/to-device-policy/access-lists/access-list[]": "object",
  "ietf-mud:mud/to-device-policy/access-lists/access-list[]/name": "string",
  "ietf-access-control-list:acls": "object",
  "ietf-access-control-list:acls/acl": "list",
  "ietf-access-control-list:acls/acl[]": "object",
  "ietf-access-control-list:acls/acl[]/name": "string",
  "ietf-access-control-list:acls/acl[]/type": "string",
  "ietf-access-control-list:acls/acl[]/aces": "object",
  "ietf-access-control-list:acls/acl[]/aces/ace": "list",
  "ietf-access-control-list:acls/acl[]/aces/ace[]": "object",
  "ietf-access-control-list:acls/acl[]/aces/ace[]/name": "string",
  "ietf-access-control-list:acls/acl[]/aces/ace[]/actions": "object",
  "ietf-access-control-list:acls/acl[]/aces/ace[]/actions/forwarding": "string",
  "ietf-access-control-list:acls/acl[]/aces/ace[]/matches": "object",
  ...Object.fromEntries(
    (["ipv4", "ipv6"] as const).flatMap((f) => [
      [`ietf-access-control-list:acls/acl[]/aces/ace[]/matches/${f}`, "object"],
      [`ietf-access-control-list:acls/acl[]/aces/ace[]/matches/${f}/protocol`, "number"],
      [
        `ietf-access-control-list:acls/acl[]/aces/ace[]/matches/${f}/destination-${f}-network`,
        "string",
      ],
      [`ietf-access-control-list:acls/acl[]/aces/ace[]/matches/${f}/source-${f}-network`, "string"],
      [
        `ietf-access-control-list:acls/acl[]/aces/ace[]/matches/${f}/ietf-acldns:dst-dnsname`,
        "string",
      ],
      [
        `ietf-access-control-list:acls/acl[]/aces/ace[]/matches/${f}/ietf-acldns:src-dnsname`,
        "string",
      ],
    ]),
  ),
  ...Object.fromEntries(
    (["tcp", "udp"] as const).flatMap((t) =>
      ["source-port", "destination-port"].flatMap((p) => [
        [`ietf-access-control-list:acls/acl[]/aces/ace[]/matches/${t}`, "object"],
        [`ietf-access-control-list:acls/acl[]/aces/ace[]/matches/${t}/${p}`, "object"],
        [`ietf-access-control-list:acls/acl[]/aces/ace[]/matches/${t}/${p}/operator`, "string"],
        [`ietf-access-control-list:acls/acl[]/aces/ace[]/matches/${t}/${p}/port`, "number"],
        [`ietf-access-control-list:acls/acl[]/aces/ace[]/matches/${t}/${p}/lower-port`, "number"],
        [`ietf-access-control-list:acls/acl[]/aces/ace[]/matches/${t}/${p}/upper-port`, "number"],
      ]),
    ),
  ),
  "ietf-access-control-list:acls/acl[]/aces/ace[]/matches/tcp/ietf-mud:direction-initiated":
    "string",
  "ietf-access-control-list:acls/acl[]/aces/ace[]/matches/ietf-mud:mud": "object",
  "ietf-access-control-list:acls/acl[]/aces/ace[]/matches/ietf-mud:mud/controller": "string",
  "ietf-access-control-list:acls/acl[]/aces/ace[]/matches/ietf-mud:mud/local-networks": "empty",
  "ietf-access-control-list:acls/acl[]/aces/ace[]/matches/ietf-mud:mud/same-manufacturer": "empty",
};

/** Every node of `value` against YANG_SHAPE; returns the paths that do not fit. */
function shapeMisfits(value: unknown, path = ""): string[] {
  const kind = path === "" ? "object" : YANG_SHAPE[path];
  if (kind === undefined) return [`${path}: not in the YANG tree`];
  if (kind === "empty") {
    return Array.isArray(value) && value.length === 1 && value[0] === null
      ? []
      : [`${path}: not [null]`];
  }
  if (kind === "list") {
    if (!Array.isArray(value)) return [`${path}: not a list`];
    return value.flatMap((v) => shapeMisfits(v, `${path}[]`));
  }
  if (kind === "object") {
    if (typeof value !== "object" || value === null || Array.isArray(value))
      return [`${path}: not an object`];
    return Object.entries(value).flatMap(([k, v]) =>
      shapeMisfits(v, path === "" ? k : `${path}/${k}`),
    );
  }
  return typeof value === kind ? [] : [`${path}: not a ${kind}`];
}

describe("export", () => {
  const now = new Date("2024-05-09T12:00:00Z");
  const { mud, warnings } = exportMud(CAMERAS, { now });
  const text = JSON.stringify(mud, null, 2);
  /** The ACEs of the ACL named `name`. */
  const aces = (name: string) => mud[ACLS_ROOT]?.acl.find((a) => a.name === name)?.aces?.ace ?? [];

  it("writes a MUD file its own validator reads without a warning", () => {
    expect(validateMud(text, "export.json").warnings).toEqual([]);
    expect(mud[MUD_ROOT]).toMatchObject({
      "mud-version": 1,
      "mud-url": "https://example.invalid/mud/cameras.json",
      "last-update": "2024-05-09T12:00:00Z",
      "cache-validity": 48,
      "is-supported": true,
      systeminfo: "egressd baseline of device group cameras",
      "from-device-policy": {
        "access-lists": {
          "access-list": [{ name: "from-cameras-v4" }, { name: "from-cameras-v6" }],
        },
      },
      "to-device-policy": {
        "access-lists": { "access-list": [{ name: "to-cameras-v4" }, { name: "to-cameras-v6" }] },
      },
    });
  });

  it("fits the JSON shape of RFC 8520's and RFC 8519's YANG trees", () => {
    expect(shapeMisfits(JSON.parse(text))).toEqual([]);
  });

  it("writes each flow as an opening ACE and, for TCP and UDP ports, its reply", () => {
    const ntp = aces("from-cameras-v4").find(
      (a) => a.matches?.ipv4?.["ietf-acldns:dst-dnsname"] === "ntp.example.org",
    );
    expect(ntp?.matches).toEqual({
      ipv4: { protocol: 17, "ietf-acldns:dst-dnsname": "ntp.example.org" },
      udp: { "destination-port": { operator: "eq", port: 123 } },
    });
    const replies = aces("to-cameras-v6").filter(
      (a) => a.matches?.ipv6?.["ietf-acldns:src-dnsname"] === "cloud.example.com",
    );
    expect(replies.map((a) => a.matches)).toEqual([
      {
        ipv6: { protocol: 6, "ietf-acldns:src-dnsname": "cloud.example.com" },
        tcp: {
          "source-port": { operator: "eq", port: 443 },
          "ietf-mud:direction-initiated": "from-device",
        },
      },
      {
        ipv6: { protocol: 6, "ietf-acldns:src-dnsname": "cloud.example.com" },
        tcp: {
          "source-port": { "lower-port": 8000, "upper-port": 8100 },
          "ietf-mud:direction-initiated": "from-device",
        },
      },
    ]);
    const nvrIn = aces("to-cameras-v4").filter(
      (a) =>
        a.matches?.["ietf-mud:mud"]?.controller === "urn:egressd:group:nvr" &&
        a.matches.tcp?.["ietf-mud:direction-initiated"] === "to-device",
    );
    expect(nvrIn.map((a) => a.matches?.tcp?.["destination-port"])).toEqual([
      { operator: "eq", port: 80 },
    ]);
    const icmp = aces("from-cameras-v4").filter((a) => a.matches?.ipv4?.protocol === 1);
    expect(icmp.map((a) => a.matches?.ipv4)).toEqual([
      { protocol: 1, "destination-ipv4-network": "203.0.113.7/32" },
    ]);
    expect(aces("from-cameras-v6").length).toBeGreaterThan(0);
    expect(aces("from-cameras-v6").some((a) => a.matches?.ipv6?.protocol === 1)).toBe(false);
  });

  it("lists what it left out", () => {
    expect(warnings).toEqual([
      'left out, not expressible in MUD: "*.ys7.com": a wildcard; MUD names are exact; "ipv6-icmp" to 203.0.113.7/32: another address family; "sctp/80": MUD has ports for TCP and UDP only',
      "not in MUD: what was seen there: protocols (on 2 entries), countries (on 1 entry), asns (on 1 entry)",
      "not in MUD: the learning record (flow counts, first/last seen, devices)",
      "not in MUD: bytes per device per day (volume)",
      "not in MUD: names looked up but never reached (1): tracker.example.net",
      "mud-url is a placeholder (https://example.invalid/mud/cameras.json); give --mud-url with where the file will be served",
    ]);
  });

  it("imports back to the same allow-list, for everything MUD can say", () => {
    const { baseline, warnings: w } = importMud(validateMud(text, "export.json"), {
      group: "cameras",
    });
    expect(w).toEqual([]);
    const { source, ...rest } = baseline;
    expect(source).toBe("mud: https://example.invalid/mud/cameras.json");
    expect(rest).toEqual(mudExpressible(CAMERAS));
    // And what that is, spelled out: the wildcard, sctp/80 and v6 ICMP to a v4 host are gone.
    expect(rest.destinations).toEqual([
      { domain: "cloud.example.com", ports: ["tcp/443", "tcp/8000-8100"] },
      { domain: "ntp.example.org", ports: ["udp/123"] },
      { group: "nvr", ports: ["tcp/554", "tcp/8000"] },
      { direction: "in", group: "nvr", ports: ["tcp/80", "udp/*"] },
      { direction: "in", scope: "local", ports: ["icmp", "udp/3702"] },
      { network: "2001:db8::/32", ports: ["gre", "udp/5000-5010"] },
      { network: "203.0.113.7/32", ports: ["icmp", "tcp/*"] },
      { same_maker: true, ports: ["*"] },
    ]);
    expect(rest.lookups).toEqual([{ name: "cloud.example.com" }, { name: "ntp.example.org" }]);
  });

  it("round-trips the published files: import, export, import gives the same baseline", () => {
    for (const [file, options] of [
      ["rfc8520-lightbulb2000.json", { group: "lights" }],
      ["cisco-luminaire-150.json", { group: "lights", myController: "lighting-ctl" }],
    ] as const) {
      const first = importMud(validateFile(file), options).baseline;
      const again = exportMud(first, { now });
      expect(again.mud[MUD_ROOT]["mud-url"]).toBe(first.source?.slice("mud: ".length));
      const second = importMud(validateMud(JSON.stringify(again.mud), "again.json"), {
        group: "lights",
      });
      expect(second.baseline).toEqual(first);
    }
  });
});

describe("egressd mud", () => {
  const config = join(dir, "egressd.yaml");
  writeFileSync(
    config,
    [
      "devices:",
      "  groups:",
      "    - name: lights",
      "      role: camera",
      "      cidrs: [10.0.0.0/24]",
      "    - name: lighting-ctl",
      "      role: management",
      "      cidrs: [10.0.1.0/24]",
      "",
    ].join("\n"),
  );

  it("prints its help", async () => {
    const { code, out } = await runCaptured(runMud, ["--help"]);
    expect(code).toBe(0);
    expect(out).toBe(MUD_HELP);
  });

  it("imports to standard output: a baseline file egressd reads", async () => {
    const { code, out, err } = await runCaptured(runMud, [
      "import",
      fixture("rfc8520-lightbulb2000.json"),
      "--group",
      "lights",
    ]);
    expect(code).toBe(0);
    const b = parseBaseline(out, "stdout.yaml");
    expect(b.groups[0]?.destinations).toEqual([{ domain: "test.example.com", ports: ["tcp/443"] }]);
    expect(err).toBe(
      "mud import: group lights: 1 destination, 1 name (mud: https://lighting.example.com/lightbulb2000)\n",
    );
  });

  it("imports into a baseline file with the config's role, and exports it back", async () => {
    const out = join(dir, "lights.yaml");
    const imported = await runCaptured(runMud, [
      "import",
      fixture("cisco-luminaire-150.json"),
      "--group",
      "lights",
      "--my-controller",
      "lighting-ctl",
      "-c",
      config,
      "-o",
      out,
    ]);
    expect(imported).toMatchObject({ code: 0, out: "" });
    const g = readBaselineFile(out).groups[0]!;
    expect(g.role).toBe("camera");
    expect(g.destinations).toHaveLength(3);

    const mudFile = join(dir, "lights.json");
    const exported = await runCaptured(runMud, [
      "export",
      "--group",
      "lights",
      "--baseline",
      out,
      "--now",
      "2024-05-09T12:00:00Z",
      "-o",
      mudFile,
    ]);
    expect(exported.code).toBe(0);
    expect(exported.err).toBe("");
    const mud = JSON.parse(readFileSync(mudFile, "utf8"));
    expect(mud).toEqual(exportMud(g, { now: new Date("2024-05-09T12:00:00Z") }).mud);

    const back = await runCaptured(runMud, ["import", mudFile, "--group", "lights"]);
    expect(back.code).toBe(0);
    expect(parseBaseline(back.out, "back.yaml").groups[0]?.destinations).toEqual(g.destinations);
  });

  it("exports to standard output with warnings on standard error", async () => {
    const file = join(dir, "cameras.yaml");
    writeBaseline(file, { version: 1, groups: [CAMERAS] });
    const { code, out, err } = await runCaptured(runMud, [
      "export",
      "--group",
      "cameras",
      "--baseline",
      file,
      "--mud-url",
      "https://cams.example.com/mud.json",
      "--systeminfo",
      "CCTV cameras",
    ]);
    expect(code).toBe(0);
    const mud = JSON.parse(out);
    expect(mud[MUD_ROOT]["mud-url"]).toBe("https://cams.example.com/mud.json");
    expect(mud[MUD_ROOT].systeminfo).toBe("CCTV cameras");
    expect(err).toContain("egressd: mud export: warning: left out, not expressible in MUD:");
    expect(err).not.toContain("placeholder");
  });

  it("exits 1 on a broken MUD file, an unmapped controller, an unknown group", async () => {
    const broken = await runCaptured(runMud, [
      "import",
      fixture("cira-smarttoaster2k.json"),
      "--group",
      "toasters",
    ]);
    expect(broken.code).toBe(1);
    expect(broken.out).toBe("");
    expect(broken.err.split("\n")[0]).toBe(
      `${fixture("cira-smarttoaster2k.json")}:38:13: acls.acl[0].aces.ace[0]: missing required key "actions"`,
    );
    const unmapped = await runCaptured(runMud, [
      "import",
      fixture("cisco-luminaire-150.json"),
      "--group",
      "lights",
    ]);
    expect(unmapped.code).toBe(1);
    expect(unmapped.err).toContain("give --my-controller GROUP");
    const typo = await runCaptured(runMud, [
      "import",
      fixture("rfc8520-lightbulb2000.json"),
      "--group",
      "light",
      "-c",
      config,
    ]);
    expect(typo.code).toBe(1);
    expect(typo.err).toBe(
      `egressd: mud import: group "light" is not in ${config}'s devices.groups; did you mean "lights"?\n`,
    );
    const missing = await runCaptured(runMud, [
      "import",
      join(dir, "nope.json"),
      "--group",
      "lights",
    ]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nope\.json: cannot read: ENOENT/);
    const noGroup = await runCaptured(runMud, [
      "export",
      "--group",
      "nvr",
      "--baseline",
      join(dir, "cameras.yaml"),
    ]);
    expect(noGroup.code).toBe(1);
    expect(noGroup.err).toBe(
      `egressd: mud export: no group "nvr" in ${join(dir, "cameras.yaml")}; it has cameras\n`,
    );
  });

  it("refuses a bad command line (exit 2 through main)", async () => {
    for (const [args, message] of [
      [[], "mud needs a subcommand"],
      [["imprt"], 'did you mean "import"?'],
      [["import", fixture("rfc8520-lightbulb2000.json")], "needs --group NAME"],
      [["import", "a.json", "b.json", "--group", "x"], "takes one MUD file, got 2"],
      [
        ["import", "a.json", "--group", "x", "--controller", "nogroup"],
        "--controller takes URI=GROUP",
      ],
      [
        ["import", "a.json", "--group", "x", "--baseline", "b.yaml"],
        "mud import has no --baseline option",
      ],
      [["export", "--group", "x"], "needs --baseline FILE"],
      [
        ["export", "--group", "x", "--baseline", "b", "--mud-url", "http://x"],
        "must be an https:// URL",
      ],
      [
        ["export", "--group", "x", "--baseline", "b", "--systeminfo", "x".repeat(61)],
        "1 to 60 characters",
      ],
      [
        ["export", "--group", "x", "--baseline", "b", "--now", "yesterday"],
        "--now takes an ISO 8601 time",
      ],
      [["export", "--frobnicate"], "Unknown option"],
    ] as const) {
      const run = runMud([...args]);
      await expect(run).rejects.toThrow(UsageError);
      await expect(runMud([...args])).rejects.toThrow(message);
    }
  });
});
