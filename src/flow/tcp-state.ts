import { TcpFlag } from "../decode/packet.js";
import type { Flow } from "./flow.js";

/**
 * TCP connection states an analyst can read. The segmentation question ("did the fence
 * hold?") is answered by attempted / rejected versus established.
 */
export const TcpState = {
  /** SYN sent, nothing back (yet). Reported as `attempted`. */
  SYN_SENT: 1,
  /** The responder answered the SYN (SYN-ACK, or any non-RST packet back). */
  ESTABLISHED: 2,
  /** Picked up after the handshake; the initiator was guessed from the ports. */
  MIDSTREAM: 3,
  /** FIN both ways after establishment. */
  CLOSED: 4,
  /** RST after establishment (or from the initiator). */
  RESET: 5,
  /** The responder answered the SYN with RST (or an ICMP unreachable). */
  REJECTED: 6,
} as const;

const STATE_NAMES = ["", "attempted", "established", "midstream", "closed", "reset", "rejected"];

export function tcpStateName(state: number): string {
  return STATE_NAMES[state] ?? "unknown";
}

/** CLOSED, RESET and REJECTED are final: the flow waits `tcp_closed` for stragglers, then ends. */
export function isTerminalTcpState(state: number): boolean {
  return state >= TcpState.CLOSED;
}

/** A packet that opens a new connection: SYN without ACK. */
export function isSyn(flags: number): boolean {
  return (flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN;
}

/**
 * Who initiated a TCP flow whose first packet we saw, and its first state. Returns true
 * when the packet's sender is the responder (we joined after the SYN).
 */
export function tcpInitiatorIsReceiver(flags: number, srcPort: number, dstPort: number): boolean {
  if ((flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK)) return true;
  if (flags & TcpFlag.SYN) return false;
  // Mid-stream: the side on a well-known (or at least the lower, non-ephemeral) port is the server.
  if (srcPort < 1024 && dstPort >= 1024) return true;
  if (srcPort < 49152 && dstPort >= 49152 && srcPort < dstPort) return true;
  return false;
}

export function initialTcpState(flags: number): number {
  if ((flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN) return TcpState.SYN_SENT;
  if ((flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK))
    return TcpState.ESTABLISHED;
  return TcpState.MIDSTREAM;
}

/**
 * Advances the state for one packet. Returns true when the flow has just become
 * terminal, so the table can move it to the short `tcp_closed` idle list.
 */
export function updateTcpState(flow: Flow, fromSource: boolean, flags: number): boolean {
  if (fromSource) flow.srcTcpFlags |= flags;
  else flow.dstTcpFlags |= flags;
  const state = flow.tcpState;
  if (state >= TcpState.CLOSED) return false;
  if (flags & TcpFlag.RST) {
    flow.tcpState = !fromSource && state === TcpState.SYN_SENT ? TcpState.REJECTED : TcpState.RESET;
    return true;
  }
  if (state === TcpState.SYN_SENT && !fromSource) flow.tcpState = TcpState.ESTABLISHED;
  if (
    flow.srcTcpFlags & TcpFlag.FIN &&
    flow.dstTcpFlags & TcpFlag.FIN &&
    (flow.tcpState === TcpState.ESTABLISHED || flow.tcpState === TcpState.MIDSTREAM)
  ) {
    flow.tcpState = TcpState.CLOSED;
    return true;
  }
  return false;
}

/** Union of flags in tcpdump-like letters, in a fixed order: S A F R P U E C. */
export function tcpFlagsString(flags: number): string {
  let s = "";
  if (flags & TcpFlag.SYN) s += "S";
  if (flags & TcpFlag.ACK) s += "A";
  if (flags & TcpFlag.FIN) s += "F";
  if (flags & TcpFlag.RST) s += "R";
  if (flags & TcpFlag.PSH) s += "P";
  if (flags & TcpFlag.URG) s += "U";
  if (flags & TcpFlag.ECE) s += "E";
  if (flags & TcpFlag.CWR) s += "C";
  return s;
}
