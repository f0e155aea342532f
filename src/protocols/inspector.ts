import type { RawPacket } from "../capture/source.js";
import type { AnomalyCounters } from "../decode/anomalies.js";
import { type DecodedPacket, IpProto, TcpFlag } from "../decode/packet.js";
import { type NameSource, NameTable, type NameTableOptions } from "../enrich/names.js";
import type { Flow } from "../flow/flow.js";
import type { FlowObserver } from "../flow/table.js";
import { endpointsOf } from "../output/endpoints.js";
import type { RuleTriggers } from "../rules/triggers.js";
import { formatIp } from "../util/ip-text.js";
import { type DhcpRecord, looksLikeDhcp, parseDhcp } from "./dhcp/index.js";
import { type DiscoveryRecord, recogniseDiscovery } from "./discovery/index.js";
import {
  type DnsKind,
  type DnsMessage,
  type DnsResourceRecord,
  DnsTcpFramer,
  type DnsTransaction,
  DnsTransactionTracker,
  dnsKindForPort,
  looksLikeDns,
  parseDnsMessage,
} from "./dns/index.js";
import { type EventEndpoints, FlowApp, type StreamSegment } from "./flow-app.js";
import {
  HttpConnection,
  type HttpTransaction,
  looksLikeHttpRequest,
  looksLikeHttpResponse,
} from "./http/index.js";
import { looksLikeNtp, type NtpRecord, parseNtp } from "./ntp/index.js";
import { type StreamDeliver, TcpDirectionStream } from "./tcp-stream.js";
import { looksLikeTls, TlsSession } from "./tls/index.js";

export interface InspectorOptions {
  names: NameTableOptions;
  /** DNS queries awaiting an answer (bounded; the oldest is reported unanswered when full). */
  dnsMaxPending: number;
  /** A query unanswered this long (packet time) is reported as such. */
  dnsTimeoutSeconds: number;
  /** Bytes of a TLS handshake kept per direction while reassembling (out of order too). */
  tlsMaxBytes: number;
  /** Out-of-order bytes held per direction for stream parsers (HTTP, DNS over TCP). */
  streamHoldBytes: number;
  /** Payload packets of a flow looked at before giving up on recognising it. */
  maxUnrecognisedPackets: number;
  /** Datagrams of an NTP or discovery flow parsed (they repeat; the first ones say it all). */
  maxDatagrams: number;
  /** Protocol events wanted by the sink; the work of building the others is skipped. */
  events: ReadonlySet<ProtocolEventKind>;
  /**
   * What rules need beyond the records, off unless a loaded rule uses it: the first
   * payload bytes of each direction (payload.* fields), every HTTP header
   * (http.header.*), the first HTTP body bytes (http.body).
   */
  payloadBytes?: number;
  httpHeaders?: boolean;
  httpBodyBytes?: number;
}

/** The most first-payload bytes a flow keeps per direction for rules. */
export const MAX_PAYLOAD_BYTES = 256;

export const DEFAULT_INSPECTOR_OPTIONS: InspectorOptions = {
  names: { maxEntries: 200_000, minTtlSeconds: 3600, maxTtlSeconds: 86_400 },
  dnsMaxPending: 50_000,
  dnsTimeoutSeconds: 10,
  tlsMaxBytes: 16 * 1024,
  streamHoldBytes: 64 * 1024,
  maxUnrecognisedPackets: 2,
  maxDatagrams: 4,
  events: new Set(),
};

export type ProtocolEventKind = "dns" | "tls" | "http" | "ntp" | "dhcp" | "discovery";

export interface ProtocolEvent {
  kind: ProtocolEventKind;
  tsSec: number;
  tsNsec: number;
  endpoints: EventEndpoints | null;
  dns?: DnsTransaction;
  tls?: FlowApp;
  http?: HttpTransaction;
  /** The NTP message, DHCP message or discovery datagram this event is about. */
  ntp?: NtpRecord;
  dhcp?: DhcpRecord;
  discovery?: DiscoveryRecord;
  /** For NTP: sent by the flow's initiator (the client side). */
  fromSource?: boolean;
}

