import { readFileSync } from "node:fs";
import { CaptureFormatError } from "../capture/source.js";
import { ConfigError } from "../config/errors.js";
import { UnsupportedLinkTypeError } from "../pipeline.js";
import { runAlerts } from "./alerts.js";
import { runConfig } from "./config.js";
import { runDevices } from "./devices.js";
import { ExitCode, InputError, UsageError } from "./errors.js";
import { runGeoip } from "./geoip.js";
import { runLearn } from "./learn.js";
import { runMud } from "./mud.js";
import { runReplay } from "./replay.js";
import { runRules } from "./rules.js";
import { runDaemon } from "./run.js";

const MAIN_HELP = `Usage: egressd <command> [options]

egressd watches the traffic of CCTV cameras and other edge devices and tells you
when one calls home or is being upgraded remotely.

Commands:
  run              the daemon: capture live on the mirror port, alert, serve /metrics
  replay FILE|-    read a pcap/pcapng capture and write one JSON record per flow
  devices          list the device inventory (--report: the phase-out view)
  learn CAPTURE... learn what each device group talks to, as a baseline file
  mud import FILE  a maker's MUD file (RFC 8520) as a device group's allow-list
                   (mud export: a group's baseline as a MUD file)
  alerts           list stored alerts, newest first (--since 24h, --severity high, --json)
  geoip ADDRESS... what egressd knows about an address: scope, country, AS
  rules check      validate rule files (rules list: id, severity, trigger, tags;
                   rules test: run the test cases the rule files carry)
  config check     validate a config file (config schema: print its JSON Schema)

Options:
  -h, --help       show this help (also: egressd <command> --help)
  -V, --version    print the version

Exit status: 0 success, 1 runtime error (unreadable or damaged input),
2 usage error.
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return String(pkg.version);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case "help":
    case "-h":
    case "--help":
      process.stdout.write(MAIN_HELP);
      return command === undefined ? ExitCode.USAGE : ExitCode.OK;
    case "-V":
    case "--version":
    case "version":
      process.stdout.write(`egressd ${version()}\n`);
      return ExitCode.OK;
    case "run":
      return runDaemon(rest);
    case "replay":
      return runReplay(rest);
    case "devices":
      return runDevices(rest);
    case "learn":
      return runLearn(rest);
    case "mud":
      return runMud(rest);
    case "alerts":
      return runAlerts(rest);
    case "geoip":
      return runGeoip(rest);
    case "rules":
      return runRules(rest);
    case "config":
      return runConfig(rest);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function isParseArgsError(err: unknown): err is Error {
  return (
    err instanceof TypeError &&
    "code" in err &&
    typeof err.code === "string" &&
    err.code.startsWith("ERR_PARSE_ARGS_")
  );
}

// EPIPE (`egressd replay x | head`) is the reader leaving, not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(ExitCode.OK);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (isParseArgsError(err)) {
      // node:util parseArgs: unknown option, missing option value...: a usage error.
      process.stderr.write(`egressd: ${err.message}\nTry 'egressd --help'.\n`);
      process.exitCode = ExitCode.USAGE;
    } else if (err instanceof UsageError) {
      process.stderr.write(`egressd: ${err.message}\nTry 'egressd --help'.\n`);
      process.exitCode = ExitCode.USAGE;
    } else if (err instanceof UnsupportedLinkTypeError) {
      process.stderr.write(`egressd: ${err.message}\n`);
      process.exitCode = ExitCode.USAGE;
    } else if (err instanceof ConfigError) {
      // One "file:line:col: reason" per problem, like a compiler.
      process.stderr.write(`${err.message}\n`);
      process.exitCode = ExitCode.ERROR;
    } else if (err instanceof InputError) {
      process.stderr.write(`egressd: ${err.message}\n`);
      process.exitCode = ExitCode.ERROR;
    } else if (err instanceof CaptureFormatError) {
      process.stderr.write(`egressd: ${err.message} (byte offset ${err.offset})\n`);
      process.exitCode = ExitCode.ERROR;
    } else if (err instanceof Error && "code" in err && typeof err.code === "string") {
      // System errors (ENOENT, EACCES...) already name the path; no stack trace for them.
      process.stderr.write(`egressd: ${err.message}\n`);
      process.exitCode = ExitCode.ERROR;
    } else {
      process.stderr.write(
        `egressd: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = ExitCode.ERROR;
    }
  },
);
