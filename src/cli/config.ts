import { parseArgs } from "node:util";
import { configJsonSchema } from "../config/config.js";
import { ConfigError, formatProblem } from "../config/errors.js";
import { loadConfig } from "../config/load.js";
import { ExitCode, UsageError } from "./errors.js";

export const DEFAULT_CONFIG_FILE = "config/egressd.yaml";

export const CONFIG_HELP = `Usage: egressd config check [FILE]
       egressd config schema

check    validates a config file (default ${DEFAULT_CONFIG_FILE}) and prints
         "FILE: ok", or every problem found as FILE:LINE:COL: message, one per
         line on standard error: YAML syntax, unknown keys (with a did-you-mean),
         wrong types, bad networks, MACs, OUIs and durations, duplicate group names.
         EGRESSD_<SECTION>_<KEY> variables override the file, as for egressd run
         (EGRESSD_HTTP_LISTEN=0.0.0.0:9810, EGRESSD_CAPTURE_INTERFACES=eth1,eth2);
         their problems are reported as "environment: EGRESSD_...: message".
schema   prints the JSON Schema (draft 2020-12) of the config file, the one
         config/egressd.schema.json holds for editor completion:
           # yaml-language-server: $schema=./egressd.schema.json

Options:
  -h, --help    show this help

Exit status: 0 when the config is valid; 1 when it has problems or cannot be
read; 2 on a usage error.
`;

/** `egressd config check|schema`. Returns the exit code. */
export async function runConfig(args: string[]): Promise<number> {
  let parsed: { values: { help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { help: { type: "boolean", short: "h" } },
    });
  } catch (err) {
    // parseArgs throws a TypeError for an unknown option; that is a usage error (exit 2).
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(CONFIG_HELP);
    return ExitCode.OK;
  }
  const [command, ...rest] = positionals;
  switch (command) {
    case "check": {
      if (rest.length > 1) throw new UsageError(`config check takes one file, got ${rest.length}`);
      const file = rest[0] ?? DEFAULT_CONFIG_FILE;
      try {
        loadConfig(file, process.env);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        for (const p of err.problems) process.stderr.write(`${formatProblem(p)}\n`);
        return ExitCode.ERROR;
      }
      process.stdout.write(`${file}: ok\n`);
      return ExitCode.OK;
    }
    case "schema":
      if (rest.length > 0) throw new UsageError("config schema takes no arguments");
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
      return ExitCode.OK;
    case undefined:
      throw new UsageError("config needs a subcommand: check [FILE] or schema");
    default:
      throw new UsageError(`unknown config subcommand "${command}"; known: check, schema`);
  }
}
