/**
 * Reads a (possibly compressed) domain name from a DNS message into presentation text.
 *
 * Bounded on hostile input: a compression pointer must point strictly before every byte
 * the name has used so far (so targets strictly decrease and no byte is read twice), the
 * number of jumps is capped, and the wire length is capped at 255 bytes as RFC 1035 says.
 */

import type { DnsAnomaly } from "./anomalies.js";

export const MAX_COMPRESSION_JUMPS = 64;
/** RFC 1035 section 3.1: length bytes and label bytes together, the root's 0 included. */
export const MAX_NAME_WIRE_LENGTH = 255;

const DNS_HEADER_LENGTH = 12;
const BACKSLASH = 0x5c;
const DOT = 0x2e;

/** The lowercase key names are compared and looked up by (DNS compares ASCII case-insensitively). */
export function dnsNameKey(name: string): string {
  return name.toLowerCase();
}

/**
 * One reader is reused for every name: the text is built in a scratch array and turned into
 * a string once per name.
 */
export class DnsNameReader {
  /** Presentation text of the last name read successfully ("." for the root). */
  text = "";
  /** Why the last read failed. */
  anomaly: DnsAnomaly | undefined = undefined;
  /** The last name had a label byte below 0x20 or 0x7f (binary junk rather than a name). */
  sawControlByte = false;
  // Every wire byte becomes at most 4 characters ("\DDD").
  private readonly chars = new Uint16Array(MAX_NAME_WIRE_LENGTH * 4);

  /**
   * Reads the name starting at `pos`. The message is buf[base, end); compression offsets are
   * relative to `base`. Returns the offset just after the name where it starts (after its
   * first pointer, if any), or -1 with `anomaly` set.
   */
  read(buf: Uint8Array, base: number, end: number, pos: number): number {
    const chars = this.chars;
    let n = 0;
    let wire = 0;
    let next = -1;
    let lowest = pos;
    let jumps = 0;
    this.sawControlByte = false;
    for (;;) {
      if (pos >= end) return this.fail("dns_truncated_name");
      const c = buf[pos]!;
      if (c === 0) {
        if (next < 0) next = pos + 1;
        break;
      }
      if (c >= 0xc0) {
        if (pos + 1 >= end) return this.fail("dns_truncated_name");
        const target = base + (((c & 0x3f) << 8) | buf[pos + 1]!);
        if (next < 0) next = pos + 2;
        if (target < base + DNS_HEADER_LENGTH || target >= end) return this.fail("dns_bad_pointer");
        if (target >= lowest) {
          return this.fail(
            jumps === 0 && target > pos
              ? "dns_compression_forward_pointer"
              : "dns_compression_loop",
          );
        }
        if (++jumps > MAX_COMPRESSION_JUMPS) return this.fail("dns_compression_too_many_jumps");
        lowest = target;
        pos = target;
        continue;
      }
      if (c > 63) return this.fail("dns_label_too_long");
      // The root's terminating 0 byte needs room too.
      wire += c + 1;
      if (wire + 1 > MAX_NAME_WIRE_LENGTH) return this.fail("dns_name_too_long");
      const labelEnd = pos + 1 + c;
      if (labelEnd > end) return this.fail("dns_truncated_name");
      if (n > 0) chars[n++] = DOT;
      for (let i = pos + 1; i < labelEnd; i++) {
        const b = buf[i]!;
        if (b > 0x20 && b < 0x7f) {
          if (b === DOT || b === BACKSLASH) chars[n++] = BACKSLASH;
          chars[n++] = b;
        } else {
          if (b < 0x20 || b === 0x7f) this.sawControlByte = true;
          chars[n++] = BACKSLASH;
          chars[n++] = 0x30 + ((b / 100) | 0);
          chars[n++] = 0x30 + (((b / 10) | 0) % 10);
          chars[n++] = 0x30 + (b % 10);
        }
      }
      pos = labelEnd;
    }
    this.text = n === 0 ? "." : charsToString(chars, n);
    this.anomaly = undefined;
    return next;
  }

  private fail(anomaly: DnsAnomaly): number {
    this.anomaly = anomaly;
    return -1;
  }
}

export function charsToString(chars: Uint16Array, n: number): string {
  return String.fromCharCode.apply(null, chars.subarray(0, n) as unknown as number[]);
}
