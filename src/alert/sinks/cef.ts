/**
 * ArcSight Common Event Format (CEF:0) for an ECS alert record, for SIEMs that read CEF
 * over syslog (ArcSight, Sentinel's CommonSecurityLog, QRadar, Elastic's decode_cef):
 *
 *   CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|key=value key=value ...
 *
 * Escaping follows the CEF spec: in the header a backslash and a pipe are escaped with a
 * backslash; in extension values a backslash and an equals sign are, and a newline and a
 * carriage return become the two characters \n and \r (multi-line text is allowed only
 * in extension values, so the header turns them into spaces). Pipes need no escape in the
 * extension. Keys are fixed names from the CEF dictionary below and never need escaping.
 */
import { fieldAt, fieldText } from "../../output/record-path.js";

export interface CefProduct {
  vendor: string;
  product: string;
  version: string;
}

/** egressd.severity on CEF's 0..10 scale (0-3 low, 4-6 medium, 7-8 high, 9-10 very high). */
const CEF_SEVERITY: Record<string, number> = {
  info: 1,
  low: 3,
  medium: 5,
  high: 8,
  critical: 10,
};

/** What the CEF spec allows a key to be: letters and digits only. */
const VALID_KEY = /^[A-Za-z][A-Za-z0-9]*$/;

export function escapeCefHeader(value: string): string {
  return value.replace(/[\\|]/g, (c) => `\\${c}`).replace(/\r\n|[\r\n]/g, " ");
}

export function escapeCefValue(value: string): string {
  return value.replace(/[\\=\r\n]/g, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    return `\\${c}`;
  });
}

/** Integers only: CEF's number keys (ports, counts, cnN) reject anything else. */
function integer(value: unknown): string | undefined {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isSafeInteger(n) ? String(n) : undefined;
}

/**
 * Epoch milliseconds from an ISO 8601 time. Done by hand because egressd's timestamps carry
 * nanoseconds, more digits than Date.parse promises to read.
 */
export function epochMillis(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(value);
  if (m === null) return undefined;
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(seconds)) return undefined;
  const ms = Number((m[2] ?? "").padEnd(3, "0").slice(0, 3));
  return String(seconds + ms);
}

/** CEF wants MACs colon-separated; ECS writes them with hyphens. */
function mac(value: unknown): string | undefined {
  const s = fieldText(value);
  return s !== undefined && /^[0-9A-Fa-f]{2}([-:][0-9A-Fa-f]{2}){5}$/.test(s)
    ? s.replace(/-/g, ":")
    : undefined;
}

/** 1 outbound, 0 inbound, as seen from the watched network; absent when unclear. */
function direction(record: Record<string, unknown>): string | undefined {
  const src = fieldAt(record, "source.scope");
  const dst = fieldAt(record, "destination.scope");
  if (src === undefined || dst === undefined) return undefined;
  if (dst === "internet" && src !== "internet") return "1";
  if (src === "internet" && dst !== "internet") return "0";
  return undefined;
}

function list(value: unknown): string | undefined {
  if (!Array.isArray(value)) return fieldText(value);
  const items = value.map(fieldText).filter((v) => v !== undefined);
  return items.length > 0 ? items.join(",") : undefined;
}

/** The device that did it: a flow's source device, or the device of a first-seen alert. */
function device(record: Record<string, unknown>, key: string): string | undefined {
  return fieldText(
    fieldAt(record, `egressd.source_device.${key}`) ?? fieldAt(record, `egressd.device.${key}`),
  );
}

