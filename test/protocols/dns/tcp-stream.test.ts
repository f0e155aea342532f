/** DNS over TCP framing: splits, merges, zero lengths, holes, the size bound. */

import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";
import type { DnsAnomaly } from "../../../src/protocols/dns/anomalies.js";
import { parseDnsMessage } from "../../../src/protocols/dns/parse.js";
import { DnsTcpFramer, MAX_TCP_MESSAGE } from "../../../src/protocols/dns/tcp-stream.js";
import { hex } from "../../helpers/packets.js";
import { framed } from "./build.js";
import { readDnsMessages } from "./capture.js";

const NAMESPACE = fileURLToPath(
  new URL("../../fixtures/real/namespace-clients.pcap", import.meta.url),
);

function collect() {
  const messages: Buffer[] = [];
  const anomalies: DnsAnomaly[] = [];
  const views: Uint8Array[] = [];
  const framer = new DnsTcpFramer({
    message(buf, off, len) {
      views.push(buf);
      messages.push(Buffer.from(buf.subarray(off, off + len)));
    },
    anomaly(a) {
      anomalies.push(a);
    },
  });
  return { framer, messages, anomalies, views };
}

// A real query and response dig sent over TCP (from the committed capture).
let query: Buffer;
let response: Buffer;
beforeAll(async () => {
  const tcp = (await readDnsMessages(NAMESPACE, [53])).filter((m) => m.transport === "tcp");
  query = tcp[0]!.bytes;
  response = tcp[1]!.bytes;
  expect(parseDnsMessage(response, 0, response.length).message!.answers).toHaveLength(1);
});

describe("DnsTcpFramer", () => {
  test("a whole message in one feed is handed over without copying", () => {
    const c = collect();
    const seg = framed(query);
    c.framer.feed(seg, 0, seg.length);
    expect(c.messages).toEqual([query]);
    expect(c.views[0]).toBe(seg);
  });

  test("split across 1-byte feeds", () => {
    const c = collect();
    const stream = Buffer.concat([framed(query), framed(response)]);
    for (let i = 0; i < stream.length; i++) c.framer.feed(stream, i, 1);
    expect(c.messages).toEqual([query, response]);
    expect(c.anomalies).toEqual([]);
    expect(c.framer.stats.messages).toBe(2);
  });

  test("two messages in one feed, and a third split over the next", () => {
    const c = collect();
    const stream = Buffer.concat([framed(query), framed(response), framed(query)]);
    const cut = stream.length - 5;
    c.framer.feed(stream, 0, cut);
    expect(c.messages).toEqual([query, response]);
    c.framer.feed(stream, cut, 5);
    expect(c.messages).toEqual([query, response, query]);
  });

  test("the length prefix alone in its own segment", () => {
    const c = collect();
    const seg = framed(response);
    c.framer.feed(seg, 0, 2);
    c.framer.feed(seg, 2, seg.length - 2);
    expect(c.messages).toEqual([response]);
  });

  test("a length of 0 is reported and skipped", () => {
    const c = collect();
    const stream = Buffer.concat([hex("0000"), framed(query)]);
    c.framer.feed(stream, 0, stream.length);
    expect(c.anomalies).toEqual(["dns_tcp_zero_length"]);
    expect(c.messages).toEqual([query]);
    // Split too: the zero prefix arriving one byte at a time.
    const d = collect();
    for (let i = 0; i < stream.length; i++) d.framer.feed(stream, i, 1);
    expect(d.anomalies).toEqual(["dns_tcp_zero_length"]);
    expect(d.messages).toEqual([query]);
  });

  test("a hole: the partial message is reported lost, junk skipped, framing resumes", () => {
    const c = collect();
    const first = framed(response);
    c.framer.feed(first, 0, 20);
    c.framer.gap();
    expect(c.anomalies).toEqual(["dns_tcp_truncated_message"]);
    // The rest of some message we cannot frame.
    c.framer.feed(first, 30, first.length - 30);
    expect(c.anomalies).toEqual(["dns_tcp_truncated_message", "dns_tcp_desync"]);
    const next = framed(query);
    c.framer.feed(next, 0, next.length);
    expect(c.messages).toEqual([query]);
    expect(c.framer.stats).toMatchObject({
      gaps: 1,
      truncatedBytes: 20,
      skippedBytes: first.length - 30,
      messages: 1,
    });
  });

  test("the end of the stream inside a message", () => {
    const c = collect();
    const seg = framed(query);
    c.framer.feed(seg, 0, seg.length - 1);
    c.framer.end();
    expect(c.messages).toEqual([]);
    expect(c.anomalies).toEqual(["dns_tcp_truncated_message"]);
  });

  test("the largest message (65535 bytes) in 1000-byte feeds; the buffer stays bounded", () => {
    const c = collect();
    const big = Buffer.alloc(MAX_TCP_MESSAGE, 0x41);
    const stream = Buffer.concat([framed(big), framed(query)]);
    for (let i = 0; i < stream.length; i += 1000) {
      c.framer.feed(stream, i, Math.min(1000, stream.length - i));
    }
    expect(c.messages.map((m) => m.length)).toEqual([MAX_TCP_MESSAGE, query.length]);
    expect(c.messages[0]!.equals(big)).toBe(true);
    expect((c.framer as any).pending.length).toBe(2 + MAX_TCP_MESSAGE);
  });

  test("reset() starts a new stream", () => {
    const c = collect();
    const seg = framed(query);
    c.framer.feed(seg, 0, 7);
    c.framer.reset();
    c.framer.feed(seg, 0, seg.length);
    expect(c.messages).toEqual([query]);
  });
});
