import { A } from "./anomalies.js";
import type { DecodedPacket } from "./packet.js";

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;

/**
 * BSD loopback: a 4-byte address family before the IP header. DLT_NULL stores it in the
 * capturing host's byte order, DLT_LOOP in network order; `networkOrder` says which.
 * IPv6's AF value differs between BSDs (24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS), so
 * all are accepted, as libpcap does.
 */
export function decodeLoopback(
  buf: Buffer,
  off: number,
  end: number,
  pkt: DecodedPacket,
  networkOrder: boolean,
): number {
  if (off + 4 > end) return -A.truncated_null;
  let family: number;
  if (networkOrder) {
    family =
      ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
  } else {
    // Host order of an unknown host: a small number is in the low bytes either way.
    const le =
      (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
    family = le > 0xffff ? ((le >>> 24) | ((le >>> 8) & 0xff00)) >>> 0 : le;
  }
  if (family === 2) pkt.etherType = ETHERTYPE_IPV4;
  else if (family === 24 || family === 28 || family === 30 || family === 10)
    pkt.etherType = ETHERTYPE_IPV6;
  else return -A.unknown_null_family;
  return off + 4;
}

/** Raw IP links (DLT_RAW, LINKTYPE_IPV4/IPV6): the version nibble says which. */
export function decodeRawIp(buf: Buffer, off: number, end: number, pkt: DecodedPacket): number {
  if (off >= end) return -A.truncated_ipv4;
  const version = buf[off]! >> 4;
  if (version === 4) pkt.etherType = ETHERTYPE_IPV4;
  else if (version === 6) pkt.etherType = ETHERTYPE_IPV6;
  else return -A.bad_ip_version;
  return off;
}
