/**
 * Shared pieces of the decoder tests: a test frame is the bytes of one captured packet
 * (a hex literal with `#` comments marking the layers) plus what `tcpdump -nn -e -v -r`
 * prints for it, gopacket style. The tcpdump lines were not typed by hand: every frame was
 * written into a pcap with test/helpers/capture-writer.ts and read by tcpdump 4.99.3
 * (libpcap 1.10.3) with TZ=UTC. `tcpdumpAgrees()` repeats that when tcpdump 4.99 is
 * installed, so a frame and its annotation cannot drift apart.
 *
 * Every frame is stamped 2024-03-14T09:26:53.589793Z, hence the time in the lines.
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LinkType, type RawPacket } from "../../src/capture/source.js";
import { ANOMALY_KINDS, AnomalyCounters } from "../../src/decode/anomalies.js";
import { type DecodedPacket, IpProto } from "../../src/decode/packet.js";
import { DECODE_NOT_IP, DECODE_OK, PacketParser } from "../../src/decode/parser.js";
import { pcapFile } from "../helpers/capture-writer.js";
import { ethernet, icmp, ipv4, ipv6, tcp, udp } from "../helpers/packets.js";

export interface Frame {
  /** LINKTYPE_* of the pcap the frame was captured in. */
  linkType: number;
  /** What `TZ=UTC tcpdump -nn -e -v -r` printed for the frame, line by line. */
  tcpdump: string[];
  /** The captured bytes. */
  bytes: Buffer;
  /** Wire length when the snaplen cut the frame (default: the captured length). */
  origLen?: number;
  /** The pcap header's snaplen (default 262144). */
  snapLen?: number;
}

export const FRAME_TIME = { sec: 1710408413, usec: 589793 } as const;

/** The frame as the capture layer hands it over: inside a bigger buffer, at an offset. */
export function rawPacket(f: Frame, bufferOffset = 7): RawPacket {
  const buf = Buffer.alloc(bufferOffset + f.bytes.length + 9, 0xee);
  f.bytes.copy(buf, bufferOffset);
  return {
    buf,
    offset: bufferOffset,
    capLen: f.bytes.length,
    origLen: f.origLen ?? f.bytes.length,
    tsSec: FRAME_TIME.sec,
    tsNsec: FRAME_TIME.usec * 1000,
    linkType: f.linkType,
    interfaceId: 0,
    recordOffset: 24,
  };
}

export interface Decoded {
  /** DECODE_OK, DECODE_NOT_IP, or the anomaly's name. */
  status: "ok" | "not_ip" | string;
  pkt: DecodedPacket;
  /** Offset of the frame in `raw.buf`: decoded offsets are relative to the buffer. */
  base: number;
  raw: RawPacket;
  /** Anomalies the parser counted on the side (truncated_icmp_quote) by name. */
  counted: Record<string, number>;
}

/** Decodes `f` with `parser` (a fresh one by default). */
export function decode(f: Frame, parser = new PacketParser(new AnomalyCounters())): Decoded {
  const raw = rawPacket(f);
  const code = parser.decode(raw);
  const status =
    code === DECODE_OK ? "ok" : code === DECODE_NOT_IP ? "not_ip" : (ANOMALY_KINDS[code] ?? "?");
  return { status, pkt: parser.pkt, base: raw.offset, raw, counted: parser.anomalies.toObject() };
}

