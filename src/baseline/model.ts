/**
 * A baseline: per device group, what its devices were seen to talk to while egressd
 * learned (or what a MUD file allows). The file form is readable YAML an admin reviews
 * and edits (baseline-file.ts); enforcement (match.ts) raises `baseline_drift` when a
 * device leaves its group's baseline.
 *
 * One destination entry names the other end in exactly one way:
 *   group: nvr              a device group (local peers)
 *   domain: ntp.example.org a name, exact; "*.example.org" = any name below it
 *   network: 203.0.113.7/32 an address or network (destinations that had no name)
 *   scope: local            any non-internet address (MUD local-networks)
 *   same_maker: true        any device of the same maker (MUD same-manufacturer)
 * and says how: ports ("tcp/443", "udp/123", "tcp/8000-8100", "tcp/*", "icmp"), and
 * what was seen there (protocols, countries, ASNs, counts, times, devices).
 */

export interface BaselineEntry {
  group?: string;
  domain?: string;
  network?: string;
  scope?: "local";
  same_maker?: boolean;
  /** Direction of the first packet: out = the group's device opened it (default). */
  direction?: "out" | "in";
  /** How the name was learned (dns, sni, http...); absent for non-domain entries. */
  name_source?: string;
  /** "tcp/443", "udp/123", "tcp/8000-8100", "tcp/*", "icmp", "*" (any). */
  ports: string[];
  /** Application protocols recognised there (tls, dns, ntp, rtsp...). */
  protocols?: string[];
  countries?: string[];
  asns?: number[];
  /** Flows seen while learning (0 for imported entries). */
  flows?: number;
  first_seen?: string;
  last_seen?: string;
  /** Device ids that used the entry (bounded). */
  devices?: string[];
}

/** Names a group's devices asked DNS for (looked up, reached or not). */
export interface LookupEntry {
  name: string;
  queries?: number;
  first_seen?: string;
  last_seen?: string;
  devices?: string[];
}

/** Bytes a device of the group sent (or received) per day of packet time, over all flows. */
export interface VolumeRange {
  min: number;
  max: number;
  /** Device-days measured. */
  days?: number;
}

export interface GroupBaseline {
  /** The device group (config devices.groups) this applies to. */
  group: string;
  role?: string;
  learned?: {
    from: string;
    to: string;
    devices: number;
    flows: number;
  };
  destinations: BaselineEntry[];
  lookups: LookupEntry[];
  volume?: { bytes_out_per_day?: VolumeRange; bytes_in_per_day?: VolumeRange };
  /** Where an imported group came from ("mud: https://..."). */
  source?: string;
}

export interface Baseline {
  /** File format version. */
  version: 1;
  groups: GroupBaseline[];
}

/** "tcp/443" -> matcher parts; "tcp/*", "tcp/8000-8100", "icmp", "*". */
export interface PortSpec {
  transport: string | "*";
  lo: number;
  hi: number;
}

export function parsePort(text: string): PortSpec | null {
  const t = text.trim().toLowerCase();
  if (t === "*" || t === "any") return { transport: "*", lo: 0, hi: 65535 };
  const m = /^([a-z0-9-]+)(?:\/(\*|\d{1,5})(?:-(\d{1,5}))?)?$/.exec(t);
  if (m === null) return null;
  const transport = m[1]!;
  if (m[2] === undefined || m[2] === "*") return { transport, lo: 0, hi: 65535 };
  const lo = Number(m[2]);
  const hi = m[3] === undefined ? lo : Number(m[3]);
  if (lo > 65535 || hi > 65535 || lo > hi) return null;
  return { transport, lo, hi };
}

export function portMatches(spec: PortSpec, transport: string, port: number | undefined): boolean {
  if (spec.transport !== "*" && spec.transport !== transport) return false;
  if (port === undefined) return spec.lo === 0 && spec.hi === 65535;
  return port >= spec.lo && port <= spec.hi;
}

/** "tcp/443" for a flow, or "icmp" for a flow without ports. */
export function portText(transport: string, port: number | undefined): string {
  return port === undefined ? transport : `${transport}/${port}`;
}
