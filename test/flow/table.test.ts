import { describe, expect, it } from "vitest";
import { ethernet, icmp, ipv4, ipv6, tcp, udp } from "../helpers/packets.js";
import { runFrames, type TimedFrame } from "../helpers/run-pipeline.js";

const CAM = "192.0.2.11";
const CLOUD = "203.0.113.7";
const T0 = 1_700_000_000;

function tcpFrame(
  src: string,
  dst: string,
  sport: number,
  dport: number,
  flags: string,
  payload = 0,
) {
  return ethernet(ipv4({ src, dst }, tcp({ sport, dport, flags, payload: Buffer.alloc(payload) })));
}

/** A full TCP session: handshake, request, response, FIN both ways. */
function session(t: number, sport: number): TimedFrame[] {
  return [
    { t, frame: tcpFrame(CAM, CLOUD, sport, 443, "S") },
    { t: t + 0.01, frame: tcpFrame(CLOUD, CAM, 443, sport, "SA") },
    { t: t + 0.02, frame: tcpFrame(CAM, CLOUD, sport, 443, "A") },
    { t: t + 0.03, frame: tcpFrame(CAM, CLOUD, sport, 443, "PA", 100) },
    { t: t + 0.04, frame: tcpFrame(CLOUD, CAM, 443, sport, "PA", 1000) },
    { t: t + 0.05, frame: tcpFrame(CAM, CLOUD, sport, 443, "FA") },
    { t: t + 0.06, frame: tcpFrame(CLOUD, CAM, 443, sport, "FA") },
    { t: t + 0.07, frame: tcpFrame(CAM, CLOUD, sport, 443, "A") },
  ];
}

