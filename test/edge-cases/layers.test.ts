/**
 * Layer edge cases as they show in flow records: QinQ VLAN ids, IPv6 extension headers,
 * IPv4 and IPv6 fragments attributed to their flow, and snaplen-cut packets counted by
 * their IP length.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ethernet, ipv4, ipv6, tcp, udp } from "../helpers/packets.js";
import {
  expectClean,
  findFlow,
  get,
  haveTool,
  pcapOf,
  replay,
  requireBuild,
  tempDir,
  tool,
} from "./cli.js";

const tmp = tempDir("layers");
beforeAll(requireBuild);
afterAll(() => tmp.cleanup());

const CAM = { src: "192.168.1.64", dst: "203.0.113.10" };
const BACK = { src: CAM.dst, dst: CAM.src };
const CAM6 = { src: "2001:db8:1::64", dst: "2001:db8:ff::10" };
const BACK6 = { src: CAM6.dst, dst: CAM6.src };

describe("VLANs", () => {
  it("QinQ: network.vlan.id is the outer tag, network.inner.vlan.id the inner", () => {
    const tags: [number, number][] = [
      [0x88a8, 100],
      [0x8100, 20],
    ];
    const file = tmp.file(
      "qinq.pcap",
      pcapOf([
        { t: 0, data: ethernet(ipv4(CAM, udp(40000, 5000, Buffer.alloc(16))), { tags }) },
        { t: 1, data: ethernet(ipv4(BACK, udp(5000, 40000, Buffer.alloc(4))), { tags }) },
        // The same tuple on another customer VLAN is another flow.
        {
          t: 2,
          data: ethernet(ipv4(CAM, udp(40000, 5000)), {
            tags: [
              [0x88a8, 100],
              [0x8100, 21],
            ],
          }),
        },
        // And untagged, a third.
        { t: 3, data: ethernet(ipv4(CAM, udp(40000, 5000))) },
      ]),
    );
    const run = replay(file);
    expectClean(run);
    expect(run.records).toHaveLength(3);
    const [a, b, c] = run.records as [
      Record<string, unknown>,
      Record<string, unknown>,
      Record<string, unknown>,
    ];
    expect(get(a, "network.vlan.id")).toBe("100");
    expect(get(a, "network.inner.vlan.id")).toBe("20");
    expect(get(a, "network.packets")).toBe(2);
    expect(get(a, "source.bytes")).toBe(20 + 8 + 16);
    expect(get(a, "destination.bytes")).toBe(20 + 8 + 4);
    expect(get(b, "network.vlan.id")).toBe("100");
    expect(get(b, "network.inner.vlan.id")).toBe("21");
    expect(get(c, "network.vlan")).toBeUndefined();
    expect(get(c, "network.inner")).toBeUndefined();
  });

  it("a single 802.1Q tag: network.vlan.id, no inner", () => {
    const file = tmp.file(
      "dot1q.pcap",
      pcapOf([{ t: 0, data: ethernet(ipv4(CAM, udp(40001, 5000)), { tags: [[0x8100, 4094]] }) }]),
    );
    const run = replay(file);
    expectClean(run);
    expect(get(run.records[0]!, "network.vlan.id")).toBe("4094");
    expect(get(run.records[0]!, "network.inner")).toBeUndefined();
  });
});

describe("IPv6 extension headers", () => {
  it("hop-by-hop + destination options + routing: the UDP ports and IP lengths", () => {
    const exts = [
      { type: 0, body: Buffer.from([5, 2, 0, 0, 1, 0]) }, // router alert, PadN
      { type: 60 },
      {
        type: 43,
        body: Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0]), Buffer.alloc(16)]), // type 0, segleft 0
      },
    ];
    const out = ipv6(CAM6, udp(40001, 9999, Buffer.alloc(4)), exts);
    const back = ipv6(BACK6, udp(9999, 40001, Buffer.alloc(10)), exts);
    const file = tmp.file(
      "ipv6-ext.pcap",
      pcapOf([
        { t: 0, data: ethernet(out) },
        { t: 0.5, data: ethernet(back) },
      ]),
    );
    const run = replay(file);
    expectClean(run);
    expect(run.summary!.anomalies_total).toBe(0);
    expect(run.records).toHaveLength(1);
    const r = run.records[0]!;
    expect(get(r, "network.type")).toBe("ipv6");
    expect(get(r, "network.transport")).toBe("udp");
    expect(get(r, "source.ip")).toBe("2001:db8:1::64");
    expect(get(r, "source.port")).toBe(40001);
    expect(get(r, "destination.port")).toBe(9999);
    expect(get(r, "source.bytes")).toBe(out.length);
    expect(get(r, "destination.bytes")).toBe(back.length);
    expect(get(r, "egressd.flow.source_payload_bytes")).toBe(4);
    expect(get(r, "egressd.flow.destination_payload_bytes")).toBe(10);
  });

  it("a TCP handshake behind a hop-by-hop header is established", () => {
    const hbh = [{ type: 0 }];
    const file = tmp.file(
      "ipv6-hbh-tcp.pcap",
      pcapOf([
        { t: 0, data: ethernet(ipv6(CAM6, tcp({ sport: 50000, dport: 443, flags: "S" }), hbh)) },
        { t: 0.1, data: ethernet(ipv6(BACK6, tcp({ sport: 443, dport: 50000, flags: "SA" }))) },
      ]),
    );
    const run = replay(file);
    expectClean(run);
    expect(run.records).toHaveLength(1);
    expect(get(run.records[0]!, "egressd.tcp.state")).toBe("established");
  });
});

/** Splits an IP payload (transport header + data) into IPv4 fragments of `size` bytes. */
function ipv4Fragments(
  ends: { src: string; dst: string },
  l4: { proto: number; bytes: Buffer },
  size: number,
  id: number,
): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < l4.bytes.length; off += size) {
    const part = l4.bytes.subarray(off, off + size);
    out.push(
      ipv4(
        ends,
        { proto: l4.proto, bytes: part },
        { id, fragmentOffset: off, moreFragments: off + size < l4.bytes.length },
      ),
    );
  }
  return out;
}

