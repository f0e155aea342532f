import { closeSync, openSync, writeSync } from "node:fs";

/** Flush threshold: big enough to amortise syscalls, small enough to keep memory flat. */
const FLUSH_BYTES = 64 * 1024;
/**
 * Longest a line waits for the batch to fill: on a live pipe (tcpdump -w - | egressd)
 * an alert must come out now, not when 64 KiB of others have joined it.
 */
const FLUSH_DELAY_MS = 100;

/**
 * Writes JSON Lines in batches. Writes are synchronous (files; stdout on Linux is
 * synchronous for files, pipes and TTYs), so a slow reader slows the replay instead of
 * growing the heap.
 */
export class LineWriter {
  private pending: string[] = [];
  private pendingBytes = 0;
  private readonly fd: number | undefined;
  private timer: NodeJS.Timeout | null = null;

  /** `path` undefined or "-" writes to stdout. */
  constructor(path?: string) {
    this.fd = path === undefined || path === "-" ? undefined : openSync(path, "w");
  }

  write(line: string): void {
    if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), FLUSH_DELAY_MS);
      this.timer.unref();
    }
    this.pending.push(line);
    this.pendingBytes += line.length + 1;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pending.length === 0) return;
    const chunk = `${this.pending.join("\n")}\n`;
    this.pending = [];
    this.pendingBytes = 0;
    if (this.fd === undefined) process.stdout.write(chunk);
    else writeSync(this.fd, chunk);
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
  }
}
