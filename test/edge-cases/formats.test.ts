/**
 * Capture file formats through the CLI: nanosecond and big-endian pcap, pcapng with
 * interfaces of different link types, Linux cooked v2, damaged and foreign files, stdin,
 * and byte-for-byte reproducible output. Files are built with the test helpers and, where
 * a real tool can make them, converted or merged with editcap/mergecap too.
 */

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LinkType } from "../../src/capture/source.js";
import { PcapngWriter, pcapFile, pcapRecord } from "../helpers/capture-writer.js";
import { ethernet, ipv4, ipv6, macBytes, tcp, udp } from "../helpers/packets.js";
import {
  expectClean,
  findFlow,
  get,
  haveTool,
  pcapOf,
  replay,
  replayStdin,
  requireBuild,
  type TimedFrame,
  tempDir,
  tool,
} from "./cli.js";

const tmp = tempDir("formats");
beforeAll(requireBuild);
afterAll(() => tmp.cleanup());

const HAVE_EDITCAP = haveTool("editcap");
const HAVE_MERGECAP = haveTool("mergecap");

const CAM = { src: "192.168.1.64", dst: "203.0.113.10" };
const BACK = { src: CAM.dst, dst: CAM.src };

/** A short TCP session and a DNS exchange on Ethernet. */
function session(): TimedFrame[] {
  return [
    { t: 0, data: ethernet(ipv4(CAM, tcp({ sport: 50000, dport: 443, flags: "S", seq: 1 }))) },
    {
      t: 0.01,
      data: ethernet(ipv4(BACK, tcp({ sport: 443, dport: 50000, flags: "SA", seq: 9, ack: 2 }))),
    },
    { t: 0.02, data: ethernet(ipv4(CAM, tcp({ sport: 50000, dport: 443, flags: "A", ack: 10 }))) },
    {
      t: 0.5,
      data: ethernet(ipv4({ src: CAM.src, dst: "192.168.1.1" }, udp(40000, 53, Buffer.alloc(30)))),
    },
    {
      t: 0.51,
      data: ethernet(ipv4({ src: "192.168.1.1", dst: CAM.src }, udp(53, 40000, Buffer.alloc(90)))),
    },
  ];
}

