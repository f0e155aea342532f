/**
 * The dispatcher: one drain loop per sink that takes the oldest alerts of the sink's
 * durable queue (src/alert/queue.ts), hands them to the sink and removes them only once
 * the sink accepted them. A failing receiver is retried with exponential backoff while
 * capture keeps enqueueing; nothing here ever blocks the caller of notify().
 *
 * Backoff uses "equal jitter": after the n-th consecutive failure the loop waits
 * d/2 + random * d/2 with d = min(maxBackoffMs, baseBackoffMs * 2^(n-1)), so a retry is
 * never immediate and sinks that failed together do not retry in lockstep. A receiver's
 * Retry-After (DeliveryError.retryAfterMs) wins when it is longer.
 *
 * The dispatcher does not own the sinks: whoever created them closes them after stop().
 */
import type { Severity } from "../rules/index.js";
import type { AlertQueues } from "./queue.js";
import { type AlertSink, DeliveryError } from "./sinks/sink.js";

const SEVERITY_ORDER: Record<Severity, number> = {
  info: 0,
  low: 1,
  medium: 2,
  high: 3,
  critical: 4,
};

/** Whether an alert of `severity` goes to a sink that wants `minSeverity` and above. */
export function passes(minSeverity: Severity, severity: Severity): boolean {
  return SEVERITY_ORDER[severity] >= SEVERITY_ORDER[minSeverity];
}

export interface DispatcherHooks {
  /** A batch was accepted; seconds is how long deliver() took. */
  onDelivered?(sink: string, count: number, seconds: number): void;
  /** A delivery failed and will be retried after nextRetryMs milliseconds. */
  onFailure?(sink: string, error: Error, consecutiveFailures: number, nextRetryMs: number): void;
  /** The receiver refused a batch for good (DeliveryError retryable=false): it is dropped. */
  onRejected?(sink: string, count: number, error: DeliveryError): void;
  /** A delivery succeeded after failures. */
  onRecovered?(sink: string, afterFailures: number): void;
  /** The periodic queue expiry failed (the database is unusable), or a hook threw. */
  onError?(error: Error): void;
}

export interface DispatcherOptions extends DispatcherHooks {
  /** First retry delay. Default 1 s. */
  baseBackoffMs?: number;
  /** Longest retry delay (Retry-After may be longer). Default 60 s. */
  maxBackoffMs?: number;
  /** How often queues.expire() runs. Default 60 s. */
  expireIntervalMs?: number;
  /**
   * How often an idle loop looks at its queue without a notify(): a safety net, alerts
   * normally start moving on notify(). Default 5 s.
   */
  pollIntervalMs?: number;
  /** Injectable for tests. Defaults Math.random and Date.now. */
  random?: () => number;
  now?: () => number;
}

export interface SinkStatus {
  depth: number;
  consecutiveFailures: number;
  lastError: string | null;
  lastSuccessMs: number | null;
}

/**
 * A timer that can be cut short; unref'd so an idle loop never keeps the process alive.
 * Shutdown waits (drain, stop) keep it: with nothing else left on the event loop the
 * process would otherwise exit in the middle of the wait, before the queues are closed.
 */
function wait(ms: number, keepAlive = false): { done: Promise<void>; wake: () => void } {
  let wake = () => {};
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (!keepAlive) timer.unref();
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  return { done, wake };
}

class SinkLoop {
  consecutiveFailures = 0;
  lastError: string | null = null;
  lastSuccessMs: number | null = null;
  /** Cuts the idle wait short (notify, stop). */
  wakeIdle: (() => void) | null = null;
  /** Cuts the backoff wait short (stop only: notify must not defeat the backoff). */
  wakeBackoff: (() => void) | null = null;
  running: Promise<void> = Promise.resolve();

  constructor(readonly sink: AlertSink) {}
}

