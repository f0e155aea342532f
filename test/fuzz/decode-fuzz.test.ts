/**
 * Fuzz-style, in process: random frames and mutated valid frames (bit flips, cuts,
 * corrupted length fields, inserted bytes, the wrong link type) go through the whole
 * per-packet path, `new Pipeline(DEFAULT_FLOW_OPTIONS, sink).packet(raw)`. Nothing may
 * throw, the counters must add up, and every flow must survive flowRecord() and
 * JSON.stringify(). Deterministic: fixed seeds and iteration counts.
 */

import { describe, expect, it } from "vitest";
import type { RawPacket } from "../../src/capture/source.js";
import { A, ANOMALY_KINDS } from "../../src/decode/anomalies.js";
import type { Flow } from "../../src/flow/flow.js";
import { DEFAULT_FLOW_OPTIONS, type FlowOptions } from "../../src/flow/options.js";
import { FLOW_END_REASONS, type FlowEndReason } from "../../src/flow/table.js";
import { flowRecord } from "../../src/output/flow-record.js";
import { Pipeline } from "../../src/pipeline.js";
import { FUZZ_SCALE, mutateFrame, Rng, SUPPORTED_LINK_TYPES, seed, seedFrames } from "./corpus.js";

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;
const COMMUNITY_ID = /^1:[A-Za-z0-9+/]{27}=$/;

interface Outcome {
  records: number;
  pipeline: Pipeline;
}

/** Checks one record the way a consumer of the JSON Lines would rely on it. */
function checkRecord(line: string, reason: FlowEndReason): void {
  const r = JSON.parse(line);
  expect(FLOW_END_REASONS).toContain(r.event.reason);
  expect(r.event.reason).toBe(reason);
  expect(r.event.start).toMatch(ISO);
  expect(r.event.end).toMatch(ISO);
  expect(r["@timestamp"]).toBe(r.event.end);
  expect(r.event.duration).toBeGreaterThanOrEqual(0);
  expect(r.network.community_id).toMatch(COMMUNITY_ID);
  expect(r.network.packets).toBe(r.source.packets + r.destination.packets);
  expect(r.network.bytes).toBe(r.source.bytes + r.destination.bytes);
  const minHeader = r.network.type === "ipv6" ? 40 : 20;
  expect(r.source.bytes).toBeGreaterThanOrEqual(minHeader * r.source.packets);
  expect(r.destination.bytes).toBeGreaterThanOrEqual(minHeader * r.destination.packets);
  expect(r.egressd.flow.source_payload_bytes).toBeGreaterThanOrEqual(0);
  expect(r.egressd.flow.source_payload_bytes).toBeLessThanOrEqual(r.source.bytes);
  expect(r.egressd.flow.destination_payload_bytes).toBeLessThanOrEqual(r.destination.bytes);
}

/** Runs `n` generated packets through a fresh pipeline; throws on the first failure. */
function fuzz(
  seedValue: number,
  n: number,
  options: FlowOptions,
  next: (rng: Rng) => { linkType: number; data: Buffer; origLen?: number; how: string },
): Outcome {
  const rng = new Rng(seedValue);
  let records = 0;
  let current = "";
  const pipeline = new Pipeline(options, {
    flowEnded(flow: Flow, reason: FlowEndReason) {
      let line: string;
      try {
        line = JSON.stringify(flowRecord(flow, reason));
      } catch (err) {
        throw new Error(`flowRecord threw after ${current}: ${(err as Error).message}`);
      }
      checkRecord(line, reason);
      records++;
    },
  });
  const buf = Buffer.alloc(4096);
  const raw: RawPacket = {
    buf,
    offset: 0,
    capLen: 0,
    origLen: 0,
    tsSec: 1_700_000_000,
    tsNsec: 0,
    linkType: 1,
    interfaceId: 0,
    recordOffset: 0,
  };
  let sec = 1_700_000_000;
  for (let i = 0; i < n; i++) {
    const p = next(rng);
    // The frame sits at a random offset in a dirty buffer, as in a reader's work buffer.
    buf.fill(rng.int(0, 255));
    const offset = rng.int(0, 64);
    p.data.copy(buf, offset, 0, Math.min(p.data.length, buf.length - offset));
    raw.offset = offset;
    raw.capLen = Math.min(p.data.length, buf.length - offset);
    raw.origLen = p.origLen ?? raw.capLen;
    raw.linkType = p.linkType;
    raw.interfaceId = rng.int(0, 2);
    // Packet time mostly moves forward (by up to a few minutes, so flows time out), and
    // sometimes steps back, as across pcapng interfaces.
    sec += rng.chance(0.05) ? -rng.int(0, 100) : rng.chance(0.02) ? rng.int(0, 400) : rng.int(0, 1);
    raw.tsSec = Math.max(0, sec);
    raw.tsNsec = rng.int(0, 999_999_999);
    current = `packet ${i} (seed ${seedValue}, ${p.how}, link ${p.linkType}, ${p.data.toString("hex")})`;
    try {
      pipeline.packet(raw);
    } catch (err) {
      throw new Error(`pipeline.packet threw on ${current}: ${(err as Error).stack}`);
    }
  }
  pipeline.finish();
  return { records, pipeline };
}