describe("pcap variants", () => {
  it("nanosecond pcap: event.start/end keep every nanosecond", () => {
    const frames = [
      ethernet(ipv4(CAM, udp(40001, 5000, Buffer.alloc(10)))),
      ethernet(ipv4(BACK, udp(5000, 40001, Buffer.alloc(10)))),
    ];
    const file = tmp.file(
      "ns.pcap",
      pcapFile({ nanos: true }, [
        { tsSec: 1_700_000_000, tsFrac: 123_456_789, data: frames[0]! },
        { tsSec: 1_700_000_001, tsFrac: 987_654_321, data: frames[1]! },
      ]),
    );
    const run = replay(file);
    expectClean(run);
    expect(run.records).toHaveLength(1);
    const r = run.records[0]!;
    expect(get(r, "event.start")).toBe("2023-11-14T22:13:20.123456789Z");
    expect(get(r, "event.end")).toBe("2023-11-14T22:13:21.987654321Z");
    expect(get(r, "@timestamp")).toBe("2023-11-14T22:13:21.987654321Z");
    expect(get(r, "event.duration")).toBe(1_864_197_532);
  });

  it.skipIf(!HAVE_EDITCAP)("editcap -F nsecpcap and -F pcapng copies give the same records", () => {
    const usec = tmp.file("usec.pcap", pcapOf(session()));
    const nsec = tmp.path("nsec-editcap.pcap");
    const ng = tmp.path("editcap.pcapng");
    tool("editcap", ["-F", "nsecpcap", usec, nsec]);
    tool("editcap", ["-F", "pcapng", usec, ng]);
    expect(readFileSync(nsec).readUInt32LE(0)).toBe(0xa1b23c4d);
    expect(readFileSync(ng).readUInt32LE(0)).toBe(0x0a0d0d0a);
    const base = replay(usec);
    expectClean(base);
    expect(base.records).toHaveLength(2);
    for (const other of [nsec, ng]) {
      const run = replay(other);
      expectClean(run);
      expect(run.stdout).toBe(base.stdout);
    }
    expect(get(base.records[0]!, "event.start")).toBe("2023-11-14T22:13:20.000000000Z");
    expect(get(base.records[0]!, "event.end")).toBe("2023-11-14T22:13:20.020000000Z");
  });

  it.skipIf(!HAVE_EDITCAP)("editcap -F pcapng keeps nanoseconds of a nanosecond pcap", () => {
    const file = tmp.file(
      "ns-src.pcap",
      pcapFile({ nanos: true }, [
        {
          tsSec: 1_700_000_000,
          tsFrac: 1,
          data: ethernet(ipv4(CAM, udp(40002, 5000))),
        },
      ]),
    );
    const ng = tmp.path("ns-editcap.pcapng");
    tool("editcap", ["-F", "pcapng", file, ng]);
    const run = replay(ng);
    expectClean(run);
    expect(get(run.records[0]!, "event.start")).toBe("2023-11-14T22:13:20.000000001Z");
  });

  it("big-endian pcap gives the same records as little-endian", () => {
    const le = tmp.file("le.pcap", pcapOf(session(), { littleEndian: true }));
    const be = tmp.file("be.pcap", pcapOf(session(), { littleEndian: false }));
    expect(readFileSync(be).readUInt32BE(0)).toBe(0xa1b2c3d4);
    const a = replay(le);
    const b = replay(be);
    expectClean(a);
    expectClean(b);
    expect(a.records).toHaveLength(2);
    expect(b.stdout).toBe(a.stdout);
    // Big-endian nanosecond files too.
    const bens = tmp.file("be-ns.pcap", pcapOf(session(), { littleEndian: false, nanos: true }));
    const c = replay(bens);
    expectClean(c);
    expect(c.stdout).toBe(a.stdout);
  });

  it("the FCS bits in the pcap network field do not change the link type", () => {
    // 0x10000000 | n << 26... libpcap's LT_FCS_LENGTH_PRESENT (bit 28) with 4 FCS bytes.
    const network = LinkType.ETHERNET | (1 << 28) | (4 << 29);
    const file = tmp.file("fcs.pcap", pcapOf(session(), { network: network >>> 0 }));
    const run = replay(file);
    expectClean(run);
    expect(run.records).toHaveLength(2);
  });

  it("Linux cooked v2 (SLL2): the sender's MAC, no destination MAC", () => {
    const sll2 = (proto: number, mac: string, ifindex: number) => {
      const h = Buffer.alloc(20);
      h.writeUInt16BE(proto, 0);
      h.writeUInt32BE(ifindex, 4);
      h.writeUInt16BE(1, 8); // ARPHRD_ETHER
      h[10] = 4; // outgoing
      h[11] = 6;
      macBytes(mac).copy(h, 12);
      return h;
    };
    const v6 = { src: "2001:db8:1::64", dst: "2001:db8:ff::10" };
    const file = tmp.file(
      "sll2.pcap",
      pcapOf(
        [
          {
            t: 0,
            data: Buffer.concat([
              sll2(0x86dd, "44:19:b6:12:34:56", 2),
              ipv6(v6, tcp({ sport: 50100, dport: 443, flags: "S" })),
            ]),
          },
          {
            t: 0.1,
            data: Buffer.concat([
              sll2(0x0800, "44:19:b6:12:34:56", 2),
              ipv4(CAM, udp(40003, 123, Buffer.alloc(48))),
            ]),
          },
        ],
        { network: LinkType.LINUX_SLL2 },
      ),
    );
    const run = replay(file);
    expectClean(run);
    expect(run.records).toHaveLength(2);
    const [t, u] = run.records as [Record<string, unknown>, Record<string, unknown>];
    expect(get(t, "network.type")).toBe("ipv6");
    expect(get(t, "source.ip")).toBe("2001:db8:1::64");
    expect(get(t, "source.mac")).toBe("44-19-B6-12-34-56");
    expect(get(t, "destination.mac")).toBeUndefined();
    expect(get(t, "egressd.tcp.state")).toBe("attempted");
    expect(get(u, "network.transport")).toBe("udp");
    expect(get(u, "source.bytes")).toBe(20 + 8 + 48);
  });
});

