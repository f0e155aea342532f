/**
 * The DNS records: one parsed message (DnsMessage) and one query/response pair, the
 * dns.log-like transaction (DnsTransaction).
 *
 * Names. Every name is kept as it was sent (DNS is case-insensitive, but the case on the
 * wire carries information: 0x20 randomisation, what a user or a device typed), in
 * presentation form without the trailing dot; the root is ".". Label bytes other than
 * printable ASCII, and "." and "\" inside a label, are escaped as dig does: "\." "\\" and
 * "\DDD" (three decimal digits). Lookups and comparisons use the lowercase form
 * (`dnsNameKey()`: ASCII lowercase, nothing else), which DnsQuestion.nameLower and
 * DnsTransaction.queryLower carry precomputed.
 */

import type { DnsAnomaly } from "./anomalies.js";

/** Which protocol of the DNS family a message belongs to (decided by port, see recognise.ts). */
export type DnsKind = "dns" | "mdns" | "llmnr";

export type DnsTransport = "udp" | "tcp";

export interface DnsQuestion {
  /** QNAME as sent (see "Names" above). */
  name: string;
  /** QNAME in ASCII lowercase: the key for lookups. */
  nameLower: string;
  /** QTYPE number (1 A, 28 AAAA, 65 HTTPS...). */
  type: number;
  /** QTYPE mnemonic, "TYPE<n>" for unassigned numbers (RFC 3597). */
  typeName: string;
  /** QCLASS as sent, all 16 bits: in mDNS the top bit is the "unicast response" (QU) bit. */
  class: number;
}

export interface DnsResourceRecord {
  /** Owner name as sent. */
  name: string;
  type: number;
  /** TYPE mnemonic, "TYPE<n>" for unassigned numbers. */
  typeName: string;
  /** CLASS as sent, all 16 bits: in mDNS the top bit is "cache flush"; in OPT it is the UDP
   * payload size. */
  class: number;
  /** TTL in seconds, unsigned 32 bits as sent (for OPT it holds the extended RCODE and flags). */
  ttl: number;
  /**
   * The record data as text, for the types a record of ours needs; undefined for other types
   * and when the data is malformed (the message then carries dns_bad_rdata or a name anomaly).
   * - A, AAAA: the address (IPv6 as RFC 5952: lowercase, longest zero run compressed,
   *   "::ffff:a.b.c.d" for IPv4-mapped)
   * - CNAME, NS, PTR, DNAME: the target name
   * - MX: "preference exchange"
   * - SRV: "priority weight port target"
   * - TXT: the character-strings joined with one space; bytes outside printable ASCII and "\"
   *   escaped as "\DDD" / "\\"; capped at 255 characters (never cutting an escape)
   * - SVCB, HTTPS: "priority target" as sent; a target of "." means the owner name itself
   *   (ServiceMode) or "no service" (AliasMode, priority 0), RFC 9460 section 2.5
   * - SOA: "mname rname serial"
   */
  data: string | undefined;
}

export interface DnsMessage {
  /** Transaction ID. */
  id: number;
  /** QR bit: true for a response. */
  response: boolean;
  /** OPCODE: 0 QUERY, 1 IQUERY, 2 STATUS, 4 NOTIFY, 5 UPDATE, 6 DSO. */
  opcode: number;
  /** RCODE from the header (4 bits; the EDNS extension bits are not added). */
  rcode: number;
  /** RCODE mnemonic: NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, ..., "RCODE<n>". */
  rcodeName: string;
  /** Authoritative answer. */
  aa: boolean;
  /** Truncated: the answer did not fit (UDP); the client is expected to retry over TCP. */
  tc: boolean;
  /** Recursion desired. */
  rd: boolean;
  /** Recursion available. */
  ra: boolean;
  /** Authentic data (DNSSEC, RFC 4035). */
  ad: boolean;
  /** Checking disabled (DNSSEC, RFC 4035). */
  cd: boolean;
  /** Section counts as the header announces them (may be more than was parsed). */
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
  questions: DnsQuestion[];
  answers: DnsResourceRecord[];
  authorities: DnsResourceRecord[];
  additionals: DnsResourceRecord[];
  /** Fewer questions/records were parsed than the header announces: damage (see the parse
   * result's anomaly) or, without an anomaly, the record cap of the parser. */
  partial: boolean;
  /** Message length in bytes (without the TCP length prefix). */
  length: number;
}

/**
 * What parseDnsMessage returns. `message` is undefined only when not even the header is
 * there. `anomaly` is the first problem found: parsing stops at damage that makes the
 * following bytes untrustworthy (truncation, bad names in owner names, RDLENGTH past the
 * end) and goes on after damage confined to one record's data (dns_bad_rdata, a bad name
 * inside RDATA) and after dns_counts_exceed_message.
 */
export interface DnsParseResult {
  message: DnsMessage | undefined;
  anomaly: DnsAnomaly | undefined;
}

/** How a DnsTransaction came to be reported. */
export type DnsTransactionEnd =
  /** The response arrived (or a response arrived without a query). */
  | "response"
  /** No response within the tracker's timeout (packet time). */
  | "timeout"
  /** Pushed out of the full pending table by a newer query. */
  | "eviction"
  /** Another query with the same flow and ID but a different question replaced it. */
  | "superseded"
  /** The tracker was flushed (end of input, shutdown). */
  | "flush";

/**
 * One DNS transaction, Zeek dns.log style: a query and its response, a query nobody
 * answered, or a response whose query was not seen.
 */
export interface DnsTransaction {
  /** Time of the query (of the response when no query was seen): seconds + nanoseconds. */
  tsSec: number;
  tsNsec: number;
  /** The flow (src/flow Flow.id) the query arrived on (the response's when no query was seen). */
  flowId: number;
  transport: DnsTransport;
  kind: DnsKind;
  /** DNS transaction ID. */
  id: number;
  /** Opcode of the query (of the response when no query was seen). */
  opcode: number;
  /** QNAME as sent, from the query (from the response when no query was seen); undefined when
   * neither carried a question. */
  query: string | undefined;
  /** QNAME in ASCII lowercase: the key for passive DNS lookups. */
  queryLower: string | undefined;
  qtype: number | undefined;
  qtypeName: string | undefined;
  /** QCLASS; for mDNS without the unicast-response (QU) bit. */
  qclass: number | undefined;
  /** Response code and its mnemonic; undefined when unanswered. */
  rcode: number | undefined;
  rcodeName: string | undefined;
  /** The answer section of the response (empty when unanswered). */
  answers: DnsResourceRecord[];
  /** A/AAAA data of the answers owned by the query name or by a name of its CNAME chain, in
   * answer order. Without a question: every A/AAAA answer. */
  addresses: string[];
  /** TTL of each entry of `addresses`, same order. */
  ttls: number[];
  /** The CNAME chain followed from the query name, each target as sent, in order. */
  cnames: string[];
  /** A response was seen. */
  answered: boolean;
  /** The query was seen (false for a response whose query was missed). */
  sawQuery: boolean;
  /** Response time minus query time in seconds; undefined unless both were seen. */
  rtt: number | undefined;
  /** Authoritative answer, truncated and recursion-available bits of the response (false when
   * unanswered); recursion desired of the query (of the response without a query). */
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  /** How the transaction ended. */
  closedBy: DnsTransactionEnd;
}
