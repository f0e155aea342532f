/**
 * The NTP record: one datagram's header, as Zeek's ntp.log keeps it. Cameras set their
 * clocks from a configured server (often pool.ntp.org or time.windows.com out of the box);
 * which server and how they ask is worth a line. Control (mode 6) and private (mode 7)
 * packets are recognised too: mode 7 "monlist" is a known amplification vector.
 */

/** Anomalies parseNtp can return instead of a record. */
export const NTP_ANOMALIES = [
  /** Shorter than its mode's fixed header (48 bytes for modes 1-5, 12 for 6, 8 for 7). */
  "ntp_truncated",
  /** Version 0, or above 4. */
  "ntp_bad_version",
  /** Mode 0, reserved. */
  "ntp_reserved_mode",
] as const;

export type NtpAnomaly = (typeof NTP_ANOMALIES)[number];

/** RFC 5905 figure 10 (modes 1-5), RFC 9327 (6), ntpd's private mode (7). */
export type NtpModeName =
  | "symmetric-active"
  | "symmetric-passive"
  | "client"
  | "server"
  | "broadcast"
  | "control"
  | "private";

export interface NtpRecord {
  /** Version number, 1-4. */
  version: number;
  /** Association mode, 1-7. */
  mode: number;
  mode_name: NtpModeName;

  // Modes 1-5: the time header.
  /** Leap indicator: 0 none, 1 last minute has 61 s, 2 has 59 s, 3 clock unsynchronised. */
  leap?: number;
  /** 0 unspecified or kiss-o'-death, 1 primary (reference clock), 2-15 secondary, 16 unsynchronised. */
  stratum?: number;
  /** Poll interval, log2 seconds (signed). */
  poll?: number;
  /** Clock precision, log2 seconds (signed; -20 is about a microsecond). */
  precision?: number;
  /**
   * Reference id: for stratum 0 (kiss code, "RATE", "DENY"), 1 (clock source, "GPS",
   * "LOCL") and 16 the four ASCII characters; otherwise the upstream server's IPv4
   * address in dotted form (for an IPv6 upstream, the first 4 bytes of its address's MD5).
   * Absent when all zero (client requests).
   */
  reference_id?: string;
  /** Transmit timestamp as ISO 8601 UTC with nanoseconds; absent when zero. Clients may randomise it (chrony does). */
  transmit_time?: string;

  // Modes 6 and 7.
  /** The packet is a response (R bit). */
  response?: boolean;
  /** Mode 6 opcode: 1 readstat, 2 readvar, ... 10 read_mru. */
  control_opcode?: number;
  control_opcode_name?: string;
  /** Mode 7 implementation number (0 universal, 2 old xntpd, 3 xntpd). */
  implementation?: number;
  /** Mode 7 request code (20 MON_GETLIST, 42 MON_GETLIST_1...). */
  request_code?: number;
  request_code_name?: string;
  /** A mode 7 monlist request or reply: the reflection/amplification vector of CVE-2013-5211. */
  monlist?: boolean;
}

export type NtpResult =
  | { record: NtpRecord; anomaly?: undefined }
  | { record?: undefined; anomaly: NtpAnomaly };
