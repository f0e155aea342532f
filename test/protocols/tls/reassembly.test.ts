/**
 * TlsStreamReassembler on real bytes (the committed captures), cut and delivered the
 * ways TCP delivers them: split at every possible point, out of order, twice, overlapping,
 * across the 2^32 sequence wrap, one byte at a time, and streams that are not TLS at all.
 * Whatever the delivery, the result must be the one a single in-order feed gives.
 */

import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";
import {
  TlsReassemblyStats,
  type TlsStreamEvent,
  TlsStreamReassembler,
} from "../../../src/protocols/tls/reassembly.js";
import { directionBytes, readTcpConnections, type TcpConnection } from "./tcp-streams.js";

const NAMESPACE_PCAP = fileURLToPath(
  new URL("../../fixtures/real/namespace-clients.pcap", import.meta.url),
);
const SMALL_MTU_PCAP = fileURLToPath(new URL("fixtures/openssl-small-mtu.pcap", import.meta.url));

/** A deterministic PRNG (mulberry32): failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Piece {
  /** Stream offset of the first byte. */
  at: number;
  bytes: Buffer;
}

function cut(bytes: Buffer, points: number[]): Piece[] {
  const edges = [
    0,
    ...points.filter((p) => p > 0 && p < bytes.length).sort((a, b) => a - b),
    bytes.length,
  ];
  const out: Piece[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    if (edges[i + 1]! > edges[i]!)
      out.push({ at: edges[i]!, bytes: bytes.subarray(edges[i]!, edges[i + 1]!) });
  }
  return out;
}

function run(
  pieces: Piece[],
  isn: number,
  options: ConstructorParameters<typeof TlsStreamReassembler>[0] = {},
): { r: TlsStreamReassembler; events: TlsStreamEvent[] } {
  const r = new TlsStreamReassembler({ isn, ...options });
  const events: TlsStreamEvent[] = [];
  for (const p of pieces) {
    // The feed buffer is reused (as a capture reader's is): copy in, then scribble over it.
    const scratch = Buffer.alloc(p.bytes.length + 8, 0xee);
    p.bytes.copy(scratch, 4);
    events.push(...r.feed((isn + 1 + p.at) >>> 0, scratch, 4, p.bytes.length));
    scratch.fill(0x55);
  }
  return { r, events };
}

/** The observable outcome, for comparing deliveries. */
function outcome(events: TlsStreamEvent[]): string {
  return JSON.stringify(events);
}

let curl: TcpConnection;
let chain: TcpConnection;
let clientHello: Buffer;
let serverFlight: Buffer;

beforeAll(async () => {
  curl = (await readTcpConnections(NAMESPACE_PCAP)).find((c) => c.serverPort === 443)!;
  chain = (await readTcpConnections(SMALL_MTU_PCAP))[0]!;
  clientHello = directionBytes(curl, true);
  serverFlight = directionBytes(chain, false);
});

