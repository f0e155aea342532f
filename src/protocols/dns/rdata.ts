/**
 * Record data to text, for the types DnsResourceRecord.data documents (record.ts). Damage
 * here stays inside one record: its RDLENGTH already told where the next record starts.
 */

import { u16be as u16, u32be as u32 } from "../../util/bytes.js";
import { formatIPv4, formatIPv6 } from "../../util/ip-text.js";
import type { DnsAnomaly } from "./anomalies.js";
import { DnsType } from "./mnemonics.js";
import { charsToString, type DnsNameReader } from "./wire-name.js";

/** TXT text is capped: it is shown to people and matched by rules, not stored whole. */
export const MAX_TXT_CHARS = 255;

const BACKSLASH = 0x5c;
const SPACE = 0x20;

export function ipv4Text(buf: Uint8Array, at: number): string {
  return formatIPv4(u32(buf, at));
}

/** RFC 5952 text of the 16 bytes at `at` (IPv4-mapped addresses as "::ffff:a.b.c.d"). */
export function ipv6Text(buf: Uint8Array, at: number): string {
  return formatIPv6(u32(buf, at), u32(buf, at + 4), u32(buf, at + 8), u32(buf, at + 12));
}

export class RdataDecoder {
  /** Set when decode() returned undefined because the data was malformed. */
  anomaly: DnsAnomaly | undefined = undefined;
  private readonly chars = new Uint16Array(MAX_TXT_CHARS);
  /** Offset just after the last name nameAt() read. */
  private after = 0;

  constructor(private readonly names: DnsNameReader) {}

  /** Text of the data buf[start, rdEnd) of a record of `type`; the message is buf[base, end). */
  decode(
    buf: Uint8Array,
    base: number,
    end: number,
    type: number,
    start: number,
    rdEnd: number,
  ): string | undefined {
    this.anomaly = undefined;
    const len = rdEnd - start;
    switch (type) {
      case DnsType.A:
        return len === 4 ? ipv4Text(buf, start) : this.bad();
      case DnsType.AAAA:
        return len === 16 ? ipv6Text(buf, start) : this.bad();
      case DnsType.CNAME:
      case DnsType.NS:
      case DnsType.PTR:
      case DnsType.DNAME:
        return this.nameAt(buf, base, end, start, rdEnd, true);
      case DnsType.MX: {
        if (len < 3) return this.bad();
        const target = this.nameAt(buf, base, end, start + 2, rdEnd, true);
        return target === undefined ? undefined : `${u16(buf, start)} ${target}`;
      }
      case DnsType.SRV: {
        if (len < 7) return this.bad();
        const target = this.nameAt(buf, base, end, start + 6, rdEnd, true);
        if (target === undefined) return undefined;
        return `${u16(buf, start)} ${u16(buf, start + 2)} ${u16(buf, start + 4)} ${target}`;
      }
      case DnsType.SVCB:
      case DnsType.HTTPS: {
        // The SvcParams after the target are not needed by any record.
        if (len < 3) return this.bad();
        const target = this.nameAt(buf, base, end, start + 2, rdEnd, false);
        return target === undefined ? undefined : `${u16(buf, start)} ${target}`;
      }
      case DnsType.SOA: {
        const mname = this.nameAt(buf, base, end, start, rdEnd, false);
        if (mname === undefined) return undefined;
        const rname = this.nameAt(buf, base, end, this.after, rdEnd, false);
        if (rname === undefined) return undefined;
        // Serial, refresh, retry, expire, minimum: 5 x 32 bits.
        if (this.after + 20 !== rdEnd) return this.bad();
        return `${mname} ${rname} ${u32(buf, this.after)}`;
      }
      case DnsType.TXT:
        return this.txt(buf, start, rdEnd);
      default:
        return undefined;
    }
  }

  /** The name at `at`, which must lie inside the data (and end it exactly when `last`). */
  private nameAt(
    buf: Uint8Array,
    base: number,
    end: number,
    at: number,
    rdEnd: number,
    last: boolean,
  ): string | undefined {
    const next = this.names.read(buf, base, end, at);
    if (next < 0) {
      this.anomaly = this.names.anomaly;
      return undefined;
    }
    if (next > rdEnd || (last && next !== rdEnd)) return this.bad();
    this.after = next;
    return this.names.text;
  }

  private txt(buf: Uint8Array, start: number, rdEnd: number): string | undefined {
    const chars = this.chars;
    let n = 0;
    let full = false;
    let pos = start;
    while (pos < rdEnd) {
      const strEnd = pos + 1 + buf[pos]!;
      if (strEnd > rdEnd) return this.bad();
      // Keep walking after the cap so a malformed tail is still reported.
      if (!full && pos > start) {
        // Only with room for a character after it: a separator right at the cap says nothing.
        if (n + 1 < MAX_TXT_CHARS) chars[n++] = SPACE;
        else full = true;
      }
      for (let i = pos + 1; i < strEnd && !full; i++) {
        const b = buf[i]!;
        if (b >= 0x20 && b < 0x7f && b !== BACKSLASH) {
          if (n >= MAX_TXT_CHARS) full = true;
          else chars[n++] = b;
        } else if (b === BACKSLASH) {
          if (n + 2 > MAX_TXT_CHARS) full = true;
          else {
            chars[n++] = BACKSLASH;
            chars[n++] = BACKSLASH;
          }
        } else if (n + 4 > MAX_TXT_CHARS) full = true;
        else {
          chars[n++] = BACKSLASH;
          chars[n++] = 0x30 + ((b / 100) | 0);
          chars[n++] = 0x30 + (((b / 10) | 0) % 10);
          chars[n++] = 0x30 + (b % 10);
        }
      }
      pos = strEnd;
    }
    return charsToString(chars, n);
  }

  private bad(): undefined {
    this.anomaly = "dns_bad_rdata";
    return undefined;
  }
}
