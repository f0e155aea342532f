/**
 * Builds pcap and pcapng files in memory for the capture reader tests. The writers are
 * deliberately naive (one Buffer per field) and allow writing damaged files.
 */

import type { RawPacket } from "../../src/capture/source.js";

export interface PcapRecord {
  tsSec: number;
  /** Microseconds or nanoseconds, per the file's resolution. */
  tsFrac: number;
  data: Uint8Array;
  /** Defaults to data.length. */
  origLen?: number;
  /** Overrides the incl_len field (to write corrupt records). */
  inclLen?: number;
}

export interface PcapOptions {
  littleEndian?: boolean;
  nanos?: boolean;
  /** The whole 32-bit network field (link type in the low 16 bits). Default 1 (Ethernet). */
  network?: number;
  snapLen?: number;
}

export function pcapHeader(opts: PcapOptions = {}): Buffer {
  const le = opts.littleEndian ?? true;
  const h = Buffer.alloc(24);
  u32(h, 0, opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4, le);
  u16(h, 4, 2, le);
  u16(h, 6, 4, le);
  u32(h, 16, opts.snapLen ?? 262144, le);
  u32(h, 20, opts.network ?? 1, le);
  return h;
}

export function pcapRecord(r: PcapRecord, littleEndian = true): Buffer {
  const h = Buffer.alloc(16);
  u32(h, 0, r.tsSec, littleEndian);
  u32(h, 4, r.tsFrac, littleEndian);
  u32(h, 8, r.inclLen ?? r.data.length, littleEndian);
  u32(h, 12, r.origLen ?? r.data.length, littleEndian);
  return Buffer.concat([h, r.data]);
}

export function pcapFile(opts: PcapOptions, records: PcapRecord[]): Buffer {
  const le = opts.littleEndian ?? true;
  return Buffer.concat([pcapHeader(opts), ...records.map((r) => pcapRecord(r, le))]);
}

/** A frame whose bytes encode `n`, so tests can tell packets apart. */
export function frame(n: number, length = 60): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (n * 31 + i) & 0xff;
  return b;
}

export interface IdbOptions {
  snapLen?: number;
  /** Raw if_tsresol byte (e.g. 9 for ns, 0x80 | 20 for 2^-20). Omitted: microseconds. */
  tsresol?: number;
  /** if_tsoffset in seconds. */
  tsoffset?: bigint;
  /** Extra options written before the resolution ones: [code, value]. */
  extraOptions?: [number, Buffer][];
}

/** Writes pcapng blocks; each section may use its own byte order. */
export class PcapngWriter {
  private readonly parts: Buffer[] = [];
  private le = true;

  /** Starts a new section (a Section Header Block) in the given byte order. */
  section(littleEndian = true, options: [number, Buffer][] = []): this {
    this.le = littleEndian;
    const body = Buffer.alloc(16);
    u32(body, 0, 0x1a2b3c4d, this.le);
    u16(body, 4, 1, this.le);
    u16(body, 6, 0, this.le);
    body.writeInt32LE(-1, 8);
    body.writeInt32LE(-1, 12);
    return this.block(0x0a0d0d0a, Buffer.concat([body, this.options(options)]));
  }

  interface(linkType: number, opts: IdbOptions = {}): this {
    const body = Buffer.alloc(8);
    u16(body, 0, linkType, this.le);
    u32(body, 4, opts.snapLen ?? 0, this.le);
    const options: [number, Buffer][] = [...(opts.extraOptions ?? [])];
    if (opts.tsresol !== undefined) options.push([9, Buffer.from([opts.tsresol])]);
    if (opts.tsoffset !== undefined) {
      const v = Buffer.alloc(8);
      if (this.le) v.writeBigInt64LE(opts.tsoffset);
      else v.writeBigInt64BE(opts.tsoffset);
      options.push([14, v]);
    }
    return this.block(1, Buffer.concat([body, this.options(options)]));
  }

