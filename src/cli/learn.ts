/**
 * `egressd learn`: what each device group talks to, from captures (or a live pipe), as a
 * baseline file to review, edit and enforce (docs/BASELINE.md).
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  describeEntry,
  entryKey,
  readBaselineFile,
  writeBaseline,
} from "../baseline/baseline-file.js";
import { BaselineLearner } from "../baseline/learn.js";
import type { Baseline, GroupBaseline } from "../baseline/model.js";
import { ConfigError } from "../config/errors.js";
import { loadConfig, parseConfig } from "../config/load.js";
import { CaptureRun, openCaptureFile } from "./capture-run.js";
import { ExitCode, InputError, UsageError } from "./errors.js";

export const LEARN_HELP = `Usage: egressd learn [options] CAPTURE... | -

Watches the traffic of the devices in the config's device groups and writes, per
group, what they talked to: peer groups, names (and how they were named), addresses
without a name, ports, protocols, countries and ASNs, names looked up, and bytes per
device per day, with counts, first/last seen and the devices that used each entry.

  egressd learn -c egressd.yaml -o baselines/cameras.yaml week1.pcap week2.pcap
  tcpdump -i eth1 -w - | egressd learn -c egressd.yaml -o baselines/vlan20.yaml -

Review the file: delete what should not be there, comment what should. Learning again
into the same file keeps your comments and edits (counts add up, new entries are
appended, nothing is removed). List the file under baseline.files in the config and
the rules on trigger baseline_drift (rules/baseline.yaml) enforce it.

Options:
  -c, --config FILE   config file: device groups (required for anything to be
                      learned), GeoIP databases
  -o, --output FILE   baseline file to write or merge into (default: the first of
                      the config's baseline.files)
      --diff          print what this learn would change in the file, write nothing
  -h, --help          show this help

Exit status: 0 on success (--diff: also when there are changes); 1 when a capture,
the config or the baseline file cannot be used; 2 on a usage error.
`;

export async function runLearn(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      output: { type: "string", short: "o" },
      diff: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(LEARN_HELP);
    return ExitCode.OK;
  }
  if (positionals.length === 0)
    throw new UsageError("learn needs at least one capture file (or - for standard input)");
  const config =
    values.config !== undefined
      ? loadConfig(values.config, process.env)
      : parseConfig("", "(defaults)");
  const output = values.output ?? config.baseline.files[0];
  if (output === undefined)
    throw new UsageError("learn needs --output FILE (or baseline.files in the config)");
  if (config.devices.groups.length === 0)
    process.stderr.write(
      "egressd learn: warning: the config has no device groups: nothing can be learned\n",
    );

  const learner = new BaselineLearner();
  const run = new CaptureRun({ config, geoipAgeWarnings: false, command: "learn" });
  try {
    for (const capture of positionals) {
      const source = await openCaptureFile(capture);
      const summary = await run.run(source, { watches: [learner] });
      if (summary.error) {
        throw new InputError(
          `${capture}: ${summary.error.message} at byte offset ${summary.error.offset}`,
        );
      }
    }
  } finally {
    run.close();
  }
  const learned = learner.result();
  for (const [group, n] of Object.entries(learner.dropped())) {
    if (n > 0)
      process.stderr.write(
        `egressd learn: warning: group ${group}: ${n} destinations not kept (limit reached)\n`,
      );
  }

  let previous: Baseline | null = null;
  try {
    if (existsSync(output)) previous = readBaselineFile(output);
  } catch (err) {
    if (err instanceof ConfigError)
      throw new InputError(`${output} has problems; fix them first:\n${err.message}`);
    throw err;
  }
  if (values.diff) {
    process.stdout.write(diffText(previous, learned, output));
    return ExitCode.OK;
  }
  writeBaseline(output, learned);
  const counts = learned.groups
    .map((g) => `${g.group}: ${g.destinations.length} destinations, ${g.lookups.length} names`)
    .join("; ");
  process.stderr.write(
    `egressd learn: ${previous === null ? "wrote" : "merged into"} ${output} (${counts || "no device of any group seen"})\n`,
  );
  return ExitCode.OK;
}

/**
 * What learning would change: "+" entries and names new to the file, "~" entries with
 * new ports, protocols or countries, "-" entries the new traffic did not use (kept in
 * the file: a re-learn removes nothing).
 */
export function diffText(previous: Baseline | null, learned: Baseline, file: string): string {
  const lines: string[] = [];
  const old = new Map((previous?.groups ?? []).map((g) => [g.group, g]));
  for (const g of learned.groups) {
    const before = old.get(g.group);
    if (before === undefined) {
      lines.push(
        `+ group ${g.group} (${g.destinations.length} destinations, ${g.lookups.length} names)`,
      );
      continue;
    }
    lines.push(...groupDiff(before, g));
  }
  for (const g of previous?.groups ?? []) {
    if (!learned.groups.some((x) => x.group === g.group))
      lines.push(`- group ${g.group}: no device of it seen`);
  }
  return lines.length === 0
    ? `${file}: no changes\n`
    : `${file}:\n${lines.map((l) => `  ${l}`).join("\n")}\n`;
}

function groupDiff(before: GroupBaseline, after: GroupBaseline): string[] {
  const out: string[] = [];
  const old = new Map(before.destinations.map((e) => [entryKey(e), e]));
  const seen = new Set<string>();
  for (const e of after.destinations) {
    const key = entryKey(e);
    seen.add(key);
    const o = old.get(key);
    if (o === undefined) {
      out.push(`+ ${after.group}: ${describeEntry(e)}`);
      continue;
    }
    const added = (
      a: readonly (string | number)[] | undefined,
      b: readonly (string | number)[] | undefined,
    ) => (b ?? []).filter((x) => !(a ?? []).map(String).includes(String(x)));
    const news = [
      ...added(o.ports, e.ports).map((p) => `port ${p}`),
      ...added(o.protocols, e.protocols).map((p) => `protocol ${p}`),
      ...added(o.countries, e.countries).map((c) => `country ${c}`),
    ];
    if (news.length > 0) out.push(`~ ${after.group}: ${key}: new ${news.join(", ")}`);
  }
  for (const [key, e] of old) {
    if (!seen.has(key))
      out.push(`- ${after.group}: ${describeEntry(e)} (not used this time; kept)`);
  }
  const names = new Set(before.lookups.map((l) => l.name));
  for (const l of after.lookups)
    if (!names.has(l.name)) out.push(`+ ${after.group}: lookup ${l.name}`);
  const bo = before.volume?.bytes_out_per_day?.max;
  const ao = after.volume?.bytes_out_per_day?.max;
  if (bo !== undefined && ao !== undefined && ao > bo)
    out.push(`~ ${after.group}: bytes_out_per_day max ${bo} -> ${ao}`);
  return out;
}
