import { array, boolean, field, type Infer, integer, object, string } from "../schema.js";

export const captureSection = object({
  interfaces: field(
    array(string({ minLength: 1, maxLength: 64 }), { expected: "a list of interface names" }),
    "Interfaces to capture on (the mirror port); empty: the interface of the default route.",
  ),
  filter: field(
    string(),
    'BPF filter (tcpdump syntax), e.g. "not port 22"; empty captures everything.',
    { default: "" },
  ),
  snaplen: field(
    integer({ min: 64, max: 262_144 }),
    "Bytes kept of each packet: enough for headers, DNS, TLS ClientHellos and HTTP headers.",
    { default: 2048 },
  ),
  promiscuous: field(
    boolean(),
    "Capture every frame on the wire, not only those addressed to this host (a mirror port needs it).",
    { default: true },
  ),
  buffer_size_mib: field(
    integer({ min: 1, max: 4096 }),
    "Kernel capture buffer per interface, MiB: absorbs bursts while egressd is busy.",
    { default: 64 },
  ),
  immediate: field(
    boolean(),
    "Deliver packets as they arrive (alerts within milliseconds) rather than when the kernel buffer block fills.",
    { default: true },
  ),
});

export type CaptureConfig = Infer<typeof captureSection>;
