/**
 * Classic libpcap file reader (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html):
 * a 24-byte file header, then records of a 16-byte header plus the captured bytes.
 * Microsecond (a1b2c3d4) and nanosecond (a1b23c4d) files, in either byte order.
 */

import { FileSource } from "./file-source.js";
import { CaptureFormatError, type PacketSink } from "./source.js";

export { DEFAULT_BUFFER_SIZE, type ReaderOptions } from "./file-source.js";

export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;

/** No link type egressd handles has bigger frames; a larger length means a corrupt record. */
export const PCAP_MAX_RECORD = 256 * 1024;

const FILE_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;

export class PcapReader extends FileSource {
  private littleEndian = true;
  /** 1000 for microsecond files, 1 for nanosecond files. */
  private nsecPerTick = 1000;
  private ticksPerSec = 1e6;
  private snapLen = 0;
  /** Bytes the next record needs in the buffer when the parse loop stopped short. */
  private need = RECORD_HEADER_LEN;

  protected async readAll(sink: PacketSink): Promise<void> {
    const wb = this.wb;
    if (!(await wb.fill(FILE_HEADER_LEN))) {
      this.error = new CaptureFormatError(
        `truncated file header: ${FILE_HEADER_LEN} bytes needed, only ${wb.available} present`,
        0,
      );
      return;
    }
    if (!this.parseFileHeader()) return;
    sink.interface?.(0, this.packet.linkType, this.snapLen);

    for (;;) {
      this.parseRecords(sink);
      if (this.error !== undefined) return;
      if (!(await wb.fill(this.need))) break;
    }
    if (wb.available === 0) return;
    const at = wb.position;
    if (wb.available < RECORD_HEADER_LEN) {
      this.error = new CaptureFormatError(
        `truncated record header at byte offset ${at}: ${RECORD_HEADER_LEN} bytes needed, only ${wb.available} remain`,
        at,
      );
    } else {
      const inclLen = this.need - RECORD_HEADER_LEN;
      this.error = new CaptureFormatError(
        `truncated record at byte offset ${at}: header says ${inclLen} bytes, only ${wb.available - RECORD_HEADER_LEN} remain`,
        at,
      );
    }
  }

  private parseFileHeader(): boolean {
    const dv = this.wb.view;
    const p = this.wb.start;
    const magicLE = dv.getUint32(p, true);
    const magicBE = dv.getUint32(p, false);
    if (magicLE === PCAP_MAGIC_USEC || magicLE === PCAP_MAGIC_NSEC) {
      this.littleEndian = true;
    } else if (magicBE === PCAP_MAGIC_USEC || magicBE === PCAP_MAGIC_NSEC) {
      this.littleEndian = false;
    } else {
      this.error = new CaptureFormatError(
        `not a pcap file: bad magic ${magicBE.toString(16).padStart(8, "0")}`,
        0,
      );
      return false;
    }
    const le = this.littleEndian;
    const magic = le ? magicLE : magicBE;
    if (magic === PCAP_MAGIC_NSEC) {
      this.nsecPerTick = 1;
      this.ticksPerSec = 1e9;
    }
    this.snapLen = dv.getUint32(p + 16, le);
    const network = dv.getUint32(p + 20, le);
    // The upper bits of the network field carry the FCS length, not the link type.
    this.packet.linkType = network & 0xffff;
    this.wb.start = p + FILE_HEADER_LEN;
    return true;
  }

  /**
   * The hot loop: every complete record in the buffer goes to the sink. It touches only
   * locals and the one reused packet object, so it allocates nothing per packet.
   */
  private parseRecords(sink: PacketSink): void {
    const wb = this.wb;
    const buf = wb.buf;
    // DataView reads compile to single loads in TurboFan; Buffer#readUInt32LE did not inline here.
    const dv = wb.view;
    const pkt = this.packet;
    const le = this.littleEndian;
    const nsecPerTick = this.nsecPerTick;
    const ticksPerSec = this.ticksPerSec;
    const base = wb.base;
    const end = wb.end;
    let p = wb.start;
    let count = 0;
    pkt.buf = buf;
    this.need = RECORD_HEADER_LEN;
    while (end - p >= RECORD_HEADER_LEN) {
      const inclLen = dv.getUint32(p + 8, le);
      if (inclLen > PCAP_MAX_RECORD) {
        this.error = new CaptureFormatError(
          `corrupt record at byte offset ${base + p}: captured length ${inclLen} is over the ${PCAP_MAX_RECORD}-byte maximum`,
          base + p,
        );
        break;
      }
      const recordEnd = p + RECORD_HEADER_LEN + inclLen;
      if (recordEnd > end) {
        this.need = RECORD_HEADER_LEN + inclLen;
        break;
      }
      let sec = dv.getUint32(p, le);
      let frac = dv.getUint32(p + 4, le);
      if (frac >= ticksPerSec) {
        // Out of range but harmless: some writers do not normalise, so carry it over.
        sec += Math.floor(frac / ticksPerSec);
        frac %= ticksPerSec;
      }
      pkt.tsSec = sec;
      pkt.tsNsec = frac * nsecPerTick;
      pkt.origLen = dv.getUint32(p + 12, le);
      pkt.capLen = inclLen;
      pkt.offset = p + RECORD_HEADER_LEN;
      pkt.recordOffset = base + p;
      sink.packet(pkt);
      count++;
      p = recordEnd;
    }
    wb.start = p;
    this.packets += count;
  }
}
