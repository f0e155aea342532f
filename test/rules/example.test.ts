import { describe, expect, test } from "vitest";
import { FlowApp } from "../../src/protocols/flow-app.js";
import { loadRuleFiles } from "../../src/rules/index.js";
import { CAMERA, ctx, geo, makeFlow, NOW, NVR, T0 } from "./helpers.js";

const EXAMPLE = "test/rules/fixtures/example";

describe("the example rules (docs/RULES.md)", () => {
  const { ruleSet, problems } = loadRuleFiles([EXAMPLE], { now: NOW });
  const rs = ruleSet!;
  const ids = (c: Parameters<typeof rs.evaluate>[0]) => rs.evaluate(c).map((m) => m.rule.id);

  test("load without problems", () => {
    expect(problems).toEqual([]);
    expect(rs.rules.map((r) => r.id)).toEqual([
      "EGR-EX-001",
      "EGR-EX-002",
      "EGR-EX-003",
      "EGR-EX-004",
      "EGR-EX-005",
    ]);
    expect(rs.thresholds()).toEqual({ bytesOut: [50_000_000], bytesIn: [], durationSeconds: [] });
  });

  test("a camera resolving a vendor cloud name, and the reasons an analyst sees", () => {
    const f = makeFlow({ proto: 17, dst: "10.20.0.1", dstGeo: geo("private"), dstPort: 53 });
    const m = rs.evaluate(
      ctx("dns_query", f, {
        dns: { queryName: "litedev.hik-connect.com", queryType: "A", answers: [] },
      }),
    );
    expect(m).toHaveLength(1);
    expect(m[0]!.rule.severity).toBe("high");
    expect(m[0]!.reasons).toEqual([
      'source.role is "camera"',
      'destination.domain "litedev.hik-connect.com" in set vendor_clouds (suffix hik-connect.com)',
    ]);
  });

  test("the allow-listed NVR-registered camera is suppressed until its expiry, then alerts again", () => {
    const f = makeFlow({
      src: "10.20.0.13",
      proto: 17,
      dst: "10.20.0.1",
      dstGeo: geo("private"),
      dstPort: 53,
    });
    const dns = { queryName: "litedev.hik-connect.com", queryType: "A", answers: [] };
    expect(ids(ctx("dns_query", f, { dns }))).toEqual([]);
    const next = Date.UTC(2027, 0, 1) / 1000;
    expect(ids({ ...ctx("dns_query", f, { dns }), tsSec: next })).toEqual(["EGR-EX-001"]);
    expect(rs.exceptionStats()).toMatchObject([{ id: "nvr3-hik-connect", hits: 1, expired: true }]);
  });

  test("hard-coded address, answered", () => {
    expect(ids(ctx("flow_outcome", makeFlow({ nameSource: "none" })))).toEqual(["EGR-EX-002"]);
    expect(ids(ctx("flow_outcome", makeFlow({ nameSource: "dns" })))).toEqual([]);
    expect(ids(ctx("flow_outcome", makeFlow({ nameSource: "none", tcpState: 6 })))).toEqual([]);
  });

  test("50 MB out, not to the NVR", () => {
    const at = (f: ReturnType<typeof makeFlow>) =>
      ctx("flow_threshold", f, { threshold: { kind: "bytes_out", value: 50_000_000 } });
    const m = rs.evaluate(at(makeFlow({ srcBytes: 50_001_000 })));
    expect(m[0]!.reasons).toEqual([
      "flow.bytes_out crossed the rule's threshold 50000000 (50.0 MB)",
      'source.role is "camera"',
      "not (destination.group in $nvr_group [nvr]) [destination.group: none]",
    ]);
    const toNvr = makeFlow({
      dst: "10.20.0.2",
      dstGeo: geo("private"),
      dstDevice: NVR,
      srcBytes: 50_001_000,
    });
    expect(ids(at(toNvr))).toEqual([]);
  });

  test("firmware pushed to a camera", () => {
    const f = makeFlow({
      src: "10.1.0.5",
      dst: "10.20.0.11",
      dstGeo: geo("private"),
      srcDevice: null,
      dstDevice: CAMERA,
    });
    const app = new FlowApp();
    app.protocol = "http";
    f.app = app;
    const put = {
      method: "PUT",
      path: "/ISAPI/System/updateFirmware",
      bodyMagic: "hikvision-digicap",
    };
    expect(rs.evaluate(ctx("http_request", f, { http: put }))[0]!.reasons).toEqual([
      'destination.role is "camera"',
      'http.method "PUT" in [PUT, POST]',
      'http.path "/ISAPI/System/updateFirmware" starts with "/ISAPI/System/updateFirmware"',
    ]);
    const upload = { method: "POST", path: "/upload", bodyMagic: "dahua-firmware-zip" };
    expect(ids(ctx("http_request", f, { http: upload }))).toEqual(["EGR-EX-004"]);
    expect(
      ids(
        ctx("http_request", f, { http: { method: "GET", path: "/ISAPI/System/updateFirmware" } }),
      ),
    ).toEqual([]);
  });

  test("watched country, P2P relay set, or blocklist", () => {
    expect(ids(ctx("flow_attempt", makeFlow()))).toEqual(["EGR-EX-005"]); // CN
    const de = geo("internet", "DE", 3320);
    expect(ids(ctx("flow_attempt", makeFlow({ dstGeo: de, dst: "198.51.100.1" })))).toEqual([]);
    expect(ids(ctx("flow_attempt", makeFlow({ dstGeo: de, dst: "203.0.113.200" })))).toEqual([
      "EGR-EX-005",
    ]);
    expect(
      ids(
        ctx(
          "flow_attempt",
          makeFlow({ dstGeo: de, dst: "198.51.100.1", domain: "x.tracker.example" }),
        ),
      ),
    ).toEqual(["EGR-EX-005"]);
    expect(
      ids(
        ctx(
          "flow_attempt",
          makeFlow({ dstGeo: geo("internet", "US", 64500), dst: "198.51.100.1" }),
        ),
      ),
    ).toEqual([]);
  });

  test("device_first_seen and other triggers have no rules here", () => {
    expect(rs.wants("device_first_seen")).toBe(false);
    expect(ids(ctx("device_first_seen", null, { device: CAMERA, tsSec: T0 }))).toEqual([]);
  });
});
