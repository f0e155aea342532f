import type { DiscoveryOptions } from "./record.js";

export interface ResolvedDiscoveryOptions {
  maxScanBytes: number;
  maxValueLength: number;
}

export function resolveDiscoveryOptions(o: DiscoveryOptions = {}): ResolvedDiscoveryOptions {
  return { maxScanBytes: o.maxScanBytes ?? 4096, maxValueLength: o.maxValueLength ?? 256 };
}
