/**
 * Parses the fixed header of one NTP datagram (RFC 5905 section 7.3; RFC 9327 for mode 6;
 * ntpd's ntp_request.h for mode 7). Extension fields and MACs after the header are not read.
 */

import { u32be } from "../../util/bytes.js";
import type { NtpModeName, NtpRecord, NtpResult } from "./record.js";

export const NTP_HEADER_BYTES = 48;
export const NTP_CONTROL_HEADER_BYTES = 12;
export const NTP_PRIVATE_HEADER_BYTES = 8;

const MODE_NAMES: (NtpModeName | undefined)[] = [
  undefined,
  "symmetric-active",
  "symmetric-passive",
  "client",
  "server",
  "broadcast",
  "control",
  "private",
];

const CONTROL_OPCODES: Record<number, string> = {
  1: "readstat",
  2: "readvar",
  3: "writevar",
  4: "readclock",
  5: "writeclock",
  6: "settrap",
  7: "asyncmsg",
  8: "configure",
  9: "saveconfig",
  10: "read_mru",
  11: "read_ordlist_a",
  12: "req_nonce",
  31: "unsettrap",
};

const REQUEST_CODES: Record<number, string> = {
  0: "peer_list",
  1: "peer_list_sum",
  2: "peer_info",
  3: "peer_stats",
  4: "sys_info",
  5: "sys_stats",
  6: "io_stats",
  7: "mem_stats",
  8: "loop_info",
  9: "timer_stats",
  20: "mon_getlist",
  42: "mon_getlist_1",
};

/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_UNIX_OFFSET = 2_208_988_800;
const ERA_SECONDS = 4_294_967_296;

export function parseNtp(buf: Uint8Array, off: number, len: number): NtpResult {
  if (len < 1) return { anomaly: "ntp_truncated" };
  const b0 = buf[off]!;
  const mode = b0 & 7;
  const version = (b0 >> 3) & 7;
  if (version === 0 || version > 4) return { anomaly: "ntp_bad_version" };
  const modeName = MODE_NAMES[mode];
  if (modeName === undefined) return { anomaly: "ntp_reserved_mode" };
  if (mode === 6) return control(buf, off, len, version);
  if (mode === 7) return privateMode(buf, off, len, version);
  if (len < NTP_HEADER_BYTES) return { anomaly: "ntp_truncated" };

  const stratum = buf[off + 1]!;
  const record: NtpRecord = {
    version,
    mode,
    mode_name: modeName,
    leap: b0 >> 6,
    stratum,
    poll: int8(buf[off + 2]!),
    precision: int8(buf[off + 3]!),
  };
  const refid = referenceId(buf, off + 12, stratum);
  if (refid !== undefined) record.reference_id = refid;
  const xmt = timestamp(buf, off + 40);
  if (xmt !== undefined) record.transmit_time = xmt;
  return { record };
}

function control(buf: Uint8Array, off: number, len: number, version: number): NtpResult {
  if (len < NTP_CONTROL_HEADER_BYTES) return { anomaly: "ntp_truncated" };
  const b1 = buf[off + 1]!;
  const opcode = b1 & 0x1f;
  const record: NtpRecord = {
    version,
    mode: 6,
    mode_name: "control",
    response: (b1 & 0x80) !== 0,
    control_opcode: opcode,
  };
  const name = CONTROL_OPCODES[opcode];
  if (name !== undefined) record.control_opcode_name = name;
  return { record };
}

function privateMode(buf: Uint8Array, off: number, len: number, version: number): NtpResult {
  if (len < NTP_PRIVATE_HEADER_BYTES) return { anomaly: "ntp_truncated" };
  const b0 = buf[off]!;
  const code = buf[off + 3]!;
  const record: NtpRecord = {
    version,
    mode: 7,
    mode_name: "private",
    response: (b0 & 0x80) !== 0,
    implementation: buf[off + 2]!,
    request_code: code,
    monlist: code === 20 || code === 42,
  };
  const name = REQUEST_CODES[code];
  if (name !== undefined) record.request_code_name = name;
  return { record };
}

function int8(v: number): number {
  return v > 127 ? v - 256 : v;
}

function referenceId(buf: Uint8Array, at: number, stratum: number): string | undefined {
  const a = buf[at]!;
  const b = buf[at + 1]!;
  const c = buf[at + 2]!;
  const d = buf[at + 3]!;
  if ((a | b | c | d) === 0) return undefined;
  if (stratum <= 1 || stratum === 16) {
    // Four ASCII characters, left-justified and zero-padded ("GPS\0").
    let text = "";
    let ended = false;
    let ascii = true;
    for (const ch of [a, b, c, d]) {
      if (ch === 0) ended = true;
      else if (ended || ch < 0x20 || ch > 0x7e) ascii = false;
      else text += String.fromCharCode(ch);
    }
    if (ascii) return text;
  }
  return `${a}.${b}.${c}.${d}`;
}

/** A 64-bit NTP timestamp as ISO 8601 with nanoseconds, or undefined when zero. */
export function timestamp(buf: Uint8Array, at: number): string | undefined {
  const sec = u32be(buf, at);
  const frac = u32be(buf, at + 4);
  if (sec === 0 && frac === 0) return undefined;
  // RFC 4330 section 3: with the top bit clear the time is in era 1 (from 2036), as tshark reads it.
  const unix = sec - NTP_UNIX_OFFSET + (sec < 0x80000000 ? ERA_SECONDS : 0);
  // 1e9 / 2^32 = 1953125 / 2^23: the product stays below 2^53, so the nanoseconds are exact (truncated, like tshark).
  const ns = Math.floor((frac * 1953125) / 8388608);
  const iso = new Date(unix * 1000).toISOString();
  return `${iso.slice(0, 19)}.${String(ns).padStart(9, "0")}Z`;
}
