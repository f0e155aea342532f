import type { PacketSource } from "../capture/source.js";
import { formatBytes, formatCount } from "./units.js";

const BAR_WIDTH = 30;
const REDRAW_MS = 200;

/**
 * A one-line progress bar on stderr while a capture is read. Timers fire between the
 * reader's asynchronous reads, so the per-packet loop never checks the clock.
 */
export class ProgressBar {
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = process.hrtime.bigint();

  constructor(
    private readonly source: PacketSource,
    private readonly packets: () => number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.draw(), REDRAW_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.stream.write("\r\x1b[2K");
  }

  private draw(): void {
    const seconds = Number(process.hrtime.bigint() - this.startedAt) / 1e9;
    const read = this.source.bytesRead;
    const total = this.source.totalBytes;
    const rate = seconds > 0 ? this.packets() / seconds : 0;
    let line: string;
    if (total !== undefined && total > 0) {
      const fraction = Math.min(1, read / total);
      const filled = Math.round(fraction * BAR_WIDTH);
      line = `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(read)}/${formatBytes(total)}`;
    } else {
      line = `${formatBytes(read)} read`;
    }
    line += `  ${formatCount(this.packets())} packets  ${formatCount(rate)}/s`;
    this.stream.write(`\r\x1b[2K${line}`);
  }
}
