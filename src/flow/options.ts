/**
 * Flow table settings. Timeouts run on packet time, never the wall clock, so a replay
 * of the same capture always ends flows at the same packets.
 */
export interface FlowTimeouts {
  /** TCP flow whose SYN has not been answered: how long until it is reported `attempted`. */
  tcp_new: number;
  /** Established (or mid-stream) TCP flow with no packets. */
  tcp: number;
  /** After FIN both ways or a RST: how long to wait for stragglers before reporting. */
  tcp_closed: number;
  udp: number;
  icmp: number;
  /** Other IP protocols (GRE, ESP, ...). */
  other: number;
  /** A long-lived flow is reported every `active` seconds (NetFlow's active timeout). */
  active: number;
}

export interface FlowOptions {
  /** Hard bound on concurrent flows; beyond it the longest-idle flow is evicted. */
  maxFlows: number;
  /** Bound on remembered first fragments (for attributing later fragments). */
  maxFragments: number;
  /** Seconds, per protocol class. */
  timeouts: FlowTimeouts;
}

/** Defaults follow Zeek (tcp 5 min, udp/icmp 1 min, close delay 5 s) and NetFlow (active 30 min). */
export const DEFAULT_FLOW_OPTIONS: FlowOptions = {
  maxFlows: 500_000,
  maxFragments: 10_000,
  timeouts: {
    tcp_new: 30,
    tcp: 300,
    tcp_closed: 5,
    udp: 60,
    icmp: 60,
    other: 60,
    active: 1800,
  },
};

export const TIMEOUT_NAMES = Object.keys(DEFAULT_FLOW_OPTIONS.timeouts) as (keyof FlowTimeouts)[];

/**
 * Parses "tcp=300,udp=30" into timeouts on top of `base`. Throws an Error whose message
 * says what was wrong and what is accepted.
 */
export function parseTimeouts(spec: string, base: FlowTimeouts): FlowTimeouts {
  const out = { ...base };
  for (const part of spec.split(",")) {
    const trimmed = part.trim();
    if (trimmed === "") continue;
    const eq = trimmed.indexOf("=");
    const name = eq < 0 ? trimmed : trimmed.slice(0, eq);
    const value = eq < 0 ? Number.NaN : Number(trimmed.slice(eq + 1));
    if (!(TIMEOUT_NAMES as string[]).includes(name)) {
      throw new Error(`unknown timeout "${name}"; known: ${TIMEOUT_NAMES.join(", ")}`);
    }
    if (!Number.isFinite(value) || value <= 0) {
      throw new Error(`timeout "${name}" needs a positive number of seconds, e.g. ${name}=60`);
    }
    out[name as keyof FlowTimeouts] = value;
  }
  return out;
}
