/**
 * TCP outcomes from crafted sessions, through the CLI: attempted, rejected (RST or ICMP),
 * established, closed, reset and midstream, plus ICMP errors tied to the UDP flow they
 * report on.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ethernet, icmp, ipv4, ipv6, tcp, udp } from "../helpers/packets.js";
import {
  expectClean,
  type FlowRecord,
  findFlow,
  get,
  pcapOf,
  replay,
  requireBuild,
  type TimedFrame,
  tempDir,
} from "./cli.js";

const tmp = tempDir("tcp");
beforeAll(requireBuild);
afterAll(() => tmp.cleanup());

const CAM = "192.168.1.64";
const SRV = "203.0.113.5";

/** A TCP segment between the camera (port `cport`) and the server (port `sport`). */
function seg(t: number, fromCam: boolean, cport: number, sport: number, flags: string): TimedFrame {
  const ends = fromCam ? { src: CAM, dst: SRV } : { src: SRV, dst: CAM };
  const [a, b] = fromCam ? [cport, sport] : [sport, cport];
  return { t, data: ethernet(ipv4(ends, tcp({ sport: a, dport: b, flags }))) };
}

/** Runs the frames, plus an unrelated packet `tail` seconds later so closed flows expire. */
function run(name: string, frames: TimedFrame[], tail?: number): FlowRecord[] {
  const all = [...frames];
  if (tail !== undefined) {
    const last = Math.max(...frames.map((f) => f.t));
    all.push({
      t: last + tail,
      data: ethernet(ipv4({ src: "192.168.1.99", dst: "192.168.1.1" }, udp(1, 2))),
    });
  }
  const r = replay(tmp.file(name, pcapOf(all)));
  expectClean(r);
  return r.records.filter((rec) => get(rec, "network.transport") === "tcp");
}

