/**
 * `egressd mud import|export`: Manufacturer Usage Descriptions (RFC 8520) in and out of
 * egressd's baselines. The mapping both ways is in src/baseline/mud/import.ts and
 * export.ts (and docs/BASELINE.md, "MUD").
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Document } from "yaml";
import { readBaselineFile, writeBaseline } from "../baseline/baseline-file.js";
import type { Baseline, GroupBaseline } from "../baseline/model.js";
import { exportMud } from "../baseline/mud/export.js";
import { importMud } from "../baseline/mud/import.js";
import { validateMud } from "../baseline/mud/validate.js";
import { ConfigError, type ConfigProblem, formatProblem } from "../config/errors.js";
import { loadConfig } from "../config/load.js";
import { closest } from "../config/suggest.js";
import { ExitCode, UsageError } from "./errors.js";

export const MUD_HELP = `Usage: egressd mud import FILE.json --group NAME [options]
       egressd mud export --group NAME --baseline FILE [options]

A Manufacturer Usage Description (MUD, RFC 8520) is a device maker's statement of
what its devices need to reach, as access lists in JSON.

import   validates FILE.json and turns it into the allow-list of device group NAME,
         as a baseline (the YAML of egressd learn, enforced by baseline_drift).
         Problems are reported as FILE:LINE:COL: path: message.
  --group NAME             the device group the MUD file describes
  --controller URI=GROUP   the device group a MUD "controller" URI stands for
                           (repeatable); urn:egressd:group:NAME maps to NAME
  --my-controller GROUP    the device group that is the MUD "my-controller"
  -o, --output FILE        write the baseline there; an existing file is merged
                           as egressd learn merges (its other groups, comments and
                           edits stay); default: standard output
  -c, --config FILE        check the groups against the config's devices.groups
                           and take the group's role from it

export   writes group NAME of a baseline file as a MUD file, for the device's maker
         or a firewall that enforces MUD.
  --group NAME             the group to export
  --baseline FILE          the baseline file (egressd learn, egressd mud import)
  --mud-url URL            where the file will be served (default: the URL an
                           imported group came from, else a placeholder under
                           https://example.invalid/)
  --systeminfo TEXT        what the device is (at most 60 characters)
  --now TIME               last-update, ISO 8601 (default: now)
  -o, --output FILE        write the MUD file there; default: standard output

What one side cannot say is left out and listed as warnings on standard error:
deny ACEs and makers named by MUD domain on import; wildcard names, what was seen
(protocols, countries, ASNs), counts and volumes on export (docs/BASELINE.md, "MUD").

Options:
  -h, --help               show this help

Exit status: 0 on success (with or without warnings); 1 when the MUD file, the
baseline or the config is invalid or unreadable, or a controller is not mapped to
a group; 2 on a usage error.
`;

const SUBCOMMANDS = ["import", "export"];

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      group: { type: "string" },
      controller: { type: "string", multiple: true },
      "my-controller": { type: "string" },
      output: { type: "string", short: "o" },
      config: { type: "string", short: "c" },
      baseline: { type: "string" },
      "mud-url": { type: "string" },
      systeminfo: { type: "string" },
      now: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

type Values = ReturnType<typeof parse>["values"];

/** `egressd mud import|export`. Returns the exit code. */
export async function runMud(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError(`mud: ${(err as Error).message}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(MUD_HELP);
    return ExitCode.OK;
  }
  const [command, ...rest] = positionals;
  switch (command) {
    case "import":
      return runImport(rest, values);
    case "export":
      if (rest.length > 0)
        throw new UsageError(
          `mud export takes no file argument, got "${rest[0]}" (use --baseline FILE)`,
        );
      return runExport(values);
    case undefined:
      throw new UsageError("mud needs a subcommand: import FILE.json or export");
    default: {
      const guess = closest(command, SUBCOMMANDS);
      throw new UsageError(
        `unknown mud subcommand "${command}"; ${guess ? `did you mean "${guess}"?` : "known: import, export"}`,
      );
    }
  }
}

/** Refuses the options of the other subcommand, so a mistake is not silently ignored. */
function onlyFor(command: string, values: Values, others: (keyof Values)[]): void {
  for (const k of others) {
    if (values[k] !== undefined)
      throw new UsageError(`mud ${command} has no --${String(k)} option`);
  }
}

function printProblems(problems: readonly ConfigProblem[], prefix = ""): void {
  for (const p of problems)
    process.stderr.write(`${formatProblem({ ...p, message: `${prefix}${p.message}` })}\n`);
}

async function runImport(files: string[], values: Values): Promise<number> {
  onlyFor("import", values, ["baseline", "mud-url", "systeminfo", "now"]);
  if (files.length !== 1)
    throw new UsageError(`mud import takes one MUD file, got ${files.length}`);
  const file = files[0]!;
  const group = values.group;
  if (!group)
    throw new UsageError("mud import needs --group NAME (the device group the MUD file describes)");
  const controllers = new Map<string, string>();
  for (const c of values.controller ?? []) {
    const eq = c.lastIndexOf("=");
    if (eq <= 0 || eq === c.length - 1)
      throw new UsageError(`--controller takes URI=GROUP, got "${c}"`);
    controllers.set(c.slice(0, eq), c.slice(eq + 1));
  }
  const myController = values["my-controller"];
  if (myController === "") throw new UsageError("--my-controller needs a group name");

  let role: string | undefined;
  try {
    if (values.config !== undefined) {
      const groups = loadConfig(values.config, process.env).devices.groups;
      const names = groups.map((g) => g.name);
      for (const name of new Set([
        group,
        ...controllers.values(),
        ...(myController ? [myController] : []),
      ])) {
        if (names.includes(name)) continue;
        const guess = closest(name, names);
        process.stderr.write(
          `egressd: mud import: group "${name}" is not in ${values.config}'s devices.groups; ${guess ? `did you mean "${guess}"?` : names.length > 0 ? `the groups are ${names.join(", ")}` : "it has no groups"}\n`,
        );
        return ExitCode.ERROR;
      }
      role = groups.find((g) => g.name === group)?.role;
    }
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new ConfigError([
        { file, line: 0, col: 0, message: `cannot read: ${(err as Error).message}` },
      ]);
    }
    const validated = validateMud(text, file);
    const { baseline, warnings } = importMud(validated, {
      group,
      ...(role !== undefined ? { role } : {}),
      controllers,
      ...(myController !== undefined ? { myController } : {}),
    });
    printProblems(warnings, "warning: ");
    const result: Baseline = { version: 1, groups: [baseline] };
    if (values.output !== undefined) writeBaseline(values.output, result);
    else process.stdout.write(baselineText(result));
    process.stderr.write(
      `mud import: ${summary(baseline)}${values.output !== undefined ? ` -> ${values.output}` : ""}\n`,
    );
    return ExitCode.OK;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    printProblems(err.problems);
    return ExitCode.ERROR;
  }
}

