/**
 * A replay reading a pcap from its standard input, as `tcpdump -w - | egressd replay -`:
 * a long-running egressd the tests feed packets to, signal, scrape and kill.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { BIN, requireBuild } from "../edge-cases/cli.js";
import { pcapHeader, pcapRecord } from "./capture-writer.js";
import { ethernet, ipv4, udp } from "./packets.js";

export class PipedReplay {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";

  constructor(args: string[]) {
    requireBuild();
    this.child = spawn(process.execPath, [BIN, "replay", ...args, "-"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.child.stdout!.on("data", (d) => {
      this.stdout += d;
    });
    this.child.stderr!.on("data", (d) => {
      this.stderr += d;
    });
    this.child.stdin!.write(pcapHeader());
  }

  private t = 1_790_000_000;
  private port = 40000;

  query(name: string): void {
    const labels = name
      .split(".")
      .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
    const dns = Buffer.concat([
      Buffer.from("abcd01000001000000000000", "hex"),
      ...labels,
      Buffer.from("0000010001", "hex"),
    ]);
    const frame = ethernet(
      ipv4({ src: "10.20.0.11", dst: "10.20.0.53" }, udp(this.port++, 53, dns)),
    );
    this.child.stdin!.write(pcapRecord({ tsSec: this.t++, tsFrac: 0, data: frame }));
  }

  async until(what: () => boolean, label: string, ms = 10_000): Promise<void> {
    const end = Date.now() + ms;
    while (!what()) {
      if (Date.now() > end)
        throw new Error(
          `timed out waiting for ${label}\nstdout:${this.stdout}\nstderr:${this.stderr}`,
        );
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  alerts(): string[] {
    return this.stdout
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l).rule.id);
  }

  async metrics(): Promise<string> {
    const m = /metrics at (http:\/\/\S+)/.exec(this.stderr);
    const res = await fetch(m![1]!);
    return res.text();
  }

  async end(): Promise<number> {
    this.child.stdin!.end();
    return new Promise((resolve) => this.child.on("close", (code) => resolve(code ?? -1)));
  }
}
