/**
 * Parses one BOOTP/DHCPv4 message (RFC 2131 section 2, options RFC 2132; long options
 * split over several instances are joined as RFC 3396 says). Never throws on packet bytes:
 * a message too short or without the magic cookie is an anomaly; damage inside the options
 * keeps what was read before it and names the damage in `anomalies`.
 */

import { u16be, u32be } from "../../util/bytes.js";
import { formatIPv4 } from "../../util/ip-text.js";
import { printable } from "../http/text.js";
import type { DhcpAnomaly, DhcpRecord, DhcpResult } from "./record.js";

/** op .. file (236 bytes), then the 4-byte magic cookie, then the options. */
export const DHCP_FIXED_BYTES = 240;
const COOKIE_AT = 236;
const MAGIC_COOKIE = 0x63825363;
const SNAME_AT = 44;
const SNAME_BYTES = 64;
const FILE_AT = 108;
const FILE_BYTES = 128;
const CHADDR_AT = 28;
const CHADDR_BYTES = 16;
/** Text option values are cut here (one option instance holds at most 255 bytes anyway). */
const MAX_TEXT = 255;

const OPT_PAD = 0;
const OPT_END = 255;
const OPT_OVERLOAD = 52;

/** RFC 2132 9.6, RFC 3203, RFC 4388, RFC 6926, RFC 7724. */
const MESSAGE_TYPES = [
  "",
  "DISCOVER",
  "OFFER",
  "REQUEST",
  "DECLINE",
  "ACK",
  "NAK",
  "RELEASE",
  "INFORM",
  "FORCERENEW",
  "LEASEQUERY",
  "LEASEUNASSIGNED",
  "LEASEUNKNOWN",
  "LEASEACTIVE",
  "BULKLEASEQUERY",
  "LEASEQUERYDONE",
  "ACTIVELEASEQUERY",
  "LEASEQUERYSTATUS",
  "TLS",
];

/** Name of a DHCP message type (option 53), or its number as text when unassigned. */
export function dhcpMessageTypeName(type: number): string {
  return MESSAGE_TYPES[type] || String(type);
}

/**
 * Is this UDP payload DHCPv4? By content, not port: a BOOTP op, a hardware address that
 * fits chaddr, and the magic cookie at byte 236 (relays and odd servers use other ports).
 */
export function looksLikeDhcp(buf: Uint8Array, off: number, len: number): boolean {
  if (len < DHCP_FIXED_BYTES) return false;
  const op = buf[off]!;
  return (
    (op === 1 || op === 2) &&
    buf[off + 2]! <= CHADDR_BYTES &&
    u32be(buf, off + COOKIE_AT) === MAGIC_COOKIE
  );
}

/** Where each option's value bytes are, per code, in order of appearance. */
type OptionParts = Map<number, [number, number][]>;

export function parseDhcp(buf: Uint8Array, off: number, len: number): DhcpResult {
  if (len < DHCP_FIXED_BYTES) return { anomaly: "dhcp_truncated" };
  const op = buf[off]!;
  if (op !== 1 && op !== 2) return { anomaly: "dhcp_bad_op" };
  if (u32be(buf, off + COOKIE_AT) !== MAGIC_COOKIE) return { anomaly: "dhcp_bad_cookie" };

  const anomalies: DhcpAnomaly[] = [];
  const flag = (a: DhcpAnomaly) => {
    if (!anomalies.includes(a)) anomalies.push(a);
  };
  const htype = buf[off + 1]!;
  let hlen = buf[off + 2]!;
  if (hlen > CHADDR_BYTES) {
    flag("dhcp_bad_hlen");
    hlen = CHADDR_BYTES;
  }
  const record: DhcpRecord = {
    op,
    htype,
    hlen: buf[off + 2]!,
    hops: buf[off + 3]!,
    xid: u32be(buf, off + 4),
    secs: u16be(buf, off + 8),
    broadcast: (buf[off + 10]! & 0x80) !== 0,
    chaddr: hexPairs(buf, off + CHADDR_AT, off + CHADDR_AT + hlen),
  };
  if (htype === 1 && hlen === 6) record.mac = record.chaddr.replace(/:/g, "-").toUpperCase();
  const ciaddr = address(buf, off + 12);
  if (ciaddr !== undefined) record.ciaddr = ciaddr;
  const yiaddr = address(buf, off + 16);
  if (yiaddr !== undefined) record.yiaddr = yiaddr;
  const siaddr = address(buf, off + 20);
  if (siaddr !== undefined) record.siaddr = siaddr;
  const giaddr = address(buf, off + 24);
  if (giaddr !== undefined) record.giaddr = giaddr;

  const parts: OptionParts = new Map();
  readOptions(buf, off + DHCP_FIXED_BYTES, off + len, parts, flag, true);
  // Option 52 moves more options into file and then sname (RFC 2131 section 4.1 order).
  let overload = 0;
  const ov = parts.get(OPT_OVERLOAD);
  if (ov !== undefined) {
    const [s, e] = ov[0]!;
    if (ov.length !== 1 || e - s !== 1) flag("dhcp_bad_option_length");
    else if (buf[s]! < 1 || buf[s]! > 3) flag("dhcp_bad_overload");
    else overload = buf[s]!;
    parts.delete(OPT_OVERLOAD);
  }
  if (overload & 1) {
    readOptions(buf, off + FILE_AT, off + FILE_AT + FILE_BYTES, parts, flag, false);
  } else {
    const file = cString(buf, off + FILE_AT, FILE_BYTES);
    if (file !== "") record.file = file;
  }
  if (overload & 2) {
    readOptions(buf, off + SNAME_AT, off + SNAME_AT + SNAME_BYTES, parts, flag, false);
  } else {
    const sname = cString(buf, off + SNAME_AT, SNAME_BYTES);
    if (sname !== "") record.sname = sname;
  }
  if (parts.has(OPT_OVERLOAD)) flag("dhcp_bad_overload");

  decodeOptions(buf, parts, record, flag);
  if (anomalies.length > 0) record.anomalies = anomalies;
  return { record };
}