export interface InspectorSink {
  event(e: ProtocolEvent): void;
}

export interface InspectorStats {
  recognised: Record<string, number>;
  gaveUp: number;
}

const PORT_NTP = 123;
const TLS_SEGMENTS_AFTER_HANDSHAKE = 4;
/**
 * RTSP requests parsed per connection: a session's set-up (OPTIONS, DESCRIBE and its 401
 * retry, a SETUP per track, PLAY or RECORD) fits well within this, so rules see the
 * SETUP transport and a RECORD (a camera pushing its video out). After that a control
 * connection only carries keep-alives, and interleaved video stops parsing by itself.
 */
const RTSP_TRANSACTIONS_INSPECTED = 16;
/**
 * DHCP datagrams parsed per flow, and records kept. Higher than for NTP: every client's
 * broadcast DISCOVER and REQUEST share one flow (0.0.0.0:68 -> 255.255.255.255:67), and
 * a rack of cameras booting together is exactly what the inventory wants to see.
 */
const DHCP_MAX_DATAGRAMS = 256;
const DHCP_MAX_RECORDS = 64;
/** Bound on flows remembered for DNS events that complete after their flow ended. */
const MAX_DNS_FLOW_CONTEXTS = 100_000;

function isMulticast(flow: Flow): boolean {
  return flow.ipVersion === 4 ? flow.dst3 >>> 28 === 0xe : flow.dst0 >>> 24 === 0xff;
}

/**
 * The A/AAAA records that answer the question: owned by the question name or by a name
 * on its CNAME chain. Other records in the answer section are not what the client asked
 * for, and trusting them would let any resolver name any address (cache poisoning).
 */
function answeredAddresses(msg: DnsMessage): DnsResourceRecord[] {
  const q = msg.questions[0];
  if (q === undefined) return [];
  const owners = new Set([q.nameLower]);
  // CNAMEs may come in any order; a few rounds follow chains of any practical length.
  for (let round = 0; round < 8; round++) {
    const before = owners.size;
    for (const a of msg.answers) {
      if (a.type === 5 && a.data !== undefined && owners.has(a.name.toLowerCase())) {
        owners.add(a.data.toLowerCase());
      }
    }
    if (owners.size === before) break;
  }
  return msg.answers.filter(
    (a) =>
      (a.type === 1 || a.type === 28) && a.data !== undefined && owners.has(a.name.toLowerCase()),
  );
}

