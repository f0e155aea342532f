import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { loadRuleFiles } from "../../src/rules/index.js";
import type { RuleProblem } from "../../src/rules/problems.js";
import { newSet, parseSetText } from "../../src/rules/sets.js";
import { ctx, geo, load, makeFlow, NOW, reasons, writeTree } from "./helpers.js";

const RULE = (when: string) =>
  `rules:\n  - id: R1\n    name: set rule\n    severity: low\n    trigger: flow_end\n    when:\n${when
    .split("\n")
    .map((l) => `      ${l}`)
    .join("\n")}\n`;

function parse(text: string) {
  const set = newSet("s", { file: "s.txt", line: 0, col: 0 });
  const problems: RuleProblem[] = [];
  parseSetText(set, text, "s.txt", problems);
  return { set, problems: problems.map((p) => `${p.line}:${p.col}: ${p.severity}: ${p.message}`) };
}

describe("set files", () => {
  test("one entry a line, comments, and any mix of names, networks and AS numbers", () => {
    const { set, problems } = parse(
      "# blocklist\nbad.example  # trailing comment\n\n.dnsmasq-style.example\n*.glob.example\n203.0.113.0/24\n2001:db8::/32\nAS37963\n45102\n",
    );
    expect(problems).toEqual([]);
    expect(set.domains.test("x.bad.example")).toBe(true);
    expect(set.domains.test("dnsmasq-style.example")).toBe(true);
    expect(set.domains.test("a.glob.example")).toBe(true);
    expect(set.domains.test("glob.example")).toBe(false);
    expect(set.cidrs.size).toBe(2);
    expect([...set.asns]).toEqual([37963, 45102]);
  });

  test("hosts-file lines: the names after the address are the entries", () => {
    const { set, problems } = parse(
      "127.0.0.1 localhost\n::1 localhost ip6-localhost\n0.0.0.0 0.0.0.0\n0.0.0.0 ads.example tracker.example # two names\n127.0.0.1\tbad.example.\r\n",
    );
    expect(problems).toEqual([]);
    expect(set.domains.test("ads.example")).toBe(true);
    expect(set.domains.test("tracker.example")).toBe(true);
    expect(set.domains.test("bad.example")).toBe(true);
    expect(set.domains.test("localhost")).toBe(false);
    expect(set.domains.size).toBe(3);
    expect(set.cidrs.size).toBe(0); // the addresses in hosts lines are not entries
  });

  test("lines that cannot be read are skipped with a warning at line:col", () => {
    const { set, problems } = parse(
      "ok.example\n  bad_ name.example extra\nhttp://x.example/path\n10.0.0.5/24\n300.1.1.1\n0.0.0.0 10.0.0.0/8\nAS99999999999\n",
    );
    expect(problems).toEqual([
      '2:8: warning: one entry a line, or hosts format "0.0.0.0 name..."; found "name.example" after "bad_"; line skipped',
      '3:1: warning: "http://x.example/path" is a URL; write only its host name; line skipped',
      '4:1: warning: "10.0.0.5/24" has host bits set; read as 10.0.0.0/24',
      '5:1: warning: "300.1.1.1" is not an address or network (like 203.0.113.0/24 or 2001:db8::/32); line skipped',
      '6:9: warning: "10.0.0.0/8" is not a name; hosts lines list names after the address; line skipped',
      "7:1: warning: AS number 99999999999 is above 4294967295; line skipped",
    ]);
    expect(set.domains.size).toBe(1);
    expect(set.cidrs.size).toBe(1);
  });

  test("a junk file reports 20 lines and then a count", () => {
    const { problems } = parse("not a set line\n".repeat(25));
    expect(problems).toHaveLength(21);
    expect(problems[20]).toBe(
      "0:0: warning: 5 more problem(s) not shown; 25 line(s) skipped in all",
    );
  });
});

