#!/usr/bin/env node
/**
 * What protocol parsing costs in instructions, not seconds: valgrind's callgrind counts
 * the instructions egressd executes, the same count whatever else the machine is doing
 * (a shared VM swings wall and CPU time by 20-30% between passes, more than the 10%
 * being measured). For each mode (decode + flows alone, and with protocols on) it runs
 * steady-state.mjs for FEW and MANY passes over the capture in one process (and a third
 * mode, "full", adds GeoIP enrichment and devices, and "rules" the shipped packs and
 * two big drop-in lists on top); the
 * difference divided by MANY - FEW is the cost of one warm pass, with start-up and V8's
 * compilation of the parsers (done in the first passes) subtracted out.
 *
 *   node test/bench/instructions.mjs FILE [FEW] [MANY]   -> JSON on stdout
 *
 * Counted per thread (--separate-threads): "main" is the thread that runs the pipeline;
 * "all" adds V8's compiler and GC helper threads.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const [file, fewArg, manyArg] = process.argv.slice(2);
if (!file) {
  console.error("usage: node test/bench/instructions.mjs FILE [FEW] [MANY]");
  process.exit(2);
}
const few = Number(fewArg ?? 3);
const many = Number(manyArg ?? 6);

if (spawnSync("valgrind", ["--version"]).status !== 0) {
  console.log(JSON.stringify({ error: "valgrind is not installed" }));
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), "egressd-callgrind-"));

/** Runs one callgrind job; resolves to instructions per thread (thread 1 first). */
function callgrind(mode, passes) {
  const prefix = join(dir, `${mode}-${passes}`);
  return new Promise((resolve, reject) => {
    const child = spawn(
      "valgrind",
      [
        "--tool=callgrind",
        "--separate-threads=yes",
        `--callgrind-out-file=${prefix}.%p`,
        process.execPath,
        join(HERE, "steady-state.mjs"),
        file,
        String(passes),
        mode,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("close", (code) => {
      if (code !== 0)
        return reject(new Error(`callgrind ${mode} ${passes}: ${stderr.slice(-300)}`));
      const base = `${mode}-${passes}.`;
      const threads = readdirSync(dir)
        .filter((f) => f.startsWith(base) && /-\d+$/.test(f))
        .sort()
        .map((f) => {
          const m = /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, f), "utf8"));
          return m ? Number(m[1]) : 0;
        });
      resolve(threads);
    });
  });
}

// Two jobs at a time: callgrind is single-threaded per process and the bench machines
// have two cores.
const sum = (a) => a.reduce((x, y) => x + y, 0);
try {
  const [offFew, offMany] = await Promise.all([callgrind("off", few), callgrind("off", many)]);
  const [onFew, onMany] = await Promise.all([callgrind("on", few), callgrind("on", many)]);
  const [fullFew, fullMany] = await Promise.all([callgrind("full", few), callgrind("full", many)]);
  const [rulesFew, rulesMany] = await Promise.all([
    callgrind("rules", few),
    callgrind("rules", many),
  ]);
  const perPass = (a, b, pick) => (pick(b) - pick(a)) / (many - few);
  const main = (t) => t[0] ?? 0;
  const result = {
    passes: [few, many],
    offMain: perPass(offFew, offMany, main),
    onMain: perPass(onFew, onMany, main),
    offAll: perPass(offFew, offMany, sum),
    onAll: perPass(onFew, onMany, sum),
    fullMain: perPass(fullFew, fullMany, main),
    fullAll: perPass(fullFew, fullMany, sum),
    rulesMain: perPass(rulesFew, rulesMany, main),
    rulesAll: perPass(rulesFew, rulesMany, sum),
  };
  result.overheadMain = result.onMain / result.offMain - 1;
  result.overheadAll = result.onAll / result.offAll - 1;
  result.fullOverheadMain = result.fullMain / result.offMain - 1;
  result.fullOverheadAll = result.fullAll / result.offAll - 1;
  // The rules issue's target is relative to the enrichment (full) figure.
  result.rulesOverFullMain = result.rulesMain / result.fullMain - 1;
  result.rulesOverFullAll = result.rulesAll / result.fullAll - 1;
  console.log(JSON.stringify(result));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
