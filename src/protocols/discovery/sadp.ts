/**
 * Hikvision SADP over UDP (37020, to 239.255.255.250): an XML `<Probe>` from the SADP tool
 * or an NVR, `<ProbeMatch>` from each device, with no namespace (that tells it from
 * WS-Discovery's namespaced Probe). Source: MatrixEditor/hiktools hiktools/sadp.
 * The raw-Ethernet variant (EtherType 0x8033) is recognised by recogniseEtherType.
 */

import type { ResolvedDiscoveryOptions } from "./options.js";
import type { DiscoveryRecord } from "./record.js";
import { firstSignificantByte, ScanWindow } from "./scan.js";

export const SADP_PORT = 37020;
export const SADP_ETHERTYPE = 0x8033;

export function recogniseSadp(
  buf: Uint8Array,
  off: number,
  len: number,
  opts: ResolvedDiscoveryOptions,
): DiscoveryRecord | null {
  if (firstSignificantByte(buf, off, len) !== 0x3c) return null;
  const w = new ScanWindow(buf, off, Math.min(len, opts.maxScanBytes), opts.maxValueLength);
  // The root element (after an <?xml ...?> declaration) is a bare <Probe> or <ProbeMatch>.
  const root = rootElement(w.lower);
  if (root !== "<probe>" && root !== "<probematch>") return null;
  const record: DiscoveryRecord = {
    protocol: "sadp",
    vendor: "hikvision",
    message: root === "<probematch>" ? "probe-match" : "probe",
    fields: {},
  };
  const f = record.fields;
  const set = (
    key: "model" | "device_class" | "serial" | "mac" | "ipv4" | "firmware_version" | "method",
    tag: string,
  ) => {
    const v = w.element(tag);
    if (v !== undefined && v !== "") f[key] = v;
  };
  set("method", "Types");
  set("model", "DeviceDescription");
  set("device_class", "DeviceType");
  set("serial", "DeviceSN");
  set("mac", "MAC");
  set("ipv4", "IPv4Address");
  set("firmware_version", "SoftwareVersion");
  const activated = w.element("Activated");
  if (activated === "true" || activated === "false") f.activated = activated === "true";
  if (len > opts.maxScanBytes) record.anomaly = "discovery_scan_limit";
  return record;
}

/** The first start tag that is not a declaration, processing instruction or comment, up to its '>'. */
function rootElement(lower: string): string | undefined {
  let i = lower.indexOf("<");
  while (i >= 0) {
    const next = lower.charCodeAt(i + 1);
    if (next !== 0x3f && next !== 0x21) {
      const gt = lower.indexOf(">", i);
      // Long enough for "<probematch>" and no more: anything longer is not a SADP root.
      return gt < 0 || gt - i > 16 ? undefined : lower.slice(i, gt + 1);
    }
    i = lower.indexOf("<", i + 1);
  }
  return undefined;
}
