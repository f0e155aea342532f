import { describe, expect, test } from "vitest";
import type { ExceptionStat } from "../../src/rules/index.js";
import { ctx, geo, load, makeFlow, rules, T0 } from "./helpers.js";

const RULES = `rules:
  - id: CLOUD
    name: Camera reaches a vendor cloud
    severity: high
    trigger: flow_attempt
    when:
      source.role: camera
      destination.domain: { in: vendor_clouds }
  - id: OUT
    name: Camera talks to the internet
    severity: medium
    trigger: flow_attempt
    when:
      source.role: camera
      network.direction: outbound
`;

describe("exceptions", () => {
  test("suppress matching matches of their rules, count hits, leave other rules alone", () => {
    const rs = rules(`${RULES}
exceptions:
  - id: nvr3-hik-connect
    rules: CLOUD
    reason: NVR 3 uses Hik-Connect under contract 2024-17
    owner: cctv-team@council.example
    when:
      source.ip: 10.20.0.13
`);
    const allowed = makeFlow({ src: "10.20.0.13", domain: "litedev.hik-connect.com" });
    const other = makeFlow({ src: "10.20.0.14", domain: "litedev.hik-connect.com" });
    expect(rs.evaluate(ctx("flow_attempt", allowed)).map((m) => m.rule.id)).toEqual(["OUT"]);
    expect(rs.evaluate(ctx("flow_attempt", allowed)).map((m) => m.rule.id)).toEqual(["OUT"]);
    expect(rs.evaluate(ctx("flow_attempt", other)).map((m) => m.rule.id)).toEqual(["CLOUD", "OUT"]);
    expect(rs.exceptionStats()).toEqual([
      {
        id: "nvr3-hik-connect",
        rules: ["CLOUD"],
        reason: "NVR 3 uses Hik-Connect under contract 2024-17",
        owner: "cctv-team@council.example",
        hits: 2,
        expired: false,
        file: expect.stringMatching(/rules\.yaml$/),
        line: 18,
      },
    ]);
    expect(rs.hits()).toEqual(
      new Map([
        ["CLOUD", 1],
        ["OUT", 3],
      ]),
    );
    expect(rs.suppressed()).toEqual(
      new Map([
        ["CLOUD", 2],
        ["OUT", 0],
      ]),
    );
  });

  test("without rules: applies to every rule its conditions match", () => {
    const rs = rules(`${RULES}
exceptions:
  - id: lab-camera
    reason: bench camera in the lab
    when: { source.ip: 10.99.0.0/16 }
`);
    expect(
      rs.evaluate(ctx("flow_attempt", makeFlow({ src: "10.99.1.1", domain: "a.ys7.com" }))),
    ).toEqual([]);
    // One context, two rules' matches suppressed: two hits.
    expect(rs.exceptionStats()[0]!.hits).toBe(2);
    expect(rs.suppressed()).toEqual(
      new Map([
        ["CLOUD", 1],
        ["OUT", 1],
      ]),
    );
  });

  test("expiry by packet time: applies through the date (UTC), then reported once and ignored", () => {
    const rs = rules(`${RULES}
exceptions:
  - id: temporary
    rules: [OUT]
    reason: firmware download from the vendor, change 4711
    expires: 2026-11-22
  - id: until-noon
    rules: [CLOUD]
    reason: vendor support session
    expires: 2026-11-22T12:00:00+01:00
`);
    const expired: ExceptionStat[] = [];
    rs.onExceptionExpired = (e) => expired.push(e);
    const at = (sec: number) => ({
      ...ctx("flow_attempt", makeFlow({ domain: "dev.ys7.com" })),
      tsSec: sec,
    });
    // T0 is 2026-11-22T04:00Z: both apply.
    expect(rs.evaluate(at(T0))).toEqual([]);
    // 11:00Z is past 12:00+01:00.
    expect(rs.evaluate(at(T0 + 7 * 3600)).map((m) => m.rule.id)).toEqual(["CLOUD"]);
    expect(expired.map((e) => e.id)).toEqual(["until-noon"]);
    // 2026-11-23T00:00Z: the date has passed.
    expect(rs.evaluate(at(T0 + 20 * 3600)).map((m) => m.rule.id)).toEqual(["CLOUD", "OUT"]);
    rs.evaluate(at(T0 + 30 * 3600));
    expect(expired.map((e) => [e.id, e.expired, e.hits])).toEqual([
      ["until-noon", true, 1],
      ["temporary", true, 2],
    ]);
    expect(rs.exceptionStats().map((e) => [e.id, e.expires, e.expired])).toEqual([
      ["temporary", "2026-11-22", true],
      ["until-noon", "2026-11-22T12:00:00+01:00", true],
    ]);
  });

  test("advanceTime reports an expiry when no rule is evaluated", () => {
    const r = load(
      `${RULES}
exceptions:
  - id: short
    rules: OUT
    reason: test
    expires: 2026-11-22
`,
      { onExceptionExpired: (e) => seen.push(e.id) },
    );
    const seen: string[] = [];
    r.ruleSet!.advanceTime(T0);
    expect(seen).toEqual([]);
    r.ruleSet!.advanceTime(T0 + 86_400);
    r.ruleSet!.advanceTime(T0 + 2 * 86_400);
    expect(seen).toEqual(["short"]);
  });

  test("an exception's conditions may use any field its rules' trigger knows", () => {
    const rs = rules(`${RULES}
exceptions:
  - id: only-germany
    rules: OUT
    reason: the German monitoring service
    when:
      destination.country: DE
      destination.port: 443
`);
    const de = makeFlow({ dstGeo: geo("internet", "DE") });
    expect(rs.evaluate(ctx("flow_attempt", de)).map((m) => m.rule.id)).toEqual([]);
    expect(rs.evaluate(ctx("flow_attempt", makeFlow())).map((m) => m.rule.id)).toEqual(["OUT"]);
  });
});