describe("pcapng", () => {
  function twoInterfaces(): { file: Buffer } {
    const w = new PcapngWriter()
      .section()
      .interface(LinkType.ETHERNET, { tsresol: 9 })
      .interface(LinkType.RAW, { snapLen: 65535 });
    const t0 = 1_700_000_000n;
    w.epb(0, t0 * 1_000_000_000n + 5n, ethernet(ipv4(CAM, udp(41000, 5000, Buffer.alloc(4)))));
    w.epb(1, t0 * 1_000_000n + 10n, ipv4({ src: "10.0.0.64", dst: "10.0.0.2" }, udp(42000, 6000)));
    w.epb(0, t0 * 1_000_000_000n + 20_000n, ethernet(ipv4(BACK, udp(5000, 41000))));
    return { file: w.toBuffer() };
  }

  it("two interfaces of different link types: records carry the interface id", () => {
    const file = tmp.file("two-if.pcapng", twoInterfaces().file);
    const run = replay(file);
    expectClean(run);
    expect(run.records).toHaveLength(2);
    const eth = findFlow(run.records, "udp", 41000, 5000)[0]!;
    const raw = findFlow(run.records, "udp", 42000, 6000)[0]!;
    expect(get(eth, "observer.ingress.interface.id")).toBe("0");
    expect(get(eth, "source.mac")).toBe("02-00-00-00-00-01");
    expect(get(eth, "network.packets")).toBe(2);
    expect(get(eth, "event.start")).toBe("2023-11-14T22:13:20.000000005Z");
    expect(get(raw, "observer.ingress.interface.id")).toBe("1");
    expect(get(raw, "source.mac")).toBeUndefined();
    expect(get(raw, "source.ip")).toBe("10.0.0.64");
    expect(get(raw, "event.start")).toBe("2023-11-14T22:13:20.000010000Z");
    expect(run.summary!.packets).toBe(3);
  });

  it.skipIf(!HAVE_MERGECAP)("mergecap of an Ethernet and a raw-IP pcap: both interfaces", () => {
    const a = tmp.file("merge-eth.pcap", pcapOf(session()));
    const b = tmp.file(
      "merge-raw.pcap",
      pcapOf([{ t: 0.3, data: ipv4({ src: "10.0.0.64", dst: "10.0.0.2" }, udp(42001, 6000)) }], {
        network: LinkType.RAW,
      }),
    );
    const merged = tmp.path("merged.pcapng");
    tool("mergecap", ["-F", "pcapng", "-w", merged, a, b]);
    const run = replay(merged);
    expectClean(run);
    expect(run.records).toHaveLength(3);
    const ids = new Set(run.records.map((r) => get(r, "observer.ingress.interface.id")));
    expect(ids).toEqual(new Set(["0", "1"]));
    const raw = findFlow(run.records, "udp", 42001, 6000)[0]!;
    const tcpFlow = findFlow(run.records, "tcp", 50000, 443)[0]!;
    expect(get(raw, "observer.ingress.interface.id")).not.toBe(
      get(tcpFlow, "observer.ingress.interface.id"),
    );
    expect(get(tcpFlow, "egressd.tcp.state")).toBe("established");
  });

  it("a capture with nothing decodable is exit 2, naming the link type", () => {
    const w = new PcapngWriter().section().interface(105);
    w.epb(0, 1_700_000_000_000_000n, Buffer.alloc(40));
    const run = replay(tmp.file("wifi.pcapng", w.toBuffer()));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("105");
    expect(run.stderr).toContain("IEEE802_11");
    expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
  });

  it("one unsupported interface among supported ones is skipped with a warning", () => {
    const w = new PcapngWriter().section().interface(LinkType.ETHERNET).interface(105);
    w.epb(0, 1_700_000_000_000_000n, ethernet(ipv4(CAM, udp(41000, 5000, Buffer.alloc(4)))));
    w.epb(1, 1_700_000_000_100_000n, Buffer.alloc(40));
    w.epb(1, 1_700_000_000_200_000n, Buffer.alloc(40));
    const run = replay(tmp.file("mixed-links.pcapng", w.toBuffer()));
    expect(run.code).toBe(0);
    expect(run.records).toHaveLength(1);
    expect(run.stderr).toContain("IEEE802_11");
    expect(run.stderr.match(/IEEE802_11/g)).toHaveLength(1);
    expect(run.summary!.anomalies.unsupported_link_type).toBe(2);
  });
});