function baselineText(b: Baseline): string {
  const doc = new Document(b);
  doc.commentBefore = " egressd baseline imported from a MUD file (egressd mud import).";
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

function summary(g: GroupBaseline): string {
  const n = g.destinations.length;
  return `group ${g.group}: ${n} destination${n === 1 ? "" : "s"}, ${g.lookups.length} name${g.lookups.length === 1 ? "" : "s"} (${g.source})`;
}

async function runExport(values: Values): Promise<number> {
  onlyFor("export", values, ["controller", "my-controller", "config"]);
  const group = values.group;
  if (!group) throw new UsageError("mud export needs --group NAME");
  if (!values.baseline) throw new UsageError("mud export needs --baseline FILE");
  const systeminfo = values.systeminfo;
  if (systeminfo !== undefined && (systeminfo.length === 0 || systeminfo.length > 60)) {
    throw new UsageError(
      `--systeminfo takes 1 to 60 characters (RFC 8520), got ${systeminfo.length}`,
    );
  }
  const mudUrl = values["mud-url"];
  if (mudUrl !== undefined && !/^https:\/\/[^\s/]+/.test(mudUrl)) {
    throw new UsageError(`--mud-url must be an https:// URL (RFC 8520), got "${mudUrl}"`);
  }
  let now: Date | undefined;
  if (values.now !== undefined) {
    now = new Date(values.now);
    if (Number.isNaN(now.getTime()))
      throw new UsageError(`--now takes an ISO 8601 time, got "${values.now}"`);
  }
  let baseline: Baseline;
  try {
    baseline = readBaselineFile(values.baseline);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    printProblems(err.problems);
    return ExitCode.ERROR;
  }
  const g = baseline.groups.find((x) => x.group === group);
  if (g === undefined) {
    const names = baseline.groups.map((x) => x.group);
    const guess = closest(group, names);
    process.stderr.write(
      `egressd: mud export: no group "${group}" in ${values.baseline}; ${guess ? `did you mean "${guess}"?` : names.length > 0 ? `it has ${names.join(", ")}` : "it has no groups"}\n`,
    );
    return ExitCode.ERROR;
  }
  const { mud, warnings } = exportMud(g, {
    ...(mudUrl !== undefined ? { mudUrl } : {}),
    ...(systeminfo !== undefined ? { systeminfo } : {}),
    ...(now !== undefined ? { now } : {}),
  });
  const text = `${JSON.stringify(mud, null, 2)}\n`;
  // What egressd writes, egressd must read back: a failure here is a bug, not bad input.
  validateMud(text, "exported MUD");
  for (const w of warnings) process.stderr.write(`egressd: mud export: warning: ${w}\n`);
  if (values.output !== undefined) writeFileSync(values.output, text);
  else process.stdout.write(text);
  return ExitCode.OK;
}
