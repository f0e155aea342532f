import type { DhcpRecord } from "./dhcp/index.js";
import type { DiscoveryRecord } from "./discovery/index.js";
import type { DnsTcpFramer } from "./dns/index.js";
import type { HttpConnection, HttpTransaction } from "./http/index.js";
import type { NtpRecord } from "./ntp/index.js";
import type { TcpDirectionStream } from "./tcp-stream.js";
import type { TlsHandshakeInfo, TlsSession } from "./tls/index.js";

/** One TCP segment's payload in one direction, as the stream parsers take it. */
export interface StreamSegment {
  fromSource: boolean;
  seq: number;
  buf: Uint8Array;
  off: number;
  len: number;
}

/** Application protocols egressd recognises by content. */
export type AppProtocol =
  | "dns"
  | "mdns"
  | "llmnr"
  | "tls"
  | "http"
  | "rtsp"
  | "ntp"
  | "dhcp"
  | "sadp"
  | "dhip"
  | "dvrip"
  | "ws-discovery"
  | "dahua-p2p"
  | string;

/** Source/destination/network fields shared by a flow and its protocol events. */
export interface EventEndpoints {
  /** ip and port, plus scope, geo.* and as.* when GeoIP is on (src/output/enrichment-fields.ts). */
  source: { ip: string; port?: number; [field: string]: unknown };
  destination: { ip: string; port?: number; [field: string]: unknown };
  network: { transport: string; community_id: string; vlan?: { id: string } };
}

/** What the first DNS query and response of a flow said (for the flow record). */
export interface DnsSummary {
  kind: "dns" | "mdns" | "llmnr";
  queryName?: string;
  queryType?: string;
  responseCode?: string;
  resolvedIps: string[];
  transactions: number;
}

/**
 * Per-flow protocol state and the metadata the flow record will carry. Created on a
 * flow's first payload (most flows get one; only the protocols a flow speaks allocate
 * their parsers), dropped with the flow.
 */
export class FlowApp {
  protocol: AppProtocol = "";
  /** Payload packets seen without recognising a protocol: past a bound, inspection stops. */
  unrecognised = 0;
  /** Copies of those packets' TCP payloads, parsed once a later segment is recognised. */
  unrecognisedSegments: StreamSegment[] | null = null;
  /** Each direction's first payload bytes, kept only when a rule reads payload.* fields. */
  payloadOut: Buffer | null = null;
  payloadIn: Buffer | null = null;
  /** Initial sequence numbers from the SYN and SYN-ACK, so streams start at the right byte. */
  clientIsn = -1;
  serverIsn = -1;
  endpoints: EventEndpoints | null = null;

  // TCP byte streams, for protocols parsed as streams (HTTP, DNS over TCP).
  streams: [TcpDirectionStream, TcpDirectionStream] | null = null;

  dns: DnsSummary | null = null;
  dnsFramers: [DnsTcpFramer, DnsTcpFramer] | null = null;

  tls: TlsSession | null = null;
  tlsInfo: TlsHandshakeInfo | null = null;
  tlsReported = false;
  /** The tls_client_hello rule trigger went out for this flow. */
  clientHelloTriggered = false;
  /** Payload packets fed after the handshake finished, to catch a cleartext alert. */
  tlsAfterFinish = 0;

  http: HttpConnection | null = null;
  httpFirst: HttpTransaction | null = null;
  httpTransactions = 0;
  /** Firmware/archive magic names seen in any HTTP body of the flow. */
  bodyMagics: string[] = [];

  ntpClient: NtpRecord | null = null;
  ntpServer: NtpRecord | null = null;
  datagrams = 0;

  discovery: DiscoveryRecord | null = null;

  /**
   * DHCP messages: the first of each (client MAC, message type), at most 64. One
   * broadcast flow (0.0.0.0:68 -> 255.255.255.255:67) carries every client's DISCOVER,
   * so a flow can hold several clients; each record names its client by chaddr.
   */
  dhcp: DhcpRecord[] | null = null;
}
