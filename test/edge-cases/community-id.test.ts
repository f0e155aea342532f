/**
 * Community ID v1 values in the flow records, against the published test vectors of the
 * spec's reference implementation (corelight/pycommunityid, tests/communityid_test.py).
 * The public addresses in the vectors only ever go into files in a temp dir.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ethernet, icmp, ipv4, ipv6, tcp, udp } from "../helpers/packets.js";
import {
  expectClean,
  type FlowRecord,
  get,
  pcapOf,
  replay,
  requireBuild,
  type TimedFrame,
  tempDir,
} from "./cli.js";

const tmp = tempDir("communityid");
beforeAll(requireBuild);
afterAll(() => tmp.cleanup());

function records(name: string, frames: Buffer[]): FlowRecord[] {
  const timed: TimedFrame[] = frames.map((data, i) => ({ t: i * 0.01, data: ethernet(data) }));
  const run = replay(tmp.file(name, pcapOf(timed)));
  expectClean(run);
  return run.records;
}

/** An IPv6 packet with protocol `proto` and `payload`, without the helper's checks. */
function ipv6Raw(ends: { src: string; dst: string }, proto: number, payload: Buffer): Buffer {
  return ipv6(ends, { proto, bytes: payload });
}

describe("Community ID test vectors", () => {
  it("TCP 128.232.110.120:34855 -> 66.35.250.204:80, and its reply", () => {
    const [r, ...rest] = records("cid-tcp.pcap", [
      ipv4(
        { src: "128.232.110.120", dst: "66.35.250.204" },
        tcp({ sport: 34855, dport: 80, flags: "S" }),
      ),
      ipv4(
        { src: "66.35.250.204", dst: "128.232.110.120" },
        tcp({ sport: 80, dport: 34855, flags: "SA" }),
      ),
    ]);
    expect(rest).toHaveLength(0);
    expect(get(r!, "network.packets")).toBe(2);
    expect(get(r!, "network.community_id")).toBe("1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
  });

  it("TCP seen from the server side first gives the same id", () => {
    const [r] = records("cid-tcp-reverse.pcap", [
      ipv4(
        { src: "66.35.250.204", dst: "128.232.110.120" },
        tcp({ sport: 80, dport: 34855, flags: "PA" }),
      ),
    ]);
    expect(get(r!, "network.community_id")).toBe("1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
  });

  it("UDP 192.168.1.52:54585 -> 8.8.8.8:53", () => {
    const [r, ...rest] = records("cid-udp.pcap", [
      ipv4({ src: "192.168.1.52", dst: "8.8.8.8" }, udp(54585, 53, Buffer.alloc(20))),
      ipv4({ src: "8.8.8.8", dst: "192.168.1.52" }, udp(53, 54585, Buffer.alloc(40))),
    ]);
    expect(rest).toHaveLength(0);
    expect(get(r!, "network.community_id")).toBe("1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
  });

  it("ICMP echo 192.168.0.89 -> 192.168.0.1; the reply joins the same flow", () => {
    const echo = Buffer.from([0x12, 0x34, 0x00, 0x01]);
    const [r, ...rest] = records("cid-icmp.pcap", [
      ipv4({ src: "192.168.0.89", dst: "192.168.0.1" }, icmp(8, 0, echo)),
      ipv4({ src: "192.168.0.1", dst: "192.168.0.89" }, icmp(0, 0, echo)),
    ]);
    expect(rest).toHaveLength(0);
    expect(get(r!, "network.transport")).toBe("icmp");
    expect(get(r!, "source.packets")).toBe(1);
    expect(get(r!, "destination.packets")).toBe(1);
    expect(get(r!, "network.community_id")).toBe("1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
  });

  it("ICMP echo reply seen alone gives the request's id", () => {
    const [r] = records("cid-icmp-reply.pcap", [
      ipv4({ src: "192.168.0.1", dst: "192.168.0.89" }, icmp(0, 0, Buffer.alloc(4))),
    ]);
    expect(get(r!, "network.community_id")).toBe("1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
  });

  it("ICMP type 20 (one-way): the code is hashed, so codes 0 and 1 differ", () => {
    const ends = { src: "192.168.0.89", dst: "192.168.0.1" };
    const recs = records("cid-icmp20.pcap", [
      ipv4(ends, icmp(20, 0, Buffer.alloc(4))),
      ipv4(ends, icmp(20, 1, Buffer.alloc(4))),
    ]);
    expect(recs.map((r) => get(r, "network.community_id"))).toEqual([
      "1:3o2RFccXzUgjl7zDpqmY7yJi8rI=",
      "1:tz/fHIDUHs19NkixVVoOZywde+I=",
    ]);
  });

  it("ICMPv6 neighbor solicitation fe80::200:86ff:fe05:80da -> fe80::260:97ff:fe07:69ea", () => {
    const a = "fe80::200:86ff:fe05:80da";
    const b = "fe80::260:97ff:fe07:69ea";
    const target = Buffer.concat([Buffer.alloc(4), Buffer.alloc(16)]);
    const [r, ...rest] = records("cid-icmp6.pcap", [
      ipv6({ src: a, dst: b }, icmp(135, 0, target, true)),
      ipv6({ src: b, dst: a }, icmp(136, 0, target, true)),
    ]);
    expect(rest).toHaveLength(0);
    expect(get(r!, "network.transport")).toBe("ipv6-icmp");
    expect(get(r!, "network.packets")).toBe(2);
    expect(get(r!, "network.community_id")).toBe("1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
  });

  it("ICMPv6 time exceeded (one-way) keeps its direction", () => {
    const a = "3ffe:507:0:1:260:97ff:fe07:69ea";
    const b = "3ffe:507:0:1:200:86ff:fe05:80da";
    // The quoted packet matches no flow, so each error is a flow of its own.
    const quote = (src: string, dst: string) =>
      Buffer.concat([Buffer.alloc(4), ipv6({ src, dst }, udp(33434, 33435))]);
    const recs = records("cid-icmp6-te.pcap", [
      ipv6({ src: a, dst: b }, icmp(3, 0, quote("2001:db8::1", "2001:db8::2"), true)),
      ipv6({ src: b, dst: a }, icmp(3, 0, quote("2001:db8::3", "2001:db8::4"), true)),
    ]);
    expect(recs.map((r) => get(r, "network.community_id"))).toEqual([
      "1:NdobDX8PQNJbAyfkWxhtL2Pqp5w=",
      "1:/OGBt9BN1ofenrmSPWYicpij2Vc=",
    ]);
  });

  it("TCP 10.0.0.1:10 -> 10.0.0.2:11569 (pycommunityid issue 3: port order)", () => {
    const [r] = records("cid-tcp-ports.pcap", [
      ipv4({ src: "10.0.0.1", dst: "10.0.0.2" }, tcp({ sport: 10, dport: 11569, flags: "S" })),
    ]);
    expect(get(r!, "network.community_id")).toBe("1:SXBGMX1lBOwhhoDrZynfROxnhnM=");
  });

  it("a protocol without ports (46, RSVP) 10.1.24.4 -> 10.1.12.1", () => {
    const [r] = records("cid-ip.pcap", [
      ipv4({ src: "10.1.24.4", dst: "10.1.12.1" }, { proto: 46, bytes: Buffer.alloc(16) }),
    ]);
    expect(get(r!, "network.iana_number")).toBe("46");
    expect(get(r!, "network.community_id")).toBe("1:/nQI4Rh/TtY3mf0R2gJFBkVlgS4=");
  });

  it("SCTP 192.168.170.8:7 -> 192.168.170.56:80", () => {
    // SCTP common header: source port, destination port, verification tag, checksum.
    const sctp = Buffer.alloc(12);
    sctp.writeUInt16BE(7, 0);
    sctp.writeUInt16BE(80, 2);
    const [r] = records("cid-sctp.pcap", [
      ipv4({ src: "192.168.170.8", dst: "192.168.170.56" }, { proto: 132, bytes: sctp }),
    ]);
    expect(get(r!, "network.transport")).toBe("sctp");
    expect(get(r!, "source.port")).toBe(7);
    expect(get(r!, "destination.port")).toBe(80);
    expect(get(r!, "network.community_id")).toBe("1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=");
  });

  it("IPv6 TCP: the same id from either side, different from the reversed ports", () => {
    const a = { src: "2001:db8:1::64", dst: "2001:db8:ff::10" };
    const recs = records("cid-v6.pcap", [
      ipv6Raw(a, 6, tcp({ sport: 50000, dport: 443, flags: "S" }).bytes),
      ipv6Raw({ src: a.dst, dst: a.src }, 6, tcp({ sport: 443, dport: 50000, flags: "SA" }).bytes),
    ]);
    expect(recs).toHaveLength(1);
    expect(get(recs[0]!, "network.community_id")).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
  });
});
