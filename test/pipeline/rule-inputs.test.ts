/**
 * Rule fields that need more than the records keep (first payload bytes, every HTTP
 * header, the body's first bytes), the average rate, protocols known at flow_attempt for
 * datagram flows, RTSP set-up beyond its first requests, and variables in descriptions:
 * a capture written from frames, the rules loaded from YAML, the whole pipeline between.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCaptureWithRules } from "../../src/cli/capture-run.js";
import { parseConfig } from "../../src/config/load.js";
import { formatRuleProblem, loadRuleFiles } from "../../src/rules/index.js";
import { pcapFile } from "../helpers/capture-writer.js";
import { ethernet, ipv4, tcp, udp } from "../helpers/packets.js";

const CAM = "10.20.0.11";
const CLOUD = "203.0.113.7";
const T0 = 1_790_000_000;
const dir = mkdtempSync(join(tmpdir(), "egressd-rule-inputs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG = parseConfig(
  `geoip:\n  bundled: false\ndevices:\n  groups:\n    - { name: cams, role: camera, cidrs: [10.20.0.0/24] }\n`,
  "config.yaml",
);

interface Frame {
  t: number;
  frame: Buffer;
}

/** A TCP connection: handshake, then each message in turn from its side, then FINs. */
function tcpSession(
  t: number,
  sport: number,
  dport: number,
  messages: { fromClient: boolean; data: Buffer; dt?: number }[],
  client = CAM,
  server = CLOUD,
): Frame[] {
  let cseq = 1000;
  let sseq = 5000;
  const out: Frame[] = [];
  const c2s = (flags: string, payload?: Buffer) =>
    ethernet(ipv4({ src: client, dst: server }, tcp({ sport, dport, flags, seq: cseq, payload })));
  const s2c = (flags: string, payload?: Buffer) =>
    ethernet(
      ipv4(
        { src: server, dst: client },
        tcp({ sport: dport, dport: sport, flags, seq: sseq, payload }),
      ),
    );
  out.push({ t, frame: c2s("S") });
  cseq++;
  out.push({ t: t + 0.001, frame: s2c("SA") });
  sseq++;
  out.push({ t: t + 0.002, frame: c2s("A") });
  let now = t + 0.003;
  for (const m of messages) {
    now += m.dt ?? 0.001;
    if (m.fromClient) {
      out.push({ t: now, frame: c2s("PA", m.data) });
      cseq += m.data.length;
    } else {
      out.push({ t: now, frame: s2c("PA", m.data) });
      sseq += m.data.length;
    }
  }
  out.push({ t: now + 0.001, frame: c2s("FA") });
  out.push({ t: now + 0.002, frame: s2c("FA") });
  return out;
}

async function alertsFor(rules: string, frames: Frame[]) {
  const name = `case-${Math.random().toString(36).slice(2)}`;
  const rulesFile = join(dir, `${name}.yaml`);
  const capture = join(dir, `${name}.pcap`);
  writeFileSync(rulesFile, rules);
  const sorted = [...frames].sort((a, b) => a.t - b.t);
  writeFileSync(
    capture,
    pcapFile(
      {},
      sorted.map((f) => ({
        tsSec: Math.floor(f.t),
        tsFrac: Math.round((f.t % 1) * 1e6),
        data: f.frame,
      })),
    ),
  );
  const loaded = loadRuleFiles([rulesFile], {});
  expect(loaded.problems.map(formatRuleProblem)).toEqual([]);
  const { alerts } = await runCaptureWithRules({
    capture,
    config: CONFIG,
    ruleSet: loaded.ruleSet!,
  });
  return alerts as any[];
}

const ids = (alerts: any[]) => alerts.map((a) => a.rule.id).sort();

const rule = (id: string, trigger: string, when: string, extra = "") => `
  - id: ${id}
    name: ${id}
    severity: high
    trigger: ${trigger}${extra}
    when:
${when
  .trim()
  .split("\n")
  .map((l) => `      ${l}`)
  .join("\n")}
`;

