import { IpProto } from "../decode/packet.js";
import type { Flow } from "./flow.js";
import { TcpState, tcpStateName } from "./tcp-state.js";

/**
 * Where a flow stands, as records, rules and alerts all say it. TCP: as its state says,
 * except that an ICMP unreachable to a SYN is a refusal by a firewall or host, like a
 * RST. Other transports: refused by an ICMP error, established once the responder sent
 * anything, attempted until then.
 */
export function flowOutcome(f: Flow): string {
  if (f.proto === IpProto.TCP) {
    if (f.tcpState === TcpState.SYN_SENT && f.icmpErrors > 0) {
      return tcpStateName(TcpState.REJECTED);
    }
    return tcpStateName(f.tcpState);
  }
  if (f.icmpErrors > 0) return "rejected";
  return f.dstPackets > 0 ? "established" : "attempted";
}
