/**
 * Seeds for the fuzz tests: a deterministic PRNG, valid frames of every supported link
 * type, valid pcap/pcapng files, and the mutations applied to them.
 */

import { LinkType } from "../../src/capture/source.js";
import { PcapngWriter, pcapFile } from "../helpers/capture-writer.js";
import { ethernet, icmp, ipv4, ipv6, macBytes, tcp, udp } from "../helpers/packets.js";

/**
 * Iteration counts are fixed so the suite is deterministic and quick; set
 * EGRESSD_FUZZ_SCALE=20 (and EGRESSD_FUZZ_SEED=n for other sequences) for a deeper run.
 */
export const FUZZ_SCALE = Math.max(1, Number(process.env.EGRESSD_FUZZ_SCALE ?? 1) || 1);
const SEED_OFFSET = Number(process.env.EGRESSD_FUZZ_SEED ?? 0) || 0;

/** A seed, shifted by EGRESSD_FUZZ_SEED when set. */
export function seed(n: number): number {
  return (n + SEED_OFFSET * 0x9e3779b1) >>> 0;
}

/** mulberry32: small, fast, and the same sequence on every machine. */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256);
    return b;
  }

  /** A 32-bit value biased towards the ones that break length checks. */
  interesting32(): number {
    return this.pick([
      0,
      1,
      2,
      3,
      4,
      7,
      8,
      11,
      12,
      16,
      20,
      28,
      32,
      0x7f,
      0x80,
      0xff,
      0x100,
      0xffff,
      0x10000,
      0x7fffffff,
      0x80000000,
      0xfffffffe,
      0xffffffff,
      this.int(0, 0xffffffff),
      this.int(0, 2000),
    ]);
  }

  interesting16(): number {
    return this.pick([
      0,
      1,
      4,
      5,
      7,
      8,
      15,
      19,
      20,
      39,
      40,
      0x5dc,
      0x7fff,
      0x8000,
      0xffff,
      this.int(0, 0xffff),
    ]);
  }
}

export const SUPPORTED_LINK_TYPES = [
  LinkType.NULL,
  LinkType.ETHERNET,
  LinkType.RAW_BSD,
  LinkType.RAW_OPENBSD,
  LinkType.RAW,
  LinkType.LOOP,
  LinkType.LINUX_SLL,
  LinkType.IPV4,
  LinkType.IPV6,
  LinkType.LINUX_SLL2,
] as const;

export interface SeedFrame {
  linkType: number;
  data: Buffer;
}

const V4 = { src: "192.168.1.64", dst: "203.0.113.10" };
const V4R = { src: V4.dst, dst: V4.src };
const V6 = { src: "2001:db8:1::64", dst: "2001:db8:ff::10" };
const V6R = { src: V6.dst, dst: V6.src };