/** A Host header or SNI that is an IP literal names nothing. */
function hostName(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  let h = host.trim().toLowerCase();
  if (h.startsWith("[")) return undefined;
  const colon = h.lastIndexOf(":");
  // Several colons without brackets: an IPv6 literal, not a name.
  if (colon >= 0 && h.indexOf(":") !== colon) return undefined;
  if (colon > 0) h = h.slice(0, colon);
  if (h === "" || /^[0-9.]+$/.test(h)) return undefined;
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

/**
 * Looks at the first bytes of each flow and recognises its protocol by content (not by
 * port alone): DNS, TLS, HTTP/RTSP, NTP, DHCP, camera discovery and P2P. Parsers run on flow
 * starts and on the few packets they need; then `flow.inspect` is cleared and the flow
 * is back on the fast path. It also names destinations (passive DNS, then SNI, then
 * HTTP Host) and emits protocol events (dns.log / ssl.log / http.log style).
 */
export class ProtocolInspector implements FlowObserver {
  readonly names: NameTable;
  readonly stats: InspectorStats = { recognised: {}, gaveUp: 0 };
  private readonly dns: DnsTransactionTracker;
  /** DNS flows by id, so a transaction completing after its flow ended still has endpoints. */
  private readonly dnsContexts = new Map<number, EventEndpoints>();
  /** Rule triggers for DNS, TLS ClientHello and HTTP messages; null when no rules are loaded. */
  triggers: RuleTriggers | null = null;

  constructor(
    private readonly options: InspectorOptions,
    private readonly sink: InspectorSink,
    private readonly anomalies: AnomalyCounters,
  ) {
    this.names = new NameTable(options.names);
    this.payloadBytes = Math.min(Math.max(options.payloadBytes ?? 0, 0), MAX_PAYLOAD_BYTES);
    this.dns = new DnsTransactionTracker(
      { maxPending: options.dnsMaxPending, timeoutMs: options.dnsTimeoutSeconds * 1000 },
      (tx) => this.dnsTransaction(tx),
    );
  }

  flowStarted(flow: Flow, _pkt: DecodedPacket, _raw: RawPacket, _fromSource: boolean): void {
    const client = formatIp(flow.ipVersion, flow.src0, flow.src1, flow.src2, flow.src3);
    const server = formatIp(flow.ipVersion, flow.dst0, flow.dst1, flow.dst2, flow.dst3);
    const known = this.names.lookup(client, server, this.nowMs);
    if (known !== null) this.name(flow, known.name, known.source);
  }

  private nowMs = 0;
  private payloadBytes: number;

  /** What rules need kept (a reload may change it): applies to flows inspected from now on. */
  setRuleInputs(inputs: Pick<InspectorOptions, "payloadBytes" | "httpHeaders" | "httpBodyBytes">) {
    this.options.payloadBytes = inputs.payloadBytes;
    this.options.httpHeaders = inputs.httpHeaders;
    this.options.httpBodyBytes = inputs.httpBodyBytes;
    this.payloadBytes = Math.min(Math.max(inputs.payloadBytes ?? 0, 0), MAX_PAYLOAD_BYTES);
  }

  /** A copy of each direction's first payload, for payload.* rule fields. */
  private keepPayload(
    app: FlowApp,
    fromSource: boolean,
    buf: Uint8Array,
    off: number,
    len: number,
  ) {
    if ((fromSource ? app.payloadOut : app.payloadIn) !== null) return;
    const copy = Buffer.from(buf.subarray(off, off + Math.min(len, this.payloadBytes)));
    if (fromSource) app.payloadOut = copy;
    else app.payloadIn = copy;
  }

  tick(nowMs: number): void {
    this.nowMs = nowMs;
    this.dns.expire(nowMs);
  }

  packet(flow: Flow, pkt: DecodedPacket, raw: RawPacket, fromSource: boolean): void {
    const isTcp = pkt.proto === IpProto.TCP;
    let app = flow.app as FlowApp | null;
    if (isTcp && pkt.tcpFlags & TcpFlag.SYN) {
      if (app === null) flow.app = app = new FlowApp();
      if (fromSource) app.clientIsn = pkt.tcpSeq;
      else app.serverIsn = pkt.tcpSeq;
    }
    const len = pkt.payloadCaptured;
    if (len <= 0) return;
    if (app === null) flow.app = app = new FlowApp();
    if (this.payloadBytes > 0) this.keepPayload(app, fromSource, raw.buf, pkt.payloadOffset, len);
    // Data in a SYN (TCP Fast Open) starts after the SYN's own sequence number.
    const seq = isTcp && pkt.tcpFlags & TcpFlag.SYN ? (pkt.tcpSeq + 1) >>> 0 : pkt.tcpSeq;
    const segment: StreamSegment | null = isTcp
      ? { fromSource, seq, buf: raw.buf, off: pkt.payloadOffset, len }
      : null;
    if (app.protocol === "") {
      const recognised =
        segment !== null
          ? this.recogniseStream(flow, app, segment)
          : this.recogniseDatagram(flow, app, pkt, raw);
      if (!recognised) {
        if (++app.unrecognised >= this.options.maxUnrecognisedPackets) {
          flow.inspect = false;
          app.unrecognisedSegments = null;
          this.stats.gaveUp++;
        } else if (segment !== null) {
          holdUnrecognised(app, segment, this.options.tlsMaxBytes);
        }
        return;
      }
      this.stats.recognised[app.protocol] = (this.stats.recognised[app.protocol] ?? 0) + 1;
      if (segment !== null && app.unrecognisedSegments !== null) {
        this.replayWithHeld(flow, app, segment, raw);
        return;
      }
    }
    if (segment !== null) this.streamSegment(flow, app, segment, raw);
    else this.datagram(flow, app, pkt, raw, fromSource);
  }

  /** One TCP segment's payload, to the parser of the flow's recognised protocol. */
  private streamSegment(flow: Flow, app: FlowApp, segment: StreamSegment, raw: RawPacket): void {
    switch (app.protocol) {
      case "dns":
        this.dnsTcp(flow, app, segment, raw);
        break;
      case "tls":
        this.tlsSegment(flow, app, segment, raw);
        break;
      case "http":
      case "rtsp":
        this.httpSegment(flow, app, segment, raw);
        break;
    }
  }

  /**
   * The segment that made the flow recognisable, with the ones held before it, fed in
   * sequence order per direction: a stream without a SYN starts at the first byte it is
   * given, so an earlier segment fed after a later one would be taken for a retransmission.
   */
  private replayWithHeld(flow: Flow, app: FlowApp, segment: StreamSegment, raw: RawPacket): void {
    const segments = app.unrecognisedSegments ?? [];
    app.unrecognisedSegments = null;
    segments.push(segment);
    // Stable sort: client bytes first, then by sequence number (mod 2^32).
    segments.sort((a, b) =>
      a.fromSource !== b.fromSource ? (a.fromSource ? -1 : 1) : (a.seq - b.seq) | 0,
    );
    for (const s of segments) {
      if (!flow.inspect) break;
      this.streamSegment(flow, app, s, raw);
    }
  }

  /** One UDP (or other datagram) payload, to the parser of the flow's recognised protocol. */
  private datagram(
    flow: Flow,
    app: FlowApp,
    pkt: DecodedPacket,
    raw: RawPacket,
    fromSource: boolean,
  ): void {
    const buf = raw.buf;
    const off = pkt.payloadOffset;
    const len = pkt.payloadCaptured;
    switch (app.protocol) {
      case "dns":
      case "mdns":
      case "llmnr":
        this.dnsMessage(flow, app, buf, off, len, fromSource, raw, "udp");
        break;
      case "ntp":
        this.ntpDatagram(flow, app, buf, off, len, fromSource, raw);
        break;
      case "dhcp":
        this.dhcpDatagram(flow, app, buf, off, len, raw);
        break;
      default:
        this.discoveryDatagram(flow, app, pkt, raw);
    }
  }

  /** The flow is being reported: finish what its parsers hold so the record is complete. */
  flowEnding(flow: Flow): void {
    const app = flow.app as FlowApp | null;
    if (app === null) return;
    if (app.tls !== null && !app.tlsReported) {
      app.tls.finish();
      this.reportTls(flow, app, flow.lastSec, flow.lastNsec);
    }
    if (app.http !== null && flow.inspect) app.http.flush();
    if (app.dnsFramers !== null) {
      app.dnsFramers[0].end();
      app.dnsFramers[1].end();
    }
  }

  /** End of input: report every pending DNS query as unanswered. */
  finish(): void {
    this.dns.flush();
  }

  private recogniseDatagram(flow: Flow, app: FlowApp, pkt: DecodedPacket, raw: RawPacket): boolean {
    const buf = raw.buf;
    const off = pkt.payloadOffset;
    const len = pkt.payloadCaptured;
    const sPort = flow.srcPort;
    const dPort = flow.dstPort;
    if (pkt.proto === IpProto.UDP) {
      const kind = this.dnsKind(flow);
      if (kind !== null && looksLikeDns(buf, off, len, "udp")) {
        app.protocol = kind;
        return true;
      }
      if ((sPort === PORT_NTP || dPort === PORT_NTP || len === 48) && looksLikeNtp(buf, off, len)) {
        app.protocol = "ntp";
        return true;
      }
      if (looksLikeDhcp(buf, off, len)) {
        app.protocol = "dhcp";
        return true;
      }
      const discovery = recogniseDiscovery(buf, off, len, pkt.srcPort, pkt.dstPort);
      if (discovery !== null) {
        app.protocol = discovery.protocol;
        return true;
      }
      // DNS on an unusual port: only when the whole message parses cleanly.
      if (looksLikeDns(buf, off, len, "udp")) {
        const parsed = parseDnsMessage(buf, off, len);
        if (parsed.message !== undefined && parsed.anomaly === undefined) {
          app.protocol = "dns";
          return true;
        }
      }
      return false;
    }
    return false;
  }

  /**
   * Recognises a TCP flow from the start of one direction's bytes. When this segment
   * continues one held unrecognised (a DNS length prefix sent alone, a request line cut
   * by a small MSS), the two are looked at together.
   */
  private recogniseStream(flow: Flow, app: FlowApp, segment: StreamSegment): boolean {
    let { buf, off, len } = segment;
    const fromSource = segment.fromSource;
    const before = heldPrefix(app, fromSource, segment.seq);
    if (before !== null) {
      buf = Buffer.concat([before, buf.subarray(off, off + len)]);
      off = 0;
      len = buf.length;
    }
    const sPort = flow.srcPort;
    const dPort = flow.dstPort;
    if (looksLikeTls(buf, off, len)) {
      app.protocol = "tls";
      return true;
    }
    const http = fromSource
      ? looksLikeHttpRequest(buf, off, len)
      : looksLikeHttpResponse(buf, off, len);
    if (http !== null) {
      app.protocol = http;
      return true;
    }
    if ((sPort === 53 || dPort === 53) && looksLikeDns(buf, off, len, "tcp")) {
      app.protocol = "dns";
      return true;
    }
    return false;
  }

  /** DNS, mDNS or LLMNR by port; null when the ports say none of them. */
  private dnsKind(flow: Flow): DnsKind | null {
    const multicast = isMulticast(flow);
    for (const port of [flow.dstPort, flow.srcPort]) {
      if (port === 53 || port === 5353 || port === 5355) return dnsKindForPort(port, multicast);
    }
    return null;
  }

  // --- DNS ---------------------------------------------------------------

  private dnsTcp(flow: Flow, app: FlowApp, segment: StreamSegment, raw: RawPacket) {
    const fromSource = segment.fromSource;
    if (app.dnsFramers === null) {
      const framer = (dir: boolean) =>
        new DnsTcpFramer({
          message: (buf, off, len) => this.dnsMessage(flow, app, buf, off, len, dir, raw, "tcp"),
          anomaly: (a) => this.anomalies.addNamed(a),
        });
      app.dnsFramers = [framer(true), framer(false)];
    }
    const framer = app.dnsFramers[fromSource ? 0 : 1];
    this.pushStream(
      app,
      segment,
      (b, o, l) => framer.feed(b, o, l),
      () => framer.gap(),
    );
  }

  private dnsMessage(
    flow: Flow,
    app: FlowApp,
    buf: Uint8Array,
    off: number,
    len: number,
    fromSource: boolean,
    raw: RawPacket,
    transport: "udp" | "tcp",
  ): void {
    const parsed = parseDnsMessage(buf, off, len);
    if (parsed.anomaly !== undefined) this.anomalies.addNamed(parsed.anomaly);
    const msg = parsed.message;
    if (msg === undefined) return;
    const kind = (
      app.protocol === "mdns" || app.protocol === "llmnr" ? app.protocol : "dns"
    ) as DnsKind;
    this.summariseDns(app, msg, kind);
    if (kind === "dns") this.triggers?.dnsMessage(flow, msg, raw.tsSec, raw.tsNsec);
    if (kind === "dns" && msg.response && !fromSource) this.learnNames(flow, msg);
    // Pairing queries with answers only serves the dns events; the flow record has its summary.
    if (!this.options.events.has("dns")) return;
    if (app.endpoints === null) app.endpoints = endpointsOf(flow);
    this.rememberDnsContext(flow.id, app.endpoints);
    this.dns.onMessage(
      flow.id,
      fromSource,
      msg,
      raw.tsSec,
      raw.tsNsec,
      this.nowMsOf(raw),
      kind,
      transport,
    );
  }

  private summariseDns(app: FlowApp, msg: DnsMessage, kind: DnsKind): void {
    if (app.dns === null) app.dns = { kind, resolvedIps: [], transactions: 0 };
    const s = app.dns;
    const q = msg.questions[0];
    if (s.queryName === undefined && q !== undefined) {
      s.queryName = q.nameLower;
      s.queryType = q.typeName;
    }
    if (!msg.response) {
      s.transactions++;
      return;
    }
    if (s.responseCode === undefined) {
      s.responseCode = msg.rcodeName;
      for (const a of answeredAddresses(msg)) {
        if (s.resolvedIps.length >= 32) break;
        s.resolvedIps.push(a.data!);
      }
    }
  }

  /** The client will know each address its question resolved to by the question's name. */
  private learnNames(flow: Flow, msg: DnsMessage): void {
    const q = msg.questions[0];
    if (q === undefined || msg.rcode !== 0) return;
    const client = formatIp(flow.ipVersion, flow.src0, flow.src1, flow.src2, flow.src3);
    for (const a of answeredAddresses(msg)) {
      this.names.learn(client, a.data!, q.nameLower, a.ttl, this.nowMs);
    }
  }

  /** Only the endpoints are kept: the flow's parsers must be freed when it ends. */
  private rememberDnsContext(flowId: number, endpoints: EventEndpoints): void {
    if (this.dnsContexts.get(flowId) === endpoints) return;
    this.dnsContexts.delete(flowId);
    if (this.dnsContexts.size >= MAX_DNS_FLOW_CONTEXTS) {
      this.dnsContexts.delete(this.dnsContexts.keys().next().value as number);
    }
    this.dnsContexts.set(flowId, endpoints);
  }

  private dnsTransaction(tx: DnsTransaction): void {
    this.sink.event({
      kind: "dns",
      tsSec: tx.tsSec,
      tsNsec: tx.tsNsec,
      endpoints: this.dnsContexts.get(tx.flowId) ?? null,
      dns: tx,
    });
  }

  // --- TLS ---------------------------------------------------------------

  private tlsSegment(flow: Flow, app: FlowApp, segment: StreamSegment, raw: RawPacket) {
    const fromSource = segment.fromSource;
    if (app.tls === null) {
      const options: ConstructorParameters<typeof TlsSession>[0] = {
        maxBytes: this.options.tlsMaxBytes,
      };
      if (app.clientIsn >= 0) options.clientIsn = app.clientIsn;
      if (app.serverIsn >= 0) options.serverIsn = app.serverIsn;
      app.tls = new TlsSession(options);
    }
    const session = app.tls;
    session.feed(fromSource, segment.seq, segment.buf, segment.off, segment.len);
    if (flow.nameSource === "none") {
      const sni = hostName(session.client.decoder.clientHello?.server_name);
      if (sni !== undefined) this.name(flow, sni, "sni");
    }
    if (!app.clientHelloTriggered && session.client.decoder.clientHello) {
      app.clientHelloTriggered = true;
      this.triggers?.tlsClientHello(flow, app, raw.tsSec, raw.tsNsec);
    }
    // A client refusing the server's certificate says so in a cleartext alert right after
    // the handshake: watch a few more segments before going back to the fast path.
    if (session.finished && ++app.tlsAfterFinish > TLS_SEGMENTS_AFTER_HANDSHAKE) {
      if (!app.tlsReported) this.reportTls(flow, app, raw.tsSec, raw.tsNsec);
      flow.inspect = false;
    }
  }

  private reportTls(flow: Flow, app: FlowApp, tsSec: number, tsNsec: number): void {
    const session = app.tls!;
    app.tlsInfo = session.info();
    app.tlsReported = true;
    for (const a of app.tlsInfo.anomalies) this.anomalies.addNamed(a);
    if (!this.options.events.has("tls")) return;
    if (app.endpoints === null) app.endpoints = endpointsOf(flow);
    this.sink.event({ kind: "tls", tsSec, tsNsec, endpoints: app.endpoints, tls: app });
  }

  // --- HTTP / RTSP -------------------------------------------------------

  private httpSegment(flow: Flow, app: FlowApp, segment: StreamSegment, raw: RawPacket) {
    const fromSource = segment.fromSource;
    if (app.http === null) {
      if (app.endpoints === null && this.options.events.has("http"))
        app.endpoints = endpointsOf(flow);
      // Two interleaved RTP frames in a row mean the RTSP session is streaming: stop there.
      app.http = new HttpConnection(
        flow.id,
        {
          transaction: (t) => this.httpTransaction(flow, app, t),
          message: (m, request) => {
            // Named before the rules look, so http_request rules see the Host's name.
            this.nameFromHost(flow, app, m.request?.host);
            this.triggers?.httpMessage(flow, m, request);
          },
          anomaly: (a) => this.anomalies.addNamed(a),
        },
        {
          rtspBinaryFrames: 2,
          keepHeaders: this.options.httpHeaders === true,
          bodyBytes: this.options.httpBodyBytes ?? 0,
        },
      );
    }
    const http = app.http;
    this.pushStream(
      app,
      segment,
      (b, o, l) => http.feed(fromSource, b, o, l, raw.tsSec, raw.tsNsec),
      () => http.gap(fromSource),
    );
    if (!http.wantsMoreData()) {
      http.flush();
      flow.inspect = false;
    } else if (app.protocol === "rtsp" && app.httpTransactions >= RTSP_TRANSACTIONS_INSPECTED) {
      // The set-up carries what matters (Server banner, realm, the stream asked for,
      // PLAY or RECORD); the rest of a session is keep-alives around the video.
      http.flush();
      flow.inspect = false;
    }
  }

  private nameFromHost(flow: Flow, app: FlowApp, host: string | undefined): void {
    if (flow.nameSource !== "none" || flow.app !== app) return;
    const name = hostName(host);
    if (name !== undefined) this.name(flow, name, "http");
  }

  private httpTransaction(flow: Flow, app: FlowApp, t: HttpTransaction): void {
    app.httpTransactions++;
    if (app.httpFirst === null) app.httpFirst = t;
    for (const magic of [t.request?.body_magic, t.response?.body_magic]) {
      if (magic !== undefined && !app.bodyMagics.includes(magic)) app.bodyMagics.push(magic);
    }
    this.nameFromHost(flow, app, t.request?.host);
    if (!this.options.events.has("http")) return;
    this.sink.event({
      kind: "http",
      tsSec: t.ts_sec,
      tsNsec: t.ts_nsec,
      endpoints: app.endpoints,
      http: t,
    });
  }

  // --- NTP, DHCP and discovery -------------------------------------------

  private ntpDatagram(
    flow: Flow,
    app: FlowApp,
    buf: Uint8Array,
    off: number,
    len: number,
    fromSource: boolean,
    raw: RawPacket,
  ): void {
    const parsed = parseNtp(buf, off, len);
    if (parsed.anomaly !== undefined) {
      this.anomalies.addNamed(parsed.anomaly);
    } else {
      if (fromSource && app.ntpClient === null) app.ntpClient = parsed.record;
      if (!fromSource && app.ntpServer === null) app.ntpServer = parsed.record;
      this.datagramEvent({ kind: "ntp", ntp: parsed.record, fromSource }, flow, app, raw);
    }
    // The record keeps the first request and reply; later ones matter only as events.
    const haveBoth = app.ntpClient !== null && app.ntpServer !== null;
    if (
      ++app.datagrams >= this.options.maxDatagrams ||
      (haveBoth && !this.options.events.has("ntp"))
    ) {
      flow.inspect = false;
    }
  }

  private dhcpDatagram(
    flow: Flow,
    app: FlowApp,
    buf: Uint8Array,
    off: number,
    len: number,
    raw: RawPacket,
  ): void {
    const parsed = parseDhcp(buf, off, len);
    if (parsed.anomaly !== undefined) {
      this.anomalies.addNamed(parsed.anomaly);
    } else {
      const r = parsed.record;
      for (const a of r.anomalies ?? []) this.anomalies.addNamed(a);
      if (app.dhcp === null) app.dhcp = [];
      // Retransmissions repeat what the first message of that type said.
      const kept = app.dhcp;
      if (
        kept.length < DHCP_MAX_RECORDS &&
        !kept.some((k) => k.chaddr === r.chaddr && k.message_type === r.message_type)
      ) {
        kept.push(r);
      }
      this.datagramEvent({ kind: "dhcp", dhcp: r }, flow, app, raw);
    }
    if (++app.datagrams >= DHCP_MAX_DATAGRAMS) flow.inspect = false;
  }

  private discoveryDatagram(flow: Flow, app: FlowApp, pkt: DecodedPacket, raw: RawPacket): void {
    const record = recogniseDiscovery(
      raw.buf,
      pkt.payloadOffset,
      pkt.payloadCaptured,
      pkt.srcPort,
      pkt.dstPort,
    );
    if (record !== null) {
      // Replies carry the device details; keep the most informative record.
      const kept = app.discovery;
      if (kept === null || Object.keys(record.fields).length > Object.keys(kept.fields).length) {
        app.discovery = record;
      }
      this.datagramEvent({ kind: "discovery", discovery: record }, flow, app, raw);
    }
    if (++app.datagrams >= this.options.maxDatagrams) flow.inspect = false;
  }

  private datagramEvent(
    e: Pick<ProtocolEvent, "kind" | "ntp" | "dhcp" | "discovery" | "fromSource">,
    flow: Flow,
    app: FlowApp,
    raw: RawPacket,
  ): void {
    if (!this.options.events.has(e.kind)) return;
    if (app.endpoints === null) app.endpoints = endpointsOf(flow);
    this.sink.event({ ...e, tsSec: raw.tsSec, tsNsec: raw.tsNsec, endpoints: app.endpoints });
  }

  // --- helpers -----------------------------------------------------------

  /** Feeds a segment's payload to the flow's in-order stream for that direction. */
  private pushStream(
    app: FlowApp,
    segment: StreamSegment,
    deliver: StreamDeliver,
    gap: () => void,
  ): void {
    if (app.streams === null) {
      const hold = this.options.streamHoldBytes;
      app.streams = [new TcpDirectionStream(hold), new TcpDirectionStream(hold)];
      if (app.clientIsn >= 0) app.streams[0].syn(app.clientIsn);
      if (app.serverIsn >= 0) app.streams[1].syn(app.serverIsn);
    }
    const { fromSource, seq, buf, off, len } = segment;
    app.streams[fromSource ? 0 : 1].push(seq, buf, off, len, deliver, gap);
  }

  private name(flow: Flow, name: string, source: NameSource): void {
    flow.domain = name;
    flow.nameSource = source;
  }

  private nowMsOf(raw: RawPacket): number {
    return Math.max(this.nowMs, raw.tsSec * 1000 + raw.tsNsec / 1e6);
  }
}

/**
 * Keeps a copy of an unrecognised segment (the packet buffer is reused) so it can be
 * parsed once a later segment makes the flow recognisable. At most
 * maxUnrecognisedPackets - 1 segments, each cut to `maxBytes`.
 */
function holdUnrecognised(app: FlowApp, segment: StreamSegment, maxBytes: number): void {
  const { fromSource, seq, buf, off } = segment;
  const len = Math.min(segment.len, maxBytes);
  const copy = Buffer.from(buf.subarray(off, off + len));
  if (app.unrecognisedSegments === null) app.unrecognisedSegments = [];
  app.unrecognisedSegments.push({ fromSource, seq, buf: copy, off: 0, len });
}

/** The held bytes of this direction that end exactly where `seq` starts, or null. */
function heldPrefix(app: FlowApp, fromSource: boolean, seq: number): Uint8Array | null {
  const held = app.unrecognisedSegments;
  if (held === null) return null;
  const parts: Uint8Array[] = [];
  let next = seq;
  for (let found = true; found; ) {
    found = false;
    for (const h of held) {
      if (h.fromSource === fromSource && (h.seq + h.len) >>> 0 === next) {
        parts.unshift(h.buf.subarray(h.off, h.off + h.len));
        next = h.seq;
        found = parts.length < held.length;
        break;
      }
    }
  }
  return parts.length === 0 ? null : Buffer.concat(parts);
}