describe("TCP states", () => {
  it("attempted: a SYN and nothing back", () => {
    const [r, ...rest] = run("attempted.pcap", [
      seg(0, true, 50001, 443, "S"),
      seg(1, true, 50001, 443, "S"), // retransmission
    ]);
    expect(rest).toHaveLength(0);
    expect(get(r!, "egressd.tcp.state")).toBe("attempted");
    expect(get(r!, "egressd.tcp.midstream")).toBe(false);
    expect(get(r!, "egressd.tcp.source_flags")).toBe("S");
    expect(get(r!, "egressd.tcp.destination_flags")).toBe("");
    expect(get(r!, "egressd.flow.answered")).toBe(false);
    expect(get(r!, "source.packets")).toBe(2);
    expect(get(r!, "destination.packets")).toBe(0);
  });

  it("attempted flows end by the tcp_new timeout", () => {
    const r = replay(
      tmp.file(
        "attempted-timeout.pcap",
        pcapOf([
          seg(0, true, 50002, 443, "S"),
          { t: 40, data: ethernet(ipv4({ src: "10.0.0.1", dst: "10.0.0.2" }, udp(1, 2))) },
        ]),
      ),
    );
    expectClean(r);
    const f = findFlow(r.records, "tcp", 50002, 443)[0]!;
    expect(get(f, "event.reason")).toBe("idle_timeout");
    expect(get(f, "egressd.tcp.state")).toBe("attempted");
  });

  it("rejected: SYN answered by RST/ACK", () => {
    const [r] = run(
      "rejected.pcap",
      [seg(0, true, 50003, 23, "S"), seg(0.001, false, 50003, 23, "RA")],
      10,
    );
    expect(get(r!, "egressd.tcp.state")).toBe("rejected");
    expect(get(r!, "egressd.tcp.destination_flags")).toBe("AR");
    expect(get(r!, "egressd.flow.answered")).toBe(true);
    expect(get(r!, "event.reason")).toBe("tcp_reset");
    expect(get(r!, "source.ip")).toBe(CAM);
  });

  it("established: handshake and data, no close", () => {
    const [r] = run("established.pcap", [
      seg(0, true, 50004, 443, "S"),
      seg(0.01, false, 50004, 443, "SA"),
      seg(0.02, true, 50004, 443, "A"),
      seg(0.03, true, 50004, 443, "PA"),
      seg(0.04, false, 50004, 443, "A"),
    ]);
    expect(get(r!, "egressd.tcp.state")).toBe("established");
    expect(get(r!, "egressd.tcp.source_flags")).toBe("SAP");
    expect(get(r!, "egressd.tcp.destination_flags")).toBe("SA");
    expect(get(r!, "event.reason")).toBe("end_of_capture");
    expect(get(r!, "source.packets")).toBe(3);
    expect(get(r!, "destination.packets")).toBe(2);
    expect(get(r!, "network.bytes")).toBe(5 * 40);
  });

  it("closed: FIN both ways; reported by tcp_closed after the close delay", () => {
    const [r] = run(
      "closed.pcap",
      [
        seg(0, true, 50005, 443, "S"),
        seg(0.01, false, 50005, 443, "SA"),
        seg(0.02, true, 50005, 443, "A"),
        seg(1, true, 50005, 443, "FA"),
        seg(1.01, false, 50005, 443, "FA"),
        seg(1.02, true, 50005, 443, "A"),
      ],
      10,
    );
    expect(get(r!, "egressd.tcp.state")).toBe("closed");
    expect(get(r!, "event.reason")).toBe("tcp_closed");
    expect(get(r!, "network.packets")).toBe(6);
    expect(get(r!, "event.end")).toBe("2023-11-14T22:13:21.020000000Z");
  });

  it("reset: RST after the handshake", () => {
    const [r] = run(
      "reset.pcap",
      [
        seg(0, true, 50006, 443, "S"),
        seg(0.01, false, 50006, 443, "SA"),
        seg(0.02, true, 50006, 443, "A"),
        seg(0.5, true, 50006, 443, "RA"),
      ],
      10,
    );
    expect(get(r!, "egressd.tcp.state")).toBe("reset");
    expect(get(r!, "event.reason")).toBe("tcp_reset");
  });

  it("a new SYN on the ports of a closed connection starts a new flow", () => {
    const records = run("reuse.pcap", [
      seg(0, true, 50007, 443, "S"),
      seg(0.01, false, 50007, 443, "RA"),
      seg(1, true, 50007, 443, "S"),
      seg(1.01, false, 50007, 443, "SA"),
    ]);
    expect(records.map((r) => get(r, "egressd.tcp.state"))).toEqual(["rejected", "established"]);
    expect(records.map((r) => get(r, "event.reason"))).toEqual(["tcp_reset", "end_of_capture"]);
  });

  it("midstream: the initiator is guessed from the well-known port", () => {
    // The capture starts with the server's data segment.
    const [r] = run("midstream.pcap", [
      seg(0, false, 50008, 443, "PA"),
      seg(0.01, true, 50008, 443, "A"),
      seg(0.02, false, 50008, 443, "PA"),
    ]);
    expect(get(r!, "egressd.tcp.state")).toBe("midstream");
    expect(get(r!, "egressd.tcp.midstream")).toBe(true);
    expect(get(r!, "source.ip")).toBe(CAM);
    expect(get(r!, "source.port")).toBe(50008);
    expect(get(r!, "destination.ip")).toBe(SRV);
    expect(get(r!, "destination.port")).toBe(443);
    expect(get(r!, "source.packets")).toBe(1);
    expect(get(r!, "destination.packets")).toBe(2);
  });

  it("midstream between two high ports: the lower non-ephemeral port is the server", () => {
    const [r] = run("midstream-high.pcap", [
      seg(0, false, 51000, 8000, "PA"),
      seg(0.01, true, 51000, 8000, "A"),
    ]);
    expect(get(r!, "egressd.tcp.midstream")).toBe(true);
    expect(get(r!, "source.port")).toBe(51000);
    expect(get(r!, "destination.port")).toBe(8000);
  });

  it("a SYN-ACK first: the responder is the sender, the flow is established", () => {
    const [r] = run("synack-first.pcap", [
      seg(0, false, 50009, 443, "SA"),
      seg(0.01, true, 50009, 443, "A"),
    ]);
    expect(get(r!, "source.ip")).toBe(CAM);
    expect(get(r!, "source.port")).toBe(50009);
    expect(get(r!, "egressd.tcp.state")).toBe("established");
  });
});