describe("a real ClientHello (curl, 517 bytes)", () => {
  test("in one segment: client_hello then done", () => {
    const { r, events } = run([{ at: 0, bytes: clientHello }], 1000);
    expect(events.map((e) => e.type)).toEqual(["client_hello", "done"]);
    expect(r.state).toBe("done");
    expect(r.doneReason).toBe("client_hello");
    expect(r.bufferedBytes).toBe(0);
  });

  test("split in two at every byte, either order: the same hello", () => {
    const hello = directionBytes(curl, true).subarray(0, 5 + clientHello.readUInt16BE(3));
    const reference = outcome(run([{ at: 0, bytes: hello }], 7).events);
    for (let p = 1; p < hello.length; p++) {
      const [a, b] = cut(hello, [p]);
      expect(outcome(run([a!, b!], 7).events)).toBe(reference);
      const reversed = run([b!, a!], 7);
      expect(outcome(reversed.events)).toBe(reference);
    }
  });

  test("three segments in all six orders, with duplicates and overlaps", () => {
    const reference = outcome(run([{ at: 0, bytes: clientHello }], 0).events);
    const [a, b, c] = cut(clientHello, [100, 300]);
    const orders = [
      [a, b, c],
      [a, c, b],
      [b, a, c],
      [b, c, a],
      [c, a, b],
      [c, b, a],
    ];
    for (const order of orders) {
      expect(outcome(run(order as Piece[], 0).events)).toBe(reference);
    }
    // A retransmission of b, and a segment overlapping a and b, before a arrives.
    const overlap = { at: 50, bytes: clientHello.subarray(50, 200) };
    expect(outcome(run([b!, b!, overlap, c!, a!], 0).events)).toBe(reference);
  });

  test("the first copy of a byte wins: a later overlapping segment cannot rewrite the hello", () => {
    const reference = outcome(run([{ at: 0, bytes: clientHello }], 0).events);
    const [a, b] = cut(clientHello, [260]);
    const forged = { at: 300, bytes: Buffer.alloc(120, 0x41) };
    const { events } = run([b!, forged, a!], 0);
    expect(outcome(events)).toBe(reference);
  });

  test("random cuts, orders and retransmissions (200 rounds)", () => {
    const reference = outcome(run([{ at: 0, bytes: clientHello }], 0).events);
    const rnd = prng(42);
    for (let round = 0; round < 200; round++) {
      const points = Array.from({ length: 1 + Math.floor(rnd() * 8) }, () =>
        Math.floor(rnd() * clientHello.length),
      );
      const pieces = cut(clientHello, points);
      const delivered = [...pieces, ...pieces.filter(() => rnd() < 0.3)];
      for (let i = delivered.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [delivered[i], delivered[j]] = [delivered[j]!, delivered[i]!];
      }
      const isn = Math.floor(rnd() * 2 ** 32);
      expect(outcome(run(delivered, isn).events)).toBe(reference);
    }
  });

  test("sequence numbers that wrap past 2^32 inside the hello", () => {
    const reference = outcome(run([{ at: 0, bytes: clientHello }], 0).events);
    const isn = 2 ** 32 - 200; // the stream starts at 2^32 - 199 and wraps at offset 199
    const [a, b, c] = cut(clientHello, [150, 250]);
    expect(outcome(run([c!, a!, b!], isn).events)).toBe(reference);
  });

  test("one byte per segment", () => {
    const reference = outcome(run([{ at: 0, bytes: clientHello }], 0).events);
    const bytes = cut(
      clientHello,
      Array.from({ length: clientHello.length }, (_, i) => i),
    );
    expect(outcome(run(bytes, 0).events)).toBe(reference);
  });

  test("without an ISN the first segment seen starts the stream", () => {
    const r = new TlsStreamReassembler();
    const [a, b] = cut(clientHello, [200]);
    expect(r.feed(5000, a!.bytes, 0, a!.bytes.length)).toEqual([]);
    const events = r.feed(5200, b!.bytes, 0, b!.bytes.length);
    expect(events.map((e) => e.type)).toEqual(["client_hello", "done"]);
  });

  test("bytes before the stream start (a retransmitted SYN's seq) are trimmed", () => {
    const stats = new TlsReassemblyStats();
    const r = new TlsStreamReassembler({ isn: 999, stats });
    const early = Buffer.concat([Buffer.from("JUNK"), clientHello]);
    const events = r.feed(996, early, 0, early.length);
    expect(events.map((e) => e.type)).toEqual(["client_hello", "done"]);
    expect(stats.bytesOutsideWindow).toBe(4);
  });
});

