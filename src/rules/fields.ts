/**
 * Everything a rule condition can look at: its name in rule text, its kind (which
 * operators it takes), the triggers at which it is known, and how to read it from a
 * RuleContext. Names follow the Elastic Common Schema where ECS has one (source.ip,
 * destination.port, network.transport, dns.*, tls.*, http.*), so an analyst who knows the
 * flow records knows the rule language.
 */

import { IpProto } from "../decode/packet.js";
import { RULE_EMBEDDED_IPV4, RULE_SPECIAL, ScopeClassifier } from "../enrich/geoip/scope.js";
import type { GeoAnswer, Scope } from "../enrich/geoip/types.js";
import type { Flow } from "../flow/flow.js";
import { flowOutcome } from "../flow/outcome.js";
import { DEVICE_ROLES, type DeviceSummary } from "../inventory/index.js";
import { recordHasPorts, transportName } from "../output/flow-record.js";
import { DNS_RCODE_NAMES, DNS_TYPE_NAMES } from "../protocols/dns/mnemonics.js";
import type { FlowApp } from "../protocols/flow-app.js";
import { BODY_MAGICS } from "../protocols/http/record.js";
import { MAX_BODY_BYTES } from "../protocols/http/stream.js";
import { printable, toHex } from "../protocols/http/text.js";
import { MAX_PAYLOAD_BYTES } from "../protocols/inspector.js";
import { formatIp } from "../util/ip-text.js";
import { type RuleContext, TRIGGERS, type Trigger } from "./context.js";
import type { Unit } from "./units.js";

/**
 * ip: an address (CIDR, address sets); number: comparisons with a unit; domain: names
 * (exact, suffix, glob, domain sets); text: free text (prefix, suffix, contains, glob);
 * enum: one of known words; name: a free word compared exactly (device group names);
 * country: ISO 3166 alpha-2; bool: true or false.
 */
export type FieldKind = "ip" | "number" | "domain" | "text" | "enum" | "name" | "country" | "bool";

export type FieldValue = string | number | boolean | readonly string[] | undefined;

export interface FieldDef {
  readonly name: string;
  readonly kind: FieldKind;
  /** One line for docs and messages. */
  readonly help: string;
  readonly triggers: ReadonlySet<Trigger>;
  /** number: the unit amounts are written in; bounds for validation. */
  readonly unit?: Unit;
  readonly min?: number;
  readonly max?: number;
  /** number: `in:` takes AS-number sets. */
  readonly asn?: boolean;
  /** enum: the known words; strict: anything else is an error (else a warning). */
  readonly values?: readonly string[];
  readonly strict?: boolean;
  /** text: what `*` in a glob does not cross. */
  readonly separator?: "" | "." | "/";
  /** The value is a list; a condition holds when any element satisfies it. */
  readonly list?: boolean;
  /** ip fields on the flow: read the address words directly. */
  readonly side?: "src" | "dst";
  /** Transports the field implies (TLS and HTTP run over TCP): for the unreachable-rule check. */
  readonly transports?: readonly string[];
  /** A value here means the address is an internet one (only those get a country or AS). */
  readonly internet?: "src" | "dst";
  /** The value, or undefined when not known for this context. */
  readonly get: (ctx: RuleContext) => FieldValue;
}

const FLOW_TRIGGERS = TRIGGERS.filter(
  (t) => t !== "device_first_seen" && t !== "device_changed_after_update",
);
const DNS_TRIGGERS: Trigger[] = ["dns_query", "dns_answer"];
// TLS facts are the ClientHello's, and after it the flow keeps them: thresholds and the
// flow's end can use them too. At flow_outcome the handshake has not happened yet.
const TLS_TRIGGERS: Trigger[] = ["tls_client_hello", "flow_threshold", "flow_end"];
const HTTP_TRIGGERS: Trigger[] = ["http_request", "http_response"];

export const SCOPES = [
  "internet",
  "private",
  "shared",
  "loopback",
  "link-local",
  "multicast",
  "broadcast",
  "unique-local",
  "documentation",
  "benchmarking",
  "reserved",
  "unspecified",
] as const satisfies readonly Scope[];

export const DRIFT_KINDS = ["lookup", "destination", "port", "protocol", "volume"] as const;
export const CHANGE_KINDS = ["ja4", "user_agent", "dhcp_vendor_class", "http_server"] as const;

