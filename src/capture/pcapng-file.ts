/**
 * pcapng reader (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-03.html).
 * Reads Section Header, Interface Description, Enhanced, Simple and (obsolete) Packet
 * blocks; every other block type is skipped by its length. Each section has its own byte
 * order and interface list; interface ids are indexes within the section.
 */

import { FileSource } from "./file-source.js";
import { CaptureFormatError, type PacketSink, type RawPacket } from "./source.js";

export const PCAPNG_SHB_TYPE = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const IDB_TYPE = 1;
const PB_TYPE = 2;
const SPB_TYPE = 3;
const EPB_TYPE = 6;

/** Real blocks are at most a few hundred KiB; a bigger length means the file is corrupt. */
export const PCAPNG_MAX_BLOCK = 16 * 1024 * 1024;

/** Type, length and the length's trailing copy: the smallest possible block. */
const MIN_BLOCK = 12;
/** Type, length, interface, timestamp (2 words), captured and original length, trailer. */
const EPB_OVERHEAD = 32;
const SPB_OVERHEAD = 16;
const IDB_MIN = 20;
const SHB_MIN = 28;

const OPT_ENDOFOPT = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;

/**
 * An interface's timestamp conversion. A timestamp is a 64-bit count of ticks, `hi:lo`.
 * Splitting hi * 2^32 into whole seconds and leftover ticks once per distinct `hi`
 * (which changes every 71 minutes at microsecond resolution, every 4.3 s at nanoseconds)
 * leaves only exact small-number arithmetic per packet: no BigInt, no rounding.
 */
class Interface {
  /** Ticks per second, when the fast path applies (at most 2^32). */
  readonly ticks: number;
  /** Nanoseconds = floor(ticks remainder * nsMul / nsDiv), exact in doubles on the fast path. */
  readonly nsMul: number;
  readonly nsDiv: number;
  /** Resolutions finer than 1 ns or 2^-32 s: BigInt per packet (rare in practice). */
  readonly slow: boolean;
  readonly ticksBig: bigint;
  lastHi = -1;
  hiSec = 0;
  hiTicks = 0;

  constructor(
    readonly linkType: number,
    readonly snapLen: number,
    tsresol: number,
    /** if_tsoffset: seconds added to every timestamp. */
    readonly offsetSec: number,
  ) {
    const binary = (tsresol & 0x80) !== 0;
    const exp = tsresol & 0x7f;
    this.ticksBig = binary ? 1n << BigInt(exp) : 10n ** BigInt(exp);
    this.ticks = Number(this.ticksBig);
    if (!binary && exp <= 9) {
      this.slow = false;
      this.nsMul = 10 ** (9 - exp);
      this.nsDiv = 1;
    } else if (binary && exp <= 32) {
      // rem < 2^exp, so rem * 5^9 stays below 2^53 and dividing by a power of two is exact.
      this.slow = false;
      this.nsMul = exp >= 9 ? 1953125 : 1e9;
      this.nsDiv = exp >= 9 ? 2 ** (exp - 9) : 2 ** exp;
    } else {
      this.slow = true;
      this.nsMul = 0;
      this.nsDiv = 1;
    }
  }

  loadHigh(hi: number): void {
    const big = BigInt(hi) << 32n;
    this.lastHi = hi;
    this.hiSec = Number(big / this.ticksBig);
    this.hiTicks = Number(big % this.ticksBig);
  }

  /** Sets pkt.tsSec/tsNsec from the 64-bit tick count hi:lo. */
  setTime(pkt: RawPacket, hi: number, lo: number): void {
    if (this.slow) {
      const total = (BigInt(hi) << 32n) | BigInt(lo);
      pkt.tsSec = Number(total / this.ticksBig) + this.offsetSec;
      pkt.tsNsec = Number(((total % this.ticksBig) * 1_000_000_000n) / this.ticksBig);
      return;
    }
    if (hi !== this.lastHi) this.loadHigh(hi);
    // Below ticks + 2^32 <= 2^33: exact, and the division cannot round across an integer.
    const t = this.hiTicks + lo;
    const q = Math.floor(t / this.ticks);
    const rem = t - q * this.ticks;
    pkt.tsSec = this.hiSec + q + this.offsetSec;
    pkt.tsNsec = this.nsDiv === 1 ? rem * this.nsMul : Math.floor((rem * this.nsMul) / this.nsDiv);
  }
}