describe("damaged and foreign files", () => {
  it("truncated last pcap record: earlier flows written, exit 1, the offset named", () => {
    const frames = session();
    const whole = pcapOf(frames);
    // A fourth record whose header promises 60 bytes, of which 20 arrived.
    const cut = pcapRecord({ tsSec: 1_700_000_001, tsFrac: 0, data: Buffer.alloc(60) }).subarray(
      0,
      16 + 20,
    );
    const offset = 24 + frames.reduce((n, f) => n + 16 + f.data.length, 0);
    expect(whole.length).toBe(offset);
    const run = replay(tmp.file("truncated.pcap", Buffer.concat([whole, cut])));
    expect(run.code).toBe(1);
    expect(run.records).toHaveLength(2);
    expect(findFlow(run.records, "tcp", 50000, 443)).toHaveLength(1);
    expect(findFlow(run.records, "udp", 40000, 53)).toHaveLength(1);
    expect(run.stderr).toContain(`byte offset ${offset}`);
    expect(run.summary!.error!.offset).toBe(offset);
    expect(run.summary!.packets).toBe(frames.length);
    expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
  });

  it("with --summary json the summary stays the last stderr line on a damaged capture", () => {
    const whole = pcapOf(session());
    const run = replay(tmp.file("last-line.pcap", Buffer.concat([whole, Buffer.alloc(7)])));
    expect(run.code).toBe(1);
    const lines = run.stderr.split("\n").filter((l) => l !== "");
    const last = JSON.parse(lines[lines.length - 1]!);
    expect(last.error.offset).toBe(whole.length);
  });

  it("a record header cut short: the offset of the partial header", () => {
    const whole = pcapOf(session());
    const run = replay(tmp.file("short-header.pcap", Buffer.concat([whole, Buffer.alloc(7)])));
    expect(run.code).toBe(1);
    expect(run.records).toHaveLength(2);
    expect(run.stderr).toContain(`byte offset ${whole.length}`);
  });

  it("head -c: a real truncation in the middle of a record", () => {
    const whole = pcapOf(session());
    const path = tmp.file("whole.pcap", whole);
    const cutPath = tmp.path("head-c.pcap");
    // The third record (offset 24 + 2 records) loses its last byte.
    const third =
      24 +
      session()
        .slice(0, 2)
        .reduce((n, f) => n + 16 + f.data.length, 0);
    const keep = third + 16 + session()[2]!.data.length - 1;
    execFileSync("sh", ["-c", `head -c ${keep} "$1" > "$2"`, "sh", path, cutPath]);
    const run = replay(cutPath);
    expect(run.code).toBe(1);
    expect(run.summary!.packets).toBe(2);
    expect(run.stderr).toContain(`byte offset ${third}`);
    // The SYN and SYN-ACK made it: the flow is written.
    expect(get(findFlow(run.records, "tcp", 50000, 443)[0]!, "network.packets")).toBe(2);
  });

  it("truncated last pcapng block: earlier flows written, exit 1, the offset named", () => {
    const w = new PcapngWriter().section().interface(LinkType.ETHERNET);
    for (const f of session()) {
      w.epb(0, BigInt(Math.round((1_700_000_000 + f.t) * 1e6)), f.data);
    }
    const offset = w.length;
    const tail = new PcapngWriter().section().interface(LinkType.ETHERNET);
    const before = tail.length;
    tail.epb(0, 0n, Buffer.alloc(100));
    const block = tail.toBuffer().subarray(before);
    const file = Buffer.concat([w.toBuffer(), block.subarray(0, block.length - 10)]);
    const run = replay(tmp.file("truncated.pcapng", file));
    expect(run.code).toBe(1);
    expect(run.records).toHaveLength(2);
    expect(run.stderr).toContain(`byte offset ${offset}`);
    expect(run.summary!.error!.offset).toBe(offset);
  });

  it("a corrupt record length mid-file: flows before it written, exit 1", () => {
    const frames = session();
    const first = pcapOf(frames.slice(0, 3));
    const bad = pcapRecord({
      tsSec: 1_700_000_000,
      tsFrac: 0,
      data: Buffer.alloc(40),
      inclLen: 0x7fffffff,
    });
    const run = replay(tmp.file("corrupt.pcap", Buffer.concat([first, bad])));
    expect(run.code).toBe(1);
    expect(run.records).toHaveLength(1);
    expect(run.stderr).toContain(`byte offset ${first.length}`);
  });

  it("an unsupported link type is exit 2, naming the number and the name", () => {
    for (const [network, name] of [
      [147, "USER0"],
      [105, "IEEE802_11"],
      [9, "PPP"],
    ] as const) {
      const run = replay(tmp.file(`lt${network}.pcap`, pcapOf(session(), { network })));
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain(String(network));
      expect(run.stderr).toContain(name);
      expect(run.stdout).toBe("");
      expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
    }
    const unknown = replay(tmp.file("lt4242.pcap", pcapOf(session(), { network: 4242 })));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("4242");
  });

  it("a file that is not a capture is exit 1 with a clear message", () => {
    const cases: [string, Buffer, RegExp][] = [
      ["text.pcap", Buffer.from("this is not a capture file\n"), /not a pcap or pcapng file/],
      ["empty.pcap", Buffer.alloc(0), /empty/],
      ["tiny.pcap", Buffer.from([0xd4, 0xc3]), /not a pcap or pcapng file/],
    ];
    for (const [name, data, message] of cases) {
      const run = replay(tmp.file(name, data));
      expect(run.code, `${name}: ${run.stderr}`).toBe(1);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toContain(name);
      expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(run.stdout).toBe("");
    }
  });

  it("a gzipped capture: told to decompress it first", () => {
    const path = tmp.file("gz.pcap", pcapOf(session()));
    execFileSync("gzip", ["-f", "-k", path]);
    const run = replay(`${path}.gz`);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/gzip/);
    expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
  });

  it("a missing file is exit 1 without a stack trace", () => {
    const path = tmp.path("does-not-exist.pcap");
    const run = replay(path);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(path);
    expect(run.stderr).toMatch(/ENOENT|no such file/i);
    expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
  });

  it("a directory is exit 1 without a stack trace", () => {
    const run = replay(tmp.dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(tmp.dir);
    expect(run.stderr).toContain("is a directory");
    expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
  });
});

