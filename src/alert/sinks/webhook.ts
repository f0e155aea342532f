/**
 * The webhook sink: POSTs the stored ECS alert records, byte for byte, to an HTTP(S)
 * receiver (a SOAR, a SIEM's HTTP input, a chat bridge). With maxBatch 1 the body is one
 * alert object; with a larger maxBatch it is a JSON array of them.
 *
 * Delivery is at least once: when an answer is lost (timeout, dropped connection) the
 * dispatcher sends the same alerts again. Every request therefore names its alerts
 * (`X-Egressd-Alert-Ids`, comma separated, and `Idempotency-Key`) so a receiver can drop
 * the ones it already has; each alert's event.id in the body is the same id.
 */
import { createHash } from "node:crypto";
import { HttpPoster, type HttpSinkOptions } from "./http-post.js";
import type { AlertSink, QueuedAlert } from "./sink.js";

export interface WebhookSinkOptions extends HttpSinkOptions {
  /** true: batches of up to 100 alerts as a JSON array. Ignored when maxBatch is set. */
  batch?: boolean;
  /** 1 (the default without batch): one alert object per request; more: a JSON array. */
  maxBatch?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_BATCH = 100;

/** The header form of the ids: stable across retries, and never an invalid header value. */
function idList(alerts: readonly QueuedAlert[]): string {
  return alerts.map((a) => encodeURIComponent(a.id)).join(",");
}

/** One alert: its id. A batch: a digest of its ids, the same whenever the same batch is sent. */
function idempotencyKey(alerts: readonly QueuedAlert[]): string {
  if (alerts.length === 1) return encodeURIComponent(alerts[0]!.id);
  return createHash("sha256").update(idList(alerts)).digest("hex");
}

export class WebhookSink implements AlertSink {
  readonly type = "webhook" as const;
  readonly name: string;
  readonly maxBatch: number;
  private readonly poster: HttpPoster;

  constructor(options: WebhookSinkOptions) {
    this.name = options.name;
    this.maxBatch = options.maxBatch ?? (options.batch === true ? DEFAULT_BATCH : 1);
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) {
      throw new Error(`webhook sink ${this.name}: maxBatch must be a whole number >= 1`);
    }
    this.poster = new HttpPoster({
      ...options,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
  }

  async deliver(alerts: readonly QueuedAlert[]): Promise<void> {
    for (let i = 0; i < alerts.length; i += this.maxBatch) {
      const batch = alerts.slice(i, i + this.maxBatch);
      // The stored JSON texts as they are: joined into an array, never re-serialised.
      const body = this.maxBatch === 1 ? batch[0]!.json : `[${batch.map((a) => a.json).join(",")}]`;
      await this.poster.post(body, {
        "idempotency-key": idempotencyKey(batch),
        "x-egressd-alert-ids": idList(batch),
      });
    }
  }

  async close(): Promise<void> {
    this.poster.close();
  }
}
