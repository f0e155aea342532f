import { A } from "./anomalies.js";
import { decodeEtherTypeChain } from "./ethernet.js";
import type { DecodedPacket } from "./packet.js";

/** ARPHRD_ETHER: the link-layer address in the SLL header is a MAC. */
const ARPHRD_ETHER = 1;

/**
 * Linux "cooked" capture v1 (DLT_LINUX_SLL, `tcpdump -i any` before libpcap 1.10):
 * packet type(2) ARPHRD(2) address length(2) address(8) protocol(2).
 */
export function decodeSll(buf: Buffer, off: number, end: number, pkt: DecodedPacket): number {
  if (off + 16 > end) return -A.truncated_sll;
  const hatype = (buf[off + 2]! << 8) | buf[off + 3]!;
  const addrLen = (buf[off + 4]! << 8) | buf[off + 5]!;
  if (hatype === ARPHRD_ETHER && addrLen === 6) pkt.srcMacOffset = off + 6;
  return decodeEtherTypeChain(buf, (buf[off + 14]! << 8) | buf[off + 15]!, off + 16, end, pkt);
}

/**
 * Linux cooked capture v2 (DLT_LINUX_SLL2, libpcap >= 1.10 on "any"):
 * protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) address length(1) address(8).
 */
export function decodeSll2(buf: Buffer, off: number, end: number, pkt: DecodedPacket): number {
  if (off + 20 > end) return -A.truncated_sll2;
  const hatype = (buf[off + 8]! << 8) | buf[off + 9]!;
  const addrLen = buf[off + 11]!;
  if (hatype === ARPHRD_ETHER && addrLen === 6) pkt.srcMacOffset = off + 12;
  return decodeEtherTypeChain(buf, (buf[off]! << 8) | buf[off + 1]!, off + 20, end, pkt);
}