describe("a real server flight (TLS 1.2, RSA chain of 2, 512-byte records)", () => {
  test("in capture segments and one byte at a time: the same certificates", () => {
    const segs = chain.segments.filter((s) => !s.fromClient && s.payload.length > 0);
    const isn = chain.serverIsn!;
    const bySegment = run(
      segs.map((s) => ({ at: (s.seq - isn - 1) >>> 0, bytes: s.payload })),
      isn,
    );
    expect(bySegment.events.map((e) => e.type)).toEqual(["server_hello", "certificate", "done"]);
    const cert = bySegment.events[1] as Extract<TlsStreamEvent, { type: "certificate" }>;
    expect(cert.count).toBe(2);
    expect(cert.certificates.map((c) => c.subject_cn)).toEqual([
      "devices.example.test",
      "Example Test CA",
    ]);
    const bytewise = run(
      cut(
        serverFlight,
        Array.from({ length: 3000 }, (_, i) => i),
      ),
      isn,
    );
    expect(outcome(bytewise.events)).toBe(outcome(bySegment.events));
  });

  test("a window too small for the chain: the leaf that fits is still described", () => {
    const stats = new TlsReassemblyStats();
    const { r, events } = run([{ at: 0, bytes: serverFlight }], 0, { maxBytes: 1400, stats });
    expect(events.map((e) => e.type)).toEqual(["server_hello", "certificate", "done"]);
    const cert = events[1] as Extract<TlsStreamEvent, { type: "certificate" }>;
    expect(cert.certificates.map((c) => c.subject_cn)).toEqual(["devices.example.test"]);
    expect(r.anomalies.names).toEqual(["tls_buffer_overflow", "tls_certificate_truncated"]);
    expect(stats.overflows).toBe(1);
    expect(r.bufferedBytes).toBe(0);
  });

  test("a window too small for any certificate: gave up, over the bound", () => {
    const stats = new TlsReassemblyStats();
    const { r, events } = run([{ at: 0, bytes: serverFlight }], 0, { maxBytes: 700, stats });
    expect(events.map((e) => e.type)).toEqual(["server_hello", "gave_up"]);
    expect(r.gaveUpReason).toBe("tls_buffer_overflow");
    expect(stats.gaveUp).toBe(1);
    expect(r.bufferedBytes).toBe(0);
  });

  test("the stream ends inside the Certificate: finish() describes what arrived", () => {
    const r = new TlsStreamReassembler({ isn: 0 });
    const part = serverFlight.subarray(0, 1300);
    expect(r.feed(1, part, 0, part.length).map((e) => e.type)).toEqual(["server_hello"]);
    const events = r.finish();
    expect(events.map((e) => e.type)).toEqual(["certificate", "done"]);
    expect(r.anomalies.names).toContain("tls_certificate_truncated");
  });

  test("a hole that never fills: finish() gives up as incomplete", () => {
    const r = new TlsStreamReassembler({ isn: 0 });
    const tail = serverFlight.subarray(200);
    expect(r.feed(201, tail, 0, tail.length)).toEqual([]);
    expect(r.finish()).toEqual([{ type: "gave_up", reason: "tls_stream_incomplete" }]);
  });
});

describe("bounds", () => {
  test("too many out-of-order holes: gave up, counted", () => {
    const stats = new TlsReassemblyStats();
    const r = new TlsStreamReassembler({ isn: 0, maxGaps: 4, stats });
    const events: TlsStreamEvent[] = [];
    for (let i = 1; i <= 6; i++) events.push(...r.feed(1 + 10 * i, clientHello, 10 * i, 1));
    expect(events).toEqual([{ type: "gave_up", reason: "tls_too_many_gaps" }]);
    expect(stats.tooManyGaps).toBe(1);
  });

  test("segments beyond the window are dropped and counted, memory stays within maxBytes", () => {
    const stats = new TlsReassemblyStats();
    const r = new TlsStreamReassembler({ isn: 0, maxBytes: 4096, stats });
    const big = Buffer.alloc(1000, 1);
    r.feed(1 + 10_000, big, 0, big.length);
    r.feed(1 + 4000, big, 0, big.length);
    expect(stats.bytesOutsideWindow).toBe(1000 + 904);
    expect(r.bufferedBytes).toBeLessThanOrEqual(4096);
  });

  test("segments after done are ignored (no buffering)", () => {
    const r = new TlsStreamReassembler({ isn: 0 });
    r.feed(1, clientHello, 0, clientHello.length);
    const more = Buffer.alloc(5000, 0x17);
    expect(r.feed(1 + clientHello.length, more, 0, more.length)).toEqual([]);
    expect(r.bufferedBytes).toBe(0);
  });
});

describe("not TLS: given up on the first bytes", () => {
  const cases: [string, Buffer, string][] = [
    ["HTTP", Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "tls_not_tls"],
    ["SSH banner", Buffer.from("SSH-2.0-OpenSSH_9.2\r\n"), "tls_not_tls"],
    ["one byte of HTTP", Buffer.from("G"), "tls_not_tls"],
    ["a handshake record with version 2.0", Buffer.from("160200002a01", "hex"), "tls_not_tls"],
    ["application data first", Buffer.from("170303001000", "hex"), "tls_not_tls"],
    // SSLv2-compatible ClientHello: length 0x2e, type 1, version 3.1.
    ["SSLv2 hello", Buffer.from("802e010301001500000010", "hex"), "tls_sslv2_hello"],
  ];
  for (const [name, bytes, reason] of cases) {
    test(name, () => {
      const stats = new TlsReassemblyStats();
      const r = new TlsStreamReassembler({ isn: 0, stats });
      expect(r.feed(1, bytes, 0, bytes.length)).toEqual([{ type: "gave_up", reason }]);
      expect(stats.notTls).toBe(1);
      expect(r.bufferedBytes).toBe(0);
    });
  }
});
