/**
 * Fuzz-style, capture files: random and mutated pcap/pcapng files (headers, block
 * lengths, record lengths, interface ids, options, cuts). First many of them in process,
 * exactly as `egressd replay` wires the pieces (openCaptureInput -> Pipeline -> flowRecord),
 * read in random chunk sizes through a small work buffer; then a sample through the CLI,
 * which must exit 0, 1 or 2, never print "internal error" or a stack trace, and say what
 * went wrong whenever it exits non-zero. Deterministic: fixed seeds and counts.
 *
 * Failures are collected rather than thrown one by one, so a run lists every distinct
 * problem with the mutation that produced it.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { streamInput } from "../../src/capture/byte-input.js";
import { openCaptureInput } from "../../src/capture/open.js";
import { CaptureFormatError } from "../../src/capture/source.js";
import type { Flow } from "../../src/flow/flow.js";
import { DEFAULT_FLOW_OPTIONS } from "../../src/flow/options.js";
import type { FlowEndReason } from "../../src/flow/table.js";
import { flowRecord } from "../../src/output/flow-record.js";
import { Pipeline, UnsupportedLinkTypeError } from "../../src/pipeline.js";
import { requireBuild, tempDir } from "../edge-cases/cli.js";
import { chunked } from "../helpers/capture-writer.js";
import { cliComplaints, pool, runCli } from "./cli-check.js";
import { type FileCase, FUZZ_SCALE, fileCases, Rng, seed } from "./corpus.js";

const ISO = /^(\d{4}|[+-]\d{6})-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;

/** The defaults, with a table small enough to allocate thousands of times. */
const FLOW_OPTIONS = { ...DEFAULT_FLOW_OPTIONS, maxFlows: 1024, maxFragments: 64 };

type Verdict = "ok" | "damaged" | "not-a-capture" | "unsupported";

/** What `egressd replay` would do with the file, in process. Throws on anything else. */
async function replayInProcess(c: FileCase, rng: Rng): Promise<Verdict> {
  const input = streamInput("fuzz", chunked(c.data, rng.int(1, 700)));
  let source: Awaited<ReturnType<typeof openCaptureInput>>;
  try {
    source = await openCaptureInput(input, { bufferSize: rng.pick([64, 256, 4096]) });
  } catch (err) {
    if ((err as Error).message.includes("not a pcap or pcapng file")) return "not-a-capture";
    throw err;
  }
  const pipeline = new Pipeline(FLOW_OPTIONS, {
    flowEnded(flow: Flow, reason: FlowEndReason) {
      const r = JSON.parse(JSON.stringify(flowRecord(flow, reason)));
      if (!ISO.test(r.event.start) || !ISO.test(r.event.end)) {
        throw new Error(`malformed timestamp in a record: ${r.event.start} .. ${r.event.end}`);
      }
    },
  });
  let verdict: Verdict = "ok";
  try {
    const result = await source.run(pipeline);
    if (result.error !== undefined) {
      expect(result.error).toBeInstanceOf(CaptureFormatError);
      expect(result.error.offset).toBeGreaterThanOrEqual(0);
      expect(result.error.offset).toBeLessThanOrEqual(c.data.length);
      expect(result.error.message).not.toBe("");
      verdict = "damaged";
    }
  } catch (err) {
    if (err instanceof UnsupportedLinkTypeError) return "unsupported";
    throw err;
  }
  pipeline.finish();
  return verdict;
}

/** First line of an error: the signature failures are grouped by. */
function signature(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.split("\n")[0]!.replace(/\d+/g, "N").slice(0, 160);
}

describe("capture file fuzz (in process)", () => {
  it("random and mutated files: no exception escapes the replay path", {
    timeout: 60_000 * FUZZ_SCALE,
  }, async () => {
    const all = fileCases(seed(20240314), 8000 * FUZZ_SCALE);
    const rng = new Rng(seed(7));
    const verdicts: Record<string, number> = {};
    const failures = new Map<string, string>();
    for (const c of all) {
      try {
        const v = await replayInProcess(c, rng);
        verdicts[v] = (verdicts[v] ?? 0) + 1;
      } catch (err) {
        const sig = signature(err);
        if (!failures.has(sig)) failures.set(sig, `${c.name} (${c.how})`);
      }
    }
    // The mutations reach every outcome.
    expect(Object.keys(verdicts).sort()).toEqual(["damaged", "not-a-capture", "ok", "unsupported"]);
    expect([...failures].map(([sig, example]) => `${sig}  <- e.g. ${example}`)).toEqual([]);
  });
});

describe("capture file fuzz (CLI)", () => {
  const tmp = tempDir("fuzz");
  beforeAll(requireBuild);
  afterAll(() => tmp.cleanup());

  it("exit 0, 1 or 2 only; never an internal error; a message on every failure", {
    timeout: 60_000 * FUZZ_SCALE,
  }, async () => {
    const sample = fileCases(seed(777), 100 * FUZZ_SCALE);
    const results = await pool(sample, 4, async (c) => {
      const file = tmp.file(`${c.name}.cap`, c.data);
      return { c, r: await runCli(file) };
    });
    const codes: Record<string, number> = {};
    const bad = new Map<string, string>();
    for (const { c, r } of results) {
      codes[String(r.code)] = (codes[String(r.code)] ?? 0) + 1;
      const complaints = cliComplaints(r);
      if (complaints.length > 0) {
        // Group by the message's gist: no paths, numbers or parenthesised details.
        const first = r.stderr
          .split("\n")[0]!
          .replace(/\/\S+/g, "PATH")
          .replace(/\(.*$/, "")
          .replace(/\d+/g, "N");
        const key = `${complaints.join("+")}: ${first}`;
        if (!bad.has(key)) bad.set(key, `${c.name} (${c.how})`);
      }
    }
    expect(Object.keys(codes).sort()).toEqual(["0", "1", "2"]);
    expect([...bad].map(([k, example]) => `${k}  <- e.g. ${example}`)).toEqual([]);
  });
});
