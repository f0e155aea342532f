/**
 * Real bytes: curl (HTTP/1.1 keep-alive, two URLs in one connection) against nginx, over
 * IPv4 and IPv6, from the committed namespace capture. What HttpConnection reads must
 * match what tshark's HTTP dissector reads from the same packets.
 */

import { execFileSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { HttpConnection } from "../../../src/protocols/http/connection.js";
import type { HttpTransaction } from "../../../src/protocols/http/record.js";
import { readTcpConversations, type TcpConversation } from "./tcp-conversations.js";

const PCAP = "test/fixtures/real/namespace-clients.pcap";

function tsharkHttp(): string[][] {
  const out = execFileSync(
    "tshark",
    [
      "-n",
      "-r",
      PCAP,
      "-Y",
      "http",
      "-T",
      "fields",
      ...[
        "tcp.stream",
        "http.request.method",
        "http.host",
        "http.request.uri",
        "http.user_agent",
        "http.response.code",
        "http.content_type",
        "http.content_length",
        "http.server",
      ].flatMap((f) => ["-e", f]),
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
  );
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\t"));
}

function parse(conv: TcpConversation): HttpTransaction[] {
  const out: HttpTransaction[] = [];
  const c = new HttpConnection(conv.index, { transaction: (t) => out.push(t) });
  for (const s of conv.segments)
    c.feed(s.fromInitiator, s.data, 0, s.data.length, s.tsSec, s.tsNsec);
  c.flush();
  return out;
}

describe("HTTP from real curl and nginx traffic", () => {
  let convs: TcpConversation[];
  let rows: string[][];
  beforeAll(async () => {
    convs = await readTcpConversations(PCAP);
    rows = tsharkHttp();
  });

  it("reads the same requests and responses as tshark, in the same order", () => {
    const streams = [...new Set(rows.map((r) => Number(r[0])))];
    expect(streams.length).toBe(4); // two ports (80, 8000) x IPv4/IPv6
    for (const stream of streams) {
      const conv = convs[stream]!;
      expect(conv.gaps).toBe(0);
      const txs = parse(conv);
      const ours: string[][] = [];
      for (const t of txs) {
        const q = t.request!;
        ours.push([
          String(stream),
          q.method,
          q.host ?? "",
          q.uri,
          q.user_agent ?? "",
          "",
          "",
          "",
          "",
        ]);
        const r = t.response!;
        ours.push([
          String(stream),
          "",
          "",
          "",
          "",
          String(r.status_code),
          r.content_type ?? "",
          String(r.content_length ?? ""),
          r.server ?? "",
        ]);
      }
      expect(ours).toEqual(rows.filter((r) => Number(r[0]) === stream));
      expect(txs.map((t) => t.depth)).toEqual([1, 2]);
    }
  });

  it("counts body bytes, keeps the body prefix and times each request", () => {
    const conv = convs[Number(rows[0]![0])]!;
    const txs = parse(conv);
    expect(txs).toHaveLength(2);
    const [a, b] = txs as [HttpTransaction, HttpTransaction];
    expect(a.protocol).toBe("http");
    expect(a.incomplete).toBe(false);
    expect(a.anomalies).toEqual([]);
    expect(a.response_body_bytes).toBe(24);
    expect(b.response_body_bytes).toBe(2001);
    expect(a.request_body_bytes).toBe(0);
    // nginx served a.txt = "firmware-version: 1.0.0\n".
    expect(Buffer.from(a.response!.body_prefix!, "hex").toString()).toBe("firmware-version");
    expect(a.response!.body_magic).toBeUndefined();
    const first = conv.segments.find((s) => s.fromInitiator && s.data.length > 0)!;
    expect([a.ts_sec, a.ts_nsec]).toEqual([first.tsSec, first.tsNsec]);
    expect(b.ts_sec * 1e9 + b.ts_nsec).toBeGreaterThan(a.ts_sec * 1e9 + a.ts_nsec);
  });

  it("gives the same result when the same bytes arrive one at a time", () => {
    for (const stream of new Set(rows.map((r) => Number(r[0])))) {
      const conv = convs[stream]!;
      const whole = parse(conv);
      const out: HttpTransaction[] = [];
      const c = new HttpConnection(conv.index, { transaction: (t) => out.push(t) });
      for (const s of conv.segments) {
        for (let i = 0; i < s.data.length; i++)
          c.feed(s.fromInitiator, s.data, i, 1, s.tsSec, s.tsNsec);
      }
      c.flush();
      expect(out).toEqual(whole);
    }
  });
});
