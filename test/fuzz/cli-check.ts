/**
 * Runs the built CLI on fuzzed files and lists what it must never do.
 */

import { execFile } from "node:child_process";
import { BIN, ROOT } from "../edge-cases/cli.js";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(file: string): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, "replay", file, "--summary", "json"],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs `jobs` with at most `limit` in flight. */
export async function pool<T, R>(
  items: T[],
  limit: number,
  job: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await job(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

/** What the CLI must never do, as a list of complaints (empty when it behaved). */
export function cliComplaints(r: CliResult): string[] {
  const complaints: string[] = [];
  if (r.code !== 0 && r.code !== 1 && r.code !== 2) complaints.push(`exit code ${r.code}`);
  if (/internal error/i.test(r.stderr)) complaints.push("internal error");
  if (/\n\s+at .+[(:]\d+/.test(r.stderr)) complaints.push("stack trace");
  if (r.code !== 0) {
    const message = r.stderr.split("\n").find((l) => l.startsWith("egressd"));
    if (message === undefined) complaints.push("non-zero exit without a message");
  }
  for (const line of r.stdout.split("\n")) {
    if (line === "") continue;
    try {
      JSON.parse(line);
    } catch {
      complaints.push("stdout line is not JSON");
      break;
    }
  }
  return complaints;
}