/** An IPv4 address as the decoder stores it: one 32-bit word, network order, unsigned. */
export function v4word(addr: string): number {
  const [a, b, c, d] = addr.split(".").map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** An IPv6 address as four 32-bit words. */
export function v6words(addr: string): [number, number, number, number] {
  const [head, tail] = addr.includes("::") ? addr.split("::") : [addr, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = [...h, ...new Array(8 - h.length - t.length).fill("0"), ...t].map((g) =>
    Number.parseInt(g, 16),
  );
  const w = (i: number) => ((groups[i]! << 16) | groups[i + 1]!) >>> 0;
  return [w(0), w(2), w(4), w(6)];
}

export function srcWords(p: DecodedPacket): number[] {
  return [p.src0, p.src1, p.src2, p.src3];
}

export function dstWords(p: DecodedPacket): number[] {
  return [p.dst0, p.dst1, p.dst2, p.dst3];
}

export function quoteSrcWords(p: DecodedPacket): number[] {
  return [p.quoteSrc0, p.quoteSrc1, p.quoteSrc2, p.quoteSrc3];
}

export function quoteDstWords(p: DecodedPacket): number[] {
  return [p.quoteDst0, p.quoteDst1, p.quoteDst2, p.quoteDst3];
}

/** IPv4 addresses occupy word 3; words 0-2 are zero. */
export function v4(addr: string): number[] {
  return [0, 0, 0, v4word(addr)];
}

/**
 * The fields of a DecodedPacket that mean something for this packet (the rest may hold a
 * previous packet's values, which is allowed: e.g. tcpSeq is only read for TCP).
 */
export function meaningful(p: DecodedPacket): Record<string, unknown> {
  const v: Record<string, unknown> = {
    srcMacOffset: p.srcMacOffset,
    dstMacOffset: p.dstMacOffset,
    vlanOuter: p.vlanOuter,
    vlanInner: p.vlanInner,
    etherType: p.etherType,
    ipVersion: p.ipVersion,
    isFragment: p.isFragment,
    isLaterFragment: p.isLaterFragment,
    hasPorts: p.hasPorts,
    icmpType: p.icmpType,
    icmpCode: p.icmpCode,
    hasQuote: p.hasQuote,
  };
  if (p.ipVersion !== 0) {
    Object.assign(v, {
      ipLength: p.ipLength,
      ttl: p.ttl,
      proto: p.proto,
      src: srcWords(p),
      dst: dstWords(p),
      l4Offset: p.l4Offset,
      l4End: p.l4End,
    });
  }
  if (p.isFragment) v.fragmentId = p.fragmentId;
  if (p.hasPorts || p.icmpType >= 0) {
    Object.assign(v, {
      payloadOffset: p.payloadOffset,
      payloadLength: p.payloadLength,
      payloadCaptured: p.payloadCaptured,
    });
  }
  if (p.hasPorts) Object.assign(v, { srcPort: p.srcPort, dstPort: p.dstPort });
  if (p.hasPorts && p.proto === IpProto.TCP) {
    Object.assign(v, {
      tcpFlags: p.tcpFlags,
      tcpSeq: p.tcpSeq,
      tcpAck: p.tcpAck,
      tcpWindow: p.tcpWindow,
    });
  }
  if (p.hasQuote) {
    Object.assign(v, {
      quoteIpVersion: p.quoteIpVersion,
      quoteProto: p.quoteProto,
      quoteSrc: quoteSrcWords(p),
      quoteDst: quoteDstWords(p),
      quoteSrcPort: p.quoteSrcPort,
      quoteDstPort: p.quoteDstPort,
    });
  }
  return v;
}

/**
 * Packets that set nearly every field of the reused DecodedPacket: decoding a frame right
 * after one of them must give the same meaningful fields as decoding it first.
 */
const POISON: Frame[] = [
  {
    // QinQ, IPv4 first fragment carrying an ICMP port unreachable that quotes UDP.
    linkType: LinkType.ETHERNET,
    tcpdump: [],
    bytes: ethernet(
      ipv4(
        { src: "10.9.9.9", dst: "10.8.8.8" },
        icmp(
          3,
          3,
          Buffer.concat([
            Buffer.alloc(4),
            ipv4({ src: "10.8.8.8", dst: "10.7.7.7" }, udp(1111, 2222, Buffer.alloc(4))),
          ]),
        ),
        { moreFragments: true, id: 0x7777, ttl: 3 },
      ),
      {
        tags: [
          [0x88a8, 901],
          [0x8100, 902],
        ],
      },
    ),
  },
  {
    // 802.1Q, IPv6 TCP with options and payload.
    linkType: LinkType.ETHERNET,
    tcpdump: [],
    bytes: ethernet(
      ipv6(
        { src: "2001:db8::9", dst: "2001:db8::8" },
        tcp({
          sport: 3333,
          dport: 4444,
          flags: "SAFRPUEC",
          seq: 0xfffffff0,
          ack: 0xeeeeeeee,
          options: Buffer.alloc(8, 1),
          payload: Buffer.alloc(77),
        }),
      ),
      { tags: [[0x8100, 903]] },
    ),
  },
];

/** Decodes `f` right after each poison packet, with the same parser. */
export function decodeAfterOthers(f: Frame): Decoded[] {
  return POISON.map((poison) => {
    const parser = new PacketParser(new AnomalyCounters());
    expect(parser.decode(rawPacket(poison))).toBe(DECODE_OK);
    return decode(f, parser);
  });
}

/** Standard checks every frame gets: same meaning after other packets, offsets in bounds. */
export function sharedChecks(frames: Record<string, Frame>): void {
  describe("the reused DecodedPacket", () => {
    for (const [name, f] of Object.entries(frames)) {
      it(`${name}: decodes the same after other packets`, () => {
        const fresh = decode(f);
        for (const after of decodeAfterOthers(f)) {
          expect(after.status).toBe(fresh.status);
          if (fresh.status === "ok" || fresh.status === "not_ip") {
            expect(meaningful(after.pkt)).toEqual(meaningful(fresh.pkt));
          }
        }
      });
    }
  });
}

export { IpProto };

function tcpdumpVersion(): string | undefined {
  try {
    const out = execFileSync("tcpdump", ["--version"], { stdio: ["ignore", "pipe", "pipe"] });
    return /tcpdump version (\S+)/.exec(out.toString())?.[1];
  } catch {
    return undefined;
  }
}

/** Output differs a little between tcpdump releases; the annotations are from 4.99. */
const TCPDUMP = tcpdumpVersion();
const TCPDUMP_MATCHES = TCPDUMP?.startsWith("4.99.") ?? false;

/**
 * Adds one test per frame checking that tcpdump still prints the annotated lines for the
 * bytes (skipped when tcpdump 4.99 is not installed).
 */
export function tcpdumpAgrees(frames: Record<string, Frame>): void {
  describe.skipIf(!TCPDUMP_MATCHES)(`tcpdump ${TCPDUMP ?? "(not installed)"} agrees`, () => {
    for (const [name, f] of Object.entries(frames)) {
      it(`prints the annotated lines for ${name}`, () => {
        const dir = mkdtempSync(join(tmpdir(), "egressd-tcpdump-"));
        try {
          const file = join(dir, `${name}.pcap`);
          writeFileSync(
            file,
            pcapFile({ network: f.linkType, snapLen: f.snapLen ?? 262144 }, [
              {
                tsSec: FRAME_TIME.sec,
                tsFrac: FRAME_TIME.usec,
                data: f.bytes,
                origLen: f.origLen ?? f.bytes.length,
              },
            ]),
          );
          const out = execFileSync("tcpdump", ["-nn", "-e", "-v", "-r", file], {
            env: { ...process.env, TZ: "UTC" },
            stdio: ["ignore", "pipe", "pipe"],
          }).toString();
          expect(out.split("\n").filter((l) => l !== "")).toEqual(f.tcpdump);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  });
}