/** IP packets covering every decoder path egressd has. */
function ipPackets(): Buffer[] {
  const payload = Buffer.alloc(24, 0x61);
  const quote4 = ipv4(V4, udp(37000, 514, Buffer.alloc(8)));
  const quote6 = ipv6(V6, tcp({ sport: 50200, dport: 8443, flags: "S" }));
  const ahBody = Buffer.alloc(22);
  return [
    ipv4(V4, tcp({ sport: 50000, dport: 443, flags: "S", options: Buffer.alloc(20, 1) })),
    ipv4(V4R, tcp({ sport: 443, dport: 50000, flags: "SA", payload })),
    ipv4(V4, tcp({ sport: 50000, dport: 443, flags: "FA" })),
    ipv4(V4R, tcp({ sport: 443, dport: 50000, flags: "RA" })),
    ipv4(V4, udp(40000, 53, payload), { options: Buffer.from([0x94, 4, 0, 0]) }),
    ipv4(V4R, udp(53, 40000, payload)),
    ipv4(V4, udp(40001, 5004, Buffer.alloc(40)), { id: 0xbeef, moreFragments: true }),
    ipv4(V4, { proto: 17, bytes: Buffer.alloc(16) }, { id: 0xbeef, fragmentOffset: 24 }),
    ipv4(V4R, icmp(8, 0, Buffer.alloc(12))),
    ipv4(V4, icmp(0, 0, Buffer.alloc(12))),
    ipv4(V4R, icmp(3, 3, Buffer.concat([Buffer.alloc(4), quote4]))),
    ipv4(V4R, icmp(11, 0, Buffer.concat([Buffer.alloc(4), ipv4(V4, icmp(8, 0))]))),
    ipv4(V4, { proto: 47, bytes: Buffer.alloc(8) }),
    ipv6(V6, tcp({ sport: 50100, dport: 443, flags: "S" })),
    ipv6(V6R, tcp({ sport: 443, dport: 50100, flags: "SA", payload })),
    ipv6(V6, udp(40002, 9999, payload), [{ type: 0 }, { type: 60 }, { type: 43 }]),
    ipv6(V6, udp(40003, 5004, Buffer.alloc(40)), [
      { type: 44, body: Buffer.from("0001cafe0001", "hex") },
    ]),
    ipv6(V6, { proto: 17, bytes: Buffer.alloc(16) }, [
      { type: 44, body: Buffer.from("0020cafe0001", "hex") },
    ]),
    ipv6(V6, {
      proto: 51,
      bytes: Buffer.concat([
        Buffer.from([6, 4]),
        ahBody,
        tcp({ sport: 1, dport: 2, flags: "S" }).bytes,
      ]),
    }),
    ipv6(V6R, icmp(1, 4, Buffer.concat([Buffer.alloc(4), quote6]), true)),
    ipv6(V6, icmp(128, 0, Buffer.alloc(8), true)),
    ipv6(V6, icmp(135, 0, Buffer.alloc(20), true)),
  ];
}

function sll(ip: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(4, 0);
  h.writeUInt16BE(1, 2);
  h.writeUInt16BE(6, 4);
  macBytes("44:19:b6:12:34:56").copy(h, 6);
  h.writeUInt16BE(ip[0]! >> 4 === 6 ? 0x86dd : 0x0800, 14);
  return Buffer.concat([h, ip]);
}

function sll2(ip: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(ip[0]! >> 4 === 6 ? 0x86dd : 0x0800, 0);
  h.writeUInt32BE(3, 4);
  h.writeUInt16BE(1, 8);
  h[11] = 6;
  macBytes("00:0d:b9:4a:2c:01").copy(h, 12);
  return Buffer.concat([h, ip]);
}

function loopback(ip: Buffer, networkOrder: boolean, bigEndianHost: boolean): Buffer {
  const h = Buffer.alloc(4);
  const af = ip[0]! >> 4 === 6 ? 30 : 2;
  if (networkOrder || bigEndianHost) h.writeUInt32BE(af);
  else h.writeUInt32LE(af);
  return Buffer.concat([h, ip]);
}

/** Valid frames of every supported link type. */
export function seedFrames(): SeedFrame[] {
  const out: SeedFrame[] = [];
  const arp = Buffer.concat([
    macBytes("ff:ff:ff:ff:ff:ff"),
    macBytes("44:19:b6:12:34:56"),
    Buffer.from("08060001080006040001", "hex"),
    Buffer.alloc(38),
  ]);
  out.push({ linkType: LinkType.ETHERNET, data: arp });
  for (const ip of ipPackets()) {
    const v6 = ip[0]! >> 4 === 6;
    out.push({ linkType: LinkType.ETHERNET, data: ethernet(ip) });
    out.push({ linkType: LinkType.ETHERNET, data: ethernet(ip, { tags: [[0x8100, 20]] }) });
    out.push({
      linkType: LinkType.ETHERNET,
      data: ethernet(ip, {
        tags: [
          [0x88a8, 100],
          [0x8100, 20],
        ],
      }),
    });
    out.push({ linkType: LinkType.LINUX_SLL, data: sll(ip) });
    out.push({ linkType: LinkType.LINUX_SLL2, data: sll2(ip) });
    out.push({ linkType: LinkType.RAW, data: ip });
    out.push({ linkType: v6 ? LinkType.IPV6 : LinkType.IPV4, data: ip });
    out.push({ linkType: LinkType.RAW_BSD, data: ip });
    out.push({ linkType: LinkType.NULL, data: loopback(ip, false, false) });
    out.push({ linkType: LinkType.NULL, data: loopback(ip, false, true) });
    out.push({ linkType: LinkType.LOOP, data: loopback(ip, true, true) });
  }
  return out;
}

