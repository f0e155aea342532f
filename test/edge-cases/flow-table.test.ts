/**
 * Flow table limits through the CLI: idle and active timeouts on packet time, and the
 * --max-flows bound with eviction.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ethernet, ipv4, udp } from "../helpers/packets.js";
import { expectClean, get, pcapOf, replay, requireBuild, type TimedFrame, tempDir } from "./cli.js";

const tmp = tempDir("flowtable");
beforeAll(requireBuild);
afterAll(() => tmp.cleanup());

const CAM = { src: "192.168.1.64", dst: "203.0.113.7" };

function dgram(t: number, sport = 40000, dport = 9000): TimedFrame {
  return { t, data: ethernet(ipv4(CAM, udp(sport, dport, Buffer.alloc(12)))) };
}

describe("timeouts", () => {
  it("--timeouts udp=10: two packets 20 s apart are two records", () => {
    const file = tmp.file("udp-idle.pcap", pcapOf([dgram(0), dgram(20)]));
    const run = replay(file, ["--timeouts", "udp=10"]);
    expectClean(run);
    expect(run.records.map((r) => get(r, "event.reason"))).toEqual([
      "idle_timeout",
      "end_of_capture",
    ]);
    expect(run.records.map((r) => get(r, "network.packets"))).toEqual([1, 1]);
    expect(get(run.records[0]!, "event.start")).toBe("2023-11-14T22:13:20.000000000Z");
    expect(get(run.records[1]!, "event.start")).toBe("2023-11-14T22:13:40.000000000Z");
    expect(get(run.records[0]!, "network.community_id")).toBe(
      get(run.records[1]!, "network.community_id"),
    );
    expect(run.summary!.flows_ended.idle_timeout).toBe(1);
    expect(run.summary!.flows_created).toBe(2);
  });

  it("with the default udp timeout (60 s) the same packets are one flow", () => {
    const run = replay(tmp.file("udp-default.pcap", pcapOf([dgram(0), dgram(20)])));
    expectClean(run);
    expect(run.records).toHaveLength(1);
    expect(get(run.records[0]!, "network.packets")).toBe(2);
  });

  it("the active timeout reports a long flow every N seconds, continued records flagged", () => {
    const frames: TimedFrame[] = [];
    for (let t = 0; t <= 150; t += 10) frames.push(dgram(t));
    const run = replay(tmp.file("active.pcap", pcapOf(frames)), ["--timeouts", "active=60"]);
    expectClean(run);
    expect(run.records.map((r) => get(r, "event.reason"))).toEqual([
      "active_timeout",
      "active_timeout",
      "end_of_capture",
    ]);
    expect(run.records.map((r) => get(r, "network.packets"))).toEqual([6, 6, 4]);
    expect(run.records.map((r) => get(r, "egressd.flow.continued"))).toEqual([
      undefined,
      true,
      true,
    ]);
    expect(run.records.map((r) => get(r, "event.start"))).toEqual([
      "2023-11-14T22:13:20.000000000Z",
      "2023-11-14T22:14:20.000000000Z",
      "2023-11-14T22:15:20.000000000Z",
    ]);
    expect(get(run.records[0]!, "event.end")).toBe("2023-11-14T22:14:10.000000000Z");
    expect(new Set(run.records.map((r) => get(r, "network.community_id"))).size).toBe(1);
    // Every packet is in exactly one record.
    const total = run.records.reduce((n, r) => n + (get(r, "network.packets") as number), 0);
    expect(total).toBe(frames.length);
  });

  it("a bad --timeouts value is a usage error (exit 2)", () => {
    const file = tmp.file("usage.pcap", pcapOf([dgram(0)]));
    for (const spec of ["udp=0", "udp=abc", "bogus=5"]) {
      const run = replay(file, ["--timeouts", spec]);
      expect(run.code, spec).toBe(2);
      expect(run.stderr).toContain("--timeouts");
    }
  });
});

describe("--max-flows", () => {
  it("50 concurrent flows with --max-flows 10: 40 evicted, oldest first", () => {
    const frames: TimedFrame[] = [];
    for (let i = 0; i < 50; i++) frames.push(dgram(i * 0.01, 41000 + i));
    const run = replay(tmp.file("evict.pcap", pcapOf(frames)), ["--max-flows", "10"]);
    expectClean(run);
    expect(run.summary!.flows_evicted).toBe(40);
    expect(run.summary!.flows_ended.evicted).toBe(40);
    expect(run.summary!.flows_ended.end_of_capture).toBe(10);
    expect(run.records).toHaveLength(50);
    const evicted = run.records.filter((r) => get(r, "event.reason") === "evicted");
    expect(evicted).toHaveLength(40);
    expect(evicted.map((r) => get(r, "source.port"))).toEqual(
      Array.from({ length: 40 }, (_, i) => 41000 + i),
    );
    const kept = run.records.filter((r) => get(r, "event.reason") === "end_of_capture");
    expect(kept.map((r) => get(r, "source.port"))).toEqual(
      Array.from({ length: 10 }, (_, i) => 41040 + i),
    );
  });

  it("an active flow is not the one evicted", () => {
    const frames: TimedFrame[] = [dgram(0, 42000)];
    for (let i = 1; i <= 20; i++) {
      frames.push(dgram(i, 42000 + i));
      frames.push(dgram(i + 0.5, 42000)); // keeps the first flow busy
    }
    const run = replay(tmp.file("evict-busy.pcap", pcapOf(frames)), ["--max-flows", "5"]);
    expectClean(run);
    const busy = run.records.filter((r) => get(r, "source.port") === 42000);
    expect(busy).toHaveLength(1);
    expect(get(busy[0]!, "event.reason")).toBe("end_of_capture");
    expect(get(busy[0]!, "network.packets")).toBe(21);
  });
});
