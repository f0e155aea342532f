/**
 * Rule triggers from the real pipeline: each fires at the packet where its evidence
 * exists (not at flow end), once, with the facts rules match on.
 */
import { describe, expect, it } from "vitest";
import { FlowEnricher } from "../../src/enrich/flow-enricher.js";
import { DeviceGroups, Inventory, isPrivateAddress } from "../../src/inventory/index.js";
import type { RuleContext, Trigger } from "../../src/rules/context.js";
import { RuleTriggers } from "../../src/rules/triggers.js";
import { ethernet, ipv4, tcp, udp } from "../helpers/packets.js";
import { runFrames, type TimedFrame } from "../helpers/run-pipeline.js";
import { clientHelloBody, ext, handshake, record } from "../protocols/tls/build.js";

const CAM = "10.20.0.11";
const DNS = "10.20.0.53";
const CLOUD = "203.0.113.7";
const T0 = 1_700_000_000;

interface Seen {
  trigger: Trigger;
  t: number;
  facts: Partial<RuleContext>;
  flowBytesOut?: number;
}

function run(
  frames: TimedFrame[],
  thresholds = {
    bytesOut: [] as number[],
    bytesIn: [] as number[],
    durationSeconds: [] as number[],
  },
  wanted: Trigger[] | "all" = "all",
  timeouts = {},
): Seen[] {
  const seen: Seen[] = [];
  const triggers = new RuleTriggers(
    { wants: (t) => wanted === "all" || wanted.includes(t), thresholds: () => thresholds },
    (ctx) =>
      seen.push({
        trigger: ctx.trigger,
        t: ctx.tsSec + ctx.tsNsec / 1e9,
        facts: {
          dns: ctx.dns,
          tls: ctx.tls,
          http: ctx.http,
          threshold: ctx.threshold,
          device: ctx.device,
        },
        ...(ctx.flow ? { flowBytesOut: ctx.flow.reportedBytesOut + ctx.flow.srcBytes } : {}),
      }),
  );
  const inventory = new Inventory({
    maxDevices: 100,
    groups: new DeviceGroups([{ name: "cams", role: "camera", cidrs: ["10.20.0.0/24"] }]),
    isLocal: isPrivateAddress,
  });
  runFrames(
    frames,
    { timeouts: timeouts as never },
    { events: [] },
    {
      enricher: new FlowEnricher(null, inventory),
      triggers,
    },
  );
  return seen;
}

function tcpFrame(
  src: string,
  dst: string,
  sport: number,
  dport: number,
  flags: string,
  seq: number,
  payload: Uint8Array = Buffer.alloc(0),
) {
  return ethernet(ipv4({ src, dst }, tcp({ sport, dport, flags, seq, payload })));
}

function dnsQuery(id: number, name: string, response: boolean, answer?: string): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(response ? 0x8180 : 0x0100, 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(answer ? 1 : 0, 6);
  const qname = Buffer.concat([
    ...name.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
  const parts = [h, qname, Buffer.from([0, 1, 0, 1])];
  if (answer)
    parts.push(
      Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, ...answer.split(".").map(Number)]),
    );
  return Buffer.concat(parts);
}

