import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { constants, type PerformanceEntry, PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { streamInput } from "../../src/capture/byte-input.js";
import { openCapture, openCaptureInput } from "../../src/capture/open.js";
import { PcapReader } from "../../src/capture/pcap-file.js";
import { PcapngReader } from "../../src/capture/pcapng-file.js";
import { LinkType } from "../../src/capture/source.js";
import {
  chunked,
  collectingSink,
  frame,
  PcapngWriter,
  type PcapRecord,
  pcapFile,
  pcapHeader,
  pcapRecord,
} from "../helpers/capture-writer.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "egressd-capture-"));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, data: Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, data);
  return file;
}

/** Packets with distinct sizes and microsecond timestamps spread over a few days. */
function sampleRecords(n: number): PcapRecord[] {
  const recs: PcapRecord[] = [];
  for (let i = 0; i < n; i++) {
    const usec = 1_700_000_000_000_000 + i * 1_234_567_891;
    recs.push({
      tsSec: Math.floor(usec / 1e6),
      tsFrac: usec % 1e6,
      data: frame(i, 42 + ((i * 97) % 1400)),
    });
  }
  return recs;
}

async function readPath(file: string, options = {}) {
  const source = await openCapture(file, options);
  const sink = collectingSink();
  const result = await source.run(sink);
  return { source, sink, result };
}

const stamp = (p: { tsSec: number; tsNsec: number }) =>
  `${p.tsSec}.${String(p.tsNsec).padStart(9, "0")}`;

