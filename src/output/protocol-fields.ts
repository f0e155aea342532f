import type { DhcpRecord } from "../protocols/dhcp/index.js";
import type { DiscoveryRecord } from "../protocols/discovery/index.js";
import type { DnsTransaction } from "../protocols/dns/index.js";
import type { FlowApp } from "../protocols/flow-app.js";
import type { HttpRequest, HttpResponse, HttpTransaction } from "../protocols/http/index.js";
import type { ProtocolEvent } from "../protocols/inspector.js";
import type { NtpRecord } from "../protocols/ntp/index.js";
import type { TlsCertificateInfo, TlsHandshakeInfo } from "../protocols/tls/index.js";
import { formatTimestamp } from "./format.js";

/**
 * ECS fields for what the protocol parsers learnt: added to flow records and written as
 * protocol events (`--events`). ECS names where ECS has them (dns.*, tls.*, http.*,
 * url.*, user_agent.*), the rest under egressd.*.
 */

type Obj = Record<string, unknown>;

/** "TLS 1.3" -> { version: "1.3", version_protocol: "tls" } as ECS splits it. */
function tlsVersion(text: string | undefined): Obj {
  if (text === undefined) return {};
  const m = /^(TLS|SSL) ?([0-9.]+)$/i.exec(text);
  return m ? { version: m[2], version_protocol: m[1]!.toLowerCase() } : { version: text };
}

function certificate(c: TlsCertificateInfo): Obj {
  const out: Obj = {};
  if (c.subject !== undefined) out.subject = c.subject;
  if (c.issuer !== undefined) out.issuer = c.issuer;
  if (c.not_before !== undefined) out.not_before = c.not_before;
  if (c.not_after !== undefined) out.not_after = c.not_after;
  const names = [...c.san_dns, ...c.san_ip];
  const x509: Obj = {};
  if (names.length > 0) x509.alternative_names = names;
  if (c.serial !== undefined) x509.serial_number = c.serial;
  if (Object.keys(x509).length > 0) out.x509 = x509;
  out.hash = { sha256: c.sha256 };
  return out;
}

/** ECS `tls.*` plus `egressd.tls.*` from a handshake. */
export function tlsFields(info: TlsHandshakeInfo): { tls: Obj; egressd: Obj } {
  const tls: Obj = { ...tlsVersion(info.version) };
  if (info.cipher !== undefined) tls.cipher = info.cipher;
  if (info.resumed !== undefined) tls.resumed = info.resumed;
  tls.established = info.server_hello !== undefined && info.alert === undefined;
  if (info.server_hello?.alpn !== undefined) tls.next_protocol = info.server_hello.alpn;
  const ch = info.client_hello;
  const client: Obj = {};
  if (info.server_name !== undefined) client.server_name = info.server_name;
  if (ch !== undefined) {
    client.ja3 = ch.ja3_hash;
    client.ja4 = ch.ja4;
  }
  if (Object.keys(client).length > 0) tls.client = client;
  const server: Obj = {};
  if (info.server_hello !== undefined) server.ja3s = info.server_hello.ja3s_hash;
  if (info.server_certificate !== undefined)
    Object.assign(server, certificate(info.server_certificate));
  if (Object.keys(server).length > 0) tls.server = server;

  const egressd: Obj = {};
  if (ch !== undefined) {
    egressd.client_version = ch.version;
    egressd.alpn = ch.alpn;
    egressd.ja3_string = ch.ja3;
  }
  if (info.server_certificate !== undefined)
    egressd.self_signed = info.server_certificate.self_signed;
  if (info.alert !== undefined) egressd.alert = info.alert;
  if (info.anomalies.length > 0) egressd.anomalies = info.anomalies;
  return { tls, egressd };
}