function ipv6Fragments(
  ends: { src: string; dst: string },
  l4: { proto: number; bytes: Buffer },
  size: number,
  id: number,
): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < l4.bytes.length; off += size) {
    const part = l4.bytes.subarray(off, off + size);
    const more = off + size < l4.bytes.length;
    const body = Buffer.alloc(6);
    body.writeUInt16BE(off | (more ? 1 : 0), 0);
    body.writeUInt32BE(id, 2);
    out.push(ipv6(ends, { proto: l4.proto, bytes: part }, [{ type: 44, body }]));
  }
  return out;
}

describe("fragments", () => {
  it("IPv4: later fragments counted on the flow (packets, bytes, fragments)", () => {
    const request = ipv4Fragments(CAM, udp(40003, 5004, Buffer.alloc(3000)), 1480, 0xbeef);
    const reply = ipv4Fragments(BACK, udp(5004, 40003, Buffer.alloc(1600)), 1480, 0x1234);
    expect(request).toHaveLength(3);
    expect(reply).toHaveLength(2);
    const frames = [
      ...request.map((ip, i) => ({ t: i * 0.001, data: ethernet(ip) })),
      ...reply.map((ip, i) => ({ t: 0.1 + i * 0.001, data: ethernet(ip) })),
    ];
    const run = replay(tmp.file("ipv4-frags.pcap", pcapOf(frames)));
    expectClean(run);
    expect(run.records).toHaveLength(1);
    const r = run.records[0]!;
    expect(get(r, "source.packets")).toBe(3);
    expect(get(r, "destination.packets")).toBe(2);
    expect(get(r, "network.packets")).toBe(5);
    expect(get(r, "source.bytes")).toBe(request.reduce((n, ip) => n + ip.length, 0));
    expect(get(r, "destination.bytes")).toBe(reply.reduce((n, ip) => n + ip.length, 0));
    expect(get(r, "egressd.flow.source_payload_bytes")).toBe(3000);
    expect(get(r, "egressd.flow.destination_payload_bytes")).toBe(1600);
    expect(get(r, "egressd.flow.fragments")).toBe(3);
    expect(run.summary!.fragments_attributed).toBe(3);
    expect(run.summary!.fragments_unattributed).toBe(0);
  });

  it("IPv6: later fragments counted on the flow", () => {
    const request = ipv6Fragments(CAM6, udp(40004, 5004, Buffer.alloc(2500)), 1232, 0xcafe0001);
    expect(request).toHaveLength(3);
    const reply = ipv6(BACK6, udp(5004, 40004, Buffer.alloc(20)));
    const frames = [
      ...request.map((ip, i) => ({ t: i * 0.001, data: ethernet(ip) })),
      { t: 0.2, data: ethernet(reply) },
    ];
    const run = replay(tmp.file("ipv6-frags.pcap", pcapOf(frames)));
    expectClean(run);
    expect(run.records).toHaveLength(1);
    const r = run.records[0]!;
    expect(get(r, "source.packets")).toBe(3);
    expect(get(r, "destination.packets")).toBe(1);
    expect(get(r, "source.bytes")).toBe(request.reduce((n, ip) => n + ip.length, 0));
    expect(get(r, "egressd.flow.fragments")).toBe(2);
    // The payload is the UDP payload: the datagram minus the 8-byte UDP header.
    expect(get(r, "egressd.flow.source_payload_bytes")).toBe(2500);
  });

  it("a later fragment whose first fragment was not seen is counted as unattributed", () => {
    const frags = ipv4Fragments(CAM, udp(40005, 5004, Buffer.alloc(3000)), 1480, 0x4444);
    const run = replay(
      tmp.file(
        "orphan-frags.pcap",
        pcapOf(frags.slice(1).map((ip, i) => ({ t: i, data: ethernet(ip) }))),
      ),
    );
    expectClean(run);
    expect(run.records).toHaveLength(0);
    expect(run.summary!.fragments_unattributed).toBe(2);
    expect(run.summary!.ip_packets).toBe(2);
  });

  it("fragments of two datagrams with the same id but other addresses stay apart", () => {
    const a = ipv4Fragments(CAM, udp(40006, 5004, Buffer.alloc(2000)), 1480, 7);
    const b = ipv4Fragments(
      { src: "192.168.1.65", dst: CAM.dst },
      udp(40007, 5004, Buffer.alloc(2000)),
      1480,
      7,
    );
    const frames = [a[0]!, b[0]!, b[1]!, a[1]!].map((ip, i) => ({
      t: i * 0.01,
      data: ethernet(ip),
    }));
    const run = replay(tmp.file("same-id.pcap", pcapOf(frames)));
    expectClean(run);
    for (const port of [40006, 40007]) {
      const r = findFlow(run.records, "udp", port, 5004)[0]!;
      expect(get(r, "source.packets")).toBe(2);
      expect(get(r, "egressd.flow.fragments")).toBe(1);
    }
  });
});