export const DIRECTIONS = ["outbound", "inbound", "internal", "external"] as const;
export const NAME_SOURCES = ["dns", "dns-other-client", "sni", "http", "none"] as const;
export const OUTCOMES = [
  "attempted",
  "rejected",
  "established",
  "closed",
  "reset",
  "midstream",
] as const;
export const PROTOCOLS = [
  "dns",
  "mdns",
  "llmnr",
  "tls",
  "http",
  "rtsp",
  "ntp",
  "dhcp",
  "sadp",
  "dhip",
  "dvrip",
  "ws-discovery",
  "dahua-p2p",
  "unknown",
] as const;

const HTTP_METHODS = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "OPTIONS",
  "PATCH",
  "CONNECT",
  "TRACE",
  "DESCRIBE",
  "ANNOUNCE",
  "SETUP",
  "PLAY",
  "PAUSE",
  "TEARDOWN",
  "GET_PARAMETER",
  "SET_PARAMETER",
  "RECORD",
  "REDIRECT",
];

/** Transport keywords as flow records write them, and the numbers they stand for. */
export const TRANSPORTS: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  for (let p = 0; p < 256; p++) {
    const name = transportName(p);
    if (name !== String(p)) m.set(name, p);
  }
  return m;
})();

// --- reading the context --------------------------------------------------------------

let classifier: ScopeClassifier | null = null;

/** The endpoint's scope: from GeoIP when the flow has it, else from the special ranges alone. */
function scopeOf(geo: GeoAnswer | null, f: Flow, side: "src" | "dst"): Scope {
  if (geo !== null) return geo.scope;
  classifier ??= new ScopeClassifier();
  const src = side === "src";
  const w3 = src ? f.src3 : f.dst3;
  let r =
    f.ipVersion === 4
      ? classifier.classify4(w3)
      : src
        ? classifier.classify6(f.src0, f.src1, f.src2, f.src3)
        : classifier.classify6(f.dst0, f.dst1, f.dst2, f.dst3);
  if (r !== null && r.kind === RULE_EMBEDDED_IPV4) r = classifier.classify4(w3);
  if (r === null || r.kind !== RULE_SPECIAL) return "internet";
  return r.answer!.scope;
}

export function srcScope(f: Flow): Scope {
  return scopeOf(f.srcGeo, f, "src");
}

export function dstScope(f: Flow): Scope {
  return scopeOf(f.dstGeo, f, "dst");
}

function direction(f: Flow): string {
  const srcLocal = srcScope(f) !== "internet";
  const dstLocal = dstScope(f) !== "internet";
  if (srcLocal) return dstLocal ? "internal" : "outbound";
  return dstLocal ? "inbound" : "external";
}

function app(ctx: RuleContext): FlowApp | null {
  return ctx.flow === null ? null : (ctx.flow.app as FlowApp | null);
}

function hello(ctx: RuleContext) {
  const a = app(ctx);
  if (a === null) return undefined;
  return a.tlsInfo?.client_hello ?? a.tls?.client.decoder.clientHello;
}

function selfSigned(ctx: RuleContext): boolean | undefined {
  if (ctx.tls?.selfSigned !== undefined) return ctx.tls.selfSigned;
  const a = app(ctx);
  if (a === null) return undefined;
  return (
    a.tlsInfo?.server_certificate?.self_signed ??
    a.tls?.server.decoder.certificates?.certificates[0]?.self_signed
  );
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === "" ? undefined : s;
}

/** "cam.example:8080" -> "cam.example": a Host header may carry the port. */
function hostName(h: string | undefined): string | undefined {
  if (h === undefined || h === "") return undefined;
  if (h.startsWith("[")) return h;
  const colon = h.lastIndexOf(":");
  return colon > 0 && h.indexOf(":") === colon ? h.slice(0, colon) : h;
}

function flowSeconds(f: Flow): number {
  return f.lastSec - f.startSec + (f.lastNsec - f.startNsec) / 1e9;
}

/** Bytes per second; undefined under a second, where one burst would read as a huge rate. */
function rate(bytes: number, seconds: number): number | undefined {
  return seconds >= 1 ? bytes / seconds : undefined;
}

