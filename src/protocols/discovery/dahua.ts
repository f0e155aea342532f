/**
 * Dahua LAN discovery (mcw0/DahuaConsole net.py):
 * - DHIP, UDP 37810 (to 239.255.255.251): a 32-byte header `20 00 00 00 "DHIP"`, session
 *   id, the JSON length (little-endian, at 16 and again at 24), then JSON: the search
 *   request is `DHDiscover.search`, devices answer `client.notifyDevInfo` with
 *   params.deviceInfo {DeviceType, DeviceClass, SerialNo, Version, Vendor, IPv4Address} and
 *   a top-level "mac".
 * - DVRIP, UDP 5050 broadcast: a 32-byte binary header; the search starts `A3 01 00 01`,
 *   replies start `B3 00` and carry host name and address at fixed offsets after the header.
 */

import type { ResolvedDiscoveryOptions } from "./options.js";
import type { DiscoveryRecord } from "./record.js";
import { ScanWindow } from "./scan.js";

export const DHIP_PORT = 37810;
export const DVRIP_DISCOVERY_PORT = 5050;
const DHIP_HEADER_BYTES = 32;
const DVRIP_HEADER_BYTES = 32;

export function recogniseDhip(
  buf: Uint8Array,
  off: number,
  len: number,
  opts: ResolvedDiscoveryOptions,
): DiscoveryRecord | null {
  if (len < DHIP_HEADER_BYTES) return null;
  if (buf[off] !== 0x20 || buf[off + 1] !== 0 || buf[off + 2] !== 0 || buf[off + 3] !== 0)
    return null;
  if (
    buf[off + 4] !== 0x44 ||
    buf[off + 5] !== 0x48 ||
    buf[off + 6] !== 0x49 ||
    buf[off + 7] !== 0x50
  ) {
    return null;
  }
  const bodyLen = readU32LE(buf, off + 16);
  const avail = len - DHIP_HEADER_BYTES;
  const scan = Math.min(avail, bodyLen, opts.maxScanBytes);
  const w = new ScanWindow(buf, off + DHIP_HEADER_BYTES, scan, opts.maxValueLength);
  const method = w.jsonString("method");
  const record: DiscoveryRecord = {
    protocol: "dhip",
    vendor: "dahua",
    message:
      method === "client.notifyDevInfo"
        ? "reply"
        : method?.endsWith(".search")
          ? "search"
          : "other",
    fields: {},
  };
  const f = record.fields;
  if (method !== undefined) f.method = method;
  const set = (
    key: "model" | "device_class" | "serial" | "firmware_version" | "brand" | "mac",
    k: string,
  ) => {
    const v = w.jsonString(k);
    if (v !== undefined && v !== "" && f[key] === undefined) f[key] = v;
  };
  set("model", "DeviceType");
  set("device_class", "DeviceClass");
  set("serial", "SerialNo");
  set("firmware_version", "Version");
  set("brand", "Vendor");
  set("mac", "mac");
  set("mac", "Mac");
  // The device's address is "IPAddress" inside the "IPv4Address" object.
  const v4 = w.text.indexOf('"IPv4Address"');
  if (v4 >= 0) {
    const ip = w.jsonString("IPAddress", v4);
    if (ip !== undefined && ip !== "") f.ipv4 = ip;
  }
  if (bodyLen > avail) record.anomaly = "discovery_dhip_length_mismatch";
  else if (Math.min(avail, bodyLen) > opts.maxScanBytes) record.anomaly = "discovery_scan_limit";
  return record;
}

/**
 * DVRIP discovery. The search's 4-byte magic is distinctive enough on its own; a reply's
 * 2 bytes are not, so replies need the port as well.
 */
export function recogniseDvrip(
  buf: Uint8Array,
  off: number,
  len: number,
  srcPort: number,
  dstPort: number,
  opts: ResolvedDiscoveryOptions,
): DiscoveryRecord | null {
  if (len < DVRIP_HEADER_BYTES) return null;
  const b0 = buf[off]!;
  const b1 = buf[off + 1]!;
  if (b0 === 0xa3 && b1 === 0x01 && buf[off + 2] === 0x00 && buf[off + 3] === 0x01) {
    return { protocol: "dvrip", vendor: "dahua", message: "search", fields: {} };
  }
  if (
    b0 !== 0xb3 ||
    b1 !== 0x00 ||
    (srcPort !== DVRIP_DISCOVERY_PORT && dstPort !== DVRIP_DISCOVERY_PORT)
  ) {
    return null;
  }
  const record: DiscoveryRecord = {
    protocol: "dvrip",
    vendor: "dahua",
    message: "reply",
    fields: {},
  };
  // After the header: 8 bytes version, 16 bytes host name, then the IPv4 address.
  const body = off + DVRIP_HEADER_BYTES;
  if (len >= DVRIP_HEADER_BYTES + 28) {
    let end = body + 8;
    while (end < body + 24 && buf[end] !== 0) end++;
    if (end > body + 8) {
      const w = new ScanWindow(buf, body + 8, end - (body + 8), opts.maxValueLength);
      record.fields.name = w.value(0, end - (body + 8));
    }
    const a = body + 24;
    record.fields.ipv4 = `${buf[a]}.${buf[a + 1]}.${buf[a + 2]}.${buf[a + 3]}`;
  }
  return record;
}

function readU32LE(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}