  /** Enhanced Packet Block; `ts` is in the interface's timestamp units. */
  epb(interfaceId: number, ts: bigint, data: Uint8Array, origLen = data.length, capLen?: number) {
    const body = Buffer.alloc(20);
    u32(body, 0, interfaceId, this.le);
    u32(body, 4, Number(ts >> 32n), this.le);
    u32(body, 8, Number(ts & 0xffffffffn), this.le);
    u32(body, 12, capLen ?? data.length, this.le);
    u32(body, 16, origLen, this.le);
    return this.block(6, Buffer.concat([body, pad4(data), this.options([[1, Buffer.from("hi")]])]));
  }

  /** Simple Packet Block: interface 0, no timestamp. */
  spb(data: Uint8Array, origLen = data.length): this {
    const body = Buffer.alloc(4);
    u32(body, 0, origLen, this.le);
    return this.block(3, Buffer.concat([body, pad4(data)]));
  }

  /** The obsolete Packet Block (type 2). */
  pb(interfaceId: number, ts: bigint, data: Uint8Array, origLen = data.length): this {
    const body = Buffer.alloc(20);
    u16(body, 0, interfaceId, this.le);
    u16(body, 2, 0, this.le);
    u32(body, 4, Number(ts >> 32n), this.le);
    u32(body, 8, Number(ts & 0xffffffffn), this.le);
    u32(body, 12, data.length, this.le);
    u32(body, 16, origLen, this.le);
    return this.block(2, Buffer.concat([body, pad4(data)]));
  }

  /** Any block; the body is padded to 4 bytes. */
  block(type: number, body: Uint8Array): this {
    const padded = pad4(body);
    const total = padded.length + 12;
    const head = Buffer.alloc(8);
    u32(head, 0, type, this.le);
    u32(head, 4, total, this.le);
    const tail = Buffer.alloc(4);
    u32(tail, 0, total, this.le);
    this.parts.push(head, padded, tail);
    return this;
  }

  /** Raw bytes, e.g. a damaged block. */
  raw(bytes: Uint8Array): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }

  /** Byte offset the next block will start at. */
  get length(): number {
    let n = 0;
    for (const p of this.parts) n += p.length;
    return n;
  }

  get littleEndian(): boolean {
    return this.le;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }

  private options(opts: [number, Buffer][]): Buffer {
    if (opts.length === 0) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    for (const [code, value] of opts) {
      const h = Buffer.alloc(4);
      u16(h, 0, code, this.le);
      u16(h, 2, value.length, this.le);
      parts.push(h, pad4(value));
    }
    parts.push(Buffer.alloc(4)); // opt_endofopt
    return Buffer.concat(parts);
  }
}

function pad4(b: Uint8Array): Buffer {
  const padded = Buffer.alloc((b.length + 3) & ~3);
  padded.set(b);
  return padded;
}

function u16(b: Buffer, off: number, v: number, le: boolean): void {
  if (le) b.writeUInt16LE(v, off);
  else b.writeUInt16BE(v, off);
}

function u32(b: Buffer, off: number, v: number, le: boolean): void {
  if (le) b.writeUInt32LE(v >>> 0, off);
  else b.writeUInt32BE(v >>> 0, off);
}

export interface SeenPacket {
  tsSec: number;
  tsNsec: number;
  capLen: number;
  origLen: number;
  linkType: number;
  interfaceId: number;
  recordOffset: number;
  /** A copy of the frame bytes (the reader's buffer is reused). */
  data: Buffer;
}

/** A sink that copies everything it sees; `events` records interfaces and packets in order. */
export function collectingSink() {
  const packets: SeenPacket[] = [];
  const interfaces: { id: number; linkType: number; snapLen: number }[] = [];
  const events: string[] = [];
  return {
    packets,
    interfaces,
    events,
    interface(id: number, linkType: number, snapLen: number) {
      interfaces.push({ id, linkType, snapLen });
      events.push(`if${id}`);
    },
    packet(p: RawPacket) {
      packets.push({
        tsSec: p.tsSec,
        tsNsec: p.tsNsec,
        capLen: p.capLen,
        origLen: p.origLen,
        linkType: p.linkType,
        interfaceId: p.interfaceId,
        recordOffset: p.recordOffset,
        data: Buffer.from(p.buf.subarray(p.offset, p.offset + p.capLen)),
      });
      events.push(`p${p.interfaceId}`);
    },
  };
}

/** Yields `data` in pieces of `chunk` bytes, like a pipe would. */
export async function* chunked(data: Uint8Array, chunk: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
}