describe("flow table", () => {
  it("joins both directions into one flow with per-direction counters", () => {
    const { records } = runFrames(session(T0, 40000));
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r.source).toMatchObject({ ip: CAM, port: 40000, packets: 5 });
    expect(r.destination).toMatchObject({ ip: CLOUD, port: 443, packets: 3 });
    expect(r.source.bytes).toBe(5 * 40 + 100);
    expect(r.destination.bytes).toBe(3 * 40 + 1000);
    expect(r.egressd.flow.source_payload_bytes).toBe(100);
    expect(r.egressd.flow.destination_payload_bytes).toBe(1000);
    expect(r.egressd.tcp.state).toBe("closed");
    expect(r.event.reason).toBe("end_of_capture");
    expect(r.event.duration).toBe(70_000_000);
  });

  it("reports a closed connection after tcp_closed, on packet time", () => {
    const frames = [
      ...session(T0, 40000),
      { t: T0 + 100, frame: tcpFrame(CAM, CLOUD, 40001, 443, "S") },
    ];
    const { records } = runFrames(frames);
    expect(records.map((r) => [r.source.port, r.event.reason])).toEqual([
      [40000, "tcp_closed"],
      [40001, "end_of_capture"],
    ]);
    expect(records[1]!.egressd.tcp.state).toBe("attempted");
  });

  it("takes the SYN-ACK's receiver as initiator when the SYN was missed", () => {
    const { records } = runFrames([{ t: T0, frame: tcpFrame(CLOUD, CAM, 443, 40000, "SA") }]);
    expect(records[0]!.source.ip).toBe(CAM);
    expect(records[0]!.egressd.tcp.state).toBe("established");
  });

  it("starts a new flow when a SYN reuses the ports of a closed one", () => {
    const { records } = runFrames([...session(T0, 40000), ...session(T0 + 1, 40000)]);
    expect(records).toHaveLength(2);
    expect(records.every((r) => r.egressd.tcp.state === "closed")).toBe(true);
  });

  it("keeps VLANs apart", () => {
    const a = ethernet(ipv4({ src: CAM, dst: CLOUD }, udp(5000, 53)), { tags: [[0x8100, 10]] });
    const b = ethernet(ipv4({ src: CAM, dst: CLOUD }, udp(5000, 53)), { tags: [[0x8100, 20]] });
    const { records } = runFrames([
      { t: T0, frame: a },
      { t: T0 + 1, frame: b },
    ]);
    expect(records.map((r) => r.network.vlan.id)).toEqual(["10", "20"]);
  });

  it("evicts the longest-idle flow at the bound and counts it", () => {
    const frames: TimedFrame[] = [];
    for (let i = 0; i < 20; i++) {
      frames.push({
        t: T0 + i * 0.001,
        frame: ethernet(ipv4({ src: CAM, dst: CLOUD }, udp(10000 + i, 53))),
      });
    }
    // Flow 0 is refreshed, so flow 1 is the oldest idle when the table overflows.
    frames.push({ t: T0 + 0.5, frame: ethernet(ipv4({ src: CAM, dst: CLOUD }, udp(10000, 53))) });
    frames.push({ t: T0 + 0.6, frame: ethernet(ipv4({ src: CAM, dst: CLOUD }, udp(20000, 53))) });
    const { records, pipeline } = runFrames(frames, { maxFlows: 20 });
    expect(pipeline.flows.stats.evicted).toBe(1);
    const evicted = records.filter((r) => r.event.reason === "evicted");
    expect(evicted.map((r) => r.source.port)).toEqual([10001]);
    expect(records).toHaveLength(21);
  });

  it("reports long flows at the active timeout and continues them", () => {
    const frames: TimedFrame[] = [];
    for (let i = 0; i <= 10; i++) {
      frames.push({
        t: T0 + i * 10,
        frame: ethernet(ipv4({ src: CAM, dst: CLOUD }, udp(5004, 5004, Buffer.alloc(100)))),
      });
    }
    const { records } = runFrames(frames, { timeouts: { active: 30 } as never });
    expect(records.map((r) => r.event.reason)).toEqual([
      "active_timeout",
      "active_timeout",
      "active_timeout",
      "end_of_capture",
    ]);
    expect(records.map((r) => r.source.packets)).toEqual([3, 3, 3, 2]);
    expect(records[1]!.egressd.flow.continued).toBe(true);
    expect(new Set(records.map((r) => r.network.community_id)).size).toBe(1);
  });

  it("ties an ICMP unreachable to the TCP attempt it answers and calls it rejected", () => {
    const syn = ipv4({ src: CAM, dst: CLOUD }, tcp({ sport: 40000, dport: 7660, flags: "S" }));
    const quote = Buffer.concat([Buffer.alloc(4), syn.subarray(0, 28)]);
    const unreachable = ipv4({ src: "198.51.100.1", dst: CAM }, icmp(3, 13, quote));
    const { records, pipeline } = runFrames([
      { t: T0, frame: ethernet(syn) },
      { t: T0 + 0.01, frame: ethernet(unreachable) },
    ]);
    expect(records).toHaveLength(1);
    expect(records[0]!.egressd.tcp.state).toBe("rejected");
    expect(records[0]!.egressd.flow.icmp_error).toBe("3/13 admin-prohibited");
    expect(pipeline.flows.stats.icmpErrorsAttributed).toBe(1);
  });

  it("attributes IPv6 later fragments to the flow of the first", () => {
    const ends = { src: "2001:db8::11", dst: "2001:db8:1::7" };
    const first = ipv6(ends, udp(5000, 9000, Buffer.alloc(64)), [
      { type: 44, body: Buffer.from([0x00, 0x01, 0, 0, 0, 42]) },
    ]);
    const later = ipv6(ends, { proto: 17, bytes: Buffer.alloc(48) }, [
      { type: 44, body: Buffer.from([0x00, 0x48, 0, 0, 0, 42]) },
    ]);
    const { records } = runFrames([
      { t: T0, frame: ethernet(first) },
      { t: T0 + 0.001, frame: ethernet(later) },
    ]);
    expect(records).toHaveLength(1);
    expect(records[0]!.source.packets).toBe(2);
    expect(records[0]!.egressd.flow.fragments).toBe(1);
    expect(records[0]!.network.type).toBe("ipv6");
  });

  it("produces the same records for the same packets", () => {
    const frames = [...session(T0, 40000), ...session(T0 + 400, 40002)];
    expect(runFrames(frames).records).toEqual(runFrames(frames).records);
  });
});