// --- the catalogue ----------------------------------------------------------------------

type Spec = Omit<FieldDef, "name" | "triggers"> & { triggers: readonly Trigger[] };

const flowField =
  <T>(read: (f: Flow) => T) =>
  (ctx: RuleContext): T | undefined =>
    ctx.flow === null ? undefined : read(ctx.flow);

function endpoint(side: "src" | "dst"): Record<string, Spec> {
  const src = side === "src";
  const dev = (f: Flow): DeviceSummary | null => (src ? f.srcDevice : f.dstDevice);
  const geo = (f: Flow): GeoAnswer | null => (src ? f.srcGeo : f.dstGeo);
  const who = src ? "initiator" : "responder";
  return {
    ip: {
      kind: "ip",
      side,
      help: `the ${who}'s address`,
      triggers: FLOW_TRIGGERS,
      // Conditions read the address words; the text is for reasons only.
      get: flowField((f) =>
        src
          ? formatIp(f.ipVersion, f.src0, f.src1, f.src2, f.src3)
          : formatIp(f.ipVersion, f.dst0, f.dst1, f.dst2, f.dst3),
      ),
    },
    port: {
      kind: "number",
      unit: "count",
      min: 0,
      max: 65535,
      help: `the ${who}'s TCP/UDP/SCTP port`,
      transports: ["tcp", "udp", "sctp"],
      triggers: FLOW_TRIGGERS,
      get: flowField((f) => (recordHasPorts(f.proto) ? (src ? f.srcPort : f.dstPort) : undefined)),
    },
    group: {
      kind: "name",
      help: `the ${who}'s device group (config devices.groups)`,
      triggers: FLOW_TRIGGERS,
      get: flowField((f) => dev(f)?.group),
    },
    role: {
      kind: "enum",
      values: DEVICE_ROLES,
      strict: true,
      help: `the role of the ${who}'s device group`,
      triggers: FLOW_TRIGGERS,
      get: flowField((f) => dev(f)?.role),
    },
    maker: {
      kind: "text",
      separator: "",
      help: `the maker of the ${who}'s device, as the inventory decided it`,
      triggers: FLOW_TRIGGERS,
      get: flowField((f) => dev(f)?.maker),
    },
    scope: {
      kind: "enum",
      values: SCOPES,
      strict: true,
      help: `where the ${who}'s address is: internet, private, multicast...`,
      triggers: FLOW_TRIGGERS,
      get: flowField((f) => (src ? srcScope(f) : dstScope(f))),
    },
    country: {
      kind: "country",
      help: `ISO 3166 country of the ${who}'s (internet) address`,
      internet: side,
      triggers: FLOW_TRIGGERS,
      get: flowField((f) => geo(f)?.countryIso),
    },
    asn: {
      kind: "number",
      unit: "count",
      min: 0,
      max: 4294967295,
      asn: true,
      help: `the AS announcing the ${who}'s (internet) address`,
      internet: side,
      triggers: FLOW_TRIGGERS,
      get: flowField((f) => geo(f)?.asNumber),
    },
  };
}

function prefixed(prefix: string, specs: Record<string, Spec>): [string, Spec][] {
  return Object.entries(specs).map(([k, v]) => [`${prefix}.${k}`, v]);
}

