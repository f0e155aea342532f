import { describe, expect, it } from "vitest";
import { streamInput } from "../../src/capture/byte-input.js";
import { PcapngReader } from "../../src/capture/pcapng-file.js";
import { CaptureFormatError, LinkType } from "../../src/capture/source.js";
import { chunked, collectingSink, frame, PcapngWriter } from "../helpers/capture-writer.js";

async function read(file: Buffer, chunk = 1 << 20, bufferSize?: number) {
  const reader = new PcapngReader(streamInput("test", chunked(file, chunk)), { bufferSize });
  const sink = collectingSink();
  const result = await reader.run(sink);
  return { sink, result, reader };
}

/** The reference conversion, in BigInt: ticks at resolution `tsresol` to [sec, nsec]. */
function expected(ticks: bigint, tsresol = 6, offsetSec = 0n): [number, number] {
  const exp = BigInt(tsresol & 0x7f);
  const perSec = tsresol & 0x80 ? 1n << exp : 10n ** exp;
  const sec = ticks / perSec + offsetSec;
  const nsec = ((ticks % perSec) * 1_000_000_000n) / perSec;
  return [Number(sec), Number(nsec)];
}

const NOW_NS = 1_700_000_000_123_456_789n;

describe("PcapngReader", () => {
  for (const littleEndian of [true, false]) {
    it(`reads a ${littleEndian ? "little" : "big"}-endian section`, async () => {
      const w = new PcapngWriter()
        .section(littleEndian)
        .interface(LinkType.ETHERNET, { snapLen: 9000 });
      const offsets: number[] = [];
      for (let i = 0; i < 3; i++) {
        offsets.push(w.length);
        w.epb(0, 1_700_000_000_000_000n + BigInt(i) * 1_000_001n, frame(i, 60 + i), 1000 + i);
      }
      const file = w.toBuffer();
      const { sink, result, reader } = await read(file);
      expect(result).toEqual({ packets: 3, bytesRead: file.length });
      expect(reader.bytesRead).toBe(file.length);
      expect(sink.interfaces).toEqual([{ id: 0, linkType: LinkType.ETHERNET, snapLen: 9000 }]);
      expect(sink.packets.map((p) => [p.tsSec, p.tsNsec])).toEqual([
        [1_700_000_000, 0],
        [1_700_000_001, 1_000],
        [1_700_000_002, 2_000],
      ]);
      for (const [i, p] of sink.packets.entries()) {
        expect(p.data).toEqual(frame(i, 60 + i));
        expect(p).toMatchObject({
          capLen: 60 + i,
          origLen: 1000 + i,
          linkType: LinkType.ETHERNET,
          interfaceId: 0,
          recordOffset: offsets[i],
        });
      }
    });
  }

  it("converts each interface's timestamps with its own resolution and offset", async () => {
    const ifaces = [
      { linkType: LinkType.ETHERNET, tsresol: undefined, ticks: NOW_NS / 1000n },
      { linkType: LinkType.RAW, tsresol: 9, ticks: NOW_NS },
      { linkType: LinkType.LINUX_SLL, tsresol: 3, ticks: NOW_NS / 1_000_000n },
      { linkType: LinkType.NULL, tsresol: 0x80 | 20, ticks: (NOW_NS << 20n) / 1_000_000_000n },
      { linkType: LinkType.IPV4, tsresol: 0x80 | 30, ticks: (NOW_NS << 30n) / 1_000_000_000n },
      { linkType: LinkType.IPV6, tsresol: 0x80 | 5, ticks: (NOW_NS << 5n) / 1_000_000_000n },
      { linkType: LinkType.LINUX_SLL2, tsresol: 0, ticks: NOW_NS / 1_000_000_000n },
      // Slower paths: finer than a nanosecond, and binary fractions beyond 2^-32. 64 bits
      // of such ticks only reach months past the epoch (hardware clocks counting from boot).
      { linkType: LinkType.LOOP, tsresol: 12, ticks: 10_000_000_123_456_789_012n },
      {
        linkType: LinkType.RAW_BSD,
        tsresol: 0x80 | 40,
        ticks: (10_000_000n << 40n) + 123_456_789n,
      },
    ];
    const w = new PcapngWriter().section();
    for (const i of ifaces) w.interface(i.linkType, { tsresol: i.tsresol });
    // A microsecond interface moved by if_tsoffset.
    w.interface(LinkType.ETHERNET, { tsoffset: -3600n });
    // Each interface gets a run of packets crossing 2^32-tick boundaries.
    const want: [number, number, number][] = [];
    for (let round = 0; round < 3; round++) {
      for (const [id, i] of ifaces.entries()) {
        const ticks = i.ticks + BigInt(round) * 0x1_0000_0001n;
        w.epb(id, ticks, frame(id));
        want.push([id, ...expected(ticks, i.tsresol ?? 6)]);
      }
      const ticks = NOW_NS / 1000n + BigInt(round);
      w.epb(ifaces.length, ticks, frame(99));
      want.push([ifaces.length, ...expected(ticks, 6, -3600n)]);
    }
    const { sink, result } = await read(w.toBuffer());
    expect(result.error).toBeUndefined();
    expect(sink.interfaces.map((i) => [i.id, i.linkType])).toEqual([
      ...ifaces.map((i, id) => [id, i.linkType]),
      [ifaces.length, LinkType.ETHERNET],
    ]);
    expect(sink.packets.map((p) => [p.interfaceId, p.tsSec, p.tsNsec])).toEqual(want);
    for (const p of sink.packets) {
      expect(p.linkType).toBe(sink.interfaces[p.interfaceId]!.linkType);
    }
  });

  it("is exact at the ends of the 64-bit range", async () => {
    const cases: [number | undefined, bigint][] = [
      [9, 0n],
      [9, 0xffff_ffff_ffff_ffffn],
      [9, 0xffff_ffffn],
      [9, 0x1_0000_0000n],
      [6, 0xffff_ffff_ffff_ffffn],
      [undefined, 0x1f_ffff_ffff_ffffn],
      [0x80 | 32, 0xffff_ffff_ffff_ffffn],
    ];
    const w = new PcapngWriter().section();
    for (const [id, [tsresol, ticks]] of cases.entries()) {
      w.interface(1, { tsresol }).epb(id, ticks, frame(id));
    }
    const { sink } = await read(w.toBuffer());
    expect(sink.packets.map((p) => [p.tsSec, p.tsNsec])).toEqual(
      cases.map(([tsresol, ticks]) => expected(ticks, tsresol ?? 6)),
    );
  });

  it("reads simple and obsolete packet blocks", async () => {
    const w = new PcapngWriter()
      .section()
      .interface(LinkType.RAW, { snapLen: 100, tsresol: 9 })
      .interface(LinkType.ETHERNET);
    w.spb(frame(0, 40)); // before any timestamp
    w.pb(1, 1_700_000_000_000_001n, frame(1, 70), 80);
    const spbOffset = w.length;
    w.spb(frame(2, 200), 200); // cut to the snaplen
    w.spb(frame(3, 50), 1500); // cut to what the block holds
    w.epb(0, NOW_NS, frame(4));
    w.spb(frame(5, 10), 3); // original length below the block's data
    const { sink, result } = await read(w.toBuffer());
    expect(result.error).toBeUndefined();
    expect(
      sink.packets.map((p) => [p.interfaceId, p.linkType, p.tsSec, p.tsNsec, p.capLen, p.origLen]),
    ).toEqual([
      [0, LinkType.RAW, 0, 0, 40, 40],
      [1, LinkType.ETHERNET, 1_700_000_000, 1_000, 70, 80],
      [0, LinkType.RAW, 1_700_000_000, 1_000, 100, 200],
      [0, LinkType.RAW, 1_700_000_000, 1_000, 52, 1500],
      [0, LinkType.RAW, 1_700_000_000, 123_456_789, 60, 60],
      [0, LinkType.RAW, 1_700_000_000, 123_456_789, 3, 3],
    ]);
    expect(sink.packets[2]!.recordOffset).toBe(spbOffset);
    expect(sink.packets[2]!.data).toEqual(frame(2, 200).subarray(0, 100));
  });

  it("skips other block types", async () => {
    const w = new PcapngWriter().section(false, [[4, Buffer.from("a comment")]]);
    w.block(4, Buffer.alloc(20)); // name resolution
    w.interface(LinkType.ETHERNET, {
      extraOptions: [
        [2, Buffer.from("eth0")],
        [3, Buffer.from("a description that is long")],
      ],
    });
    w.block(5, Buffer.alloc(24)); // interface statistics
    w.epb(0, 5n, frame(0));
    w.block(0x40000bad, Buffer.alloc(0)); // custom, empty
    w.block(10, Buffer.alloc(100)); // decryption secrets
    w.epb(0, 6n, frame(1));
    const { sink, result } = await read(w.toBuffer());
    expect(result.error).toBeUndefined();
    expect(sink.packets.map((p) => p.tsNsec)).toEqual([5000, 6000]);
  });

  it("restarts byte order and interface ids with each section", async () => {
    const w = new PcapngWriter()
      .section(true)
      .interface(LinkType.ETHERNET)
      .interface(LinkType.RAW, { tsresol: 9 })
      .epb(1, NOW_NS, frame(0))
      .epb(0, 1n, frame(1))
      .section(false)
      .interface(LinkType.LINUX_SLL2, { tsresol: 3 })
      .epb(0, 2000n, frame(2))
      .interface(LinkType.NULL)
      .epb(1, 3n, frame(3))
      .section(true)
      .interface(LinkType.IPV4)
      .epb(0, 4n, frame(4));
    const { sink, result } = await read(w.toBuffer(), 13, 64);
    expect(result).toMatchObject({ packets: 5 });
    expect(result.error).toBeUndefined();
    expect(sink.events).toEqual(["if0", "if1", "p1", "p0", "if0", "p0", "if1", "p1", "if0", "p0"]);
    expect(sink.interfaces.map((i) => i.linkType)).toEqual([
      LinkType.ETHERNET,
      LinkType.RAW,
      LinkType.LINUX_SLL2,
      LinkType.NULL,
      LinkType.IPV4,
    ]);
    expect(sink.packets.map((p) => [p.linkType, p.tsSec, p.tsNsec])).toEqual([
      [LinkType.RAW, 1_700_000_000, 123_456_789],
      [LinkType.ETHERNET, 0, 1000],
      [LinkType.LINUX_SLL2, 2, 0],
      [LinkType.NULL, 0, 3000],
      [LinkType.IPV4, 0, 4000],
    ]);
  });

  it("parses blocks that straddle reads and outgrow the buffer", async () => {
    const w = new PcapngWriter().section(false).interface(1, { tsresol: 9 });
    for (let i = 0; i < 150; i++) {
      if (i % 50 === 0) w.section(i % 100 === 0).interface(1, { tsresol: 9 });
      w.epb(0, NOW_NS + BigInt(i) * 987_654_321n, frame(i, 1 + ((i * 53) % 400)));
      if (i % 7 === 0) w.spb(frame(i, 33));
    }
    const file = w.toBuffer();
    const whole = await read(file);
    expect(whole.result.error).toBeUndefined();
    for (const [chunk, bufferSize] of [
      [1, 64],
      [5, 100],
      [12, 12],
      [64, 4096],
    ] as const) {
      const { sink, result } = await read(file, chunk, bufferSize);
      expect(result).toEqual({ packets: whole.result.packets, bytesRead: file.length });
      expect(sink.packets).toEqual(whole.sink.packets);
    }
  });

  describe("damage", () => {
    function withBadBlock(bad: (w: PcapngWriter) => void) {
      const w = new PcapngWriter().section().interface(1).epb(0, 1n, frame(0));
      const offset = w.length;
      bad(w);
      w.epb(0, 2n, frame(1));
      return { file: w.toBuffer(), offset };
    }

    async function expectDamage(file: Buffer, offset: number, packets: number, message: RegExp) {
      for (const chunk of [1 << 20, 3]) {
        const { sink, result } = await read(file, chunk, 64);
        expect(sink.packets).toHaveLength(packets);
        expect(result.packets).toBe(packets);
        expect(result.error).toBeInstanceOf(CaptureFormatError);
        expect(result.error!.offset).toBe(offset);
        expect(result.error!.message).toMatch(message);
        expect(result.error!.message).toContain(`byte offset ${offset}`);
      }
    }

    it("stops at a truncated last block", async () => {
      const w = new PcapngWriter().section().interface(1).epb(0, 1n, frame(0));
      const offset = w.length;
      w.epb(0, 2n, frame(1, 1514));
      const file = w.toBuffer();
      await expectDamage(file.subarray(0, offset + 300), offset, 1, /^truncated block at/);
      await expectDamage(file.subarray(0, offset + 5), offset, 1, /^truncated block header/);
      await expectDamage(file.subarray(0, file.length - 1), offset, 1, /header says 1560 bytes/);
    });

    it("rejects block lengths that are not a multiple of 4, too small or absurd", async () => {
      for (const total of [13, 30, 8, 0, 0x7ffffff0]) {
        const { file, offset } = withBadBlock((w) => {
          const b = Buffer.alloc(32);
          b.writeUInt32LE(5, 0);
          b.writeUInt32LE(total, 4);
          w.raw(b);
        });
        await expectDamage(file, offset, 1, /^corrupt block at byte offset \d+: length/);
      }
    });

    it("rejects a trailer that differs from the leading length", async () => {
      const { file, offset } = withBadBlock((w) => {
        const b = new PcapngWriter().section().epb(0, 2n, frame(9)).toBuffer().subarray(28);
        b.writeUInt32LE(b.length + 4, b.length - 4);
        w.raw(b);
      });
      await expectDamage(file, offset, 1, /trailing length/);
    });

    it("rejects a captured length that does not fit in the block", async () => {
      const { file, offset } = withBadBlock((w) => w.epb(0, 2n, frame(9, 60), 60, 100));
      await expectDamage(file, offset, 1, /captured length 100 does not fit/);
    });

    it("rejects packets for undeclared interfaces", async () => {
      const { file, offset } = withBadBlock((w) => w.epb(1, 2n, frame(9)));
      await expectDamage(file, offset, 1, /interface 1 is not declared/);
      const spb = new PcapngWriter().section().spb(frame(0)).toBuffer();
      await expectDamage(spb, 28, 0, /interface 0 is not declared/);
    });

    it("rejects a bad byte-order magic and a missing section header", async () => {
      const { file, offset } = withBadBlock((w) => {
        const shb = new PcapngWriter().section().toBuffer();
        shb.writeUInt32LE(0x12345678, 8);
        w.raw(shb);
      });
      await expectDamage(file, offset, 1, /bad byte-order magic/);
      const noShb = new PcapngWriter().section().interface(1).toBuffer().subarray(28);
      await expectDamage(noShb, 0, 0, /before any section header/);
    });

    it("rejects an interface option running past its block", async () => {
      const { file, offset } = withBadBlock((w) => {
        const idb = new PcapngWriter()
          .section()
          .interface(1, { tsresol: 9 })
          .toBuffer()
          .subarray(28);
        idb.writeUInt16LE(200, 18); // the if_tsresol option's length
        w.raw(idb);
      });
      await expectDamage(file, offset, 1, /option 9 runs past the block end/);
    });
  });
});