/** One mutation of a frame: bit flips, a cut, a corrupted 16-bit field, inserted bytes. */
export function mutateFrame(rng: Rng, data: Buffer): { data: Buffer; how: string } {
  let b = Buffer.from(data);
  const hows: string[] = [];
  const rounds = rng.int(1, 3);
  for (let r = 0; r < rounds; r++) {
    const kind = rng.int(0, 5);
    if (kind === 0 && b.length > 0) {
      const flips = rng.int(1, 8);
      for (let i = 0; i < flips; i++) {
        const at = rng.int(0, b.length - 1);
        b[at]! ^= 1 << rng.int(0, 7);
      }
      hows.push(`flip${flips}`);
    } else if (kind === 1) {
      const cut = rng.int(0, b.length);
      b = b.subarray(0, cut);
      hows.push(`cut${cut}`);
    } else if (kind === 2 && b.length >= 2) {
      // Length fields sit in the first 80 bytes (link, IP, transport headers).
      const at = rng.int(0, Math.min(b.length, 80) - 2);
      const v = rng.interesting16();
      b.writeUInt16BE(v, at);
      hows.push(`u16@${at}=${v}`);
    } else if (kind === 3 && b.length >= 1) {
      const at = rng.int(0, Math.min(b.length, 80) - 1);
      b[at] = rng.pick([0x00, 0x0f, 0x40, 0x41, 0x44, 0x45, 0x4f, 0x50, 0x60, 0xf0, 0xff]);
      hows.push(`u8@${at}=${b[at]}`);
    } else if (kind === 4) {
      const at = rng.int(0, b.length);
      const extra = rng.bytes(rng.int(1, 16));
      b = Buffer.concat([b.subarray(0, at), extra, b.subarray(at)]);
      hows.push(`ins${extra.length}@${at}`);
    } else {
      const at = rng.int(0, b.length);
      b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + rng.int(1, 8)))]);
      hows.push(`del@${at}`);
    }
  }
  return { data: b, how: hows.join(",") };
}

/** A session of frames of one link type with rising timestamps (seconds, microseconds). */
export function sessionFrames(rng: Rng, linkType: number): SeedFrame[] {
  const all = seedFrames().filter((f) => f.linkType === linkType);
  const n = rng.int(2, 8);
  const out: SeedFrame[] = [];
  for (let i = 0; i < n; i++) out.push(rng.pick(all));
  return out;
}

/** Valid capture files: pcap in both byte orders and resolutions, and pcapng variants. */
export function seedFiles(rng: Rng): { name: string; data: Buffer }[] {
  const files: { name: string; data: Buffer }[] = [];
  const linkTypes = [LinkType.ETHERNET, LinkType.RAW, LinkType.LINUX_SLL2, LinkType.NULL];
  for (const littleEndian of [true, false]) {
    for (const nanos of [false, true]) {
      const lt = rng.pick(linkTypes);
      const frames = sessionFrames(rng, lt);
      files.push({
        name: `pcap-${littleEndian ? "le" : "be"}-${nanos ? "ns" : "us"}-${lt}`,
        data: pcapFile(
          { littleEndian, nanos, network: lt, snapLen: 65535 },
          frames.map((f, i) => ({
            tsSec: 1_700_000_000 + i,
            tsFrac: i * 1000 + 7,
            data: f.data,
          })),
        ),
      });
    }
  }
  for (const littleEndian of [true, false]) {
    const w = new PcapngWriter()
      .section(littleEndian, [[4, Buffer.from("fuzz")]])
      .interface(LinkType.ETHERNET, { tsresol: 9, snapLen: 0 })
      .interface(LinkType.RAW, { tsoffset: 10n })
      .interface(LinkType.LINUX_SLL, { tsresol: 0x80 | 20 });
    const eth = sessionFrames(rng, LinkType.ETHERNET);
    const raw = sessionFrames(rng, LinkType.RAW);
    const cooked = sessionFrames(rng, LinkType.LINUX_SLL);
    let t = 1_700_000_000_000_000_000n;
    for (const f of eth) {
      t += 1_000_003n;
      w.epb(0, t, f.data);
    }
    for (const f of raw) w.epb(1, (t / 1000n) % (1n << 60n), f.data, f.data.length + 10);
    for (const f of cooked) w.epb(2, 1_700_000_000n << 20n, f.data);
    w.block(0x0bad, Buffer.alloc(8)); // an unknown block, skipped
    w.spb(eth[0]!.data);
    w.pb(0, 1_700_000_001_000_000_000n, eth[0]!.data);
    // A second section in the other byte order, with its own interfaces.
    w.section(!littleEndian).interface(LinkType.IPV6);
    for (const f of sessionFrames(rng, LinkType.IPV6)) w.epb(0, 1_700_000_002_000_000n, f.data);
    files.push({ name: `pcapng-${littleEndian ? "le" : "be"}`, data: w.toBuffer() });
  }
  return files;
}