const SPECS: [string, Spec][] = [
  ...prefixed("source", endpoint("src")),
  ...prefixed("destination", endpoint("dst")),
  [
    "destination.domain",
    {
      kind: "domain",
      help: "the destination's name (DNS answer, SNI or Host); at dns_* triggers the name asked for",
      triggers: FLOW_TRIGGERS,
      get: (ctx) => (ctx.dns !== undefined ? ctx.dns.queryName : nonEmpty(ctx.flow?.domain)),
    },
  ],
  [
    "destination.name_source",
    {
      kind: "enum",
      values: NAME_SOURCES,
      strict: true,
      help: "how the destination's name was learned; none = a hard-coded address",
      triggers: FLOW_TRIGGERS,
      get: flowField((f) => f.nameSource),
    },
  ],
  [
    "network.transport",
    {
      kind: "enum",
      values: [...TRANSPORTS.keys()],
      help: "tcp, udp, icmp, ipv6-icmp, sctp... (or the IP protocol number)",
      triggers: FLOW_TRIGGERS,
      get: flowField((f) => transportName(f.proto)),
    },
  ],
  [
    "network.protocol",
    {
      kind: "enum",
      values: PROTOCOLS,
      help: "the application protocol recognised by content (unknown when none); at flow_attempt and flow_outcome known for UDP only (a TCP flow has sent no data yet)",
      triggers: FLOW_TRIGGERS,
      get: (ctx) => {
        const f = ctx.flow;
        if (f === null) return undefined;
        const a = app(ctx);
        const known = a !== null && a.protocol !== "";
        if (known) return a.protocol;
        // Before a TCP flow's handshake is over no payload exists: not known, rather than
        // "unknown" (which would make `network.protocol: unknown` match every attempt).
        const early = ctx.trigger === "flow_attempt" || ctx.trigger === "flow_outcome";
        return early && f.proto === IpProto.TCP ? undefined : "unknown";
      },
    },
  ],
  [
    "network.direction",
    {
      kind: "enum",
      values: DIRECTIONS,
      strict: true,
      help: "outbound (local to internet), inbound, internal (local to local), external",
      triggers: FLOW_TRIGGERS,
      get: flowField(direction),
    },
  ],
  [
    "network.vlan",
    {
      kind: "number",
      unit: "count",
      min: 0,
      max: 4095,
      help: "the outer 802.1Q VLAN id",
      triggers: FLOW_TRIGGERS,
      get: flowField((f) => (f.vlanOuter >= 0 ? f.vlanOuter : undefined)),
    },
  ],
  [
    "flow.outcome",
    {
      kind: "enum",
      values: OUTCOMES,
      strict: true,
      help: "attempted, rejected, established; TCP also closed, reset, midstream",
      triggers: FLOW_TRIGGERS,
      get: flowField(flowOutcome),
    },
  ],
  [
    "flow.answered",
    {
      kind: "bool",
      help: "the responder sent anything (or an ICMP error came back)",
      triggers: FLOW_TRIGGERS,
      get: flowField((f) => f.dstPackets > 0 || f.icmpErrors > 0),
    },
  ],
  [
    "flow.bytes_out",
    {
      kind: "number",
      unit: "bytes",
      min: 0,
      help: "IP bytes the initiator sent over the whole flow (across active-timeout records)",
      triggers: FLOW_TRIGGERS,
      get: flowField((f) => f.totalBytesOut),
    },
  ],
  [
    "flow.bytes_in",
    {
      kind: "number",
      unit: "bytes",
      min: 0,
      help: "IP bytes the responder sent over the whole flow (across active-timeout records)",
      triggers: FLOW_TRIGGERS,
      get: flowField((f) => f.totalBytesIn),
    },
  ],
  [
    "flow.packets_out",
    {
      kind: "number",
      unit: "count",
      min: 0,
      help: "packets the initiator sent",
      triggers: FLOW_TRIGGERS,
      get: flowField((f) => f.srcPackets),
    },
  ],
  [
    "flow.packets_in",
    {
      kind: "number",
      unit: "count",
      min: 0,
      help: "packets the responder sent",
      triggers: FLOW_TRIGGERS,
      get: flowField((f) => f.dstPackets),
    },
  ],
  [
    "flow.duration",
    {
      kind: "number",
      unit: "seconds",
      min: 0,
      help: "seconds from the flow's first packet to its last",
      triggers: FLOW_TRIGGERS,
      get: flowField(flowSeconds),
    },
  ],
  [
    "flow.rate_out",
    {
      kind: "number",
      unit: "rate",
      min: 0,
      help: "the initiator's average send rate (bytes/s) since the flow began; unknown before 1 s",
      triggers: FLOW_TRIGGERS,
      get: flowField((f) => rate(f.totalBytesOut, flowSeconds(f))),
    },
  ],
  [
    "flow.rate_in",
    {
      kind: "number",
      unit: "rate",
      min: 0,
      help: "the responder's average send rate (bytes/s) since the flow began; unknown before 1 s",
      triggers: FLOW_TRIGGERS,
      get: flowField((f) => rate(f.totalBytesIn, flowSeconds(f))),
    },
  ],
  [
    "dns.query",
    {
      kind: "domain",
      help: "the name asked for",
      transports: ["udp", "tcp"],
      triggers: DNS_TRIGGERS,
      get: (ctx) => ctx.dns?.queryName,
    },
  ],
  [
    "dns.type",
    {
      kind: "enum",
      values: DNS_TYPE_NAMES,
      help: "the question type: A, AAAA, HTTPS... (or TYPE<n>)",
      transports: ["udp", "tcp"],
      triggers: DNS_TRIGGERS,
      get: (ctx) => ctx.dns?.queryType,
    },
  ],
  [
    "dns.rcode",
    {
      kind: "enum",
      values: DNS_RCODE_NAMES,
      help: "the answer's response code: NOERROR, NXDOMAIN, SERVFAIL...",
      transports: ["udp", "tcp"],
      triggers: ["dns_answer"],
      get: (ctx) => ctx.dns?.rcode,
    },
  ],
  [
    "dns.answer",
    {
      kind: "ip",
      list: true,
      help: "the A/AAAA addresses of the answer (any of them)",
      transports: ["udp", "tcp"],
      triggers: ["dns_answer"],
      get: (ctx) => ctx.dns?.answers,
    },
  ],
  [
    "tls.sni",
    {
      kind: "domain",
      help: "the server name the client asked for",
      transports: ["tcp"],
      triggers: TLS_TRIGGERS,
      get: (ctx) => ctx.tls?.sni ?? hello(ctx)?.server_name,
    },
  ],
  [
    "tls.alpn",
    {
      kind: "text",
      separator: "",
      list: true,
      help: "the protocols the client offered (h2, http/1.1...), any of them",
      transports: ["tcp"],
      triggers: TLS_TRIGGERS,
      get: (ctx) => ctx.tls?.alpn ?? hello(ctx)?.alpn,
    },
  ],
  [
    "tls.ja3",
    {
      kind: "text",
      separator: "",
      help: "JA3 hash (MD5, lower-case hex) of the ClientHello",
      transports: ["tcp"],
      triggers: TLS_TRIGGERS,
      get: (ctx) => ctx.tls?.ja3 ?? hello(ctx)?.ja3_hash,
    },
  ],
  [
    "tls.ja4",
    {
      kind: "text",
      separator: "",
      help: "JA4 fingerprint of the ClientHello",
      transports: ["tcp"],
      triggers: TLS_TRIGGERS,
      get: (ctx) => ctx.tls?.ja4 ?? hello(ctx)?.ja4,
    },
  ],
  [
    "tls.self_signed",
    {
      kind: "bool",
      help: "the server's certificate is self-signed (known once it was seen; TLS 1.2)",
      transports: ["tcp"],
      triggers: TLS_TRIGGERS,
      get: selfSigned,
    },
  ],
  ...httpFields(),
  ...payloadFields(),
  ...deviceFields(),
  ...driftFields(),
];