describe("snaplen-cut packets", () => {
  function frames() {
    const out = ethernet(
      ipv4(CAM, tcp({ sport: 50000, dport: 443, flags: "PA", payload: Buffer.alloc(1400) })),
    );
    const back = ethernet(ipv4(BACK, tcp({ sport: 443, dport: 50000, flags: "A" })));
    return { out, back };
  }

  it("bytes are IP lengths, not the captured lengths", () => {
    const { out, back } = frames();
    const file = tmp.file(
      "snaplen.pcap",
      pcapOf([
        { t: 0, data: out.subarray(0, 96), origLen: out.length },
        { t: 0.1, data: back },
      ]),
    );
    const run = replay(file);
    expectClean(run);
    expect(run.summary!.anomalies_total).toBe(0);
    const r = run.records[0]!;
    expect(get(r, "source.bytes")).toBe(20 + 20 + 1400);
    expect(get(r, "egressd.flow.source_payload_bytes")).toBe(1400);
    expect(get(r, "destination.bytes")).toBe(40);
    expect(run.summary!.bytes).toBe(out.length + back.length);
  });

  it.skipIf(!haveTool("editcap"))("editcap -s 96 cuts the same way", () => {
    const { out, back } = frames();
    const whole = tmp.file(
      "snaplen-whole.pcap",
      pcapOf([
        { t: 0, data: out },
        { t: 0.1, data: back },
      ]),
    );
    const cut = tmp.path("snaplen-editcap.pcap");
    tool("editcap", ["-s", "96", whole, cut]);
    const a = replay(whole);
    const b = replay(cut);
    expectClean(a);
    expectClean(b);
    expect(b.stdout).toBe(a.stdout);
    expect(get(b.records[0]!, "source.bytes")).toBe(1440);
  });
});