export class Dispatcher {
  private readonly loops = new Map<string, SinkLoop>();
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly expireIntervalMs: number;
  private readonly pollIntervalMs: number;
  private readonly random: () => number;
  private readonly now: () => number;
  private started = false;
  private stopped = false;
  private expireTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly queues: AlertQueues,
    sinks: readonly AlertSink[],
    private readonly options: DispatcherOptions = {},
  ) {
    for (const sink of sinks) {
      if (this.loops.has(sink.name)) throw new Error(`two alert sinks named "${sink.name}"`);
      this.loops.set(sink.name, new SinkLoop(sink));
    }
    this.baseBackoffMs = options.baseBackoffMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.expireIntervalMs = options.expireIntervalMs ?? 60_000;
    this.pollIntervalMs = options.pollIntervalMs ?? 5000;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** Starts the loops; alerts left queued by a previous run start moving at once. */
  start(): void {
    if (this.started) return;
    this.started = true;
    // Expire first: after a long downtime, alerts past their age are not sent any more.
    this.expire();
    for (const loop of this.loops.values()) {
      // run() handles every delivery and queue error itself; this catches a throwing hook.
      loop.running = this.run(loop).catch((err: unknown) => {
        this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
      });
    }
    this.expireTimer = setInterval(() => this.expire(), this.expireIntervalMs);
    this.expireTimer.unref();
  }

  /** Wakes the loop of one sink (or all) after alerts were enqueued. */
  notify(sink?: string): void {
    if (sink !== undefined) {
      this.loops.get(sink)?.wakeIdle?.();
      return;
    }
    for (const loop of this.loops.values()) loop.wakeIdle?.();
  }

  /** The delay before the retry that follows the n-th consecutive failure (n >= 1). */
  backoffMs(consecutiveFailures: number): number {
    const exponent = Math.min(Math.max(consecutiveFailures - 1, 0), 30);
    const d = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** exponent);
    return d / 2 + this.random() * (d / 2);
  }

  status(): Record<string, SinkStatus> {
    const out: Record<string, SinkStatus> = {};
    for (const [name, loop] of this.loops) {
      out[name] = {
        depth: this.queues.depth(name),
        consecutiveFailures: loop.consecutiveFailures,
        lastError: loop.lastError,
        lastSuccessMs: loop.lastSuccessMs,
      };
    }
    return out;
  }

  /**
   * Graceful shutdown, first step: keeps delivering until every queue is empty or the
   * clock (options.now) reaches deadlineMs. Returns what is left per sink; it stays queued
   * on disk for the next start.
   */
  async drain(deadlineMs: number): Promise<Record<string, number>> {
    this.notify();
    for (;;) {
      const left = this.depths();
      const remaining = deadlineMs - this.now();
      if (Object.values(left).every((n) => n === 0) || remaining <= 0) return left;
      await wait(Math.min(20, remaining), true).done;
    }
  }

  /**
   * Stops the loops. A deliver() in flight may still finish within boundMs, and its alerts
   * are then acked (the database must stay open until this resolves); after boundMs stop()
   * resolves anyway and such a batch is delivered again after the next start.
   */
  async stop(boundMs = 5000): Promise<void> {
    this.stopped = true;
    if (this.expireTimer !== null) clearInterval(this.expireTimer);
    this.expireTimer = null;
    for (const loop of this.loops.values()) {
      loop.wakeIdle?.();
      loop.wakeBackoff?.();
    }
    const bound = wait(boundMs, true);
    await Promise.race([Promise.all([...this.loops.values()].map((l) => l.running)), bound.done]);
    bound.wake();
  }

  private depths(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of this.loops.keys()) out[name] = this.queues.depth(name);
    return out;
  }

  private expire(): void {
    try {
      this.queues.expire(this.now());
    } catch (err) {
      if (!this.stopped) this.options.onError?.(err as Error);
    }
  }

  private async run(loop: SinkLoop): Promise<void> {
    const { sink } = loop;
    while (!this.stopped) {
      let seqs: number[] = [];
      try {
        const batch = this.queues.peek(sink.name, sink.maxBatch);
        if (batch.length === 0) {
          const idle = wait(this.pollIntervalMs);
          loop.wakeIdle = idle.wake;
          await idle.done;
          loop.wakeIdle = null;
          continue;
        }
        seqs = batch.map((b) => b.seq);
        const started = performance.now();
        await sink.deliver(batch.map((b) => b.alert));
        const seconds = (performance.now() - started) / 1000;
        // Acked even when stopping: the receiver has these alerts.
        this.queues.ack(sink.name, seqs);
        this.options.onDelivered?.(sink.name, batch.length, seconds);
        loop.lastSuccessMs = this.now();
        if (loop.consecutiveFailures > 0) {
          const after = loop.consecutiveFailures;
          loop.consecutiveFailures = 0;
          this.options.onRecovered?.(sink.name, after);
        }
      } catch (err) {
        // After stop() the database may be closed under us: nothing more to do.
        if (this.stopped) return;
        const error = err instanceof Error ? err : new Error(String(err));
        if (error instanceof DeliveryError && !error.retryable && seqs.length > 0) {
          // Sending them again cannot succeed: drop them and move on to the next batch.
          try {
            this.queues.ack(sink.name, seqs);
            this.options.onRejected?.(sink.name, seqs.length, error);
            continue;
          } catch (ackErr) {
            await this.backoff(loop, [], ackErr instanceof Error ? ackErr : error);
            continue;
          }
        }
        await this.backoff(loop, seqs, error);
      }
    }
  }

  /** Records a retryable failure (anything but a non-retryable DeliveryError) and waits. */
  private async backoff(loop: SinkLoop, seqs: number[], error: Error): Promise<void> {
    const name = loop.sink.name;
    try {
      this.queues.attempted(name, seqs);
    } catch {
      // The database failing too changes nothing here: the loop waits and tries again.
    }
    loop.consecutiveFailures++;
    loop.lastError = error.message;
    let delay = this.backoffMs(loop.consecutiveFailures);
    if (error instanceof DeliveryError && (error.retryAfterMs ?? 0) > delay) {
      delay = error.retryAfterMs!;
    }
    this.options.onFailure?.(name, error, loop.consecutiveFailures, delay);
    const pause = wait(delay);
    loop.wakeBackoff = pause.wake;
    await pause.done;
    loop.wakeBackoff = null;
  }
}
