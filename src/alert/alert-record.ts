import type { Flow } from "../flow/flow.js";
import { flowOutcome } from "../flow/outcome.js";
import type { DeviceSummary } from "../inventory/index.js";
import { endpointsOf } from "../output/endpoints.js";
import { recordHasPorts, transportName } from "../output/flow-record.js";
import { formatMac, formatTimestamp } from "../output/format.js";
import type { FlowApp } from "../protocols/flow-app.js";
import type { RuleContext } from "../rules/context.js";
import type { RuleMatch, Severity } from "../rules/index.js";

/** ECS event.severity as Elastic's detection rules number them. */
const SEVERITY_SCORE: Record<Severity, number> = {
  info: 1,
  low: 21,
  medium: 47,
  high: 73,
  critical: 99,
};

/** "camera cam-group (Hikvision, 10.20.0.11)": who did it, as an analyst reads it. */
function who(device: DeviceSummary | null, ip: string): string {
  if (device === null) return ip;
  const role = device.role ?? "device";
  const group = device.group !== undefined ? ` in ${device.group}` : "";
  const maker = device.maker !== undefined ? `${device.maker}, ` : "";
  return `${role[0]!.toUpperCase()}${role.slice(1)}${group} (${maker}${ip})`;
}

/** "litedev.hik-connect.com (203.0.113.7, CN, AS37963 Alibaba)": where it went. */
function where(flow: Flow, ip: string): string {
  const geo = flow.dstGeo;
  const parts = [ip];
  if (geo?.countryIso !== undefined) parts.push(geo.countryIso);
  if (geo?.asNumber !== undefined) {
    parts.push(`AS${geo.asNumber}${geo.asOrganization ? ` ${geo.asOrganization}` : ""}`);
  }
  const place = parts.join(", ");
  return flow.domain !== "" ? `${flow.domain} (${place})` : place;
}

/** One readable sentence per trigger. */
function sentence(ctx: RuleContext, flow: Flow | null, src: string, dst: string): string {
  if (ctx.trigger === "device_first_seen") {
    const d = ctx.device;
    return `New device ${d?.id ?? "?"}${d?.group ? ` in ${d.group}` : ""}${d?.maker ? ` (${d.maker})` : ""} seen`;
  }
  if (ctx.trigger === "device_changed_after_update") {
    const d = ctx.device;
    const c = ctx.change;
    const changed = (c?.what ?? [])
      .map((k) => `${k} ${c?.before[k] ?? "?"} -> ${c?.after[k] ?? "?"}`)
      .join("; ");
    return `Device ${d?.id ?? "?"}${d?.group ? ` in ${d.group}` : ""} came back after ${Math.round(c?.quietSeconds ?? 0)} s of silence changed (${changed}) after ${c?.update ?? "an update"}`;
  }
  const port = flow !== null && recordHasPorts(flow.proto) ? ` on port ${flow.dstPort}` : "";
  const proto = flow !== null ? transportName(flow.proto).toUpperCase() : "";
  switch (ctx.trigger) {
    case "baseline_drift": {
      const d = ctx.drift!;
      const outside = `outside the ${d.group} baseline${d.nearest ? ` (nearest: ${d.nearest})` : ""}`;
      if (d.kind === "lookup") return `${src} looked up ${d.what}, ${outside}`;
      if (d.kind === "volume") return `${src} sent ${d.what}, ${outside}`;
      if (d.kind === "protocol") return `${src} spoke ${d.what} to ${dst}${port}, ${outside}`;
      return `${src} reached ${dst}${port}, ${outside}`;
    }
    case "dns_query":
      return `${src} looked up ${ctx.dns?.queryName} (${ctx.dns?.queryType})`;
    case "dns_answer":
      return `${src} resolved ${ctx.dns?.queryName} to ${ctx.dns?.answers.join(", ") || ctx.dns?.rcode}`;
    case "tls_client_hello":
      return `${src} opened TLS to ${dst}${port}`;
    case "http_request":
      return `${src} sent ${ctx.http?.method ?? "a request"} ${ctx.http?.path ?? ""} to ${dst}${port}`;
    case "http_response":
      return `${dst} answered ${src} with HTTP ${ctx.http?.status ?? ""}${ctx.http?.bodyMagic ? ` carrying ${ctx.http.bodyMagic}` : ""}`;
    case "flow_threshold": {
      const t = ctx.threshold;
      const what =
        t?.kind === "duration"
          ? `has been connected for ${t.value} s`
          : `has ${t?.kind === "bytes_in" ? "received" : "sent"} ${t?.value} bytes`;
      return `${src} ${what} with ${dst}${port}`;
    }
    case "flow_attempt":
      return `${src} tried ${proto} to ${dst}${port}`;
    case "flow_outcome": {
      const outcome = flow !== null ? flowOutcome(flow) : "";
      if (outcome === "rejected") return `${dst} refused ${src}'s ${proto} connection${port}`;
      if (outcome === "attempted")
        return `${src} tried ${proto} to ${dst}${port}; nothing answered`;
      return `${src} reached ${dst}${port} over ${proto}`;
    }
    default:
      return `${src} talked ${proto} to ${dst}${port}`;
  }
}