function httpFields(): [string, Spec][] {
  const text = (
    help: string,
    read: (h: NonNullable<RuleContext["http"]>) => string | undefined,
    separator: "" | "/" = "",
    triggers: readonly Trigger[] = HTTP_TRIGGERS,
  ): Spec => ({
    kind: "text",
    separator,
    help,
    transports: ["tcp"],
    triggers,
    get: (ctx) => (ctx.http === undefined ? undefined : read(ctx.http)),
  });
  return [
    [
      "http.method",
      {
        kind: "enum",
        values: HTTP_METHODS,
        help: "the request method (GET, PUT, POST...; RTSP methods too)",
        transports: ["tcp"],
        triggers: HTTP_TRIGGERS,
        get: (ctx) => ctx.http?.method,
      },
    ],
    [
      "http.host",
      {
        kind: "domain",
        help: "the Host header, without a port",
        transports: ["tcp"],
        triggers: HTTP_TRIGGERS,
        get: (ctx) => hostName(ctx.http?.host),
      },
    ],
    ["http.path", text("the request target without the query string", (h) => h.path, "/")],
    ["http.uri", text("the whole request target as sent", (h) => h.uri)],
    ["http.user_agent", text("the User-Agent header", (h) => h.userAgent)],
    ["http.content_type", text("the message's Content-Type", (h) => h.contentType)],
    [
      "http.content_length",
      {
        kind: "number",
        unit: "bytes",
        min: 0,
        help: "the message's Content-Length",
        transports: ["tcp"],
        triggers: HTTP_TRIGGERS,
        get: (ctx) => ctx.http?.contentLength,
      },
    ],
    [
      "http.body_magic",
      {
        kind: "enum",
        values: BODY_MAGICS,
        help: "firmware/archive format named from the body's first bytes",
        transports: ["tcp"],
        triggers: HTTP_TRIGGERS,
        get: (ctx) => ctx.http?.bodyMagic,
      },
    ],
    ["http.filename", text("the upload's or download's file name", (h) => h.filename)],
    [
      "http.status",
      {
        kind: "number",
        unit: "count",
        min: 100,
        max: 999,
        help: "the response status code",
        transports: ["tcp"],
        triggers: ["http_response"],
        get: (ctx) => ctx.http?.status,
      },
    ],
    ["http.server", text("the response's Server header", (h) => h.server, "", ["http_response"])],
    [
      "http.body",
      text(
        `the message's first ${MAX_BODY_BYTES} body bytes as text (other bytes as \\xNN)`,
        (h) => h.body,
      ),
    ],
  ];
}