describe("standard input and determinism", () => {
  /** Many flows, enough bytes to need several pipe reads. */
  function busy(): Buffer {
    const frames: TimedFrame[] = [];
    for (let i = 0; i < 1500; i++) {
      const sport = 20000 + (i % 300);
      frames.push({
        t: i * 0.01,
        data: ethernet(
          ipv4(
            { src: "192.168.1.64", dst: `203.0.113.${i % 7}` },
            udp(sport, 443, Buffer.alloc(100)),
          ),
        ),
      });
      if (i % 3 === 0) {
        frames.push({
          t: i * 0.01 + 0.001,
          data: ethernet(
            ipv4(
              { src: `203.0.113.${i % 7}`, dst: "192.168.1.64" },
              udp(443, sport, Buffer.alloc(200)),
            ),
          ),
        });
      }
    }
    return pcapOf(frames);
  }

  it("cat FILE | egressd replay - gives the same records as the path", () => {
    const path = tmp.file("busy.pcap", busy());
    const direct = replay(path);
    const piped = replayStdin(path);
    expectClean(direct);
    expectClean(piped);
    expect(direct.records.length).toBeGreaterThan(100);
    expect(piped.stdout).toBe(direct.stdout);
    expect(piped.summary!.packets).toBe(direct.summary!.packets);
  });

  it("egressd replay - < FILE (stdin is a regular file) gives the same records", () => {
    const path = tmp.file("busy-redirect.pcap", busy());
    const direct = replay(path);
    const redirected = replayStdin(path, [], true);
    expectClean(redirected);
    expect(redirected.stdout).toBe(direct.stdout);
  });

  it("stdin damage is reported like file damage", () => {
    const whole = busy();
    const path = tmp.file("busy-cut.pcap", whole.subarray(0, whole.length - 3));
    const direct = replay(path);
    const piped = replayStdin(path);
    expect(direct.code).toBe(1);
    expect(piped.code).toBe(1);
    expect(piped.stdout).toBe(direct.stdout);
    expect(piped.summary!.error).toEqual(direct.summary!.error);
  });

  it("two runs give byte-identical output", () => {
    const path = tmp.file("determinism.pcap", busy());
    const args = ["--max-flows", "50", "--timeouts", "udp=2"];
    const a = replay(path, args);
    const b = replay(path, args);
    expectClean(a);
    expect(a.stdout.length).toBeGreaterThan(0);
    expect(b.stdout).toBe(a.stdout);
    expect(a.summary!.flows_evicted).toBeGreaterThan(0);
  });
});
