/**
 * Dahua P2P cloud traffic (camera-indicators.md section 1): the rendezvous with Easy4IP
 * servers (UDP 8800) is HTTP-like text whose requests start "DHGET" / "DHPOST"
 * (khoanguyen-3fc/dh-p2p); hole punching uses STUN with every byte inverted, seen by
 * libprotoident (lpi_dahua.cc) as a 44-byte datagram starting FF FE FF E7; the tunnel
 * itself is "PTCP" (PhonyTCP) with a 24-byte header.
 */

import type { ResolvedDiscoveryOptions } from "./options.js";
import type { DiscoveryRecord } from "./record.js";
import { ScanWindow, startsWith } from "./scan.js";

export const DAHUA_P2P_PORT = 8800;
const PTCP_HEADER_BYTES = 24;
const STUN_HEADER_BYTES = 20;

export function recogniseDahuaP2p(
  buf: Uint8Array,
  off: number,
  len: number,
  srcPort: number,
  dstPort: number,
  opts: ResolvedDiscoveryOptions,
): DiscoveryRecord | null {
  if (len < 4) return null;
  if (startsWith(buf, off, len, "DHGET ") || startsWith(buf, off, len, "DHPOST ")) {
    return request(buf, off, len, opts);
  }
  if (startsWith(buf, off, len, "PTCP") && len >= PTCP_HEADER_BYTES) {
    return { protocol: "dahua-p2p", vendor: "dahua", message: "ptcp", fields: {} };
  }
  if (isInvertedStun(buf, off, len)) {
    return { protocol: "dahua-p2p", vendor: "dahua", message: "inverted-stun", fields: {} };
  }
  // The server's answers are plain "HTTP/1.1 200 OK" text: only the port tells them apart.
  if (
    srcPort === DAHUA_P2P_PORT &&
    startsWith(buf, off, len, "HTTP/1.") &&
    dstPort !== DAHUA_P2P_PORT
  ) {
    return { protocol: "dahua-p2p", vendor: "dahua", message: "http-response", fields: {} };
  }
  return null;
}

/** `DHGET /online/p2psrv/{SN} HTTP/1.1`: method, path, and the serial number in it. */
function request(
  buf: Uint8Array,
  off: number,
  len: number,
  opts: ResolvedDiscoveryOptions,
): DiscoveryRecord {
  const scan = Math.min(len, opts.maxScanBytes);
  let lineEnd = 0;
  while (lineEnd < scan && buf[off + lineEnd] !== 0x0d && buf[off + lineEnd] !== 0x0a) lineEnd++;
  const w = new ScanWindow(buf, off, lineEnd, opts.maxValueLength);
  const sp1 = w.text.indexOf(" ");
  let sp2 = w.text.indexOf(" ", sp1 + 1);
  if (sp2 < 0) sp2 = lineEnd;
  const record: DiscoveryRecord = {
    protocol: "dahua-p2p",
    vendor: "dahua",
    message: "http-request",
    fields: { method: w.text.slice(0, sp1) },
  };
  if (sp2 > sp1 + 1) {
    const uri = w.value(sp1 + 1, sp2);
    record.fields.uri = uri;
    const serial = serialIn(uri);
    if (serial !== undefined) record.fields.serial = serial;
  }
  return record;
}

/** The SN segment of /online/p2psrv/{SN}, /probe/device/{SN}, /device/{SN}/... */
function serialIn(path: string): string | undefined {
  const q = path.indexOf("?");
  const segments = (q >= 0 ? path.slice(0, q) : path).split("/");
  for (let i = 0; i + 1 < segments.length; i++) {
    const s = segments[i]!;
    const next = segments[i + 1]!;
    if (next === "") continue;
    if (s === "device" || (s === "p2psrv" && segments[i - 1] === "online")) return next;
  }
  return undefined;
}

/**
 * STUN with every byte inverted: the type's two top bits (zero in STUN) are ones, the
 * inverted magic cookie 2112A442 reads DEED5BBD, and the inverted length adds up; or the
 * exact 44-byte form libprotoident matches (classic STUN has no cookie).
 */
function isInvertedStun(buf: Uint8Array, off: number, len: number): boolean {
  if (
    len === 44 &&
    buf[off] === 0xff &&
    buf[off + 1] === 0xfe &&
    buf[off + 2] === 0xff &&
    buf[off + 3] === 0xe7
  ) {
    return true;
  }
  if (len < STUN_HEADER_BYTES || (buf[off]! & 0xc0) !== 0xc0) return false;
  if (
    buf[off + 4] !== 0xde ||
    buf[off + 5] !== 0xed ||
    buf[off + 6] !== 0x5b ||
    buf[off + 7] !== 0xbd
  )
    return false;
  const length = ~((buf[off + 2]! << 8) | buf[off + 3]!) & 0xffff;
  return STUN_HEADER_BYTES + length === len;
}