describe("exception problems", () => {
  test("reason is mandatory and not empty; rules must exist; it needs rules or when", () => {
    const r = load(`${RULES}
exceptions:
  - id: no-reason
    rules: OUT
  - id: empty-reason
    rules: OUT
    reason: "  "
  - id: typo
    rules: [CLOUDS]
    reason: x
  - id: everything
    reason: silence it all
  - id: bad-date
    rules: OUT
    reason: x
    expires: 31/12/2026
`);
    expect(r.ruleSet).toBeNull();
    expect(r.problemLines).toEqual([
      'rules.yaml:18:5: missing required key "reason" in exception exceptions[0]',
      "rules.yaml:22:13: exception empty-reason: reason is empty; say why this traffic is allowed",
      'rules.yaml:24:13: exception typo: no rule "CLOUDS"; did you mean "CLOUD"?',
      "rules.yaml:26:5: exception everything: needs rules:, when: or both; an exception with neither would silence every rule",
      'rules.yaml:31:14: exception bad-date: expires: expected a date such as 2026-12-31 (applies through that day, UTC) or a time such as 2026-12-31T18:00:00Z, found "31/12/2026"',
    ]);
  });

  test("a condition the rule's trigger never knows", () => {
    const r = load(`${RULES}
exceptions:
  - id: by-path
    rules: OUT
    reason: x
    when: { http.path: /status }
`);
    expect(r.problemLines).toEqual([
      "rules.yaml:21:13: http.path is not known at trigger flow_attempt (rule OUT's trigger), so this exception could never apply to it; it is known at http_request, http_response",
    ]);
  });

  test("already expired by the wall clock: a warning", () => {
    const r = load(`${RULES}
exceptions:
  - id: old
    rules: OUT
    reason: x
    expires: 2025-01-31
`);
    expect(r.ruleSet).not.toBeNull();
    expect(r.problemLines).toEqual([
      "rules.yaml:21:14: warning: exception old expired on 2025-01-31 (by this machine's clock): it applies only to traffic from before then; remove it or move expires",
    ]);
  });

  test("a rule an exception without expiry always suppresses: a warning", () => {
    const r = load(`${RULES}
exceptions:
  - id: off
    rules: OUT
    reason: we know
  - id: same
    rules: CLOUD
    reason: all cameras may
    when: { source.role: camera }
  - id: narrower
    rules: CLOUD
    reason: one camera may
    when: { source.role: camera, source.ip: 10.20.0.13 }
  - id: snooze
    rules: OUT
    reason: maintenance window
    expires: 2026-12-01
`);
    expect(r.ruleSet).not.toBeNull();
    expect(r.problemLines).toEqual([
      "rules.yaml:18:9: warning: rule OUT can never fire: exception off has no conditions and never expires; set enabled: false on the rule, or give the exception an expiry",
      "rules.yaml:21:9: warning: rule CLOUD can never fire: exception same only repeats conditions of the rule and never expires; set enabled: false on the rule, or give the exception an expiry",
    ]);
  });
});
