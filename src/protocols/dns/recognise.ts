/**
 * Is this DNS? Port tells which family member (DNS, mDNS, LLMNR); content tells DNS on ports
 * nobody registered for it (a camera's resolver on 5300, a DNS tunnel, a proxy).
 *
 * The content test is cheap and strict: random or other-protocol bytes must rarely pass, so
 * it insists on what every real message has (a sane header, one to four questions, counts
 * that fit, a first question whose name parses and whose class exists) rather than on what
 * most have.
 */

import { u16be as u16 } from "../../util/bytes.js";
import type { DnsKind, DnsTransport } from "./record.js";
import { DnsNameReader } from "./wire-name.js";

export const DNS_PORT = 53;
/** RFC 6762: mDNS, to 224.0.0.251 / ff02::fb. */
export const MDNS_PORT = 5353;
/** RFC 4795: LLMNR, to 224.0.0.252 / ff02::1:3. */
export const LLMNR_PORT = 5355;

const HEADER = 12;
const MAX_QUESTIONS = 4;
/** Additional records a plain query carries: OPT, TSIG/SIG(0), and a spare. */
const MAX_QUERY_ADDITIONALS = 3;

const names = new DnsNameReader();

/**
 * `port` is the service port of the flow (the responder's, or whichever end is 5353/5355).
 * mDNS and LLMNR are recognised by port whether the destination is their multicast group or
 * a unicast address: both send unicast too (mDNS unicast responses and legacy unicast
 * queries, RFC 6762 sections 5.5 and 6.7; LLMNR answers always unicast, RFC 4795 section 2).
 * Any other port: unicast DNS, unless the destination is multicast, which unicast DNS
 * never is, so DNS-format traffic to a group on another port is counted as mDNS-like.
 */
export function dnsKindForPort(port: number, dstAddressIsMulticast: boolean): DnsKind {
  if (port === MDNS_PORT) return "mdns";
  if (port === LLMNR_PORT) return "llmnr";
  return dstAddressIsMulticast ? "mdns" : "dns";
}

/**
 * Whether buf[off, off + len) looks like the start of a DNS message: a UDP payload, or for
 * TCP the first bytes of the stream in one direction (2-byte length prefix first). A TCP
 * message may be incomplete, but the header and the first question must be there: with
 * fewer bytes the answer is false, and the caller can ask again when more have arrived.
 */
export function looksLikeDns(
  buf: Uint8Array,
  off: number,
  len: number,
  transport: DnsTransport,
): boolean {
  let end = Math.min(off + len, buf.length);
  let complete = true;
  if (transport === "tcp") {
    if (end - off < 2) return false;
    const msgLen = u16(buf, off);
    off += 2;
    if (msgLen < HEADER + 5) return false;
    if (end - off >= msgLen) end = off + msgLen;
    else complete = false;
  }
  const size = end - off;
  if (size < HEADER + 5) return false;

  const flags1 = buf[off + 2]!;
  const flags2 = buf[off + 3]!;
  const response = (flags1 & 0x80) !== 0;
  const opcode = (flags1 >> 3) & 0x0f;
  // 3 is unassigned; 6 (DSO) has no questions.
  if (opcode > 5 || opcode === 3) return false;
  // The Z bit is still zero in every implementation.
  if ((flags2 & 0x40) !== 0) return false;
  const rcode = flags2 & 0x0f;
  const qd = u16(buf, off + 4);
  const an = u16(buf, off + 6);
  const ns = u16(buf, off + 8);
  const ar = u16(buf, off + 10);
  if (qd < 1 || qd > MAX_QUESTIONS) return false;
  if (!response) {
    if (rcode !== 0) return false;
    if (opcode === 0 && (an !== 0 || ns !== 0 || ar > MAX_QUERY_ADDITIONALS)) return false;
  } else if (rcode > 11) return false;
  const minBody = qd * 5 + (an + ns + ar) * 11;
  if (complete ? minBody > size - HEADER : (an + ns + ar) * 11 > 65535 - HEADER) return false;

  const next = names.read(buf, off, end, off + HEADER);
  if (next < 0 || next + 4 > end || names.sawControlByte) return false;
  if (u16(buf, next) === 0) return false;
  const qclass = u16(buf, next + 2) & 0x7fff;
  return qclass === 1 || qclass === 3 || qclass === 4 || qclass === 254 || qclass === 255;
}