describe("rule inputs kept only when rules read them", () => {
  it("payload.* matches the first bytes of a protocol egressd does not parse", async () => {
    const hello = Buffer.concat([
      Buffer.from([0x20, 0x00, 0x00, 0x2a]),
      Buffer.from("EHOME/2.0 reg"),
    ]);
    const frames = [
      ...tcpSession(T0, 40001, 7660, [
        { fromClient: true, data: hello },
        { fromClient: false, data: Buffer.from("OK-REG") },
      ]),
      {
        t: T0 + 1,
        frame: ethernet(
          ipv4(
            { src: CAM, dst: CLOUD },
            udp(40002, 37810, Buffer.from('{"method":"DHDiscover.search"}')),
          ),
        ),
      },
    ];
    const alerts = await alertsFor(
      `rules:${rule("P-TEXT", "flow_end", "payload.out.text: { contains: EHOME/ }")}${rule(
        "P-HEX",
        "flow_end",
        "payload.out.hex: { prefix: '2000002a' }",
      )}${rule("P-IN", "flow_end", "payload.in.text: OK-REG")}${rule(
        "P-UDP",
        "flow_attempt",
        "payload.out.text: { contains: DHDiscover }",
      )}${rule("P-NONE", "flow_end", "payload.out.text: { contains: nothing-like-this }")}`,
      frames,
    );
    expect(ids(alerts)).toEqual(["P-HEX", "P-IN", "P-TEXT", "P-UDP"]);
    const text = alerts.find((a) => a.rule.id === "P-TEXT");
    expect(text.egressd.reasons[0]).toBe(
      String.raw`payload.out.text " \\x00\\x00*EHOME/2.0 reg" contains "EHOME/"`,
    );
  });

  it("http.header.* and http.body read any header and the body's first bytes", async () => {
    const body =
      '{"method":"global.login","params":{"userName":"admin","clientType":"NetKeyboard"}}';
    const request = Buffer.from(
      'POST /RPC2_Login HTTP/1.1\r\nHost: cam.example\r\nSOAPAction: "urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping"\r\n' +
        `Authorization: Basic YWRtaW46c2VjcmV0\r\nX-Twice: one\r\nX-Twice: two\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    const response = Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    const frames = tcpSession(T0, 40010, 80, [
      { fromClient: true, data: request },
      { fromClient: false, data: response },
    ]);
    const alerts = await alertsFor(
      `rules:${rule("H-SOAP", "http_request", "http.header.soapaction: { contains: AddPortMapping }")}${rule(
        "H-BODY",
        "http_request",
        `http.body: { contains: '"clientType":"NetKeyboard"' }`,
      )}${rule("H-AUTH", "http_request", "http.header.Authorization: Basic")}${rule(
        "H-SECRET",
        "http_request",
        "http.header.authorization: { contains: YWRtaW46 }",
      )}${rule("H-TWICE", "http_request", "http.header.x-twice: two")}${rule(
        "H-RESP-BODY",
        "http_response",
        "http.body: ok",
      )}${rule("H-REQ-NOT-RESP", "http_response", "http.header.soapaction: { exists: true }")}`,
      frames,
    );
    // The credentials never reach a rule (or an alert's reasons): only the scheme does.
    expect(ids(alerts)).toEqual(["H-AUTH", "H-BODY", "H-RESP-BODY", "H-SOAP", "H-TWICE"]);
  });

  it("an unknown header name is a field; one that is not a token is an error", () => {
    const file = join(dir, "bad-header.yaml");
    writeFileSync(file, `rules:${rule("B", "http_request", "http.header.x y: 1")}`);
    const r = loadRuleFiles([file], {});
    expect(r.ruleSet).toBeNull();
    expect(r.problems.map(formatRuleProblem).join("\n")).toContain(
      'unknown field "http.header.x y"',
    );
  });
});

describe("rates, early protocols, RTSP set-up, variables in text", () => {
  it("flow.rate_out is the average since the flow began, absent in its first second", async () => {
    const chunk = Buffer.alloc(1400, 0x41);
    const messages: { fromClient: boolean; data: Buffer; dt?: number }[] = [];
    for (let i = 0; i < 300; i++) messages.push({ fromClient: true, data: chunk, dt: 0.01 });
    const frames = tcpSession(T0, 40020, 443, messages);
    // 420 kB in about 3 s: ~140 kB/s.
    const alerts = await alertsFor(
      `rules:${rule("R-FAST", "flow_end", 'flow.rate_out: "> 100kB/s"')}${rule(
        "R-SLOW",
        "flow_end",
        'flow.rate_out: "> 2Mbit/s"',
      )}${rule("R-IN", "flow_end", "flow.rate_in: { lt: 1kB/s }")}${rule(
        "R-EARLY",
        "flow_attempt",
        "flow.rate_out: { exists: true }",
      )}`,
      frames,
    );
    expect(ids(alerts)).toEqual(["R-FAST", "R-IN"]);
    expect(alerts[0].egressd.reasons[0]).toMatch(/flow\.rate_out .*B\/s \(1\.\d Mbit\/s\)/);
  });

  it("network.protocol is known at flow_attempt for a datagram flow, not for TCP", async () => {
    const query = Buffer.from(
      "abcd01000001000000000000076578616d706c650474657374000001000" + "1",
      "hex",
    );
    const frames = [
      { t: T0, frame: ethernet(ipv4({ src: CAM, dst: "10.20.0.53" }, udp(40030, 53, query))) },
      ...tcpSession(T0 + 1, 40031, 443, [{ fromClient: true, data: Buffer.from("hello") }]),
    ];
    const alerts = await alertsFor(
      `rules:${rule("A-DNS", "flow_attempt", "network.protocol: dns")}${rule(
        "A-UNKNOWN",
        "flow_attempt",
        "network.protocol: unknown",
      )}${rule("A-NOT-DNS", "flow_attempt", "not: { network.protocol: dns }")}`,
      frames,
    );
    // The TCP attempt's protocol is not known yet: absent, so only the `not` holds for it.
    expect(ids(alerts)).toEqual(["A-DNS", "A-NOT-DNS"]);
    expect(alerts.find((a) => a.rule.id === "A-NOT-DNS").network.transport).toBe("tcp");
  });

  it("RTSP requests after the first two reach rules (SETUP, RECORD)", async () => {
    const req = (method: string, cseq: number) =>
      Buffer.from(`${method} rtsp://${CLOUD}/live RTSP/1.0\r\nCSeq: ${cseq}\r\n\r\n`);
    const ok = (cseq: number) => Buffer.from(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\n\r\n`);
    const messages: { fromClient: boolean; data: Buffer; dt?: number }[] = [];
    ["OPTIONS", "ANNOUNCE", "SETUP", "RECORD"].forEach((m, i) => {
      messages.push({ fromClient: true, data: req(m, i + 1) });
      messages.push({ fromClient: false, data: ok(i + 1) });
    });
    const alerts = await alertsFor(
      `rules:${rule("RTSP-RECORD", "http_request", "http.method: RECORD")}`,
      tcpSession(T0, 40040, 554, messages),
    );
    expect(ids(alerts)).toEqual(["RTSP-RECORD"]);
  });

  it("a rule's name and description take variables", async () => {
    const alerts = await alertsFor(
      `variables:\n  watch: [CN, RU]\n  limit: 5\nrules:\n  - id: V-1\n    name: Above $limit packets\n    description: "Countries \${watch}; costs $$5."\n    severity: low\n    trigger: flow_end\n    when:\n      source.role: camera\n`,
      tcpSession(T0, 40050, 443, [{ fromClient: true, data: Buffer.from("x") }]),
    );
    expect(alerts[0].rule.name).toBe("Above 5 packets");
    expect(alerts[0].rule.description).toBe("Countries CN, RU; costs $5.");
    const file = join(dir, "undefined-var.yaml");
    writeFileSync(
      file,
      "rules:\n  - id: V-2\n    name: n\n    description: To $nowhere\n    severity: low\n    trigger: flow_end\n",
    );
    expect(loadRuleFiles([file], {}).problems.map(formatRuleProblem)).toEqual([
      `${file}:4:18: undefined variable $nowhere in text; set it under variables:, or write $$ for a literal $`,
    ]);
  });
});
