/**
 * `egressd run`: the daemon in the foreground (systemd, Docker). Logs are pino JSON lines
 * on standard error; alerts go to the configured sinks (standard output by default).
 */
import { parseArgs } from "node:util";
import pino from "pino";
import { SinkConfigError } from "../alert/sinks/create.js";
import { ConfigError } from "../config/errors.js";
import { Daemon, DaemonStartError } from "../daemon/daemon.js";
import { registerAlertMetrics } from "../metrics/alert-metrics.js";
import { registerPipelineMetrics } from "../metrics/pipeline-metrics.js";
import { ExitCode, InputError, UsageError } from "./errors.js";

export const RUN_HELP = `Usage: egressd run [options]

Captures live on the camera VLAN's mirror port (libpcap), tracks flows, reads DNS, TLS
and HTTP, evaluates the rules and sends alerts to the configured sinks, until SIGTERM
or SIGINT. With no options it runs on the bundled defaults: the default route's
interface, the bundled GeoIP data, the rule packs in ./rules, alerts as JSON lines on
standard output, the store in ./data/egressd.db, metrics at http://127.0.0.1:9810/metrics.

Options:
  -c, --config FILE     config file (see config/egressd.yaml); default: $EGRESSD_CONFIG,
                        else the bundled defaults. EGRESSD_<SECTION>_<KEY> variables
                        override it (EGRESSD_CAPTURE_INTERFACES=eth1)
  -i, --interface IF    capture on IF (repeatable); overrides capture.interfaces
      --listen ADDR     HTTP listener address; overrides http.listen ("" turns it off)
      --log-level LVL   trace, debug, info (default), warn, error
  -h, --help            show this help

Signals: SIGHUP reloads the config (rules, sets, device groups, GeoIP, sinks; other
changes are logged as needing a restart); SIGUSR2 reopens log-sink files (logrotate);
SIGTERM/SIGINT stop capture, flush every flow, drain the sinks (alerts.drain_timeout)
and exit 0.

Capture needs root or the capabilities CAP_NET_RAW and CAP_NET_ADMIN, e.g.
  sudo setcap cap_net_raw,cap_net_admin=eip "$(readlink -f "$(command -v node)")"

Exit status: 0 after a clean stop; 1 when the config, rules, store or capture cannot
be used (the message says which and why); 2 on a usage error.
`;

const LEVELS = ["trace", "debug", "info", "warn", "error"];

export async function runDaemon(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      interface: { type: "string", short: "i", multiple: true },
      listen: { type: "string" },
      "log-level": { type: "string", default: "info" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return ExitCode.OK;
  }
  if (positionals.length > 0)
    throw new UsageError(`run takes no arguments, got "${positionals[0]}"`);
  const level = values["log-level"]!;
  if (!LEVELS.includes(level))
    throw new UsageError(`--log-level must be one of ${LEVELS.join(", ")}, got "${level}"`);
  const env: Record<string, string | undefined> = { ...process.env };
  // Command-line options win over the file and the environment.
  if (values.interface !== undefined) env.EGRESSD_CAPTURE_INTERFACES = values.interface.join(",");
  if (values.listen !== undefined) env.EGRESSD_HTTP_LISTEN = JSON.stringify(values.listen);
  const log = pino(
    { level, base: { service: "egressd" } },
    pino.destination({ fd: 2, sync: true }),
  );

  // Signals are taken from the start: before the daemon is up, a SIGHUP waits for it
  // (its default action would kill the process) and a SIGTERM stops it as soon as it is.
  let daemon: Daemon | null = null;
  let pending: "reload" | "stop" | null = null;
  let stopping: Promise<unknown> | null = null;
  const stop = (signal: string) => {
    log.info({ signal }, `${signal}: stopping`);
    if (daemon === null) pending = "stop";
    else stopping ??= daemon.stop();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGHUP", () => {
    if (daemon === null) pending ??= "reload";
    else void daemon.reload();
  });
  process.on("SIGUSR2", () => daemon?.reopenLogs());

  try {
    daemon = await Daemon.start({
      configPath: values.config ?? process.env.EGRESSD_CONFIG,
      env,
      log,
      onRegistry: (registry, view) => {
        registerPipelineMetrics(registry, view);
        registerAlertMetrics(registry, view);
      },
    });
  } catch (err) {
    if (
      err instanceof DaemonStartError ||
      err instanceof ConfigError ||
      err instanceof SinkConfigError
    )
      throw new InputError(err.message);
    throw err;
  }
  const running = daemon;
  if (pending === "stop") stopping ??= running.stop();
  else if (pending === "reload") void running.reload();
  try {
    await running.finished();
  } catch (err) {
    // Capture could not start at all (permission, libpcap): say what to do and stop cleanly.
    await running.stop();
    if (err instanceof DaemonStartError) throw new InputError(err.message);
    throw err;
  }
  await stopping;
  return ExitCode.OK;
}
