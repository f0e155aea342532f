/**
 * The Alertmanager sink: turns ECS alert records into Alertmanager API v2 postable alerts
 * (labels, annotations, startsAt, endsAt, generatorURL) and POSTs them to
 * `{url}/api/v2/alerts`, so the SOC's existing routing, grouping, inhibition and silences
 * apply to egressd's alerts.
 *
 * Alertmanager treats alerts with identical label sets as one alert, so the labels carry
 * the alert's identity (rule, source, destination, sensor): distinct alerts stay distinct
 * and a repeat of the same one updates it. Per-alert facts (message, event id, repeat
 * count) go into annotations, which do not take part in that identity.
 */
import { fieldAt } from "../../output/record-path.js";
import { HttpPoster, type HttpSinkOptions } from "./http-post.js";
import type { AlertSink, QueuedAlert } from "./sink.js";

/** `url` is Alertmanager's base URL (with its route prefix, if any), e.g. http://am:9093. */
export interface AlertmanagerSinkOptions extends HttpSinkOptions {
  /** Default 100. */
  maxBatch?: number;
  /** How long an alert fires after it was sent (endsAt); default one hour. */
  resolveAfterMs?: number;
  /** Link shown with the alert; `{alert_id}` is replaced by the alert's id. */
  generatorURL?: string;
  /** Fixed labels added to every alert (site, environment). */
  extraLabels?: Record<string, string>;
}

/** An Alertmanager API v2 postableAlert. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_BATCH = 100;
const DEFAULT_RESOLVE_AFTER_MS = 60 * 60 * 1000;
/** Label values are matched and grouped on: keep them short. */
const MAX_LABEL_CHARS = 256;
const MAX_ANNOTATION_CHARS = 4096;
/** The labels this sink sets itself; extraLabels may not take them over. */
const OWN_LABELS = [
  "alertname",
  "severity",
  "rule_name",
  "source_ip",
  "source_device_group",
  "source_device_role",
  "destination",
  "destination_country",
  "sensor",
  "device",
];

/** A Prometheus label name; `__` names are reserved for Prometheus itself. */
function validLabelName(name: string): boolean {
  return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) && !name.startsWith("__");
}

/**
 * A string fit for a label or annotation value: well-formed Unicode (lone surrogates
 * would arrive as U+FFFD at best), no control characters, at most `max` characters.
 */
export function cleanValue(value: unknown, max: number): string {
  if (typeof value !== "string" && typeof value !== "number") return "";
  const text = String(value)
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD")
    .replace(/\p{Cc}+/gu, " ")
    .trim();
  const chars = Array.from(text);
  return chars.length > max ? `${chars.slice(0, max - 1).join("")}…` : text;
}

/** Sets the label or annotation unless its cleaned value is empty (Alertmanager drops those). */
function put(into: Record<string, string>, name: string, value: unknown, max: number): void {
  const text = cleanValue(value, max);
  if (text !== "") into[name] = text;
}

export class AlertmanagerSink implements AlertSink {
  readonly type = "alertmanager" as const;
  readonly name: string;
  readonly maxBatch: number;
  private readonly poster: HttpPoster;
  private readonly resolveAfterMs: number;
  private readonly generatorURL: string | undefined;
  private readonly extraLabels: Record<string, string> = {};

  constructor(options: AlertmanagerSinkOptions) {
    this.name = options.name;
    this.maxBatch = options.maxBatch ?? DEFAULT_BATCH;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) {
      throw new Error(`alertmanager sink ${this.name}: maxBatch must be a whole number >= 1`);
    }
    this.resolveAfterMs = options.resolveAfterMs ?? DEFAULT_RESOLVE_AFTER_MS;
    this.generatorURL = options.generatorURL;
    for (const [name, value] of Object.entries(options.extraLabels ?? {})) {
      if (!validLabelName(name) || OWN_LABELS.includes(name)) {
        throw new Error(
          `alertmanager sink ${this.name}: extra label name "${name}" is not a valid ` +
            `Prometheus label name or is one egressd sets (${OWN_LABELS.join(", ")})`,
        );
      }
      put(this.extraLabels, name, value, MAX_LABEL_CHARS);
    }
    const base = options.url.replace(/\/+$/, "");
    const url = base.endsWith("/api/v2/alerts") ? base : `${base}/api/v2/alerts`;
    this.poster = new HttpPoster({
      ...options,
      url,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
  }

  /** The postable alert for one stored alert record. */
  toPostable(alert: QueuedAlert, nowMs = Date.now()): PostableAlert {
    let record: unknown;
    try {
      record = JSON.parse(alert.json);
    } catch {
      record = {};
    }
    const get = (path: string) => fieldAt(record, path);
    const labels: Record<string, string> = { ...this.extraLabels };
    put(labels, "alertname", get("rule.id") ?? "egressd", MAX_LABEL_CHARS);
    put(labels, "severity", get("egressd.severity") ?? alert.severity, MAX_LABEL_CHARS);
    put(labels, "rule_name", get("rule.name"), MAX_LABEL_CHARS);
    put(labels, "source_ip", get("source.ip"), MAX_LABEL_CHARS);
    put(labels, "source_device_group", get("egressd.source_device.group"), MAX_LABEL_CHARS);
    put(labels, "source_device_role", get("egressd.source_device.role"), MAX_LABEL_CHARS);
    put(labels, "destination", get("destination.domain") || get("destination.ip"), MAX_LABEL_CHARS);
    put(labels, "destination_country", get("destination.geo.country_iso_code"), MAX_LABEL_CHARS);
    put(labels, "sensor", get("observer.name"), MAX_LABEL_CHARS);
    // Alerts without a flow (device_first_seen) are about one device.
    put(labels, "device", get("egressd.device.id"), MAX_LABEL_CHARS);

    const annotations: Record<string, string> = {};
    put(annotations, "summary", get("message"), MAX_ANNOTATION_CHARS);
    put(annotations, "description", get("rule.description"), MAX_ANNOTATION_CHARS);
    put(annotations, "alert_id", get("event.id") ?? alert.id, MAX_ANNOTATION_CHARS);
    put(annotations, "reference", get("rule.reference"), MAX_ANNOTATION_CHARS);
    put(annotations, "repeat_count", get("egressd.repeat.count"), MAX_ANNOTATION_CHARS);

    const stamp = get("@timestamp");
    const parsed = typeof stamp === "string" ? Date.parse(stamp) : Number.NaN;
    const startsMs = Number.isNaN(parsed) ? nowMs : parsed;
    // From now, not from the packet time: an alert from a replayed old capture still fires.
    const endsMs = Math.max(startsMs, nowMs) + this.resolveAfterMs;
    const postable: PostableAlert = {
      labels,
      annotations,
      startsAt: new Date(startsMs).toISOString(),
      endsAt: new Date(endsMs).toISOString(),
    };
    if (this.generatorURL !== undefined) {
      postable.generatorURL = this.generatorURL.replaceAll(
        "{alert_id}",
        encodeURIComponent(alert.id),
      );
    }
    return postable;
  }

  async deliver(alerts: readonly QueuedAlert[]): Promise<void> {
    const now = Date.now();
    for (let i = 0; i < alerts.length; i += this.maxBatch) {
      const batch = alerts.slice(i, i + this.maxBatch).map((a) => this.toPostable(a, now));
      await this.poster.post(JSON.stringify(batch));
    }
  }

  async close(): Promise<void> {
    this.poster.close();
  }
}
