/**
 * The phase-out view of the inventory (`egressd devices --report`): how many devices of
 * each maker in each group, which of them tried to reach the internet, which looked up
 * or connected to a camera vendor's cloud, and when each was first and last seen. Built
 * from stored devices only, so it can be printed while the daemon keeps running.
 */

import type { DeviceView } from "./device.js";
import type { ClaimSource } from "./fingerprints.js";
import type { VendorClouds } from "./vendor-clouds.js";

/** Maker label for devices nothing identified (randomised MAC, no discovery, no banner). */
export const UNKNOWN_MAKER = "unknown";
/** Group label for devices no configured group matched. */
export const NO_GROUP = "-";

export interface VendorCloudUse {
  name: string;
  /** Whose cloud, from the vendor_clouds set's "# vendor:" comments. */
  vendor: string | null;
  lookups: number;
  flows: number;
}

export interface ReportDevice {
  id: string;
  mac?: string;
  ips: string[];
  vlans: number[];
  maker: string;
  maker_sources: ClaimSource[];
  group: string;
  role?: string;
  model?: string;
  first_seen: string;
  last_seen: string;
  /** It opened at least one flow to an internet (not local) address. */
  called_internet: boolean;
  internet: DeviceView["internet"];
  vendor_clouds: VendorCloudUse[];
}

export interface ReportCount {
  maker?: string;
  group?: string;
  role?: string;
  devices: number;
  called_internet: number;
  tried_vendor_cloud: number;
  first_seen: string;
  last_seen: string;
}

export interface DeviceReport {
  devices: number;
  /** Devices the inventory's bound evicted over its life: not in the counts below. */
  evicted_total: number;
  first_seen?: string;
  last_seen?: string;
  by_maker: ReportCount[];
  by_group: ReportCount[];
  by_maker_and_group: ReportCount[];
  called_internet: ReportDevice[];
  tried_vendor_cloud: ReportDevice[];
  all: ReportDevice[];
}

export function reportDevice(v: DeviceView, clouds: VendorClouds): ReportDevice {
  const vendorClouds: VendorCloudUse[] = [];
  for (const d of v.domains) {
    const hit = clouds.match(d.name);
    if (hit !== null)
      vendorClouds.push({ name: d.name, vendor: hit.vendor, lookups: d.lookups, flows: d.flows });
  }
  const r: ReportDevice = {
    id: v.id,
    ips: v.ips.map((a) => a.ip),
    vlans: v.vlans,
    maker: v.maker ?? UNKNOWN_MAKER,
    maker_sources: v.maker_sources ?? [],
    group: v.group ?? NO_GROUP,
    first_seen: v.first_seen,
    last_seen: v.last_seen,
    called_internet: v.internet.attempted > 0,
    internet: v.internet,
    vendor_clouds: vendorClouds,
  };
  if (v.mac !== undefined) r.mac = v.mac;
  if (v.role !== undefined) r.role = v.role;
  if (v.model !== undefined) r.model = v.model;
  return r;
}

/** Devices sorted by maker (unknown last), group, then id: the order every view prints. */
export function compareDevices(a: ReportDevice, b: ReportDevice): number {
  const unknown = Number(a.maker === UNKNOWN_MAKER) - Number(b.maker === UNKNOWN_MAKER);
  return (
    unknown ||
    a.maker.localeCompare(b.maker) ||
    a.group.localeCompare(b.group) ||
    a.id.localeCompare(b.id)
  );
}

function count(
  rows: ReportDevice[],
  key: (r: ReportDevice) => string,
  label: (r: ReportDevice) => Partial<ReportCount>,
): ReportCount[] {
  const groups = new Map<string, ReportCount>();
  for (const r of rows) {
    const k = key(r);
    let c = groups.get(k);
    if (c === undefined) {
      c = {
        ...label(r),
        devices: 0,
        called_internet: 0,
        tried_vendor_cloud: 0,
        first_seen: r.first_seen,
        last_seen: r.last_seen,
      };
      groups.set(k, c);
    }
    c.devices++;
    if (r.called_internet) c.called_internet++;
    if (r.vendor_clouds.length > 0) c.tried_vendor_cloud++;
    if (r.first_seen < c.first_seen) c.first_seen = r.first_seen;
    if (r.last_seen > c.last_seen) c.last_seen = r.last_seen;
  }
  // Most devices first: the largest replacement items lead.
  return [...groups.values()].sort(
    (a, b) =>
      b.devices - a.devices ||
      (a.maker ?? "").localeCompare(b.maker ?? "") ||
      (a.group ?? "").localeCompare(b.group ?? ""),
  );
}

export function buildReport(
  views: DeviceView[],
  clouds: VendorClouds,
  evictedTotal: number,
): DeviceReport {
  const all = views.map((v) => reportDevice(v, clouds)).sort(compareDevices);
  const report: DeviceReport = { devices: all.length, evicted_total: evictedTotal } as DeviceReport;
  if (all.length > 0) {
    report.first_seen = all.reduce(
      (m, r) => (r.first_seen < m ? r.first_seen : m),
      all[0]!.first_seen,
    );
    report.last_seen = all.reduce((m, r) => (r.last_seen > m ? r.last_seen : m), all[0]!.last_seen);
  }
  report.by_maker = count(
    all,
    (r) => r.maker,
    (r) => ({ maker: r.maker }),
  );
  report.by_group = count(
    all,
    (r) => r.group,
    (r) => (r.role === undefined ? { group: r.group } : { group: r.group, role: r.role }),
  );
  report.by_maker_and_group = count(
    all,
    (r) => `${r.maker}\u0000${r.group}`,
    (r) =>
      r.role === undefined
        ? { maker: r.maker, group: r.group }
        : { maker: r.maker, group: r.group, role: r.role },
  );
  report.called_internet = all.filter((r) => r.called_internet);
  report.tried_vendor_cloud = all.filter((r) => r.vendor_clouds.length > 0);
  report.all = all;
  return report;
}