/** The extension pairs in a stable order; absent fields are left out. */
function extension(record: Record<string, unknown>): [string, string | undefined][] {
  const srcIp = fieldText(fieldAt(record, "source.ip"));
  const dstIp = fieldText(fieldAt(record, "destination.ip"));
  const v6 = (ip: string | undefined) => ip?.includes(":") === true;
  const transport = fieldText(fieldAt(record, "network.transport"));
  const pairs: [string, string | undefined][] = [
    ["rt", epochMillis(record["@timestamp"])],
    ["externalId", fieldText(fieldAt(record, "event.id"))],
    [
      "act",
      fieldText(fieldAt(record, "egressd.trigger")) ?? fieldText(fieldAt(record, "event.action")),
    ],
    ["cat", list(fieldAt(record, "egressd.tags")) ?? list(fieldAt(record, "event.category"))],
    ["msg", fieldText(record.message)],
    // src/dst are IPv4 in the CEF dictionary; IPv6 goes to the custom IPv6 address keys
    // the spec sets aside for source (c6a2) and destination (c6a3).
    ["src", v6(srcIp) ? undefined : srcIp],
    ["c6a2", v6(srcIp) ? srcIp : undefined],
    ["c6a2Label", v6(srcIp) ? "Source IPv6 Address" : undefined],
    ["spt", integer(fieldAt(record, "source.port"))],
    ["smac", mac(fieldAt(record, "source.mac"))],
    ["shost", fieldText(fieldAt(record, "source.domain"))],
    ["dst", v6(dstIp) ? undefined : dstIp],
    ["c6a3", v6(dstIp) ? dstIp : undefined],
    ["c6a3Label", v6(dstIp) ? "Destination IPv6 Address" : undefined],
    ["dpt", integer(fieldAt(record, "destination.port"))],
    ["dmac", mac(fieldAt(record, "destination.mac"))],
    ["dhost", fieldText(fieldAt(record, "destination.domain"))],
    ["proto", transport?.toUpperCase()],
    ["app", fieldText(fieldAt(record, "network.protocol"))],
    ["deviceDirection", direction(record)],
    ["out", integer(fieldAt(record, "egressd.flow.source_bytes"))],
    ["in", integer(fieldAt(record, "egressd.flow.destination_bytes"))],
    ["outcome", fieldText(fieldAt(record, "egressd.flow.outcome"))],
    ["request", fieldText(fieldAt(record, "url.original"))],
    ["requestMethod", fieldText(fieldAt(record, "http.request.method"))],
    ["requestClientApplication", fieldText(fieldAt(record, "user_agent.original"))],
    ["cnt", integer(fieldAt(record, "egressd.repeat.count"))],
    ["start", epochMillis(fieldAt(record, "egressd.repeat.first"))],
    ["end", epochMillis(fieldAt(record, "egressd.repeat.last"))],
    ["dvchost", fieldText(fieldAt(record, "observer.name"))],
    ["deviceInboundInterface", fieldText(fieldAt(record, "observer.interface"))],
  ];
  // Custom fields travel with a Label key that says what they hold.
  const custom: [string, string, string | undefined][] = [
    ["cs1", "Rule ID", fieldText(fieldAt(record, "rule.id"))],
    ["cs2", "Destination Country", fieldText(fieldAt(record, "destination.geo.country_iso_code"))],
    [
      "cs3",
      "Destination AS Organization",
      fieldText(fieldAt(record, "destination.as.organization.name")),
    ],
    ["cs4", "Device Group", device(record, "group")],
    ["cs5", "Device Role", device(record, "role")],
    ["cs6", "Community ID", fieldText(fieldAt(record, "network.community_id"))],
    ["cn1", "Destination ASN", integer(fieldAt(record, "destination.as.number"))],
    ["cn2", "VLAN ID", integer(fieldAt(record, "network.vlan.id"))],
  ];
  for (const [key, label, value] of custom) {
    if (value === undefined) continue;
    pairs.push([key, value], [`${key}Label`, label]);
  }
  return pairs;
}

/** ECS event.severity (1..99) scaled to 0..10 when egressd.severity is missing; else medium. */
function scoreSeverity(record: Record<string, unknown>): number {
  const score = fieldAt(record, "event.severity");
  if (typeof score !== "number" || !Number.isFinite(score)) return 5;
  return Math.min(10, Math.max(0, Math.round(score / 10)));
}

/** One CEF:0 line for an alert; every field the record lacks is simply left out. */
export function cefMessage(record: Record<string, unknown>, product: CefProduct): string {
  const ruleId = fieldText(fieldAt(record, "rule.id")) ?? "egressd-alert";
  const name = fieldText(fieldAt(record, "rule.name")) ?? fieldText(record.message) ?? ruleId;
  const severity =
    CEF_SEVERITY[String(fieldAt(record, "egressd.severity"))] ?? scoreSeverity(record);
  const header = [
    "CEF:0",
    escapeCefHeader(product.vendor),
    escapeCefHeader(product.product),
    escapeCefHeader(product.version),
    escapeCefHeader(ruleId),
    escapeCefHeader(name),
    String(severity),
  ].join("|");
  const ext: string[] = [];
  for (const [key, value] of extension(record)) {
    if (value === undefined) continue;
    if (!VALID_KEY.test(key)) throw new Error(`invalid CEF key ${key}`);
    ext.push(`${key}=${escapeCefValue(value)}`);
  }
  return `${header}|${ext.join(" ")}`;
}