describe("ICMP errors", () => {
  it("a port unreachable for a UDP flow sets egressd.flow.icmp_errors", () => {
    const dgram = ipv4({ src: CAM, dst: "192.168.1.5" }, udp(37000, 514, Buffer.from("<14>boot")));
    const unreachable = ipv4(
      { src: "192.168.1.5", dst: CAM },
      icmp(3, 3, Buffer.concat([Buffer.alloc(4), dgram])),
    );
    const r = replay(
      tmp.file(
        "icmp-unreachable.pcap",
        pcapOf([
          { t: 0, data: ethernet(dgram) },
          { t: 0.001, data: ethernet(unreachable) },
        ]),
      ),
    );
    expectClean(r);
    expect(r.records).toHaveLength(1);
    const f = r.records[0]!;
    expect(get(f, "network.transport")).toBe("udp");
    expect(get(f, "egressd.flow.icmp_errors")).toBe(1);
    expect(get(f, "egressd.flow.icmp_error")).toBe("3/3 port-unreachable");
    expect(get(f, "egressd.flow.answered")).toBe(true);
    expect(get(f, "destination.packets")).toBe(0);
    expect(r.summary!.icmp_errors_attributed).toBe(1);
  });

  it("an ICMP unreachable to a SYN makes the flow rejected", () => {
    const syn = ipv4({ src: CAM, dst: SRV }, tcp({ sport: 50100, dport: 8883, flags: "S" }));
    const prohibited = ipv4(
      { src: "192.168.1.1", dst: CAM },
      icmp(3, 13, Buffer.concat([Buffer.alloc(4), syn.subarray(0, 28)])),
    );
    const r = replay(
      tmp.file(
        "icmp-syn.pcap",
        pcapOf([
          { t: 0, data: ethernet(syn) },
          { t: 0.001, data: ethernet(prohibited) },
        ]),
      ),
    );
    expectClean(r);
    expect(r.records).toHaveLength(1);
    expect(get(r.records[0]!, "egressd.tcp.state")).toBe("rejected");
    expect(get(r.records[0]!, "egressd.flow.icmp_error")).toBe("3/13 admin-prohibited");
  });

  it("ICMPv6 port unreachable for a UDP flow", () => {
    const ends = { src: "2001:db8:1::64", dst: "2001:db8:ff::5" };
    const dgram = ipv6(ends, udp(37001, 514, Buffer.alloc(8)));
    const unreachable = ipv6(
      { src: ends.dst, dst: ends.src },
      icmp(1, 4, Buffer.concat([Buffer.alloc(4), dgram]), true),
    );
    const r = replay(
      tmp.file(
        "icmp6-unreachable.pcap",
        pcapOf([
          { t: 0, data: ethernet(dgram) },
          { t: 0.001, data: ethernet(unreachable) },
        ]),
      ),
    );
    expectClean(r);
    expect(r.records).toHaveLength(1);
    expect(get(r.records[0]!, "egressd.flow.icmp_errors")).toBe(1);
    expect(get(r.records[0]!, "egressd.flow.icmp_error")).toBe("1/4 port-unreachable");
  });

  it("an ICMP error about no known flow is a flow of its own", () => {
    const dgram = ipv4({ src: CAM, dst: "192.168.1.5" }, udp(37002, 514));
    const unreachable = ipv4(
      { src: "192.168.1.5", dst: CAM },
      icmp(3, 3, Buffer.concat([Buffer.alloc(4), dgram])),
    );
    const r = replay(tmp.file("icmp-orphan.pcap", pcapOf([{ t: 0, data: ethernet(unreachable) }])));
    expectClean(r);
    expect(r.records).toHaveLength(1);
    expect(get(r.records[0]!, "network.transport")).toBe("icmp");
    expect(get(r.records[0]!, "egressd.icmp.type")).toBe(3);
    expect(get(r.records[0]!, "egressd.icmp.code")).toBe(3);
    expect(r.summary!.icmp_errors_attributed).toBe(0);
  });
});
