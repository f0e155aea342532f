/**
 * The log sink: every alert as one JSON line (the ECS record itself, plus "log.level" set
 * to the alert's severity) on stdout or in a file, for a log shipper (Filebeat, Vector,
 * journald) to pick up.
 *
 * Writes are synchronous (pino.destination with sync: true), so deliver() resolves only
 * once the lines are in the operating system's hands: a crash of egressd right after the
 * dispatcher acked them loses nothing. A file is reopened at its path by reopen() (SIGUSR2
 * after logrotate renamed it). After a failed write the destination is opened afresh for
 * the next attempt, starting with a newline so that a line cut short stays on its own.
 */
import { type Logger, pino } from "pino";
import type { Severity } from "../../rules/index.js";
import { type AlertSink, DeliveryError, type QueuedAlert } from "./sink.js";

export interface LogSinkOptions {
  name: string;
  /** Append to this file (its directory is created). Without it: `fd`. */
  file?: string;
  /** Write to this file descriptor; default 1 (stdout). The sink never closes it. */
  fd?: number;
  /** Default 500. */
  maxBatch?: number;
  /**
   * Longest time one deliver() may block the process on a full pipe (EAGAIN on a stdout
   * whose reader is stuck) before it fails and the dispatcher backs off. Default 1000 ms.
   */
  maxBlockMs?: number;
}

type Destination = ReturnType<typeof pino.destination>;

/** pino levels named after alert severities: log.level carries the alert's severity. */
const LEVELS: Record<Severity, number> = { info: 20, low: 30, medium: 40, high: 50, critical: 60 };

/** The record as an object, or null when the text is not a JSON object. */
function parseRecord(json: string): object | null {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

export class LogSink implements AlertSink {
  readonly type = "log";
  readonly name: string;
  readonly maxBatch: number;
  private readonly file: string | undefined;
  private readonly fd: number;
  private readonly maxBlockMs: number;
  private dest: Destination | null = null;
  private logger: Logger<Severity, true> | null = null;
  /** The error the destination reported during the current write, if any. */
  private writeError: Error | null = null;
  /** A write failed: the next destination starts with a newline. */
  private cut = false;
  private writeDeadline = 0;
  private closed = false;

  constructor(options: LogSinkOptions) {
    this.name = options.name;
    this.file = options.file;
    this.fd = options.fd ?? 1;
    this.maxBatch = options.maxBatch ?? 500;
    this.maxBlockMs = options.maxBlockMs ?? 1000;
  }

  /** Where the lines go, for log messages. */
  get target(): string {
    return this.file ?? (this.fd === 1 ? "stdout" : `fd ${this.fd}`);
  }

  async deliver(alerts: readonly QueuedAlert[]): Promise<void> {
    if (this.closed) throw new DeliveryError(`log sink ${this.name} is closed`);
    // Parsed before anything is written, so a batch is either refused whole or written.
    const records: object[] = [];
    for (const alert of alerts) {
      const record = parseRecord(alert.json);
      // Not a stored record (a damaged database): writing it again cannot succeed.
      if (record === null) throw new DeliveryError(`alert ${alert.id} is not a JSON object`, false);
      records.push(record);
    }
    this.writeError = null;
    this.writeDeadline = Date.now() + this.maxBlockMs;
    try {
      const logger = this.open();
      for (let i = 0; i < records.length && this.writeError === null; i++) {
        const severity = alerts[i]!.severity;
        logger[severity in LEVELS ? severity : "info"](records[i]!);
      }
    } catch (err) {
      if (err instanceof DeliveryError) throw err;
      this.writeError ??= err as Error;
    }
    if (this.writeError !== null) {
      const message = this.writeError.message;
      this.discard();
      throw new DeliveryError(`cannot write alerts to ${this.target}: ${message}`);
    }
  }

  /** Reopens the file at its path (after logrotate renamed it); nothing to do for an fd. */
  reopen(): void {
    if (this.file === undefined || this.dest === null) return;
    try {
      this.dest.reopen();
    } catch {
      // The path cannot be opened now: the next deliver() opens it again and reports why.
      this.discard();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const dest = this.dest;
    this.dest = null;
    this.logger = null;
    if (dest === null || this.file === undefined) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1000);
      dest.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      dest.end();
    });
  }

  private open(): Logger<Severity, true> {
    if (this.logger !== null) return this.logger;
    let dest: Destination;
    try {
      dest = pino.destination({
        ...(this.file !== undefined ? { dest: this.file, mkdir: true } : { dest: this.fd }),
        sync: true,
        // A full pipe: keep retrying only until this deliver's deadline.
        retryEAGAIN: () => Date.now() < this.writeDeadline,
      });
    } catch (err) {
      throw new DeliveryError(`cannot open ${this.target}: ${(err as Error).message}`);
    }
    // Errors arrive as events (EPIPE among them, which pino alone would swallow).
    dest.on("error", (err: Error) => {
      this.writeError ??= err;
    });
    const logger = pino<Severity, true>(
      {
        base: null,
        timestamp: false,
        messageKey: "message",
        customLevels: LEVELS,
        useOnlyCustomLevels: true,
        level: "info",
        formatters: { level: (label) => ({ "log.level": label }) },
      },
      dest,
    );
    if (this.cut) {
      dest.write("\n");
      this.cut = false;
    }
    this.dest = dest;
    this.logger = logger;
    return logger;
  }

  /** Drops a destination that failed; a file's descriptor is closed, a given fd is not. */
  private discard(): void {
    const dest = this.dest;
    this.dest = null;
    this.logger = null;
    this.cut = true;
    if (dest !== null && this.file !== undefined) {
      try {
        dest.destroy();
      } catch {
        // Already gone.
      }
    }
  }
}
