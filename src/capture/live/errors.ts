/**
 * The one error type of live capture, with a message that tells the operator what to do.
 * `kind` lets callers decide: "down" is retried by LiveSource, the others are fatal.
 */

export type LiveCaptureErrorKind = "permission" | "no-device" | "down" | "filter" | "libpcap";

export const PERMISSION_HINT =
  "run as root, or grant the capabilities: " +
  "sudo setcap cap_net_raw,cap_net_admin=eip $(readlink -f $(which node)) / " +
  "systemd AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN / " +
  "docker --cap-add NET_RAW --cap-add NET_ADMIN";

export const LIBPCAP_HINT =
  "install libpcap (Debian: apt-get install libpcap0.8) and rebuild (npm run build)";

export class LiveCaptureError extends Error {
  constructor(
    readonly kind: LiveCaptureErrorKind,
    message: string,
    /** The interface concerned, when there is one. */
    readonly device?: string,
  ) {
    super(message);
    this.name = "LiveCaptureError";
  }
}

/**
 * Maps the addon's open() failure (an Error with `code` PERM_DENIED, NO_SUCH_DEVICE,
 * IFACE_NOT_UP, FILTER or ERROR) to a LiveCaptureError.
 */
export function openError(e: unknown, device: string, filter?: string): LiveCaptureError {
  const code = (e as { code?: unknown }).code;
  const text = e instanceof Error ? e.message : String(e);
  switch (code) {
    case "PERM_DENIED":
      return new LiveCaptureError(
        "permission",
        `no permission to capture on ${device} (${text}): ${PERMISSION_HINT}`,
        device,
      );
    case "NO_SUCH_DEVICE":
      return new LiveCaptureError("no-device", `no such interface: ${device} (${text})`, device);
    case "IFACE_NOT_UP":
      return new LiveCaptureError("down", `interface ${device} is down (${text})`, device);
    case "FILTER":
      return new LiveCaptureError("filter", `bad capture filter "${filter}": ${text}`, device);
    default:
      return new LiveCaptureError("libpcap", `cannot capture on ${device}: ${text}`, device);
  }
}
