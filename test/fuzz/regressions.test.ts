/**
 * Capture files that once made `egressd replay` fail (found by files-fuzz.test.ts), kept
 * in test/fuzz/fixtures/, plus minimal hand-made versions of the same problems. Each must
 * end with exit 0, 1 or 2, a message when non-zero, no "internal error" or stack trace,
 * and only well-formed ISO 8601 timestamps in the records it writes.
 *
 *   not-a-capture-mutated-magic.pcap      plain Error from openCaptureInput -> "internal error"
 *   pcapng-timestamp-beyond-date-range*   EPB time past JS Date's range -> RangeError
 *   pcapng-timestamp-year-beyond-9999     "+019444-12-09T10:31.000000000Z" (seconds lost)
 *   pcapng-timestamp-before-year-0        "-015534-09-13T03:27.005000000Z" (seconds lost)
 */

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LinkType } from "../../src/capture/source.js";
import { get, replay, requireBuild, tempDir } from "../edge-cases/cli.js";
import { PcapngWriter } from "../helpers/capture-writer.js";
import { ethernet, ipv4, udp } from "../helpers/packets.js";
import { cliComplaints } from "./cli-check.js";

const FIXTURES = fileURLToPath(new URL("./fixtures", import.meta.url));
/** ISO 8601 with nanoseconds; years outside 0000-9999 in the expanded form (+/-YYYYYY). */
const ISO = /^(\d{4}|[+-]\d{6})-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;

const tmp = tempDir("regressions");
beforeAll(requireBuild);
afterAll(() => tmp.cleanup());

function expectWellBehaved(path: string): void {
  const run = replay(path);
  expect(cliComplaints({ code: run.code, stdout: run.stdout, stderr: run.stderr })).toEqual([]);
  for (const r of run.records) {
    for (const field of ["event.start", "event.end", "@timestamp"]) {
      expect(get(r, field), field).toMatch(ISO);
    }
  }
}

describe("fuzz regressions", () => {
  const files = readdirSync(FIXTURES).sort();

  it("the fixtures are there", () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
  });

  for (const name of files) {
    it(name, () => expectWellBehaved(join(FIXTURES, name)));
  }
});

describe("minimal versions", () => {
  const frame = ethernet(ipv4({ src: "10.0.0.1", dst: "10.0.0.2" }, udp(1000, 2000)));

  /** A pcapng with one Ethernet interface and one packet at `ticks`. */
  function pcapng(ticks: bigint, opts: { tsresol?: number; tsoffset?: bigint } = {}): Buffer {
    return new PcapngWriter()
      .section()
      .interface(LinkType.ETHERNET, opts)
      .epb(0, ticks, frame)
      .toBuffer();
  }

  it("microsecond timestamp 0xffffffff00000000 (year ~586,000)", () => {
    expectWellBehaved(tmp.file("ts-max.pcapng", pcapng(0xffffffff_00000000n)));
  });

  it("if_tsoffset of -2^62 seconds", () => {
    expectWellBehaved(tmp.file("tsoffset.pcapng", pcapng(0n, { tsoffset: -(2n ** 62n) })));
  });

  it("if_tsresol 10^0 and 2^40 seconds (year ~36,812)", () => {
    expectWellBehaved(tmp.file("tsresol0.pcapng", pcapng(2n ** 40n, { tsresol: 0 })));
  });

  it("if_tsoffset of -10^12 seconds (year ~ -29,700)", () => {
    expectWellBehaved(tmp.file("tsneg.pcapng", pcapng(0n, { tsoffset: -(10n ** 12n) })));
  });

  it("four bytes that are no capture magic", () => {
    expectWellBehaved(tmp.file("magic.pcap", Buffer.from("d4c332a1000000000000", "hex")));
  });
});