describe("sets in rules", () => {
  test("vendor_clouds is the shipped rules/sets/vendor_clouds.txt, whatever folder the rules are in", () => {
    const r = load(RULE("destination.domain: { in: vendor_clouds }"));
    expect(r.problemLines).toEqual([]);
    const used = r.ruleSet!.sets.find((s) => s.name === "vendor_clouds")!;
    expect(used.file).toMatch(/rules\/sets\/vendor_clouds\.txt$/);
    expect(used.domains).toBeGreaterThanOrEqual(13);
    expect(
      reasons(r.ruleSet!, ctx("flow_end", makeFlow({ domain: "openapi.lechange.cn" }))),
    ).toEqual([
      'destination.domain "openapi.lechange.cn" in set vendor_clouds (suffix lechange.cn)',
    ]);
  });

  test("set files dropped into the sets folder next to the rules, hosts format included", () => {
    const r = load(
      RULE(
        "any:\n  - destination.domain: { in: blocklist }\n  - destination.ip: { in: bad_nets }\n  - destination.asn: { in: bad_nets }",
      ),
      {},
      {
        "sets/blocklist.hosts": "0.0.0.0 evil.example\n",
        "sets/bad_nets.list": "198.51.100.0/24\nAS64500\n",
        "sets/unused.txt": "junk junk junk\n",
      },
    );
    expect(r.problemLines).toEqual([]);
    const rs = r.ruleSet!;
    expect(reasons(rs, ctx("flow_end", makeFlow({ domain: "cdn.evil.example" })))).toEqual([
      'destination.domain "cdn.evil.example" in set blocklist (suffix evil.example)',
    ]);
    expect(reasons(rs, ctx("flow_end", makeFlow({ dst: "198.51.100.9" })))).toEqual([
      "destination.ip 198.51.100.9 in set bad_nets (198.51.100.0/24)",
    ]);
    expect(
      reasons(rs, ctx("flow_end", makeFlow({ dstGeo: geo("internet", "US", 64500) }))),
    ).toEqual(["destination.asn 64500 in set bad_nets"]);
    expect(rs.sets.map((s) => s.name).sort()).toEqual(["bad_nets", "blocklist"]);
  });

  test("a set file of the same name replaces the shipped one", () => {
    const r = load(
      RULE("destination.domain: { in: vendor_clouds }"),
      {},
      { "sets/vendor_clouds.txt": "only.example\n" },
    );
    expect(r.problemLines).toEqual([]);
    expect(reasons(r.ruleSet!, ctx("flow_end", makeFlow({ domain: "dev.ys7.com" })))).toBeNull();
    expect(
      reasons(r.ruleSet!, ctx("flow_end", makeFlow({ domain: "a.only.example" }))),
    ).not.toBeNull();
  });

  test("setsDir option", () => {
    const root = writeTree({
      "r/rules.yaml": RULE("destination.domain: { in: mine }"),
      "elsewhere/mine.txt": "mine.example\n",
    });
    const r = loadRuleFiles([join(root, "r")], { setsDir: join(root, "elsewhere"), now: NOW });
    expect(r.problems).toEqual([]);
    expect(r.ruleSet!.sets.map((s) => s.name)).toEqual(["mine"]);
  });

  test("inline sets: a list, or description with entries and a file relative to the rule file", () => {
    const yaml = `sets:
  nvr_addresses: [10.20.0.2, 10.20.0.3]
  lab_clouds:
    description: clouds the lab uses
    entries: [lab.example]
    file: lists/more.txt
${RULE("destination.ip: { in: nvr_addresses }\nnot: { destination.domain: { in: lab_clouds } }")}`;
    const r = load(yaml, {}, { "lists/more.txt": "more.example\n" });
    expect(r.problemLines).toEqual([]);
    const f = makeFlow({ dst: "10.20.0.3", dstGeo: geo("private") });
    expect(reasons(r.ruleSet!, ctx("flow_end", f))).toEqual([
      "destination.ip 10.20.0.3 in set nvr_addresses (10.20.0.3)",
      "not (destination.domain in set lab_clouds) [destination.domain: none]",
    ]);
    f.domain = "x.more.example";
    expect(reasons(r.ruleSet!, ctx("flow_end", f))).toBeNull();
  });

  test("variables in set entries", () => {
    const yaml = `sets:\n  mgmt: [$mgmt_nets]\n${RULE("source.ip: { in: mgmt }")}`;
    const r = load(yaml, { variables: { mgmt_nets: ["10.1.0.0/16", "10.2.0.0/16"] } });
    expect(r.problemLines).toEqual([]);
    expect(reasons(r.ruleSet!, ctx("flow_end", makeFlow({ src: "10.2.3.4" })))).not.toBeNull();
  });
});
