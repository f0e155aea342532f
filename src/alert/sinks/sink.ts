/**
 * What every alert sink (log, webhook, syslog, alertmanager) is to the dispatcher that
 * drains its durable queue: something that takes a batch of stored alerts and resolves
 * once the receiver has them. Sinks never queue or retry themselves: the queue keeps the
 * alerts (src/alert/queue.ts) and the dispatcher retries with backoff
 * (src/alert/dispatcher.ts), so a slow or dead receiver never blocks capture and a
 * restart loses nothing.
 */
import type { Severity } from "../../rules/index.js";

/** One alert as the queue hands it out. */
export interface QueuedAlert {
  /** The alert's stable id (the record's event.id). */
  id: string;
  /** The ECS alert record as JSON text, exactly as stored. */
  json: string;
  severity: Severity;
}

/**
 * Delivery failed. retryable=false means sending the same alerts again cannot succeed
 * (the receiver rejected them as malformed: HTTP 400/413/422): the dispatcher counts and
 * logs them and moves on instead of retrying forever. retryAfterMs honours a receiver's
 * Retry-After.
 */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable = true,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "DeliveryError";
  }
}

export type SinkType = "log" | "webhook" | "syslog" | "alertmanager";

export interface AlertSink {
  /** The sink's name in the config (unique): names its queue, metrics and log lines. */
  readonly name: string;
  readonly type: SinkType;
  /** Most alerts one deliver() call takes. */
  readonly maxBatch: number;
  /**
   * Sends the alerts, in order. Resolves once the receiver has accepted all of them;
   * rejects with a DeliveryError otherwise (a sink bounds every wait with its own timeout,
   * so a stalled receiver is a failure, not a hang).
   */
  deliver(alerts: readonly QueuedAlert[]): Promise<void>;
  /** Reopen files or connections (SIGUSR2 after logrotate). */
  reopen?(): void;
  /** Releases sockets and files; pending deliver() calls may reject. */
  close(): Promise<void>;
}