/** packets = decoded IP + valid non-IP + skipped for an anomaly. */
function expectCountersAddUp(o: Outcome, n: number): void {
  const c = o.pipeline.counters;
  const counts = o.pipeline.anomalies.counts;
  // truncated_icmp_quote is noted on packets that are still decoded and counted as IP;
  // every other anomaly code means the packet was skipped.
  const skipped = o.pipeline.anomalies.total() - counts[A.truncated_icmp_quote]!;
  expect(c.packets).toBe(n);
  expect(c.ipPackets + c.nonIpPackets + skipped).toBe(c.packets);
  expect(counts[A.truncated_icmp_quote]!).toBeLessThanOrEqual(c.ipPackets);
  const stats = o.pipeline.flows.stats;
  expect(o.pipeline.flows.size).toBe(0);
  expect(stats.active).toBe(0);
  expect(o.records).toBe(stats.created + stats.ended.active_timeout);
  const ended = Object.values(stats.ended).reduce((a, b) => a + b, 0);
  expect(ended).toBe(o.records);
  expect(stats.evicted).toBe(stats.ended.evicted);
}

const SEEDS = seedFrames();
const SMALL_TABLE: FlowOptions = {
  maxFlows: 32,
  maxFragments: 8,
  timeouts: { tcp_new: 5, tcp: 20, tcp_closed: 2, udp: 10, icmp: 10, other: 10, active: 60 },
};

describe("decode fuzz (in process)", () => {
  it("the seed frames themselves decode without anomalies", () => {
    const o = fuzz(
      1,
      SEEDS.length,
      DEFAULT_FLOW_OPTIONS,
      (() => {
        let i = 0;
        return () => {
          const f = SEEDS[i++]!;
          return { ...f, how: "seed" };
        };
      })(),
    );
    expectCountersAddUp(o, SEEDS.length);
    expect(o.pipeline.anomalies.toObject()).toEqual({});
    expect(o.pipeline.counters.nonIpPackets).toBe(1); // the ARP frame
  });

  it("random bytes on every supported link type", () => {
    const n = 30_000 * FUZZ_SCALE;
    const o = fuzz(seed(0xc0ffee), n, DEFAULT_FLOW_OPTIONS, (rng) => ({
      linkType: rng.pick(SUPPORTED_LINK_TYPES),
      data: rng.bytes(rng.pick([0, 1, 3, 4, 13, 14, 19, 20, 39, 40, rng.int(0, 200)])),
      origLen: rng.chance(0.2) ? rng.int(0, 3000) : undefined,
      how: "random",
    }));
    expectCountersAddUp(o, n);
    expect(o.pipeline.anomalies.total()).toBeGreaterThan(0);
  });

  it("random bytes behind valid link and IP headers", () => {
    // Keep a valid prefix of a seed frame and randomise the rest, so the fuzz gets past
    // the first checks into the IP and transport decoders.
    const n = 30_000 * FUZZ_SCALE;
    const o = fuzz(seed(0xdecade), n, DEFAULT_FLOW_OPTIONS, (rng) => {
      const f = rng.pick(SEEDS);
      const keep = rng.int(0, f.data.length);
      const data = Buffer.concat([f.data.subarray(0, keep), rng.bytes(rng.int(0, 80))]);
      return { linkType: f.linkType, data, how: `prefix${keep}` };
    });
    expectCountersAddUp(o, n);
    expect(o.pipeline.counters.ipPackets).toBeGreaterThan(n / 10);
  });

  for (const [name, options] of [
    ["default flow options", DEFAULT_FLOW_OPTIONS],
    ["a small table with short timeouts", SMALL_TABLE],
  ] as const) {
    it(`mutated valid frames, ${name}`, () => {
      const n = 40_000 * FUZZ_SCALE;
      const o = fuzz(seed(name.length * 7919), n, options, (rng) => {
        const f = rng.pick(SEEDS);
        const m = mutateFrame(rng, f.data);
        // Sometimes the frame is read as another link type, or cut by a snaplen.
        const linkType = rng.chance(0.1) ? rng.pick(SUPPORTED_LINK_TYPES) : f.linkType;
        const origLen = rng.chance(0.15) ? m.data.length + rng.int(0, 1500) : undefined;
        return { linkType, data: m.data, origLen, how: m.how };
      });
      expectCountersAddUp(o, n);
      const a = o.pipeline.anomalies.toObject();
      // The mutations reach deep: most kinds of anomaly show up.
      expect(Object.keys(a).length).toBeGreaterThan(ANOMALY_KINDS.length / 2);
      if (options === SMALL_TABLE) expect(o.pipeline.flows.stats.evicted).toBeGreaterThan(0);
    });
  }

  it("unsupported link types are counted, never decoded", () => {
    const n = 2000;
    const o = fuzz(42, n, DEFAULT_FLOW_OPTIONS, (rng) => ({
      linkType: rng.pick([2, 6, 9, 105, 127, 147, 253, 0xffff, rng.int(300, 100000)]),
      data: rng.pick(SEEDS).data,
      how: "unsupported",
    }));
    expectCountersAddUp(o, n);
    expect(o.pipeline.anomalies.toObject()).toEqual({ unsupported_link_type: n });
    expect(o.records).toBe(0);
  });
});
