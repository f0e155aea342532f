import { describe, expect, it } from "vitest";
import { streamInput } from "../../src/capture/byte-input.js";
import { PcapReader } from "../../src/capture/pcap-file.js";
import { CaptureFormatError, LinkType } from "../../src/capture/source.js";
import {
  chunked,
  collectingSink,
  frame,
  type PcapRecord,
  pcapFile,
  pcapHeader,
  pcapRecord,
} from "../helpers/capture-writer.js";

/** Reads `file` as if it came through a pipe in `chunk`-byte pieces. */
async function read(file: Buffer, chunk = 1 << 20, bufferSize?: number) {
  const reader = new PcapReader(streamInput("test", chunked(file, chunk)), { bufferSize });
  const sink = collectingSink();
  const result = await reader.run(sink);
  return { sink, result, reader };
}

const records: PcapRecord[] = [
  { tsSec: 1700000000, tsFrac: 0, data: frame(0, 60) },
  { tsSec: 1700000000, tsFrac: 999_999, data: frame(1, 1514) },
  { tsSec: 1700000001, tsFrac: 123_456, data: frame(2, 61), origLen: 1000 },
  { tsSec: 4294967295, tsFrac: 1, data: frame(3, 1) },
];

describe("PcapReader", () => {
  for (const littleEndian of [true, false]) {
    for (const nanos of [false, true]) {
      it(`reads ${littleEndian ? "little" : "big"}-endian ${nanos ? "nanosecond" : "microsecond"} files`, async () => {
        const recs = nanos ? records.map((r) => ({ ...r, tsFrac: r.tsFrac * 1000 + 7 })) : records;
        const file = pcapFile({ littleEndian, nanos, network: LinkType.RAW, snapLen: 2000 }, recs);
        const { sink, result, reader } = await read(file);

        expect(result).toEqual({ packets: 4, bytesRead: file.length });
        expect(reader.bytesRead).toBe(file.length);
        expect(sink.interfaces).toEqual([{ id: 0, linkType: LinkType.RAW, snapLen: 2000 }]);
        expect(sink.events[0]).toBe("if0");
        const ns = (frac: number) => (nanos ? frac * 1000 + 7 : frac * 1000);
        expect(sink.packets.map((p) => [p.tsSec, p.tsNsec])).toEqual(
          records.map((r) => [r.tsSec, ns(r.tsFrac)]),
        );
        let offset = 24;
        for (const [i, p] of sink.packets.entries()) {
          const r = records[i]!;
          expect(p.data).toEqual(Buffer.from(r.data));
          expect(p.capLen).toBe(r.data.length);
          expect(p.origLen).toBe(r.origLen ?? r.data.length);
          expect(p.linkType).toBe(LinkType.RAW);
          expect(p.interfaceId).toBe(0);
          expect(p.recordOffset).toBe(offset);
          offset += 16 + r.data.length;
        }
      });
    }
  }

  it("takes the link type from the low 16 bits of the network field", async () => {
    // FCS present (bit 28) with a 4-byte FCS length (bits 29-31).
    const network = 0x10000000 | (2 << 29) | LinkType.ETHERNET;
    const { sink } = await read(pcapFile({ network }, records));
    expect(sink.interfaces[0]!.linkType).toBe(LinkType.ETHERNET);
    expect(sink.packets[0]!.linkType).toBe(LinkType.ETHERNET);
  });

  it("carries an out-of-range fraction into the seconds", async () => {
    const { sink } = await read(pcapFile({}, [{ tsSec: 10, tsFrac: 2_500_000, data: frame(0) }]));
    expect([sink.packets[0]!.tsSec, sink.packets[0]!.tsNsec]).toEqual([12, 500_000_000]);
  });

  it("accepts records longer than the snaplen or the original length", async () => {
    const file = pcapFile({ snapLen: 64 }, [
      { tsSec: 1, tsFrac: 0, data: frame(0, 100), origLen: 80 },
    ]);
    const { sink, result } = await read(file);
    expect(result.error).toBeUndefined();
    expect(sink.packets[0]).toMatchObject({ capLen: 100, origLen: 80 });
  });

  it("reads a file with a header and no records", async () => {
    const { sink, result } = await read(pcapHeader());
    expect(result).toEqual({ packets: 0, bytesRead: 24 });
    expect(sink.interfaces).toHaveLength(1);
  });

  it("parses records that straddle reads and outgrow the buffer", async () => {
    const many: PcapRecord[] = [];
    for (let i = 0; i < 200; i++) {
      many.push({ tsSec: i, tsFrac: i * 3, data: frame(i, 1 + ((i * 37) % 300)) });
    }
    const file = pcapFile({ littleEndian: false }, many);
    const whole = await read(file);
    for (const [chunk, bufferSize] of [
      [1, 64],
      [3, 100],
      [7, 4096],
      [16, 16],
      [4096, 300],
    ] as const) {
      const { sink, result } = await read(file, chunk, bufferSize);
      expect(result).toEqual({ packets: 200, bytesRead: file.length });
      expect(sink.packets).toEqual(whole.sink.packets);
    }
  });

  describe("damage", () => {
    const good = pcapFile({}, records);

    it("delivers the packets before a truncated last record", async () => {
      const lastOffset = good.length - 17;
      for (const cut of [1, 5, 16]) {
        const { sink, result } = await read(good.subarray(0, good.length - cut), 5);
        expect(sink.packets).toHaveLength(3);
        expect(result.packets).toBe(3);
        expect(result.error).toBeInstanceOf(CaptureFormatError);
        expect(result.error!.offset).toBe(lastOffset);
      }
      const { result } = await read(good.subarray(0, good.length - 1));
      expect(result.error!.message).toBe(
        `truncated record at byte offset ${lastOffset}: header says 1 bytes, only 0 remain`,
      );
    });

    it("reports a cut record header", async () => {
      const lastOffset = good.length - 17;
      const { sink, result } = await read(good.subarray(0, lastOffset + 5));
      expect(sink.packets).toHaveLength(3);
      expect(result.error!.offset).toBe(lastOffset);
      expect(result.error!.message).toMatch(/^truncated record header at byte offset \d+/);
    });

    it("reports the length the header promised", async () => {
      const file = pcapFile({}, [{ tsSec: 1, tsFrac: 0, data: frame(0, 1514) }]).subarray(
        0,
        24 + 16 + 300,
      );
      const { result } = await read(file);
      expect(result.error!.message).toBe(
        "truncated record at byte offset 24: header says 1514 bytes, only 300 remain",
      );
    });

    it("stops at an impossible record length", async () => {
      const file = Buffer.concat([
        pcapHeader(),
        pcapRecord({ tsSec: 1, tsFrac: 0, data: frame(0) }),
        pcapRecord({ tsSec: 2, tsFrac: 0, data: frame(1), inclLen: 0x7fffffff }),
        pcapRecord({ tsSec: 3, tsFrac: 0, data: frame(2) }),
      ]);
      const { sink, result } = await read(file);
      expect(sink.packets).toHaveLength(1);
      expect(result.packets).toBe(1);
      expect(result.error!.offset).toBe(24 + 16 + 60);
      expect(result.error!.message).toMatch(/^corrupt record at byte offset 100: captured length/);
    });

    it("reports a file shorter than the global header", async () => {
      const { sink, result } = await read(pcapHeader().subarray(0, 10));
      expect(sink.interfaces).toHaveLength(0);
      expect(result.packets).toBe(0);
      expect(result.error).toBeInstanceOf(CaptureFormatError);
      expect(result.error!.offset).toBe(0);
      expect(result.error!.message).toMatch(/truncated file header/);
    });
  });
});
