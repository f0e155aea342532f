import { SEVERITIES } from "../../rules/evaluate.js";
import { duration, path } from "../kinds.js";
import {
  array,
  boolean,
  field,
  type Infer,
  integer,
  map,
  number,
  object,
  optional,
  required,
  string,
  variants,
} from "../schema.js";

const SINK_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** What every sink has: its name, the least severity it gets, and its queue's bounds. */
function common<T extends string>(type: T) {
  return {
    name: required(
      string({
        pattern: SINK_NAME,
        patternText: 'a name of lowercase letters, digits, "_" and "-"',
        maxLength: 64,
      }),
      "Sink name, unique: names its queue, metrics and log lines.",
    ),
    type: required(string({ enum: [type] as const }), "The sink type."),
    min_severity: field(
      string({ enum: SEVERITIES }),
      "Least severity this sink gets: info, low, medium, high or critical.",
      { default: "info" },
    ),
    queue: field(
      object({
        max_items: field(
          integer({ min: 1 }),
          "Most alerts queued for this sink; beyond it the oldest are dropped (counted, logged).",
          { default: 100_000 },
        ),
        max_age: field(
          duration({ min: 1 }),
          "Alerts queued longer than this are dropped (counted, logged).",
          { default: "7d" },
        ),
      }),
      "The sink's durable queue (SQLite): it holds alerts while the receiver is down.",
    ),
  };
}

/** TLS to the receiver: CA, client certificate (PEM files). */
const tlsFields = {
  ca_file: optional(path(), "PEM file of the CA that signed the receiver's certificate."),
  cert_file: optional(path(), "PEM client certificate, for receivers that want mutual TLS."),
  key_file: optional(path(), "PEM key of the client certificate."),
  insecure_skip_verify: field(
    boolean(),
    "Accept any receiver certificate. Only for tests: alerts can then be read by anyone in the path.",
    { default: false },
  ),
};

const httpFields = {
  url: required(string({ minLength: 1 }), "Receiver URL (http:// or https://)."),
  headers: field(
    map(string(), {
      keyPattern: /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/,
      keyText: "an HTTP header name",
      description: "Extra request headers.",
    }),
    "Extra request headers (tenant ids, API keys).",
  ),
  bearer_token: optional(string({ minLength: 1 }), "Sent as Authorization: Bearer TOKEN."),
  bearer_token_file: optional(path(), "File holding the bearer token (first line)."),
  timeout: field(duration({ min: 1 }), "Connect + request + response, in total.", {
    default: "10s",
  }),
  ...tlsFields,
};

const logSink = object({
  ...common("log"),
  file: optional(
    path(),
    "File to append JSON lines to (reopened on SIGUSR2 for logrotate); default: standard output.",
  ),
});

const webhookSink = object({
  ...common("webhook"),
  ...httpFields,
  max_batch: field(
    integer({ min: 1, max: 10_000 }),
    "Alerts per request: 1 posts one alert object, more post a JSON array.",
    { default: 1 },
  ),
});

const syslogSink = object({
  ...common("syslog"),
  host: required(string({ minLength: 1 }), "Syslog receiver host."),
  port: optional(integer({ min: 1, max: 65535 }), "Receiver port; default 514 (6514 for tls)."),
  transport: field(string({ enum: ["udp", "tcp", "tls"] as const }), "udp, tcp or tls.", {
    default: "udp",
  }),
  format: field(
    string({ enum: ["json", "cef"] as const }),
    "Message body: the ECS alert as JSON, or ArcSight CEF (QRadar, Sentinel, ArcSight).",
    { default: "json" },
  ),
  facility: field(string({ minLength: 1 }), "Syslog facility name or number.", {
    default: "local0",
  }),
  app_name: field(string({ minLength: 1, maxLength: 48 }), "RFC 5424 APP-NAME.", {
    default: "egressd",
  }),
  framing: field(
    string({ enum: ["octet-counting", "lf"] as const }),
    "TCP/TLS framing: octet counting (RFC 6587) or a newline after each message.",
    { default: "octet-counting" },
  ),
  server_name: optional(string(), "TLS server name to verify; default: host."),
  max_datagram_bytes: field(
    integer({ min: 480, max: 65_000 }),
    "UDP: longer messages are cut (counted).",
    { default: 8192 },
  ),
  timeout: field(duration({ min: 1 }), "Connect and write timeout.", { default: "10s" }),
  ...tlsFields,
});

const alertmanagerSink = object({
  ...common("alertmanager"),
  ...httpFields,
  resolve_after: field(
    duration({ min: 1 }),
    "How long an alert stays firing in Alertmanager after it was sent (endsAt).",
    { default: "1h" },
  ),
  generator_url: optional(string(), "Link back to the alert ({alert_id} is replaced)."),
  extra_labels: field(
    map(string(), {
      keyPattern: /^[a-zA-Z_][a-zA-Z0-9_]*$/,
      keyText: "a Prometheus label name",
      description: "Labels added to every alert (site, team).",
    }),
    "Labels added to every alert (site, team), for Alertmanager routing.",
  ),
  max_batch: field(integer({ min: 1, max: 10_000 }), "Alerts per request.", { default: 100 }),
});

export const sinkSchema = variants(
  "type",
  { log: logSink, webhook: webhookSink, syslog: syslogSink, alertmanager: alertmanagerSink },
  "An alert sink: log, webhook, syslog or alertmanager.",
);

export type SinkConfig = Infer<typeof sinkSchema>;

export const alertsSection = object({
  store: field(
    path(),
    "SQLite file every alert is written to before any sink sees it, with the sinks' queues and the dedup state. A path written here is relative to this file's folder.",
    { default: "data/egressd.db" },
  ),
  retention: field(
    object({
      max_age: field(duration({ min: 1 }), "Alerts older than this are deleted.", {
        default: "90d",
      }),
      max_alerts: field(integer({ min: 1 }), "Beyond this many alerts the oldest are deleted.", {
        default: 1_000_000,
      }),
    }),
    "How long the alert store keeps alerts.",
  ),
  cooldown: field(
    duration(),
    "Repeats of the same rule, device and destination within this time are folded into a count (a rule's own cooldown: wins). 0s sends every repeat.",
    { default: "15m" },
  ),
  max_dedup_keys: field(
    integer({ min: 1 }),
    "Bound on remembered (rule, device, destination) keys; the least recently seen is evicted (its repeats reported first).",
    { default: 20_000 },
  ),
  rate_limit: field(
    object({
      per_second: field(number({ min: 0.001 }), "Alerts per second, on average.", {
        default: 20,
      }),
      burst: field(integer({ min: 1 }), "Alerts allowed at once.", { default: 200 }),
    }),
    "Global limit that protects the sinks during a storm; what is held back is counted per rule and reported in a summary alert.",
  ),
  drain_timeout: field(
    duration(),
    "At shutdown (or the end of a replay), how long to wait for the sinks to take what is queued; the rest stays queued for the next start.",
    { default: "10s" },
  ),
  sinks: field(
    array(sinkSchema, {
      expected: "a list of sinks",
      unique: { key: "name", what: "sink name" },
    }),
    "Where alerts go. Each sink has its own durable queue; a slow or dead receiver never blocks capture.",
  ),
});

export type AlertsConfig = Infer<typeof alertsSection>;