describe("rule triggers", () => {
  it("DNS query and answer, each at its own packet, with the facts", () => {
    const seen = run(
      [
        {
          t: T0,
          frame: ethernet(
            ipv4(
              { src: CAM, dst: DNS },
              udp(40000, 53, dnsQuery(1, "litedev.hik-connect.com", false)),
            ),
          ),
        },
        {
          t: T0 + 0.01,
          frame: ethernet(
            ipv4(
              { src: DNS, dst: CAM },
              udp(53, 40000, dnsQuery(1, "litedev.hik-connect.com", true, CLOUD)),
            ),
          ),
        },
      ],
      undefined,
      ["dns_query", "dns_answer"],
    );
    expect(seen.map((s) => [s.trigger, s.t])).toEqual([
      ["dns_query", T0],
      ["dns_answer", T0 + 0.01],
    ]);
    expect(seen[1]!.facts.dns).toEqual({
      queryName: "litedev.hik-connect.com",
      queryType: "A",
      rcode: "NOERROR",
      answers: [CLOUD],
    });
  });

  it("flow attempt at the SYN, outcome at the SYN-ACK, end at the end; an unanswered attempt's outcome at its end", () => {
    const seen = run(
      [
        { t: T0, frame: tcpFrame(CAM, CLOUD, 41000, 443, "S", 1) },
        { t: T0 + 0.05, frame: tcpFrame(CLOUD, CAM, 443, 41000, "SA", 9) },
        { t: T0 + 1, frame: tcpFrame(CAM, "198.51.100.1", 41001, 8000, "S", 1) },
      ],
      undefined,
      ["flow_attempt", "flow_outcome", "flow_end", "device_first_seen"],
    );
    expect(seen.map((s) => [s.trigger, s.t])).toEqual([
      ["device_first_seen", T0],
      ["flow_attempt", T0],
      ["flow_outcome", T0 + 0.05],
      ["flow_attempt", T0 + 1],
      // End of capture, oldest flow first; the unanswered one gets its outcome then.
      ["flow_end", T0 + 0.05],
      ["flow_outcome", T0 + 1],
      ["flow_end", T0 + 1],
    ]);
    expect(seen[0]!.facts.device).toMatchObject({ group: "cams", role: "camera" });
  });

  it("TLS ClientHello once, when the hello is complete", () => {
    const hello = record(
      22,
      handshake(
        1,
        clientHelloBody({
          ciphers: [0x1301],
          extensions: [ext.sni("dev.ezvizlife.com"), ext.alpn(["http/1.1"])],
        }),
      ),
    );
    const seen = run(
      [
        { t: T0, frame: tcpFrame(CAM, CLOUD, 42000, 443, "S", 1) },
        { t: T0 + 0.1, frame: tcpFrame(CAM, CLOUD, 42000, 443, "PA", 2, hello.subarray(0, 30)) },
        { t: T0 + 0.2, frame: tcpFrame(CAM, CLOUD, 42000, 443, "PA", 32, hello.subarray(30)) },
      ],
      undefined,
      ["tls_client_hello"],
    );
    expect(seen.map((s) => [s.trigger, s.t])).toEqual([["tls_client_hello", T0 + 0.2]]);
    expect(seen[0]!.facts.tls).toMatchObject({ sni: "dev.ezvizlife.com", alpn: ["http/1.1"] });
    expect(seen[0]!.facts.tls!.ja4).toMatch(/^t12d/);
  });

  it("an HTTP firmware upload triggers after its first body bytes, not at its end", () => {
    const head = Buffer.from(
      "PUT /ISAPI/System/updateFirmware HTTP/1.1\r\nHost: 10.20.0.11\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n",
    );
    const body = Buffer.concat([Buffer.from([0xe9, 0x9a, 0xf7, 0xb6]), Buffer.alloc(1400)]);
    const seen = run(
      [
        { t: T0, frame: tcpFrame("10.20.0.99", CAM, 43000, 80, "S", 1) },
        { t: T0 + 0.1, frame: tcpFrame("10.20.0.99", CAM, 43000, 80, "PA", 2, head) },
        { t: T0 + 0.2, frame: tcpFrame("10.20.0.99", CAM, 43000, 80, "PA", 2 + head.length, body) },
        {
          t: T0 + 0.3,
          frame: tcpFrame(
            "10.20.0.99",
            CAM,
            43000,
            80,
            "PA",
            2 + head.length + body.length,
            Buffer.alloc(1400),
          ),
        },
      ],
      undefined,
      ["http_request"],
    );
    expect(seen.map((s) => [s.trigger, s.t])).toEqual([["http_request", T0 + 0.1]]);
    expect(seen[0]!.facts.http).toMatchObject({
      method: "PUT",
      path: "/ISAPI/System/updateFirmware",
      bodyMagic: "hikvision-digicap",
      contentLength: 100000,
    });
  });

  it("an HTTP response carries the request it answers, and its own body facts", () => {
    const req = Buffer.from("GET /firmware/digicap.dav HTTP/1.1\r\nHost: upgrade.example\r\n\r\n");
    const res = Buffer.concat([
      Buffer.from(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 5000\r\n\r\n",
      ),
      Buffer.from([0xe9, 0x9a, 0xf7, 0xb6]),
      Buffer.alloc(60),
    ]);
    const seen = run(
      [
        { t: T0, frame: tcpFrame(CAM, CLOUD, 45000, 80, "S", 1) },
        { t: T0 + 0.01, frame: tcpFrame(CLOUD, CAM, 80, 45000, "SA", 100) },
        { t: T0 + 0.02, frame: tcpFrame(CAM, CLOUD, 45000, 80, "PA", 2, req) },
        { t: T0 + 0.05, frame: tcpFrame(CLOUD, CAM, 80, 45000, "PA", 101, res) },
      ],
      undefined,
      ["http_request", "http_response"],
    );
    expect(seen.map((s) => s.trigger)).toEqual(["http_request", "http_response"]);
    expect(seen[0]!.facts.http).not.toHaveProperty("bodyMagic");
    expect(seen[1]!.facts.http).toMatchObject({
      method: "GET",
      path: "/firmware/digicap.dav",
      host: "upgrade.example",
      status: 200,
      bodyMagic: "hikvision-digicap",
      contentType: "application/octet-stream",
    });
  });

  it("byte and duration thresholds fire once each when crossed, counted over the whole flow across active timeouts", () => {
    const frames: TimedFrame[] = [{ t: T0, frame: tcpFrame(CAM, CLOUD, 44000, 443, "S", 1) }];
    for (let i = 0; i < 40; i++) {
      frames.push({
        t: T0 + 1 + i * 10,
        frame: tcpFrame(CAM, CLOUD, 44000, 443, "PA", 2 + i * 1000, Buffer.alloc(1000)),
      });
    }
    const seen = run(
      frames,
      { bytesOut: [5000, 20000, 30000], bytesIn: [], durationSeconds: [100] },
      ["flow_threshold"],
      { active: 60 },
    );
    expect(seen.map((s) => [s.facts.threshold!.kind, s.facts.threshold!.value])).toEqual([
      ["bytes_out", 5000],
      ["duration", 100],
      ["bytes_out", 20000],
      ["bytes_out", 30000],
    ]);
    // Each fired at the packet that crossed it (1040 IP bytes per data packet).
    expect(seen[0]!.flowBytesOut).toBeGreaterThanOrEqual(5000);
    expect(seen[0]!.flowBytesOut!).toBeLessThan(5000 + 1040);
    expect(seen[2]!.flowBytesOut!).toBeLessThan(20000 + 1040);
  });

  it("builds nothing for triggers no rule wants", () => {
    const seen = run(
      [
        { t: T0, frame: tcpFrame(CAM, CLOUD, 41000, 443, "S", 1) },
        { t: T0 + 0.05, frame: tcpFrame(CLOUD, CAM, 443, 41000, "SA", 9) },
      ],
      undefined,
      ["dns_query"],
    );
    expect(seen).toEqual([]);
  });
});
