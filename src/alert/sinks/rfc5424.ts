/**
 * RFC 5424 syslog messages and their framing on a stream (RFC 6587):
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID PARAM="value" ...] MSG
 *
 * Header fields are printable US-ASCII with the RFC's length limits; an empty one is the
 * NILVALUE "-". MSG is sent without the optional UTF-8 BOM: several receivers keep the BOM
 * as part of the text, which breaks the JSON or CEF parsers behind them.
 */
import type { Severity } from "../../rules/index.js";

/** RFC 5424 6.2.1 facility codes by their usual names. */
export const FACILITIES: Readonly<Record<string, number>> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  ntp: 12,
  audit: 13,
  alert: 14,
  clock: 15,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

/** egressd severity as syslog severity (2 crit, 3 err, 4 warning, 5 notice, 6 info). */
export const SYSLOG_SEVERITY: Readonly<Record<Severity, number>> = {
  critical: 2,
  high: 3,
  medium: 4,
  low: 5,
  info: 6,
};

/** RFC 5424 6.1 field limits. */
export const LIMITS = { hostname: 255, appName: 48, procId: 128, msgId: 32, sdName: 32 } as const;

/**
 * SD-ID for egressd's structured data. 32473 is the private enterprise number RFC 5612
 * reserves for documentation and examples; egressd has none of its own.
 */
export const SD_ID = "egressd@32473";

export interface Rfc5424Message {
  facility: number;
  severity: number;
  /** ISO 8601 time of the event; "-" is sent when it is missing or malformed. */
  timestamp: string | undefined;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  /** Formatted structured data (structuredData()) or "-". */
  structuredData: string;
  msg: string;
}

/** A facility by name or number; throws on anything RFC 5424 does not define. */
export function facilityCode(facility: string | number | undefined): number {
  if (facility === undefined) return FACILITIES.local0!;
  const code = typeof facility === "number" ? facility : FACILITIES[facility];
  if (code === undefined || !Number.isInteger(code) || code < 0 || code > 23) {
    throw new Error(`unknown syslog facility ${String(facility)}`);
  }
  return code;
}

/** Printable US-ASCII (33..126) only, at most maxLength characters, NILVALUE when empty. */
export function headerField(value: string | undefined, maxLength: number): string {
  const clean = (value ?? "").replace(/[^\x21-\x7e]/g, "_").slice(0, maxLength);
  return clean === "" ? "-" : clean;
}

/**
 * RFC 5424 TIMESTAMP from an ISO 8601 time: at most six fraction digits (egressd keeps
 * nanoseconds), which are cut, not rounded, so the time never moves forward.
 */
export function syslogTimestamp(value: string | undefined): string {
  if (value === undefined) return "-";
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(value);
  if (m === null || Number.isNaN(Date.parse(`${m[1]}${m[3]}`))) return "-";
  const fraction = m[2] !== undefined ? `.${m[2].slice(0, 6)}` : "";
  return `${m[1]}${fraction}${m[3]}`;
}

/** RFC 5424 6.3.3: '"', '\' and ']' are escaped with a backslash inside PARAM-VALUE. */
export function escapeParamValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** An SD-NAME: printable US-ASCII except '=', ' ', ']', '"', at most 32 characters. */
function sdName(name: string): string {
  const clean = name.replace(/[^\x21-\x7e]|[= \]"]/g, "_").slice(0, LIMITS.sdName);
  if (clean === "") throw new Error("empty structured-data name");
  return clean;
}

/** One SD-ELEMENT; params without a value are left out. */
export function structuredData(id: string, params: [string, string | undefined][]): string {
  const parts = [sdName(id)];
  for (const [name, value] of params) {
    if (value !== undefined) parts.push(`${sdName(name)}="${escapeParamValue(value)}"`);
  }
  return `[${parts.join(" ")}]`;
}

export function formatRfc5424(m: Rfc5424Message): string {
  const pri = m.facility * 8 + m.severity;
  const header = [
    `<${pri}>1`,
    syslogTimestamp(m.timestamp),
    headerField(m.hostname, LIMITS.hostname),
    headerField(m.appName, LIMITS.appName),
    headerField(m.procId, LIMITS.procId),
    headerField(m.msgId, LIMITS.msgId),
    m.structuredData,
  ].join(" ");
  return m.msg === "" ? header : `${header} ${m.msg}`;
}

/** RFC 6587 3.4.1 octet counting: "LEN SP MSG", LEN in bytes of the UTF-8 message. */
export function octetCounted(message: string): Buffer {
  const body = Buffer.from(message, "utf8");
  return Buffer.concat([Buffer.from(`${body.length} `, "ascii"), body]);
}

/**
 * RFC 6587 3.4.2 non-transparent framing: each message ends with LF. An LF inside the
 * message would end it early, so it becomes a space (JSON and CEF bodies have none).
 */
export function lfFramed(message: string): Buffer {
  return Buffer.from(`${message.replace(/\n/g, " ")}\n`, "utf8");
}

/**
 * The first maxBytes bytes of a UTF-8 message, never splitting a character; for datagrams,
 * which cannot be longer than the receiver accepts.
 */
export function cutUtf8(message: Buffer, maxBytes: number): Buffer {
  if (message.length <= maxBytes) return message;
  let end = maxBytes;
  // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && (message[end]! & 0xc0) === 0x80) end--;
  return message.subarray(0, end);
}