/** `http.header.<name>`: any header of the message, by its (case-insensitive) name. */
export const HTTP_HEADER_PREFIX = "http.header.";
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const headerFields = new Map<string, FieldDef>();

function headerField(key: string): FieldDef | undefined {
  const name = key.slice(HTTP_HEADER_PREFIX.length).toLowerCase();
  if (!HEADER_NAME.test(name)) return undefined;
  let f = headerFields.get(name);
  if (f === undefined) {
    f = {
      name: `${HTTP_HEADER_PREFIX}${name}`,
      kind: "text",
      separator: "",
      list: true,
      help: `the message's ${name} header (any of them, if repeated)`,
      transports: ["tcp"],
      triggers: new Set(HTTP_TRIGGERS),
      get: (ctx) => {
        const all = ctx.http?.headers;
        if (all === undefined) return undefined;
        const values: string[] = [];
        for (let i = 0; i < all.length; i += 2) if (all[i] === name) values.push(all[i + 1]!);
        return values.length > 0 ? values : undefined;
      },
    };
    headerFields.set(name, f);
  }
  return f;
}

function payloadFields(): [string, Spec][] {
  const field = (side: "out" | "in", form: "text" | "hex"): [string, Spec] => {
    const who = side === "out" ? "initiator" : "responder";
    const what = form === "hex" ? "as lowercase hex" : "as text (other bytes as \\xNN)";
    return [
      `payload.${side}.${form}`,
      {
        kind: "text",
        separator: "",
        help: `the first ${MAX_PAYLOAD_BYTES} bytes of the ${who}'s first payload, ${what}; for protocols egressd does not parse`,
        triggers: FLOW_TRIGGERS,
        get: (ctx) => {
          const a = app(ctx);
          const bytes = a === null ? null : side === "out" ? a.payloadOut : a.payloadIn;
          if (bytes === null) return undefined;
          return form === "hex"
            ? toHex(bytes, 0, bytes.length)
            : printable(bytes, 0, bytes.length, bytes.length);
        },
      },
    ];
  };
  return [field("out", "text"), field("out", "hex"), field("in", "text"), field("in", "hex")];
}

function driftFields(): [string, Spec][] {
  const drift: Trigger[] = ["baseline_drift"];
  const change: Trigger[] = ["device_changed_after_update"];
  return [
    [
      "baseline.kind",
      {
        kind: "enum",
        values: DRIFT_KINDS,
        strict: true,
        help: "how the device left its group's baseline: lookup, destination, port, protocol, volume",
        triggers: drift,
        get: (ctx) => ctx.drift?.kind,
      },
    ],
    [
      "baseline.group",
      {
        kind: "name",
        help: "the device group whose baseline applies",
        triggers: drift,
        get: (ctx) => ctx.drift?.group,
      },
    ],
    [
      "baseline.what",
      {
        kind: "text",
        separator: "",
        help: "what happened: the name, port, protocol or volume outside the baseline",
        triggers: drift,
        get: (ctx) => ctx.drift?.what,
      },
    ],
    [
      "baseline.nearest",
      {
        kind: "text",
        separator: "",
        help: "the baseline entry nearest to what happened (absent when none is near)",
        triggers: drift,
        get: (ctx) => ctx.drift?.nearest,
      },
    ],
    [
      "change.what",
      {
        kind: "enum",
        values: CHANGE_KINDS,
        strict: true,
        list: true,
        help: "the fingerprints that changed: ja4, user_agent, dhcp_vendor_class, http_server",
        triggers: change,
        get: (ctx) => ctx.change?.what,
      },
    ],
    [
      "change.quiet_seconds",
      {
        kind: "number",
        unit: "seconds",
        min: 0,
        help: "how long the device was silent before it came back changed",
        triggers: change,
        get: (ctx) => ctx.change?.quietSeconds,
      },
    ],
  ];
}

