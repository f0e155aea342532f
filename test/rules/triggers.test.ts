import { describe, expect, test } from "vitest";
import { FlowApp } from "../../src/protocols/flow-app.js";
import { TRIGGERS } from "../../src/rules/index.js";
import { CAMERA, ctx, geo, makeFlow, NVR, oneRule, reasons, rules } from "./helpers.js";

const dnsFlow = () =>
  makeFlow({ proto: 17, dst: "10.20.0.1", dstGeo: geo("private"), dstPort: 53 });

describe("every trigger", () => {
  test("a rule fires only at its own trigger; wants() says which triggers have rules", () => {
    const yaml = `rules:\n${TRIGGERS.map(
      (t) =>
        `  - id: ON-${t}\n    name: ${t}\n    severity: info\n    trigger: ${t}\n${t === "flow_threshold" ? "    threshold: { bytes_out: 1MB }\n" : ""}`,
    ).join("")}`;
    const rs = rules(yaml);
    for (const t of TRIGGERS) {
      expect(rs.wants(t)).toBe(true);
      const c = ctx(t, t === "device_first_seen" ? null : makeFlow(), {
        ...(t === "flow_threshold" ? { threshold: { kind: "bytes_out", value: 1_000_000 } } : {}),
        ...(t === "device_first_seen" ? { device: CAMERA } : {}),
      });
      expect(rs.evaluate(c).map((m) => m.rule.id)).toEqual([`ON-${t}`]);
    }
    const one = oneRule("dns_query", "source.role: camera");
    expect(TRIGGERS.filter((t) => one.wants(t))).toEqual(["dns_query"]);
  });

  test("dns_query: query name and type; destination.domain is the name asked for", () => {
    const rs = oneRule(
      "dns_query",
      'dns.query: { suffix: ys7.com }\ndns.type: [A, AAAA]\ndestination.domain: { glob: "dev*.ys7.com" }',
    );
    const c = ctx("dns_query", dnsFlow(), {
      dns: { queryName: "devcl.ys7.com", queryType: "AAAA", answers: [] },
    });
    expect(reasons(rs, c)).toEqual([
      'dns.query "devcl.ys7.com" is or is below "ys7.com"',
      'dns.type "AAAA" in [A, AAAA]',
      'destination.domain "devcl.ys7.com" matches "dev*.ys7.com"',
    ]);
    const txt = ctx("dns_query", dnsFlow(), {
      dns: { queryName: "devcl.ys7.com", queryType: "TXT", answers: [] },
    });
    expect(reasons(rs, txt)).toBeNull();
  });

  test("dns_answer: rcode and the addresses it resolved to", () => {
    const rs = oneRule(
      "dns_answer",
      "dns.rcode: NOERROR\ndns.answer: [203.0.113.0/24, 2001:db8::/32]",
    );
    const c = ctx("dns_answer", dnsFlow(), {
      dns: {
        queryName: "x.example",
        queryType: "A",
        rcode: "NOERROR",
        answers: ["192.0.2.1", "203.0.113.77"],
      },
    });
    expect(reasons(rs, c)).toEqual([
      'dns.rcode is "NOERROR"',
      "dns.answer 203.0.113.77 in [203.0.113.0/24, 2001:db8::/32] (203.0.113.0/24)",
    ]);
    const nx = ctx("dns_answer", dnsFlow(), {
      dns: { queryName: "x.example", queryType: "A", rcode: "NXDOMAIN", answers: [] },
    });
    expect(reasons(rs, nx)).toBeNull();
  });

  test("flow_attempt and flow_outcome see the flow", () => {
    const attempt = oneRule(
      "flow_attempt",
      "network.direction: outbound\ndestination.name_source: none",
    );
    expect(reasons(attempt, ctx("flow_attempt", makeFlow()))).not.toBeNull();
    const outcome = oneRule("flow_outcome", "flow.outcome: [attempted, rejected]");
    expect(reasons(outcome, ctx("flow_outcome", makeFlow({ tcpState: 1, dstPackets: 0 })))).toEqual(
      ['flow.outcome "attempted" in [attempted, rejected]'],
    );
  });

  test("tls_client_hello: SNI, ALPN, JA3, JA4", () => {
    const rs = oneRule(
      "tls_client_hello",
      'tls.sni: { in: vendor_clouds }\ntls.alpn: h2\ntls.ja3: 871a754af286dfb70c1b53c6887c62e0\ntls.ja4: { prefix: "t12d" }',
    );
    const c = ctx("tls_client_hello", makeFlow(), {
      tls: {
        sni: "dev.ys7.com",
        alpn: ["http/1.1", "h2"],
        ja3: "871a754af286dfb70c1b53c6887c62e0",
        ja4: "t12d280700_d943125447b4_e7e480e5a997",
      },
    });
    expect(reasons(rs, c)).toEqual([
      'tls.sni "dev.ys7.com" in set vendor_clouds (suffix ys7.com)',
      'tls.alpn is "h2"',
      'tls.ja3 is "871a754af286dfb70c1b53c6887c62e0"',
      'tls.ja4 "t12d280700_d943125447b4_e7e480e5a997" starts with "t12d"',
    ]);
    const noSni = ctx("tls_client_hello", makeFlow(), { tls: { alpn: ["h2"] } });
    expect(reasons(rs, noSni)).toBeNull();
  });

  test("tls facts at flow_end come from the flow's handshake; self-signed from the certificate", () => {
    const rs = oneRule("flow_end", "tls.sni: cam.example.test\ntls.self_signed: true");
    const app = new FlowApp();
    app.protocol = "tls";
    app.tlsInfo = {
      anomalies: [],
      server_name: "cam.example.test",
      client_hello: { server_name: "cam.example.test", alpn: [], ja3_hash: "x", ja4: "y" },
      server_certificate: { self_signed: true },
    } as never;
    expect(reasons(rs, ctx("flow_end", makeFlow({ app })))).toEqual([
      'tls.sni is "cam.example.test"',
      "tls.self_signed is true",
    ]);
    expect(reasons(rs, ctx("flow_end", makeFlow({ app: null })))).toBeNull();
  });

  test("http_request: method, host, path, URI, user agent, content type and length, body magic, file name", () => {
    const rs = oneRule(
      "http_request",
      [
        "destination.role: camera",
        "http.method: [PUT, POST]",
        "http.host: { suffix: example.test }",
        'http.path: { glob: "/ISAPI/System/*" }',
        'http.uri: { contains: "?" }',
        'http.user_agent: { glob: "*curl*" }',
        "http.content_type: application/octet-stream",
        "http.content_length: { gt: 1MB }",
        "http.body_magic: hikvision-digicap",
        'http.filename: { suffix: ".dav" }',
      ].join("\n"),
    );
    const f = makeFlow({
      src: "10.1.0.5",
      dst: "10.20.0.11",
      dstGeo: geo("private"),
      srcDevice: null,
      dstDevice: CAMERA,
    });
    const http = {
      method: "PUT",
      host: "cam1.example.test:8080",
      path: "/ISAPI/System/updateFirmware",
      uri: "/ISAPI/System/updateFirmware?x=1",
      userAgent: "curl/8.5.0",
      contentType: "application/octet-stream",
      contentLength: 30_000_000,
      bodyMagic: "hikvision-digicap",
      filename: "digicap.dav",
    };
    expect(reasons(rs, ctx("http_request", f, { http }))).toEqual([
      'destination.role is "camera"',
      'http.method "PUT" in [PUT, POST]',
      'http.host "cam1.example.test" is or is below "example.test"',
      'http.path "/ISAPI/System/updateFirmware" matches "/ISAPI/System/*"',
      'http.uri "/ISAPI/System/updateFirmware?x=1" contains "?"',
      'http.user_agent "curl/8.5.0" matches "*curl*"',
      'http.content_type is "application/octet-stream"',
      "http.content_length 30000000 (30.0 MB) > 1MB",
      'http.body_magic is "hikvision-digicap"',
      'http.filename "digicap.dav" ends with ".dav"',
    ]);
    // `*` in a path glob stops at "/".
    const deeper = { ...http, path: "/ISAPI/System/onlineUpgrade/status" };
    expect(reasons(rs, ctx("http_request", f, { http: deeper }))).toBeNull();
    expect(reasons(rs, ctx("http_request", f, { http: { ...http, method: "GET" } }))).toBeNull();
  });

  test("http_response: status and server", () => {
    const rs = oneRule("http_response", 'http.status: "200-299"\nhttp.server: { contains: webs }');
    const c = ctx("http_response", makeFlow(), { http: { status: 200, server: "App-webs/" } });
    expect(reasons(rs, c)).toEqual([
      "http.status 200 in 200-299",
      'http.server "App-webs/" contains "webs"',
    ]);
    expect(
      reasons(rs, ctx("http_response", makeFlow(), { http: { status: 404, server: "App-webs/" } })),
    ).toBeNull();
  });

  test("flow_threshold: fires only at the declared thresholds; thresholds() lists them", () => {
    const rs = rules(`rules:
  - id: BIG-OUT
    name: big upload
    severity: high
    trigger: flow_threshold
    threshold: { bytes_out: 50MB }
    when: { source.role: camera }
  - id: BIG-IN
    name: big download
    severity: medium
    trigger: flow_threshold
    threshold: { bytes_in: 20MiB, duration: 1h }
  - id: ALSO-OUT
    name: same upload limit
    severity: low
    trigger: flow_threshold
    threshold: { bytes_out: 50MB, duration: 90m }
  - id: OFF
    name: disabled
    severity: low
    enabled: false
    trigger: flow_threshold
    threshold: { bytes_out: 1GB }
`);
    expect(rs.thresholds()).toEqual({
      bytesOut: [50_000_000],
      bytesIn: [20_971_520],
      durationSeconds: [3600, 5400],
    });
    const out = ctx("flow_threshold", makeFlow({ srcBytes: 50_000_100 }), {
      threshold: { kind: "bytes_out", value: 50_000_000 },
    });
    const m = rs.evaluate(out);
    expect(m.map((x) => x.rule.id)).toEqual(["BIG-OUT", "ALSO-OUT"]);
    expect(m[0]!.reasons).toEqual([
      "flow.bytes_out crossed the rule's threshold 50000000 (50.0 MB)",
      'source.role is "camera"',
    ]);
    const hour = ctx("flow_threshold", makeFlow(), {
      threshold: { kind: "duration", value: 3600 },
    });
    expect(rs.evaluate(hour).map((x) => x.rule.id)).toEqual(["BIG-IN"]);
    const other = ctx("flow_threshold", makeFlow(), {
      threshold: { kind: "bytes_out", value: 1_000_000_000 },
    });
    expect(rs.evaluate(other)).toEqual([]);
  });

  test("flow_end: bytes, duration and outcome at once", () => {
    const rs = oneRule(
      "flow_end",
      "flow.outcome: [established, closed]\nflow.duration: { gt: 10m }",
    );
    expect(
      reasons(rs, ctx("flow_end", makeFlow({ durationSec: 3600, tcpState: 4 }))),
    ).not.toBeNull();
  });

  test("device_first_seen: the new device's group, role, maker, model, MAC", () => {
    const rs = oneRule(
      "device_first_seen",
      [
        "device.role: camera",
        "device.group: cameras",
        "device.maker: Hikvision",
        "device.model: { prefix: DS-2CD }",
        "device.mac: { prefix: 44-19-B6 }",
        "device.randomised_mac: false",
      ].join("\n"),
    );
    expect(reasons(rs, ctx("device_first_seen", null, { device: CAMERA }))).toEqual([
      'device.role is "camera"',
      'device.group is "cameras"',
      'device.maker is "Hikvision"',
      'device.model "DS-2CD2043G2" starts with "DS-2CD"',
      'device.mac "44-19-B6-12-34-56" starts with "44-19-B6"',
      "device.randomised_mac is false",
    ]);
    expect(reasons(rs, ctx("device_first_seen", null, { device: NVR }))).toBeNull();
  });

  test("a rule without conditions matches every context of its trigger", () => {
    const rs = rules(
      "rules:\n  - id: R1\n    name: new device\n    severity: info\n    trigger: device_first_seen\n",
    );
    expect(reasons(rs, ctx("device_first_seen", null, { device: NVR }))).toEqual([
      "trigger device_first_seen (the rule has no conditions)",
    ]);
  });

  test("hits are counted per rule", () => {
    const rs = oneRule("flow_end", "source.role: camera");
    rs.evaluate(ctx("flow_end", makeFlow()));
    rs.evaluate(ctx("flow_end", makeFlow()));
    rs.evaluate(ctx("flow_end", makeFlow({ srcDevice: NVR })));
    expect(rs.hits()).toEqual(new Map([["R1", 2]]));
  });
});
