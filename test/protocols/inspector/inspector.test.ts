/**
 * The inspector wired to the flow table: recognition by content, naming, and the edge
 * cases a review found (Fast Open data, answers the question did not ask for, flows that
 * outlive an active timeout, IPv6 literals as names).
 */
import { describe, expect, it } from "vitest";
import { ethernet, ipv4, tcp, udp } from "../../helpers/packets.js";
import { runFrames, type TimedFrame } from "../../helpers/run-pipeline.js";
import { clientHelloBody, ext, handshake, record } from "../tls/build.js";

const CAM = "192.0.2.11";
const DNS = "192.0.2.53";
const CLOUD = "203.0.113.7";
const T0 = 1_700_000_000;

function name(n: string): Buffer {
  return Buffer.concat([
    ...n.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
}

function a(owner: string, address: string, ttl = 300): Buffer {
  const rr = Buffer.alloc(10);
  rr.writeUInt16BE(1, 0);
  rr.writeUInt16BE(1, 2);
  rr.writeUInt32BE(ttl, 4);
  rr.writeUInt16BE(4, 8);
  return Buffer.concat([name(owner), rr, Buffer.from(address.split(".").map(Number))]);
}

function dnsMessage(id: number, qname: string, answers: Buffer[], response: boolean): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(response ? 0x8180 : 0x0100, 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(answers.length, 6);
  return Buffer.concat([h, name(qname), Buffer.from([0, 1, 0, 1]), ...answers]);
}

function lookup(t: number, qname: string, answers: Buffer[], port = 40000): TimedFrame[] {
  return [
    {
      t,
      frame: ethernet(ipv4({ src: CAM, dst: DNS }, udp(port, 53, dnsMessage(7, qname, [], false)))),
    },
    {
      t: t + 0.001,
      frame: ethernet(
        ipv4({ src: DNS, dst: CAM }, udp(53, port, dnsMessage(7, qname, answers, true))),
      ),
    },
  ];
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

const GET = (n: number) => Buffer.from(`GET /${n} HTTP/1.1\r\nHost: api.example.test\r\n\r\n`);
const OK = Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

describe("protocol inspection in the pipeline", () => {
  it("names a destination by the client's own lookup, and only by what the question resolved to", () => {
    const frames = [
      // The answer section also carries a record the question did not ask for.
      ...lookup(T0, "evil.example.test", [
        a("evil.example.test", "198.51.100.9"),
        a("bank.example.test", CLOUD),
      ]),
      { t: T0 + 1, frame: tcpFrame(CAM, "198.51.100.9", 41000, 443, "S", 100) },
      { t: T0 + 2, frame: tcpFrame(CAM, CLOUD, 41001, 443, "S", 200) },
    ];
    const { records } = runFrames(frames, {}, { events: [] });
    const to = (ip: string) =>
      records.find((r) => r.destination.ip === ip && r.destination.port === 443)!;
    expect(to("198.51.100.9").destination.domain).toBe("evil.example.test");
    expect(to("198.51.100.9").egressd.name_source).toBe("dns");
    expect(to(CLOUD).destination.domain).toBeUndefined();
    expect(to(CLOUD).egressd.name_source).toBe("none");
    const dnsFlow = records.find((r) => r.network.protocol === "dns")!;
    expect(dnsFlow.dns.resolved_ip).toEqual(["198.51.100.9"]);
  });

  it("recognises HTTP on an unusual port by content, even when the request rides in the SYN", () => {
    const frames: TimedFrame[] = [
      { t: T0, frame: tcpFrame(CAM, CLOUD, 42000, 8000, "S", 1000, GET(1)) },
      { t: T0 + 0.01, frame: tcpFrame(CLOUD, CAM, 8000, 42000, "SA", 5000) },
      { t: T0 + 0.02, frame: tcpFrame(CLOUD, CAM, 8000, 42000, "PA", 5001, OK) },
    ];
    const { records, events } = runFrames(frames, {}, { events: ["http"] });
    expect(records[0]!.network.protocol).toBe("http");
    expect(events).toHaveLength(1);
    expect(events[0]!.http.request.method).toBe("GET");
    expect(events[0]!.url.original).toBe("/1");
    expect(records[0]!.egressd.name_source).toBe("http");
  });

  it("keeps parsing a keep-alive connection across an active timeout", () => {
    const frames: TimedFrame[] = [
      { t: T0, frame: tcpFrame(CAM, CLOUD, 43000, 80, "S", 1000) },
      { t: T0 + 0.01, frame: tcpFrame(CLOUD, CAM, 80, 43000, "SA", 5000) },
    ];
    let cseq = 1001;
    let sseq = 5001;
    for (let i = 0; i < 4; i++) {
      const t = T0 + 1 + i * 60;
      frames.push({ t, frame: tcpFrame(CAM, CLOUD, 43000, 80, "PA", cseq, GET(i)) });
      cseq += GET(i).length;
      frames.push({ t: t + 0.01, frame: tcpFrame(CLOUD, CAM, 80, 43000, "PA", sseq, OK) });
      sseq += OK.length;
    }
    const { records, events } = runFrames(
      frames,
      { timeouts: { active: 100 } as never },
      { events: ["http"] },
    );
    expect(events.map((e) => e.url.original)).toEqual(["/0", "/1", "/2", "/3"]);
    expect(records.map((r) => r.event.reason)).toEqual(["active_timeout", "end_of_capture"]);
  });

  it("does not take an IPv6 literal in the Host header for a name", () => {
    const req = Buffer.from("GET / HTTP/1.1\r\nHost: 2001:db8::1\r\n\r\n");
    const frames: TimedFrame[] = [
      { t: T0, frame: tcpFrame(CAM, CLOUD, 44000, 80, "S", 1) },
      { t: T0 + 0.01, frame: tcpFrame(CLOUD, CAM, 80, 44000, "SA", 9) },
      { t: T0 + 0.02, frame: tcpFrame(CAM, CLOUD, 44000, 80, "PA", 2, req) },
      { t: T0 + 0.03, frame: tcpFrame(CLOUD, CAM, 80, 44000, "PA", 10, OK) },
    ];
    const { records } = runFrames(frames, {}, { events: [] });
    expect(records[0]!.network.protocol).toBe("http");
    expect(records[0]!.egressd.name_source).toBe("none");
  });

  it("gives up on an unrecognised flow after two payload packets (the fast path again)", () => {
    const frames: TimedFrame[] = [];
    for (let i = 0; i < 50; i++) {
      frames.push({
        t: T0 + i * 0.02,
        frame: ethernet(
          ipv4({ src: CAM, dst: "10.20.1.10" }, udp(5004, 5004, Buffer.alloc(200, i))),
        ),
      });
    }
    const { records, pipeline } = runFrames(frames, {}, { events: [] });
    expect(records[0]!.network.protocol).toBeUndefined();
    expect(pipeline.inspector!.stats.gaveUp).toBe(1);
  });

  it("recognises DNS over TCP when the length prefix comes alone in the first segment", () => {
    const query = dnsMessage(9, "cloud.example.test", [], false);
    const answer = dnsMessage(9, "cloud.example.test", [a("cloud.example.test", CLOUD)], true);
    const prefix = (m: Buffer) => Buffer.from([m.length >> 8, m.length & 0xff]);
    const frames: TimedFrame[] = [
      { t: T0, frame: tcpFrame(CAM, DNS, 41000, 53, "S", 100) },
      { t: T0 + 0.001, frame: tcpFrame(DNS, CAM, 53, 41000, "SA", 500) },
      { t: T0 + 0.002, frame: tcpFrame(CAM, DNS, 41000, 53, "PA", 101, prefix(query)) },
      { t: T0 + 0.003, frame: tcpFrame(CAM, DNS, 41000, 53, "PA", 103, query) },
      {
        t: T0 + 0.004,
        frame: tcpFrame(DNS, CAM, 53, 41000, "PA", 501, Buffer.concat([prefix(answer), answer])),
      },
      ...lookupFlowTo(T0 + 1),
    ];
    const { records } = runFrames(frames, {}, { events: [] });
    const dns = records.find((r) => r.destination.port === 53)!;
    expect(dns.network.protocol).toBe("dns");
    expect(dns.dns.question.name).toBe("cloud.example.test");
    expect(dns.dns.resolved_ip).toEqual([CLOUD]);
    // The answer names the camera's next connection.
    const https = records.find((r) => r.destination.port === 443)!;
    expect(https.destination.domain).toBe("cloud.example.test");
    expect(https.egressd.name_source).toBe("dns");
  });

  it("reads a ClientHello whose two segments arrive swapped, with no SYN seen", () => {
    const hello = record(
      22,
      handshake(
        1,
        clientHelloBody({
          ciphers: [0x1301, 0xc02f],
          extensions: [ext.sni("swapped.example.test")],
        }),
      ),
    );
    const cut = 20;
    const frames: TimedFrame[] = [
      { t: T0, frame: tcpFrame(CAM, CLOUD, 45000, 443, "PA", 1000 + cut, hello.subarray(cut)) },
      {
        t: T0 + 0.001,
        frame: tcpFrame(CAM, CLOUD, 45000, 443, "PA", 1000, hello.subarray(0, cut)),
      },
    ];
    const { records } = runFrames(frames, {}, { events: [] });
    expect(records[0]!.network.protocol).toBe("tls");
    expect(records[0]!.tls.client.server_name).toBe("swapped.example.test");
    expect(records[0]!.egressd.name_source).toBe("sni");
  });

  it("recognises HTTP whose request line is cut after a few bytes", () => {
    const request = GET(1);
    const frames: TimedFrame[] = [
      { t: T0, frame: tcpFrame(CAM, CLOUD, 44100, 8000, "S", 10) },
      { t: T0 + 0.001, frame: tcpFrame(CLOUD, CAM, 8000, 44100, "SA", 90) },
      { t: T0 + 0.002, frame: tcpFrame(CAM, CLOUD, 44100, 8000, "PA", 11, request.subarray(0, 2)) },
      { t: T0 + 0.003, frame: tcpFrame(CAM, CLOUD, 44100, 8000, "PA", 13, request.subarray(2)) },
      { t: T0 + 0.004, frame: tcpFrame(CLOUD, CAM, 8000, 44100, "PA", 91, OK) },
    ];
    const { records } = runFrames(frames, {}, { events: [] });
    expect(records[0]!.network.protocol).toBe("http");
    expect(records[0]!.url.original).toBe("/1");
    expect(records[0]!.destination.domain).toBe("api.example.test");
  });
});

/** A TLS connection from the camera to CLOUD (after a lookup that named it). */
function lookupFlowTo(t: number): TimedFrame[] {
  return [{ t, frame: tcpFrame(CAM, CLOUD, 46000, 443, "S", 1) }];
}