function protocolFields(record: Record<string, unknown>, ctx: RuleContext): void {
  if (ctx.dns !== undefined) {
    const dns: Record<string, unknown> = {
      question: { name: ctx.dns.queryName, type: ctx.dns.queryType },
    };
    if (ctx.dns.rcode !== undefined) dns.response_code = ctx.dns.rcode;
    if (ctx.dns.answers.length > 0) dns.resolved_ip = ctx.dns.answers;
    record.dns = dns;
  }
  if (ctx.tls !== undefined) {
    const client: Record<string, unknown> = {};
    if (ctx.tls.sni !== undefined) client.server_name = ctx.tls.sni;
    if (ctx.tls.ja3 !== undefined) client.ja3 = ctx.tls.ja3;
    if (ctx.tls.ja4 !== undefined) client.ja4 = ctx.tls.ja4;
    record.tls = { client };
  }
  const h = ctx.http;
  if (h !== undefined) {
    const http: Record<string, unknown> = {};
    if (h.method !== undefined) http.request = { method: h.method };
    if (h.status !== undefined) http.response = { status_code: h.status };
    record.http = http;
    if (h.uri !== undefined) {
      const url: Record<string, unknown> = { original: h.uri, path: h.path };
      if (h.host !== undefined) url.domain = h.host;
      record.url = url;
    }
    if (h.userAgent !== undefined) record.user_agent = { original: h.userAgent };
  }
}

/**
 * An alert in Elastic Common Schema style: the rule that fired and why (`egressd.reasons`
 * lists each condition with the value it matched), the endpoints with their GeoIP answers
 * and devices, and the protocol facts of the trigger. Issue 6 adds dedup and sinks.
 */
export function alertRecord(match: RuleMatch, ctx: RuleContext): Record<string, unknown> {
  const flow = ctx.flow;
  const rule = match.rule;
  const record: Record<string, unknown> = {
    "@timestamp": formatTimestamp(ctx.tsSec, ctx.tsNsec),
    event: {
      kind: "alert",
      category: ["network"],
      severity: SEVERITY_SCORE[rule.severity],
      action: ctx.trigger,
      dataset: "egressd.alert",
    },
    rule: {
      id: rule.id,
      name: rule.name,
      description: rule.description,
      ...(rule.references[0] !== undefined ? { reference: rule.references[0] } : {}),
      ruleset: rule.file,
    },
  };
  let src = "";
  let dst = "";
  const egressd: Record<string, unknown> = {
    trigger: ctx.trigger,
    severity: rule.severity,
    reasons: match.reasons,
    tags: rule.tags,
  };
  if (flow !== null) {
    // The event endpoints (ip, port, GeoIP; transport, Community ID, VLAN), plus what an
    // alert adds: MACs, the destination's name and the recognised protocol.
    const { source, destination, network } = endpointsOf(flow);
    const s: Record<string, unknown> = { ...source };
    const d: Record<string, unknown> = { ...destination };
    if (flow.srcMac >= 0) s.mac = formatMac(flow.srcMac);
    if (flow.dstMac >= 0) d.mac = formatMac(flow.dstMac);
    if (flow.domain !== "") d.domain = flow.domain;
    record.source = s;
    record.destination = d;
    const net: Record<string, unknown> = { ...network };
    const protocol = (flow.app as FlowApp | null)?.protocol;
    if (protocol) net.protocol = protocol;
    record.network = net;
    if (flow.srcDevice !== null) egressd.source_device = flow.srcDevice;
    if (flow.dstDevice !== null) egressd.destination_device = flow.dstDevice;
    egressd.name_source = flow.nameSource;
    egressd.flow = {
      outcome: flowOutcome(flow),
      source_bytes: flow.totalBytesOut,
      destination_bytes: flow.totalBytesIn,
    };
    src = who(flow.srcDevice, source.ip);
    dst = where(flow, destination.ip);
  }
  if (ctx.device !== undefined) egressd.device = ctx.device;
  if (ctx.threshold !== undefined) egressd.threshold = ctx.threshold;
  if (ctx.drift !== undefined) egressd.baseline = ctx.drift;
  if (ctx.change !== undefined) egressd.change = ctx.change;
  protocolFields(record, ctx);
  record.message = sentence(ctx, flow, src, dst);
  record.egressd = egressd;
  return record;
}