/**
 * One mutation of a capture file. Header and length fields are the targets: the file
 * header (pcap magic, version, snaplen, network), record lengths, pcapng block types,
 * block and trailing lengths, interface ids and option lengths.
 */
export function mutateFile(rng: Rng, data: Buffer): { data: Buffer; how: string } {
  let b = Buffer.from(data);
  const hows: string[] = [];
  const rounds = rng.int(1, 3);
  for (let r = 0; r < rounds && b.length > 0; r++) {
    const kind = rng.int(0, 6);
    if (kind <= 1 && b.length >= 4) {
      // A 32-bit field at a 4-aligned offset: every pcap/pcapng length field is one.
      const at = rng.int(0, (b.length >> 2) - 1) * 4;
      const v = rng.interesting32();
      if (rng.chance(0.5)) b.writeUInt32LE(v >>> 0, at);
      else b.writeUInt32BE(v >>> 0, at);
      hows.push(`u32@${at}=${v}`);
    } else if (kind === 2 && b.length >= 2) {
      const at = rng.int(0, (b.length >> 1) - 1) * 2;
      const v = rng.interesting16();
      b.writeUInt16LE(v, at);
      hows.push(`u16@${at}=${v}`);
    } else if (kind === 3) {
      const flips = rng.int(1, 16);
      for (let i = 0; i < flips; i++) b[rng.int(0, b.length - 1)]! ^= 1 << rng.int(0, 7);
      hows.push(`flip${flips}`);
    } else if (kind === 4) {
      const cut = rng.int(0, b.length);
      b = b.subarray(0, cut);
      hows.push(`cut${cut}`);
    } else if (kind === 5) {
      // Duplicate or drop a 4-aligned run: shifts every later block.
      const at = rng.int(0, b.length >> 2) * 4;
      const len = rng.int(1, 8) * 4;
      if (rng.chance(0.5)) {
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
        hows.push(`dup${len}@${at}`);
      } else {
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
        hows.push(`drop${len}@${at}`);
      }
    } else {
      const at = rng.int(0, b.length);
      b = Buffer.concat([b.subarray(0, at), rng.bytes(rng.int(1, 40)), b.subarray(at)]);
      hows.push(`junk@${at}`);
    }
  }
  return { data: b, how: hows.join(",") };
}

export interface FileCase {
  name: string;
  data: Buffer;
  how: string;
}

/** Random and mutated files from one seed. */
export function fileCases(seed: number, n: number): FileCase[] {
  const rng = new Rng(seed);
  const seeds = seedFiles(rng);
  const out: FileCase[] = [];
  for (let i = 0; i < n; i++) {
    const roll = rng.next();
    if (roll < 0.08) {
      // Random bytes, sometimes behind a valid magic so a reader gets to see them.
      const magic = rng.pick([
        Buffer.alloc(0),
        Buffer.from("d4c3b2a1", "hex"),
        Buffer.from("a1b2c3d4", "hex"),
        Buffer.from("4d3cb2a1", "hex"),
        Buffer.from("0a0d0d0a", "hex"),
      ]);
      out.push({
        name: `random-${i}`,
        data: Buffer.concat([magic, rng.bytes(rng.int(0, 300))]),
        how: `random after ${magic.toString("hex") || "nothing"}`,
      });
    } else {
      const base = rng.pick(seeds);
      const m = mutateFile(rng, base.data);
      out.push({ name: `${base.name}-${i}`, data: m.data, how: `${base.name}: ${m.how}` });
    }
  }
  return out;
}