function httpRequestFields(r: HttpRequest, bodyBytes: number): { http: Obj; url: Obj; ua?: Obj } {
  const request: Obj = { method: r.method };
  if (r.content_type !== undefined) request.mime_type = r.content_type;
  request.body = { bytes: bodyBytes };
  const url: Obj = { original: r.uri };
  if (r.host !== undefined) url.domain = r.host;
  const out: { http: Obj; url: Obj; ua?: Obj } = {
    http: { version: r.version.replace(/^[A-Z]+\//, ""), request },
    url,
  };
  if (r.user_agent !== undefined) out.ua = { original: r.user_agent };
  return out;
}

function httpResponseFields(r: HttpResponse, bodyBytes: number): Obj {
  const response: Obj = { status_code: r.status_code };
  if (r.content_type !== undefined) response.mime_type = r.content_type;
  response.body = { bytes: bodyBytes };
  return response;
}

/** ECS http/url/user_agent for one transaction, and egressd.http for what ECS lacks. */
export function httpFields(t: HttpTransaction): Obj {
  const out: Obj = {};
  const extra: Obj = { protocol: t.protocol };
  if (t.request !== undefined) {
    const f = httpRequestFields(t.request, t.request_body_bytes);
    out.http = f.http;
    out.url = f.url;
    if (f.ua !== undefined) out.user_agent = f.ua;
    if (t.request.content_length !== undefined)
      extra.request_content_length = t.request.content_length;
    if (t.request.body_prefix !== undefined) extra.request_body_prefix = t.request.body_prefix;
    if (t.request.body_magic !== undefined) extra.request_body_magic = t.request.body_magic;
    if (t.request.filename !== undefined) extra.request_filename = t.request.filename;
  }
  if (t.response !== undefined) {
    const http = (out.http ?? { version: t.response.version.replace(/^[A-Z]+\//, "") }) as Obj;
    http.response = httpResponseFields(t.response, t.response_body_bytes);
    out.http = http;
    if (t.response.server !== undefined) extra.server = t.response.server;
    if (t.response.www_authenticate_realm !== undefined)
      extra.realm = t.response.www_authenticate_realm;
    if (t.response.location !== undefined) extra.location = t.response.location;
    if (t.response.content_length !== undefined)
      extra.response_content_length = t.response.content_length;
    if (t.response.body_prefix !== undefined) extra.response_body_prefix = t.response.body_prefix;
    if (t.response.body_magic !== undefined) extra.response_body_magic = t.response.body_magic;
    if (t.response.filename !== undefined) extra.response_filename = t.response.filename;
  }
  if (t.incomplete) extra.incomplete = true;
  if (t.anomalies.length > 0) extra.anomalies = t.anomalies;
  out.egressd = { http: extra };
  return out;
}

function ntpFields(r: NtpRecord): Obj {
  const out: Obj = { version: r.version, mode: r.mode_name };
  if (r.stratum !== undefined) out.stratum = r.stratum;
  if (r.reference_id !== undefined) out.reference_id = r.reference_id;
  if (r.transmit_time !== undefined) out.transmit_time = r.transmit_time;
  if (r.monlist) out.monlist = true;
  return out;
}

/** One DHCP message's fields under egressd.dhcp (names: src/protocols/dhcp/record.ts). */
function dhcpFields(r: DhcpRecord): Obj {
  const out: Obj = {};
  if (r.message_type !== undefined) out.message_type = r.message_type_name;
  out.xid = `0x${r.xid.toString(16).padStart(8, "0")}`;
  if (r.mac !== undefined) out.mac = r.mac;
  else out.chaddr = r.chaddr;
  for (const key of [
    "ciaddr",
    "yiaddr",
    "siaddr",
    "giaddr",
    "host_name",
    "client_fqdn",
    "vendor_class",
    "param_list",
    "client_id",
    "requested_addr",
    "server_id",
    "lease_time",
    "domain",
    "message",
    "sname",
    "file",
  ] as const) {
    if (r[key] !== undefined) out[key] = r[key];
  }
  if (r.hops > 0) out.hops = r.hops;
  if (r.broadcast) out.broadcast = true;
  if (r.anomalies !== undefined) out.anomalies = r.anomalies;
  return out;
}

/**
 * The flow's DHCP summary, kept the way NTP's is: the first client message and the first
 * server message, plus every message type and client MAC the flow carried (a broadcast
 * flow holds several clients; --events dhcp has each message).
 */
function dhcpFlowFields(records: DhcpRecord[]): Obj {
  const out: Obj = {};
  const types: string[] = [];
  const clients: string[] = [];
  for (const r of records) {
    if (r.message_type_name !== undefined && !types.includes(r.message_type_name))
      types.push(r.message_type_name);
    const client = r.mac ?? r.chaddr;
    if (!clients.includes(client)) clients.push(client);
  }
  if (types.length > 0) out.msg_types = types;
  out.clients = clients;
  const request = records.find((r) => r.op === 1);
  const reply = records.find((r) => r.op === 2);
  if (request !== undefined) out.client = dhcpFields(request);
  if (reply !== undefined) out.server = dhcpFields(reply);
  return out;
}

function discoveryFields(d: DiscoveryRecord): Obj {
  return { protocol: d.protocol, vendor: d.vendor, message: d.message, ...d.fields };
}

/** Adds protocol metadata and the destination's name to a flow record, in place. */
export function addProtocolFields(
  record: Obj,
  app: FlowApp | null,
  domain: string,
  nameSource: string,
): void {
  const destination = record.destination as Obj;
  if (domain !== "") destination.domain = domain;
  const egressd = record.egressd as Obj;
  egressd.name_source = nameSource;
  if (app === null || app.protocol === "") return;
  (record.network as Obj).protocol = app.protocol;
  if (app.dns !== null) {
    const d = app.dns;
    const dns: Obj = {};
    if (d.queryName !== undefined) dns.question = { name: d.queryName, type: d.queryType };
    if (d.responseCode !== undefined) dns.response_code = d.responseCode;
    if (d.resolvedIps.length > 0) dns.resolved_ip = d.resolvedIps;
    record.dns = dns;
    egressd.dns = { kind: d.kind, queries: d.transactions };
  }
  if (app.tlsInfo !== null) {
    const f = tlsFields(app.tlsInfo);
    record.tls = f.tls;
    egressd.tls = f.egressd;
  }
  if (app.httpFirst !== null) {
    const f = httpFields(app.httpFirst);
    for (const key of ["http", "url", "user_agent"]) if (f[key] !== undefined) record[key] = f[key];
    const http = (f.egressd as Obj).http as Obj;
    http.transactions = app.httpTransactions;
    if (app.bodyMagics.length > 0) http.body_magic = app.bodyMagics;
    egressd.http = http;
  }
  if (app.ntpClient !== null || app.ntpServer !== null) {
    const ntp: Obj = {};
    if (app.ntpClient !== null) ntp.client = ntpFields(app.ntpClient);
    if (app.ntpServer !== null) ntp.server = ntpFields(app.ntpServer);
    egressd.ntp = ntp;
  }
  if (app.dhcp !== null && app.dhcp.length > 0) egressd.dhcp = dhcpFlowFields(app.dhcp);
  if (app.discovery !== null) egressd.discovery = discoveryFields(app.discovery);
}

function dnsEventFields(tx: DnsTransaction): Obj {
  const dns: Obj = {
    id: String(tx.id),
    type: tx.answered ? "answer" : "query",
  };
  if (tx.query !== undefined) {
    dns.question = {
      name: tx.queryLower ?? tx.query,
      type: tx.qtypeName,
      class: tx.qclass === 1 ? "IN" : tx.qclass,
    };
  }
  if (tx.rcodeName !== undefined) dns.response_code = tx.rcodeName;
  const flags: string[] = [];
  if (tx.aa) flags.push("AA");
  if (tx.tc) flags.push("TC");
  if (tx.rd) flags.push("RD");
  if (tx.ra) flags.push("RA");
  dns.header_flags = flags;
  if (tx.answers.length > 0) {
    dns.answers = tx.answers.map((a) => ({
      name: a.name,
      type: a.typeName,
      ttl: a.ttl,
      data: a.data,
    }));
  }
  if (tx.addresses.length > 0) dns.resolved_ip = tx.addresses;
  const extra: Obj = { kind: tx.kind, answered: tx.answered, closed_by: tx.closedBy };
  if (tx.rtt !== undefined) extra.rtt = tx.rtt;
  if (tx.cnames.length > 0) extra.cnames = tx.cnames;
  return { dns, egressd: { dns: extra } };
}

/** One protocol event (dns.log / ssl.log / http.log style), ECS shaped. */
export function protocolEventRecord(e: ProtocolEvent): Obj {
  const record: Obj = {
    "@timestamp": formatTimestamp(e.tsSec, e.tsNsec),
    event: {
      kind: "event",
      category: ["network"],
      type: ["protocol"],
      dataset: `egressd.${e.kind}`,
    },
  };
  if (e.endpoints !== null) {
    record.source = { ...e.endpoints.source };
    record.destination = { ...e.endpoints.destination };
    record.network = { ...e.endpoints.network };
  }
  const network = (record.network ?? {}) as Obj;
  record.network = network;
  if (e.kind === "dns" && e.dns !== undefined) {
    network.protocol = e.dns.kind;
    Object.assign(record, dnsEventFields(e.dns));
  } else if (e.kind === "tls" && e.tls?.tlsInfo != null) {
    network.protocol = "tls";
    const f = tlsFields(e.tls.tlsInfo);
    record.tls = f.tls;
    record.egressd = { tls: f.egressd };
  } else if (e.kind === "http" && e.http !== undefined) {
    network.protocol = e.http.protocol;
    Object.assign(record, httpFields(e.http));
  } else if (e.kind === "ntp" && e.ntp !== undefined) {
    network.protocol = "ntp";
    record.egressd = { ntp: { [e.fromSource ? "client" : "server"]: ntpFields(e.ntp) } };
  } else if (e.kind === "dhcp" && e.dhcp !== undefined) {
    network.protocol = "dhcp";
    record.egressd = { dhcp: { [e.dhcp.op === 1 ? "client" : "server"]: dhcpFields(e.dhcp) } };
  } else if (e.kind === "discovery" && e.discovery !== undefined) {
    const d = e.discovery;
    network.protocol = d.protocol;
    record.egressd = { discovery: discoveryFields(d) };
  }
  return record;
}
