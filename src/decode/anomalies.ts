/**
 * Named decode anomalies, Zeek "weird" style. Decoders never throw on packet bytes:
 * they return one of these codes and the pipeline counts it
 * (`egressd_decode_anomalies_total{kind="..."}`) and skips the packet.
 *
 * Codes are small integers so the hot path indexes a typed array instead of a Map.
 */
export const ANOMALY_KINDS = [
  "none",
  "truncated_ethernet",
  "truncated_vlan",
  "too_many_vlan_tags",
  "truncated_sll",
  "truncated_sll2",
  "truncated_null",
  "unknown_null_family",
  "unsupported_link_type",
  "bad_timestamp",
  "truncated_ipv4",
  "bad_ip_version",
  "bad_ip_header_length",
  "bad_ip_total_length",
  "truncated_ipv6",
  "bad_ipv6_payload_length",
  "truncated_ipv6_extension",
  "ipv6_extension_chain_too_long",
  "truncated_tcp",
  "bad_tcp_header_length",
  "truncated_udp",
  "bad_udp_length",
  "truncated_icmp",
  "truncated_icmp_quote",
  "truncated_sctp",
] as const;

export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

/** Numeric code of each anomaly, for the hot path: `return A.truncated_ipv4`. */
export const A = Object.fromEntries(ANOMALY_KINDS.map((k, i) => [k, i])) as {
  readonly [K in AnomalyKind]: number;
};

/**
 * Counts anomalies. Decode anomalies by code in a typed array (hot path; Float64 so a
 * months-long run cannot wrap a 32-bit counter); protocol parser anomalies (dns_*,
 * tls_*, http_*...) by name, since they happen at most once per message.
 */
export class AnomalyCounters {
  readonly counts = new Float64Array(ANOMALY_KINDS.length);
  private readonly named = new Map<string, number>();

  add(code: number): void {
    this.counts[code]! += 1;
  }

  addNamed(name: string): void {
    this.named.set(name, (this.named.get(name) ?? 0) + 1);
  }

  total(): number {
    let sum = 0;
    for (let i = 1; i < this.counts.length; i++) sum += this.counts[i]!;
    for (const n of this.named.values()) sum += n;
    return sum;
  }

  /** Non-zero counts by name: decode anomalies in declaration order, then protocol ones sorted. */
  toObject(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 1; i < this.counts.length; i++) {
      const n = this.counts[i]!;
      if (n > 0) out[ANOMALY_KINDS[i]!] = n;
    }
    for (const name of [...this.named.keys()].sort()) out[name] = this.named.get(name)!;
    return out;
  }
}