export class PcapngReader extends FileSource {
  private littleEndian = true;
  private inSection = false;
  private interfaces: Interface[] = [];
  /** Bytes the next block needs in the buffer when the parse loop stopped short. */
  private need = MIN_BLOCK;

  protected async readAll(sink: PacketSink): Promise<void> {
    const wb = this.wb;
    for (;;) {
      this.parseBlocks(sink);
      if (this.error !== undefined) return;
      if (!(await wb.fill(this.need))) break;
    }
    const at = wb.position;
    const left = wb.available;
    if (left === 0) {
      if (at === 0) this.error = new CaptureFormatError("empty pcapng file", 0);
      return;
    }
    this.error = new CaptureFormatError(
      left < MIN_BLOCK
        ? `truncated block header at byte offset ${at}: only ${left} bytes remain`
        : `truncated block at byte offset ${at}: header says ${this.need} bytes, only ${left} remain`,
      at,
    );
  }

  private fail(message: string, offset: number): void {
    this.error = new CaptureFormatError(message, offset);
  }

  /**
   * The hot loop: every complete block in the buffer is handled here, packets going to the
   * sink through the one reused packet object, so nothing is allocated per packet.
   */
  private parseBlocks(sink: PacketSink): void {
    const wb = this.wb;
    const buf = wb.buf;
    // DataView reads compile to single loads in TurboFan; Buffer#readUInt32LE did not inline here.
    const dv = wb.view;
    const pkt = this.packet;
    const base = wb.base;
    const end = wb.end;
    let le = this.littleEndian;
    let p = wb.start;
    let count = 0;
    pkt.buf = buf;
    this.need = MIN_BLOCK;
    while (end - p >= MIN_BLOCK) {
      const type = dv.getUint32(p, le);
      let blockLe = le;
      if (type === PCAPNG_SHB_TYPE) {
        // A section header carries its own byte order: read it before the length.
        if (dv.getUint32(p + 8, true) === BYTE_ORDER_MAGIC) blockLe = true;
        else if (dv.getUint32(p + 8, false) === BYTE_ORDER_MAGIC) blockLe = false;
        else {
          this.fail(
            `corrupt section header block at byte offset ${base + p}: bad byte-order magic ${buf.toString("hex", p + 8, p + 12)}`,
            base + p,
          );
          break;
        }
      } else if (!this.inSection) {
        this.fail(
          `corrupt pcapng file: block at byte offset ${base + p} comes before any section header`,
          base + p,
        );
        break;
      }
      const total = dv.getUint32(p + 4, blockLe);
      if (total < MIN_BLOCK || (total & 3) !== 0 || total > PCAPNG_MAX_BLOCK) {
        this.fail(
          `corrupt block at byte offset ${base + p}: length ${total} ${
            total > PCAPNG_MAX_BLOCK
              ? `is over the ${PCAPNG_MAX_BLOCK}-byte maximum`
              : total < MIN_BLOCK
                ? `is below the ${MIN_BLOCK}-byte minimum`
                : "is not a multiple of 4"
          }`,
          base + p,
        );
        break;
      }
      if (total > end - p) {
        this.need = total;
        break;
      }
      const trailer = dv.getUint32(p + total - 4, blockLe);
      if (trailer !== total) {
        this.fail(
          `corrupt block at byte offset ${base + p}: trailing length ${trailer} differs from the leading ${total}`,
          base + p,
        );
        break;
      }

      if (type === EPB_TYPE || type === PB_TYPE) {
        if (total < EPB_OVERHEAD) {
          this.fail(`corrupt packet block at byte offset ${base + p}: ${total} bytes`, base + p);
          break;
        }
        const id = type === EPB_TYPE ? dv.getUint32(p + 8, le) : dv.getUint16(p + 8, le);
        const iface = this.interfaces[id];
        if (iface === undefined) {
          this.failInterface(id, base + p);
          break;
        }
        const capLen = dv.getUint32(p + 20, le);
        if (capLen > total - EPB_OVERHEAD) {
          this.fail(
            `corrupt packet block at byte offset ${base + p}: captured length ${capLen} does not fit in the ${total}-byte block`,
            base + p,
          );
          break;
        }
        iface.setTime(pkt, dv.getUint32(p + 12, le), dv.getUint32(p + 16, le));
        pkt.origLen = dv.getUint32(p + 24, le);
        pkt.capLen = capLen;
        pkt.offset = p + 28;
        pkt.linkType = iface.linkType;
        pkt.interfaceId = id;
        pkt.recordOffset = base + p;
        sink.packet(pkt);
        count++;
      } else if (type === SPB_TYPE) {
        if (total < SPB_OVERHEAD) {
          this.fail(
            `corrupt simple packet block at byte offset ${base + p}: ${total} bytes`,
            base + p,
          );
          break;
        }
        const iface = this.interfaces[0];
        if (iface === undefined) {
          this.failInterface(0, base + p);
          break;
        }
        const origLen = dv.getUint32(p + 8, le);
        // The block has no captured length: the snaplen and the block size bound it.
        let capLen = Math.min(origLen, total - SPB_OVERHEAD);
        if (iface.snapLen !== 0 && iface.snapLen < capLen) capLen = iface.snapLen;
        // No timestamp either: tsSec/tsNsec keep the previous packet's values.
        pkt.origLen = origLen;
        pkt.capLen = capLen;
        pkt.offset = p + 12;
        pkt.linkType = iface.linkType;
        pkt.interfaceId = 0;
        pkt.recordOffset = base + p;
        sink.packet(pkt);
        count++;
      } else if (type === PCAPNG_SHB_TYPE) {
        if (!this.startSection(dv, p, total, blockLe, base)) break;
        le = blockLe;
      } else if (type === IDB_TYPE) {
        if (!this.addInterface(sink, buf, dv, p, total, base)) break;
      }
      p += total;
    }
    wb.start = p;
    this.packets += count;
  }

