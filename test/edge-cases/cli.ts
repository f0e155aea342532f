/**
 * Helpers for the edge-case tests, which run capture files through the built CLI
 * (`node bin/egressd.js replay FILE --summary json`) exactly as a user would. The suite
 * runs after `npm run build`; without dist/ every test fails with that instruction.
 */

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { LinkType } from "../../src/capture/source.js";
import type { ReplaySummary } from "../../src/cli/summary.js";
import { type PcapOptions, type PcapRecord, pcapFile } from "../helpers/capture-writer.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const BIN = join(ROOT, "bin/egressd.js");
const MAIN = join(ROOT, "dist/cli/main.js");

/** Fails with the fix when the CLI has not been built. */
export function requireBuild(): void {
  if (!existsSync(MAIN)) {
    throw new Error(
      `${MAIN} is missing: the edge-case tests run the built CLI; run \`npm run build\` first`,
    );
  }
}

export type FlowRecord = Record<string, unknown>;

/** The CLI's own summary type, so these tests follow it when it changes. */
export type Summary = ReplaySummary;

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  records: FlowRecord[];
  /** The last stderr line parsed as JSON (with --summary json), else undefined. */
  summary: Summary | undefined;
}

function finish(r: ReturnType<typeof spawnSync>): Run {
  const stdout = String(r.stdout ?? "");
  const stderr = String(r.stderr ?? "");
  const records = stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as FlowRecord);
  const lines = stderr.split("\n").filter((l) => l !== "");
  let summary: Summary | undefined;
  for (let i = lines.length - 1; i >= 0 && summary === undefined; i--) {
    try {
      const v = JSON.parse(lines[i]!);
      if (v !== null && typeof v === "object" && "packets" in v) summary = v as Summary;
    } catch {
      // not the summary line
    }
  }
  return { code: r.status, signal: r.signal, stdout, stderr, records, summary };
}

/** `egressd replay FILE --summary json [args]`. */
export function replay(file: string, args: string[] = []): Run {
  requireBuild();
  return finish(
    spawnSync(process.execPath, [BIN, "replay", file, "--summary", "json", ...args], {
      cwd: ROOT,
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
      timeout: 60_000,
    }),
  );
}

/**
 * `cat FILE | egressd replay - --summary json [args]`, through a real shell pipe, or with
 * `redirect` as `egressd replay - < FILE` (stdin is then the file itself).
 */
export function replayStdin(file: string, args: string[] = [], redirect = false): Run {
  requireBuild();
  const quoted = [process.execPath, BIN, "replay", "-", "--summary", "json", ...args]
    .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
    .join(" ");
  const script = redirect ? `${quoted} < "$1"` : `cat "$1" | ${quoted}`;
  return finish(
    spawnSync("sh", ["-c", script, "sh", file], {
      cwd: ROOT,
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
      timeout: 60_000,
    }),
  );
}

/** A temp dir for one test file's captures; `cleanup()` removes it. */
export function tempDir(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), `egressd-${prefix}-`));
  return {
    dir,
    /** Writes `data` to `name` in the dir and returns its path. */
    file(name: string, data: Uint8Array): string {
      const path = join(dir, name);
      writeFileSync(path, data);
      return path;
    },
    path(name: string): string {
      return join(dir, name);
    },
    cleanup(): void {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Reads a dotted path out of a record: get(r, "network.vlan.id"). */
export function get(record: FlowRecord, path: string): unknown {
  let v: unknown = record;
  for (const key of path.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** Records whose transport and ports match (in either direction). */
export function findFlow(
  records: FlowRecord[],
  transport: string,
  a: number,
  b: number,
): FlowRecord[] {
  return records.filter(
    (r) =>
      get(r, "network.transport") === transport &&
      ((get(r, "source.port") === a && get(r, "destination.port") === b) ||
        (get(r, "source.port") === b && get(r, "destination.port") === a)),
  );
}

/** A packet at `t` seconds (fractional) on an Ethernet pcap. */
export interface TimedFrame {
  t: number;
  data: Buffer;
  origLen?: number;
}

/** Microsecond pcap of Ethernet frames (or `network`), times in seconds from `base`. */
export function pcapOf(frames: TimedFrame[], opts: PcapOptions = {}, base = 1_700_000_000): Buffer {
  const nanos = opts.nanos ?? false;
  const records: PcapRecord[] = frames.map((f) => {
    const whole = Math.floor(f.t);
    const frac = Math.round((f.t - whole) * (nanos ? 1e9 : 1e6));
    const r: PcapRecord = { tsSec: base + whole, tsFrac: frac, data: f.data };
    if (f.origLen !== undefined) r.origLen = f.origLen;
    return r;
  });
  return pcapFile({ network: LinkType.ETHERNET, ...opts }, records);
}

/** Runs a real tool (editcap, mergecap...); returns false when it is not installed. */
export function haveTool(name: string): boolean {
  try {
    execFileSync(name, ["-h"], { stdio: "ignore" });
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ENOENT";
  }
}

export function tool(name: string, args: string[]): void {
  execFileSync(name, args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** The checks every successful run gets. */
export function expectClean(run: Run): void {
  expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(run.code, run.stderr).toBe(0);
  expect(run.summary).toBeDefined();
}
