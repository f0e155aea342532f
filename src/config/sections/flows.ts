import { DEFAULT_FLOW_OPTIONS, type FlowOptions } from "../../flow/options.js";
import { duration, formatDuration } from "../kinds.js";
import { field, type Infer, integer, object } from "../schema.js";

const T = DEFAULT_FLOW_OPTIONS.timeouts;
const timeout = (seconds: number, description: string) =>
  field(duration({ min: 1 }), description, { default: formatDuration(seconds) });

// Names and defaults follow src/flow/options.ts, so `egressd replay --timeouts` and the
// config file speak the same language.
export const flowsSection = object({
  max_flows: field(
    integer({ min: 1 }),
    "Bound on concurrent flows; beyond it the longest-idle flow is evicted (and counted).",
    { default: DEFAULT_FLOW_OPTIONS.maxFlows },
  ),
  max_fragments: field(
    integer({ min: 1 }),
    "Bound on remembered first fragments, used to attribute later fragments to their flow.",
    { default: DEFAULT_FLOW_OPTIONS.maxFragments },
  ),
  timeouts: field(
    object({
      tcp_new: timeout(T.tcp_new, "TCP flow whose SYN is unanswered: reported as attempted."),
      tcp: timeout(T.tcp, "Established TCP flow with no packets."),
      tcp_closed: timeout(T.tcp_closed, "After FIN both ways or a RST: wait for stragglers."),
      udp: timeout(T.udp, "UDP flow with no packets."),
      icmp: timeout(T.icmp, "ICMP flow with no packets."),
      other: timeout(T.other, "Other IP protocols (GRE, ESP, ...) with no packets."),
      active: timeout(
        T.active,
        "A long-lived flow is reported every this long (NetFlow's active timeout).",
      ),
    }),
    "Flow timeouts, on packet time (a replay ends flows at the same packets).",
  ),
});

export type FlowsConfig = Infer<typeof flowsSection>;

/** The flow table's options from the config's flows section. */
export function flowOptions(flows: FlowsConfig): FlowOptions {
  return {
    maxFlows: flows.max_flows,
    maxFragments: flows.max_fragments,
    timeouts: { ...flows.timeouts },
  };
}
