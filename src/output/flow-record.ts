import { IpProto } from "../decode/packet.js";
import { communityId } from "../flow/community-id.js";
import type { Flow } from "../flow/flow.js";
import { flowOutcome } from "../flow/outcome.js";
import type { FlowEndReason } from "../flow/table.js";
import { tcpFlagsString } from "../flow/tcp-state.js";
import { formatIp } from "../util/ip-text.js";
import { durationNs, formatMac, formatTimestamp } from "./format.js";

/** IANA keyword for common protocol numbers, as ECS `network.transport` wants them. */
const TRANSPORT_NAMES: Record<number, string> = {
  1: "icmp",
  2: "igmp",
  6: "tcp",
  17: "udp",
  47: "gre",
  50: "esp",
  51: "ah",
  58: "ipv6-icmp",
  89: "ospf",
  103: "pim",
  112: "vrrp",
  132: "sctp",
};

const ICMP4_UNREACHABLE_CODES = [
  "net-unreachable",
  "host-unreachable",
  "protocol-unreachable",
  "port-unreachable",
  "fragmentation-needed",
  "source-route-failed",
  "net-unknown",
  "host-unknown",
  "host-isolated",
  "net-prohibited",
  "host-prohibited",
  "net-tos-unreachable",
  "host-tos-unreachable",
  "admin-prohibited",
  "host-precedence-violation",
  "precedence-cutoff",
];
const ICMP6_UNREACHABLE_CODES = [
  "no-route",
  "admin-prohibited",
  "beyond-scope",
  "address-unreachable",
  "port-unreachable",
  "source-policy-failed",
  "reject-route",
];

/** ECS `network.transport`: the IANA keyword, or the protocol number as text. */
export function transportName(proto: number): string {
  return TRANSPORT_NAMES[proto] ?? String(proto);
}

/** Protocols whose records carry source/destination ports. */
export function recordHasPorts(proto: number): boolean {
  return proto === IpProto.TCP || proto === IpProto.UDP || proto === IpProto.SCTP;
}

/** "3/3 port-unreachable": what a firewall or host answered about this flow. */
export function icmpErrorText(ipVersion: number, typeCode: number): string {
  const type = typeCode >> 8;
  const code = typeCode & 0xff;
  let name = "";
  if (ipVersion === 4) {
    if (type === 3) name = ICMP4_UNREACHABLE_CODES[code] ?? "unreachable";
    else if (type === 11) name = code === 0 ? "ttl-exceeded" : "reassembly-timeout";
    else if (type === 4) name = "source-quench";
    else if (type === 5) name = "redirect";
    else if (type === 12) name = "parameter-problem";
  } else {
    if (type === 1) name = ICMP6_UNREACHABLE_CODES[code] ?? "unreachable";
    else if (type === 2) name = "packet-too-big";
    else if (type === 3) name = code === 0 ? "hop-limit-exceeded" : "reassembly-timeout";
    else if (type === 4) name = "parameter-problem";
  }
  return name ? `${type}/${code} ${name}` : `${type}/${code}`;
}

/**
 * The flow record in Elastic Common Schema style (docs/FLOW-RECORD.md). Built once per
 * report; field order is fixed so output is byte-for-byte reproducible.
 */
export function flowRecord(flow: Flow, reason: FlowEndReason): Record<string, unknown> {
  if (flow.communityId === "") flow.communityId = communityId(flow);
  const proto = flow.proto;
  const isTcp = proto === IpProto.TCP;
  const hasPorts = recordHasPorts(proto);
  const isIcmp = proto === IpProto.ICMP || proto === IpProto.ICMPV6;
  const end = formatTimestamp(flow.lastSec, flow.lastNsec);

  const source: Record<string, unknown> = {
    ip: formatIp(flow.ipVersion, flow.src0, flow.src1, flow.src2, flow.src3),
  };
  if (hasPorts) source.port = flow.srcPort;
  if (flow.srcMac >= 0) source.mac = formatMac(flow.srcMac);
  source.packets = flow.srcPackets;
  source.bytes = flow.srcBytes;

  const destination: Record<string, unknown> = {
    ip: formatIp(flow.ipVersion, flow.dst0, flow.dst1, flow.dst2, flow.dst3),
  };
  if (hasPorts) destination.port = flow.dstPort;
  if (flow.dstMac >= 0) destination.mac = formatMac(flow.dstMac);
  destination.packets = flow.dstPackets;
  destination.bytes = flow.dstBytes;

  const network: Record<string, unknown> = {
    transport: transportName(proto),
    iana_number: String(proto),
    type: flow.ipVersion === 6 ? "ipv6" : "ipv4",
    packets: flow.srcPackets + flow.dstPackets,
    bytes: flow.srcBytes + flow.dstBytes,
    community_id: flow.communityId,
  };
  if (flow.vlanOuter >= 0) network.vlan = { id: String(flow.vlanOuter) };
  if (flow.vlanInner >= 0) network.inner = { vlan: { id: String(flow.vlanInner) } };

  const flowInfo: Record<string, unknown> = {
    source_payload_bytes: flow.srcPayloadBytes,
    destination_payload_bytes: flow.dstPayloadBytes,
    answered: flow.dstPackets > 0 || flow.icmpErrors > 0,
  };
  if (flow.fragments > 0) flowInfo.fragments = flow.fragments;
  if (flow.icmpErrors > 0) {
    flowInfo.icmp_errors = flow.icmpErrors;
    flowInfo.icmp_error = icmpErrorText(flow.ipVersion, flow.lastIcmpError);
  }
  if (flow.continued) flowInfo.continued = true;

  const egressd: Record<string, unknown> = { flow: flowInfo };
  if (isTcp) {
    egressd.tcp = {
      state: flowOutcome(flow),
      midstream: flow.midstream,
      source_flags: tcpFlagsString(flow.srcTcpFlags),
      destination_flags: tcpFlagsString(flow.dstTcpFlags),
    };
  } else if (isIcmp) {
    egressd.icmp = { type: flow.icmpType, code: flow.icmpCode };
  }

  const record: Record<string, unknown> = {
    "@timestamp": end,
    event: {
      kind: "event",
      category: ["network"],
      type: ["connection", "end"],
      start: formatTimestamp(flow.startSec, flow.startNsec),
      end,
      duration: durationNs(flow.startSec, flow.startNsec, flow.lastSec, flow.lastNsec),
      reason,
    },
    source,
    destination,
    network,
  };
  record.observer = { ingress: { interface: { id: String(flow.interfaceId) } } };
  record.egressd = egressd;
  return record;
}