  private failInterface(id: number, offset: number): void {
    this.fail(
      `corrupt packet block at byte offset ${offset}: interface ${id} is not declared (the section has ${this.interfaces.length})`,
      offset,
    );
  }

  private startSection(dv: DataView, p: number, total: number, le: boolean, base: number): boolean {
    if (total < SHB_MIN) {
      this.fail(
        `corrupt section header block at byte offset ${base + p}: ${total} bytes`,
        base + p,
      );
      return false;
    }
    const major = dv.getUint16(p + 12, le);
    const minor = dv.getUint16(p + 14, le);
    if (major !== 1) {
      this.fail(
        `unsupported pcapng version ${major}.${minor} in the section header at byte offset ${base + p}`,
        base + p,
      );
      return false;
    }
    this.littleEndian = le;
    this.inSection = true;
    this.interfaces = [];
    return true;
  }

  private addInterface(
    sink: PacketSink,
    buf: Buffer,
    dv: DataView,
    p: number,
    total: number,
    base: number,
  ): boolean {
    const le = this.littleEndian;
    if (total < IDB_MIN) {
      this.fail(
        `corrupt interface description block at byte offset ${base + p}: ${total} bytes`,
        base + p,
      );
      return false;
    }
    const linkType = dv.getUint16(p + 8, le);
    const snapLen = dv.getUint32(p + 12, le);
    let tsresol = 6;
    let offsetSec = 0;
    const optEnd = p + total - 4;
    let o = p + 16;
    while (optEnd - o >= 4) {
      const code = dv.getUint16(o, le);
      const len = dv.getUint16(o + 2, le);
      if (code === OPT_ENDOFOPT) break;
      if (o + 4 + len > optEnd) {
        this.fail(
          `corrupt interface description block at byte offset ${base + p}: option ${code} runs past the block end`,
          base + p,
        );
        return false;
      }
      if (code === OPT_IF_TSRESOL && len >= 1) tsresol = buf[o + 4] as number;
      else if (code === OPT_IF_TSOFFSET && len >= 8) {
        offsetSec = Number(dv.getBigInt64(o + 4, le));
      }
      o += 4 + ((len + 3) & ~3);
    }
    const id = this.interfaces.length;
    this.interfaces.push(new Interface(linkType, snapLen, tsresol, offsetSec));
    sink.interface?.(id, linkType, snapLen);
    return true;
  }
}
