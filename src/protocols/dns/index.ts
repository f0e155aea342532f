/** The DNS parser family: parse, frame TCP, recognise, pair into transactions. */

export { DNS_ANOMALIES, type DnsAnomaly } from "./anomalies.js";
export { DnsType, dnsRcodeName, dnsTypeName } from "./mnemonics.js";
export { DEFAULT_MAX_RECORDS, DNS_HEADER_LENGTH, parseDnsMessage } from "./parse.js";
export { ipv4Text, ipv6Text, MAX_TXT_CHARS } from "./rdata.js";
export {
  DNS_PORT,
  dnsKindForPort,
  LLMNR_PORT,
  looksLikeDns,
  MDNS_PORT,
} from "./recognise.js";
export type {
  DnsKind,
  DnsMessage,
  DnsParseResult,
  DnsQuestion,
  DnsResourceRecord,
  DnsTransaction,
  DnsTransactionEnd,
  DnsTransport,
} from "./record.js";
export {
  DnsTcpFramer,
  type DnsTcpFramerStats,
  type DnsTcpSink,
  MAX_TCP_MESSAGE,
} from "./tcp-stream.js";
export {
  type DnsTrackerOptions,
  type DnsTrackerStats,
  DnsTransactionTracker,
} from "./transactions.js";
export { dnsNameKey, MAX_COMPRESSION_JUMPS, MAX_NAME_WIRE_LENGTH } from "./wire-name.js";