function deviceFields(): [string, Spec][] {
  const d = (read: (dev: DeviceSummary) => string | boolean | undefined) => (ctx: RuleContext) =>
    ctx.device === undefined ? undefined : read(ctx.device);
  const only: Trigger[] = ["device_first_seen", "device_changed_after_update"];
  return [
    [
      "device.id",
      {
        kind: "name",
        help: "the new device's id (mac:... or ip:...)",
        triggers: only,
        get: d((x) => x.id),
      },
    ],
    [
      "device.mac",
      {
        kind: "text",
        separator: "",
        help: "its MAC, AA-BB-CC-DD-EE-FF",
        triggers: only,
        get: d((x) => x.mac),
      },
    ],
    [
      "device.group",
      { kind: "name", help: "its device group", triggers: only, get: d((x) => x.group) },
    ],
    [
      "device.role",
      {
        kind: "enum",
        values: DEVICE_ROLES,
        strict: true,
        help: "its group's role",
        triggers: only,
        get: d((x) => x.role),
      },
    ],
    [
      "device.maker",
      { kind: "text", separator: "", help: "its maker", triggers: only, get: d((x) => x.maker) },
    ],
    [
      "device.model",
      { kind: "text", separator: "", help: "its model", triggers: only, get: d((x) => x.model) },
    ],
    [
      "device.randomised_mac",
      {
        kind: "bool",
        help: "its MAC is locally administered",
        triggers: only,
        get: d((x) => x.randomised_mac),
      },
    ],
  ];
}

export const FIELDS: ReadonlyMap<string, FieldDef> = new Map(
  SPECS.map(([name, spec]) => [name, { ...spec, name, triggers: new Set(spec.triggers) }]),
);

export const FIELD_NAMES: readonly string[] = [...FIELDS.keys()];

/**
 * The flow record's and alert's (ECS) names for the same facts, so an analyst can write
 * a rule from the record in front of them: `dns.question.name` means `dns.query`.
 */
export const FIELD_ALIASES: ReadonlyMap<string, string> = new Map([
  ["source.geo.country_iso_code", "source.country"],
  ["source.as.number", "source.asn"],
  ["destination.geo.country_iso_code", "destination.country"],
  ["destination.as.number", "destination.asn"],
  ["egressd.name_source", "destination.name_source"],
  ["network.vlan.id", "network.vlan"],
  ["egressd.tcp.state", "flow.outcome"],
  ["dns.question.name", "dns.query"],
  ["dns.question.type", "dns.type"],
  ["dns.response_code", "dns.rcode"],
  ["dns.resolved_ip", "dns.answer"],
  ["tls.client.server_name", "tls.sni"],
  ["tls.client.ja3", "tls.ja3"],
  ["tls.client.ja4", "tls.ja4"],
  ["http.request.method", "http.method"],
  ["http.response.status_code", "http.status"],
  ["url.original", "http.uri"],
  ["url.path", "http.path"],
  ["url.domain", "http.host"],
  ["user_agent.original", "http.user_agent"],
]);

/** A field by its name or its ECS alias. */
export function fieldNamed(key: string): FieldDef | undefined {
  const f = FIELDS.get(key) ?? FIELDS.get(FIELD_ALIASES.get(key) ?? "");
  if (f !== undefined || !key.startsWith(HTTP_HEADER_PREFIX)) return f;
  return headerField(key);
}

/** "is known at http_request, http_response". */
export function triggerList(f: FieldDef): string {
  return TRIGGERS.filter((t) => f.triggers.has(t)).join(", ");
}
