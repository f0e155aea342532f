import { formatBytes, formatCount, withThousands } from "./units.js";

export interface ReplaySummary {
  input: string;
  packets: number;
  bytes: number;
  ip_packets: number;
  non_ip_packets: number;
  /** Packets skipped for an anomaly: packets = ip_packets + non_ip_packets + skipped_packets. */
  skipped_packets: number;
  anomalies_total: number;
  anomalies: Record<string, number>;
  flows: number;
  /** Protocol event records written (--events). */
  events: number;
  /** Flows recognised per application protocol. */
  protocols: Record<string, number>;
  names_learned: number;
  names_evicted: number;
  /** Rule matches (--alerts). */
  alerts: number;
  /** --alerts: what dedup and the rate limit made of the matches. */
  alerts_sent?: number;
  alerts_folded?: number;
  alerts_held_back?: number;
  alert_summaries?: number;
  /** Devices in the inventory at the end, learned during this run, evicted by its bound. */
  devices: number;
  devices_learned: number;
  devices_evicted: number;
  flows_created: number;
  flows_evicted: number;
  flows_ended: Record<string, number>;
  fragments_attributed: number;
  fragments_unattributed: number;
  icmp_errors_attributed: number;
  duration_seconds: number;
  packets_per_second: number;
  bytes_per_second: number;
  heap_used_peak_bytes: number;
  max_rss_bytes: number;
  error?: { message: string; offset: number };
}

function breakdown(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${withThousands(n)}`);
  return parts.length > 0 ? ` (${parts.join(", ")})` : "";
}

/** Writes the end-of-run summary to stderr: aligned text for people, one JSON line for scripts. */
export function printSummary(s: ReplaySummary, format: "text" | "json" | "none"): void {
  if (format === "none") return;
  if (format === "json") {
    process.stderr.write(`${JSON.stringify(s)}\n`);
    return;
  }
  const lines = [
    `egressd replay: ${s.input}`,
    `  packets    ${withThousands(s.packets)} (${formatBytes(s.bytes)}) in ${s.duration_seconds.toFixed(2)} s: ${formatCount(s.packets_per_second)} packets/s, ${formatBytes(s.bytes_per_second)}/s`,
    `  decoded    ${withThousands(s.ip_packets)} IP, ${withThousands(s.non_ip_packets)} non-IP, ${withThousands(s.skipped_packets)} skipped as malformed`,
    `  anomalies  ${withThousands(s.anomalies_total)}${breakdown(s.anomalies)}`,
    `  flows      ${withThousands(s.flows)} records from ${withThousands(s.flows_created)} flows${breakdown(s.flows_ended)}; ${withThousands(s.flows_evicted)} evicted by the flow limit`,
    `  protocols  ${Object.keys(s.protocols).length === 0 ? "none recognised" : breakdown(s.protocols).slice(2, -1)}; ${withThousands(s.events)} events written; ${withThousands(s.names_learned)} DNS names learned, ${withThousands(s.names_evicted)} evicted`,
    s.alerts_sent === undefined
      ? `  alerts     ${withThousands(s.alerts)} rule matches`
      : `  alerts     ${withThousands(s.alerts_sent)} written (${withThousands(s.alert_summaries ?? 0)} of them summaries) from ${withThousands(s.alerts)} rule matches; ${withThousands(s.alerts_folded ?? 0)} repeats folded, ${withThousands(s.alerts_held_back ?? 0)} held back by the rate limit`,
    `  devices    ${withThousands(s.devices)} in the inventory (${withThousands(s.devices_learned)} new), ${withThousands(s.devices_evicted)} evicted by its limit`,
    `  fragments  ${withThousands(s.fragments_attributed)} attributed, ${withThousands(s.fragments_unattributed)} without a first fragment`,
    `  icmp       ${withThousands(s.icmp_errors_attributed)} errors tied to the flow they report on`,
    `  memory     peak heap ${formatBytes(s.heap_used_peak_bytes)}, max RSS ${formatBytes(s.max_rss_bytes)}`,
  ];
  process.stderr.write(`${lines.join("\n")}\n`);
}
