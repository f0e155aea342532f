import type { Flow } from "../flow/flow.js";
import type { DeviceSummary } from "../inventory/index.js";

/**
 * The moments a rule can fire at: each is the earliest point the evidence exists, so an
 * alert comes when a camera looks up a vendor cloud, not when the flow ends an hour later.
 */
export const TRIGGERS = [
  "dns_query",
  "dns_answer",
  "flow_attempt",
  "flow_outcome",
  "tls_client_hello",
  "http_request",
  "http_response",
  "flow_threshold",
  "flow_end",
  "device_first_seen",
  "baseline_drift",
  "device_changed_after_update",
] as const;

export type Trigger = (typeof TRIGGERS)[number];

/** What a DNS trigger saw: the question, and for an answer its code and addresses. */
export interface DnsFacts {
  queryName: string;
  /** "A", "AAAA", "HTTPS", ... or the number as text. */
  queryType: string;
  /** dns_answer only: "NOERROR", "NXDOMAIN", ... */
  rcode?: string;
  /** dns_answer only: the A/AAAA addresses the question resolved to. */
  answers: string[];
}

/** The ClientHello's facts rules can match. */
export interface TlsFacts {
  sni?: string;
  alpn: string[];
  ja3?: string;
  ja4?: string;
  /** Known only once the server's certificate was seen (TLS 1.2). */
  selfSigned?: boolean;
}

/** One HTTP/RTSP request (http_request) or the response to it (http_response). */
export interface HttpFacts {
  method?: string;
  host?: string;
  /** The request target without the query string. */
  path?: string;
  /** The whole request target as sent. */
  uri?: string;
  userAgent?: string;
  /** The message's own Content-Type (request or response). */
  contentType?: string;
  contentLength?: number;
  /** Firmware/archive format named from the body's first bytes (digicap, dahua-zip...). */
  bodyMagic?: string;
  filename?: string;
  status?: number;
  server?: string;
  /** The message's own headers as [lowercase name, value, ...], when a rule reads http.header.*. */
  headers?: readonly string[];
  /** The message's first body bytes as printable text, when a rule reads http.body. */
  body?: string;
}

/** baseline_drift: how a device left its group's baseline (src/baseline/). */
export interface DriftFacts {
  /**
   * lookup: a name no device of the group asked for; destination: a peer, name or address
   * the baseline does not have; port: a known destination on another port; protocol: a
   * protocol not seen there; volume: more bytes in a day than the learned range.
   */
  kind: "lookup" | "destination" | "port" | "protocol" | "volume";
  /** The device group whose baseline applies. */
  group: string;
  /** What happened: the name, "tcp/7660 to 203.0.113.9", "tls", "52 MB out today". */
  what: string;
  /** The baseline entry closest to it, as text ("domain *.ys7.com tcp/443"), if any. */
  nearest?: string;
  /** volume: bytes so far today, and the learned maximum. */
  value?: number;
  limit?: number;
}

/** device_changed_after_update: what a device came back with after going quiet. */
export interface ChangeFacts {
  /** Fingerprints that differ: ja4, user_agent, dhcp_vendor_class, http_server. */
  what: string[];
  before: Record<string, string>;
  after: Record<string, string>;
  /** Seconds the device was silent before it came back. */
  quietSeconds: number;
  /** The transfer or push seen before it went quiet ("1.2 MB in from 203.0.113.9"). */
  update: string;
}

/** flow_threshold: which limit the flow just crossed. */
export interface ThresholdFacts {
  /** bytes_out = sent by the initiator, bytes_in = by the responder. */
  kind: "bytes_out" | "bytes_in" | "duration";
  /** The threshold crossed (bytes, or seconds). */
  value: number;
}

/**
 * Everything a rule is evaluated against at one trigger. The flow carries the rest:
 * endpoints and ports, VLAN, GeoIP answers (srcGeo/dstGeo), devices (srcDevice/
 * dstDevice), destination name and its source, counters, TCP state, and its protocol
 * state (flow.app). The context is only valid during the evaluate() call: the flow object
 * is reused once it ends.
 */
export interface RuleContext {
  trigger: Trigger;
  /** Packet time of the evidence. */
  tsSec: number;
  tsNsec: number;
  /** Null only for device_first_seen. */
  flow: Flow | null;
  dns?: DnsFacts;
  tls?: TlsFacts;
  http?: HttpFacts;
  threshold?: ThresholdFacts;
  /** device_first_seen, device_changed_after_update: the device. */
  device?: DeviceSummary;
  drift?: DriftFacts;
  change?: ChangeFacts;
}