describe("openCapture", () => {
  const pcap = pcapFile({ littleEndian: false, nanos: true }, [
    { tsSec: 5, tsFrac: 6, data: frame(0) },
    { tsSec: 7, tsFrac: 8, data: frame(1) },
  ]);
  const pcapng = new PcapngWriter()
    .section(false)
    .interface(LinkType.RAW, { tsresol: 9 })
    .epb(0, 5_000_000_006n, frame(0))
    .epb(0, 7_000_000_008n, frame(1))
    .toBuffer();

  for (const [kind, data, Reader] of [
    ["pcap", pcap, PcapReader],
    ["pcapng", pcapng, PcapngReader],
  ] as const) {
    it(`recognises ${kind} files, even read a byte at a time`, async () => {
      const file = write(`x.${kind}`, data);
      for (const options of [{}, { maxRead: 1, bufferSize: 16 }]) {
        const { source, sink, result } = await readPath(file, options);
        expect(source).toBeInstanceOf(Reader);
        expect(source.name).toBe(file);
        expect(source.totalBytes).toBe(data.length);
        expect(source.bytesRead).toBe(data.length);
        expect(result).toEqual({ packets: 2, bytesRead: data.length });
        expect(sink.packets.map(stamp)).toEqual(["5.000000006", "7.000000008"]);
      }
      const piped = await openCaptureInput(streamInput("pipe", chunked(data, 1)));
      expect(piped.totalBytes).toBeUndefined();
      const sink = collectingSink();
      expect(await piped.run(sink)).toEqual({ packets: 2, bytesRead: data.length });
      expect(sink.packets.map(stamp)).toEqual(["5.000000006", "7.000000008"]);
    });
  }

  it("rejects a missing file with an error naming the path", async () => {
    const missing = path.join(dir, "nope.pcap");
    await expect(openCapture(missing)).rejects.toThrow(missing);
    await expect(openCapture(missing)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("rejects a directory", async () => {
    await expect(openCapture(dir)).rejects.toThrow(`${dir}: is a directory`);
  });

  it("rejects input that is not a capture", async () => {
    const garbage = write("garbage.txt", Buffer.from("GARBAGE, not packets\n"));
    await expect(openCapture(garbage)).rejects.toThrow(
      `${garbage}: not a pcap or pcapng file (starts with 47 41 52 42)`,
    );
    const empty = write("empty", Buffer.alloc(0));
    await expect(openCapture(empty)).rejects.toThrow(
      `${empty}: not a pcap or pcapng file (it is empty)`,
    );
    const short = write("short", Buffer.from([0xd4, 0xc3]));
    await expect(openCapture(short)).rejects.toThrow("only 2 bytes long: d4 c3");
    const gz = write("x.pcap.gz", Buffer.from([0x1f, 0x8b, 8, 0, 0, 0]));
    await expect(openCapture(gz)).rejects.toThrow("gzip data, decompress it first");
  });

  it("reads a named pipe", async () => {
    const fifo = path.join(dir, "fifo");
    if (spawnSync("mkfifo", [fifo]).status !== 0) return;
    const file = write("fifo-src.pcap", pcap);
    const writer = spawn("sh", ["-c", 'cat "$1" > "$2"', "sh", file, fifo]);
    const exited = new Promise((resolve) => writer.on("exit", resolve));
    const { source, result } = await readPath(fifo, { maxRead: 7 });
    expect(source.totalBytes).toBeUndefined();
    expect(result).toEqual({ packets: 2, bytesRead: pcap.length });
    expect(await exited).toBe(0);
  });
});

describe("stdin", () => {
  /** The capture modules compiled to plain JS, so a child `node` can run them. */
  let script: string;

  beforeAll(() => {
    const out = path.join(dir, "js");
    fs.mkdirSync(path.join(out, "capture"), { recursive: true });
    for (const name of [
      "source",
      "byte-input",
      "file-source",
      "pcap-file",
      "pcapng-file",
      "open",
    ]) {
      const src = fs.readFileSync(path.join(repoRoot, "src/capture", `${name}.ts`), "utf8");
      const js = ts.transpileModule(src, {
        compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      fs.writeFileSync(path.join(out, "capture", `${name}.js`), js);
    }
    script = path.join(out, "read-stdin.mjs");
    fs.writeFileSync(
      script,
      `import { openCapture } from "./capture/open.js";
const source = await openCapture("-", { bufferSize: 1000 });
const stamps = [];
const result = await source.run({ packet(p) { stamps.push(p.tsSec + "." + p.tsNsec + "/" + p.capLen); } });
console.log(JSON.stringify({
  name: source.name, totalBytes: source.totalBytes ?? null, packets: result.packets,
  bytesRead: result.bytesRead, error: result.error?.message ?? null, errorOffset: result.error?.offset ?? null, stamps,
}));
`,
    );
  });

  const recs = sampleRecords(300);
  const expectedStamps = recs.map((r) => `${r.tsSec}.${r.tsFrac * 1000}/${r.data.length}`);

  function viaPipe(file: string) {
    return JSON.parse(
      execFileSync("sh", ["-c", 'cat "$1" | node "$2"', "sh", file, script], { encoding: "utf8" }),
    );
  }

  function viaRedirect(file: string) {
    const fd = fs.openSync(file, "r");
    try {
      return JSON.parse(
        execFileSync("node", [script], { stdio: [fd, "pipe", "inherit"], encoding: "utf8" }),
      );
    } finally {
      fs.closeSync(fd);
    }
  }

  it("reads pcap and pcapng from a pipe", () => {
    const pcap = pcapFile({}, recs);
    const ng = new PcapngWriter().section().interface(1);
    for (const r of recs) ng.epb(0, BigInt(r.tsSec) * 1_000_000n + BigInt(r.tsFrac), r.data);
    for (const data of [pcap, ng.toBuffer()]) {
      const out = viaPipe(write("stdin.cap", data));
      expect(out).toMatchObject({ name: "stdin", totalBytes: null, packets: 300, error: null });
      expect(out.bytesRead).toBe(data.length);
      expect(out.stamps).toEqual(expectedStamps);
    }
  });

  it("reads stdin redirected from a regular file", () => {
    const pcap = pcapFile({}, recs);
    const out = viaRedirect(write("redirect.pcap", pcap));
    expect(out).toMatchObject({
      name: "stdin",
      totalBytes: pcap.length,
      packets: 300,
      error: null,
    });
    expect(out.stamps).toEqual(expectedStamps);
  });

  it("reports damage in piped input", () => {
    const pcap = pcapFile({}, recs);
    const cut = pcap.subarray(0, pcap.length - 10);
    const lastOffset = pcap.length - 16 - recs[299]!.data.length;
    for (const out of [viaPipe(write("cut.pcap", cut)), viaRedirect(write("cut.pcap", cut))]) {
      expect(out).toMatchObject({ packets: 299, errorOffset: lastOffset });
      expect(out.error).toMatch(/^truncated record at byte offset/);
    }
  });

  it("rejects a non-capture on stdin", () => {
    const r = spawnSync("sh", ["-c", 'echo hello | node "$1"', "sh", script], { encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("stdin: not a pcap or pcapng file (starts with 68 65 6c 6c)");
  });
});

function hasTool(name: string): boolean {
  return spawnSync(name, ["--version"], { stdio: "ignore" }).status === 0;
}

const haveTools = hasTool("editcap") && hasTool("tshark");

/** What tshark makes of a capture: time stamps, captured and wire lengths. */
function tsharkView(file: string): string[] {
  const out = execFileSync(
    "tshark",
    [
      "-r",
      file,
      "-T",
      "fields",
      "-e",
      "frame.time_epoch",
      "-e",
      "frame.cap_len",
      "-e",
      "frame.len",
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
  );
  return out
    .trim()
    .split("\n")
    .map((line) => {
      const [epoch, capLen, len] = line.split("\t");
      const [sec, frac = ""] = epoch!.split(".");
      return `${sec}.${frac.padEnd(9, "0")} ${capLen} ${len}`;
    });
}

async function ourView(file: string): Promise<string[]> {
  const { result, sink } = await readPath(file);
  expect(result.error).toBeUndefined();
  return sink.packets.map((p) => `${stamp(p)} ${p.capLen} ${p.origLen}`);
}

describe.skipIf(!haveTools)(
  `files written by real tools${haveTools ? "" : " (skipped: editcap or tshark is not installed)"}`,
  () => {
    const recs = sampleRecords(200);
    let original: string;

    beforeAll(() => {
      original = write("tools.pcap", pcapFile({ snapLen: 65535 }, recs));
    });

    it("agrees with tshark on our own pcap", async () => {
      expect(await ourView(original)).toEqual(tsharkView(original));
    });

    for (const [name, args] of [
      ["editcap -F pcapng", ["-F", "pcapng"]],
      ["editcap -F nsecpcap", ["-F", "nsecpcap"]],
      ["editcap -F pcapng, shifted by 0.000000123 s", ["-F", "pcapng", "-t", "0.000000123"]],
      ["editcap -F pcapng, snaplen 100", ["-F", "pcapng", "-s", "100"]],
    ] as const) {
      it(`agrees with tshark on ${name}`, async () => {
        const out = path.join(dir, `${name.replace(/\W+/g, "_")}.out`);
        execFileSync("editcap", [...args, original, out], { stdio: "ignore" });
        const view = await ourView(out);
        expect(view).toHaveLength(recs.length);
        expect(view).toEqual(tsharkView(out));
      });
    }

    it("agrees with tshark on a nanosecond pcapng", async () => {
      const ns = path.join(dir, "ns.pcap");
      const ng = path.join(dir, "ns.pcapng");
      execFileSync("editcap", ["-F", "nsecpcap", "-t", "0.000000123", original, ns], {
        stdio: "ignore",
      });
      execFileSync("editcap", ["-F", "pcapng", ns, ng], { stdio: "ignore" });
      const view = await ourView(ng);
      expect(view[0]).toMatch(/^\d+\.\d{6}123 /);
      expect(view).toEqual(tsharkView(ng));
    });

    it.skipIf(!hasTool("mergecap"))(
      "agrees with tshark on a mergecap'd multi-interface pcapng",
      async () => {
        const raw = write(
          "raw-ns.pcap",
          pcapFile(
            { nanos: true, network: LinkType.RAW },
            recs.slice(0, 50).map((r, i) => ({ ...r, tsFrac: r.tsFrac * 1000 + i })),
          ),
        );
        const merged = path.join(dir, "merged.pcapng");
        execFileSync("mergecap", ["-F", "pcapng", "-w", merged, original, raw], {
          stdio: "ignore",
        });
        const { sink, result } = await readPath(merged);
        expect(result.error).toBeUndefined();
        expect(sink.interfaces.map((i) => i.linkType).sort()).toEqual([
          LinkType.ETHERNET,
          LinkType.RAW,
        ]);
        expect(new Set(sink.packets.map((p) => p.interfaceId))).toEqual(new Set([0, 1]));
        expect(await ourView(merged)).toEqual(tsharkView(merged));
      },
    );

    it.skipIf(!hasTool("tcpdump"))(
      "agrees with tshark on a tcpdump-written nanosecond pcap",
      async () => {
        const out = path.join(dir, "tcpdump-ns.pcap");
        execFileSync("tcpdump", ["--time-stamp-precision", "nano", "-r", original, "-w", out], {
          stdio: "ignore",
        });
        expect(await ourView(out)).toEqual(tsharkView(out));
      },
    );
  },
);

describe("memory", () => {
  it("reads a 300 MB capture in constant memory without per-packet garbage", async () => {
    // One 1 MB block of whole records, written 300 times.
    const block = Buffer.concat(
      Array.from({ length: 9000 }, (_, i) =>
        pcapRecord({ tsSec: 1_700_000_000 + i, tsFrac: i, data: frame(i, 100) }),
      ),
    );
    const file = path.join(dir, "big.pcap");
    const fd = fs.openSync(file, "w");
    try {
      fs.writeSync(fd, pcapHeader());
      for (let i = 0; i < 290; i++) fs.writeSync(fd, block);
    } finally {
      fs.closeSync(fd);
    }
    const size = fs.statSync(file).size;

    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    let minorGcs = 0;
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const { detail } = e as PerformanceEntry & { detail?: { kind?: number } };
        if (detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minorGcs++;
      }
    });
    observer.observe({ entryTypes: ["gc"] });
    const tick = () => new Promise((resolve) => setImmediate(resolve));

    try {
      gc();
      await tick();
      minorGcs = 0;
      const before = process.memoryUsage();
      let peakHeap = 0;
      let n = 0;
      const source = await openCapture(file);
      const result = await source.run({
        packet(p) {
          n++;
          if (n % 100_000 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
          if (p.capLen !== 100) throw new Error(`bad packet ${n}`);
        },
      });
      await tick();
      const scavenges = minorGcs;
      gc();
      const after = process.memoryUsage();

      expect(result).toEqual({ packets: 9000 * 290, bytesRead: size });
      expect(peakHeap - before.heapUsed).toBeLessThan(8e6);
      expect(after.heapUsed - before.heapUsed).toBeLessThan(2e6);
      // Two work buffers (4 MiB + 256 KiB headroom each): one parsed, one being read ahead.
      expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(12e6);
      // 2.6M packets: allocating even one small object each would take dozens of scavenges.
      expect(scavenges).toBeLessThanOrEqual(3);
    } finally {
      observer.disconnect();
      fs.rmSync(file, { force: true });
    }
  });
});