/**
 * Walks one options area, recording where each option's value is. Stops at the end option,
 * at the end of the area, or at an option whose length runs past the area (a length that
 * lies: nothing after it can be trusted).
 */
function readOptions(
  buf: Uint8Array,
  start: number,
  end: number,
  parts: OptionParts,
  flag: (a: DhcpAnomaly) => void,
  mainArea: boolean,
): void {
  let i = start;
  while (i < end) {
    const code = buf[i]!;
    if (code === OPT_PAD) {
      i++;
      continue;
    }
    if (code === OPT_END) return;
    if (i + 2 > end || i + 2 + buf[i + 1]! > end) {
      flag("dhcp_option_overrun");
      return;
    }
    const l = buf[i + 1]!;
    if (!mainArea && code === OPT_OVERLOAD) {
      flag("dhcp_bad_overload");
    } else {
      const list = parts.get(code);
      if (list === undefined) parts.set(code, [[i + 2, i + 2 + l]]);
      else list.push([i + 2, i + 2 + l]);
    }
    i += 2 + l;
  }
  flag("dhcp_no_end");
}

/** One option's value; instances of a code split over several options are joined (RFC 3396). */
function value(buf: Uint8Array, ranges: [number, number][]): [Uint8Array, number, number] {
  if (ranges.length === 1) return [buf, ranges[0]![0], ranges[0]![1]];
  const joined = Buffer.concat(ranges.map(([s, e]) => buf.subarray(s, e)));
  return [joined, 0, joined.length];
}

function decodeOptions(
  buf: Uint8Array,
  parts: OptionParts,
  r: DhcpRecord,
  flag: (a: DhcpAnomaly) => void,
): void {
  for (const [code, ranges] of parts) {
    const [b, s, e] = value(buf, ranges);
    const n = e - s;
    switch (code) {
      case 53:
        if (n !== 1) flag("dhcp_bad_option_length");
        else {
          r.message_type = b[s]!;
          r.message_type_name = dhcpMessageTypeName(b[s]!);
        }
        break;
      case 12:
        r.host_name = text(b, s, e);
        break;
      case 15:
        r.domain = text(b, s, e);
        break;
      case 56:
        r.message = text(b, s, e);
        break;
      case 60:
        r.vendor_class = text(b, s, e);
        break;
      case 50:
      case 54: {
        if (n !== 4) {
          flag("dhcp_bad_option_length");
          break;
        }
        const addr = formatIPv4(u32be(b, s));
        if (code === 50) r.requested_addr = addr;
        else r.server_id = addr;
        break;
      }
      case 51:
        if (n !== 4) flag("dhcp_bad_option_length");
        else r.lease_time = u32be(b, s);
        break;
      case 55: {
        const codes: number[] = [];
        for (let i = s; i < e; i++) codes.push(b[i]!);
        r.param_list = codes.join(",");
        break;
      }
      case 61:
        if (n > 0) r.client_id = hexPairs(b, s, e);
        break;
      case 81:
        if (n < 3) flag("dhcp_bad_option_length");
        else r.client_fqdn = fqdn(b, s, e);
        break;
    }
  }
}

/** The name in option 81 (RFC 4702): after flags and two rcodes, wire-format labels when E is set, else ASCII. */
function fqdn(b: Uint8Array, s: number, e: number): string {
  const encoded = (b[s]! & 0x04) !== 0;
  let i = s + 3;
  if (!encoded) return text(b, i, e);
  const labels: string[] = [];
  while (i < e) {
    const l = b[i]!;
    // Zero ends the name; compression pointers are not allowed here, so stop at one.
    if (l === 0 || l > 63 || i + 1 + l > e) break;
    labels.push(printable(b, i + 1, i + 1 + l, 63));
    i += 1 + l;
  }
  return labels.join(".");
}

/** NVT ASCII option text: trailing NULs dropped (RFC 2132 section 2), other bytes escaped. */
function text(b: Uint8Array, s: number, e: number): string {
  while (e > s && b[e - 1] === 0) e--;
  return printable(b, s, e, MAX_TEXT);
}

/** A NUL-terminated header string (sname, file). */
function cString(b: Uint8Array, s: number, max: number): string {
  let e = s;
  while (e < s + max && b[e] !== 0) e++;
  return printable(b, s, e, max);
}

function address(b: Uint8Array, at: number): string | undefined {
  const w = u32be(b, at);
  return w === 0 ? undefined : formatIPv4(w);
}

function hexPairs(b: Uint8Array, s: number, e: number): string {
  const out: string[] = [];
  for (let i = s; i < e; i++) out.push(b[i]!.toString(16).padStart(2, "0"));
  return out.join(":");
}
