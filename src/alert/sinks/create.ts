/**
 * Sinks from the config's alerts.sinks: reads the PEM and token files, turns durations
 * into milliseconds, and builds the sink of each type. A file that cannot be read is a
 * clear error naming the sink and the file, at start (and on reload: the old sinks stay).
 */
import { readFileSync } from "node:fs";
import type { SinkConfig } from "../../config/config.js";
import type { RoutedSink } from "../router.js";
import { AlertmanagerSink } from "./alertmanager.js";
import { LogSink } from "./log.js";
import type { AlertSink } from "./sink.js";
import { SyslogSink } from "./syslog.js";
import { WebhookSink } from "./webhook.js";

export class SinkConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SinkConfigError";
  }
}

function readPem(sink: string, key: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new SinkConfigError(`alert sink ${sink}: ${key} ${path}: ${(err as Error).message}`);
  }
}

function tls(c: {
  name: string;
  ca_file?: string;
  cert_file?: string;
  key_file?: string;
  insecure_skip_verify: boolean;
}) {
  const out: { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean } = {
    rejectUnauthorized: !c.insecure_skip_verify,
  };
  const ca = readPem(c.name, "ca_file", c.ca_file);
  const cert = readPem(c.name, "cert_file", c.cert_file);
  const key = readPem(c.name, "key_file", c.key_file);
  if (ca !== undefined) out.ca = ca;
  if (cert !== undefined) out.cert = cert;
  if (key !== undefined) out.key = key;
  return out;
}

function http(c: Extract<SinkConfig, { type: "webhook" | "alertmanager" }>) {
  let bearerToken = c.bearer_token;
  if (c.bearer_token_file !== undefined) {
    const text = readPem(c.name, "bearer_token_file", c.bearer_token_file)!;
    bearerToken = text.split("\n")[0]!.trim();
  }
  return {
    name: c.name,
    url: c.url,
    headers: c.headers,
    ...(bearerToken !== undefined ? { bearerToken } : {}),
    timeoutMs: c.timeout * 1000,
    ...tls(c),
  };
}

/** The config's sinks as the router takes them: each with its severity filter and queue bounds. */
export function routeSinks(configs: readonly SinkConfig[]): RoutedSink[] {
  return configs.map((s) => ({
    sink: createSink(s),
    minSeverity: s.min_severity,
    bounds: { maxItems: s.queue.max_items, maxAgeMs: s.queue.max_age * 1000 },
  }));
}

export function createSink(c: SinkConfig): AlertSink {
  try {
    switch (c.type) {
      case "log":
        return new LogSink(
          c.file !== undefined ? { name: c.name, file: c.file } : { name: c.name },
        );
      case "webhook":
        return new WebhookSink({ ...http(c), maxBatch: c.max_batch });
      case "alertmanager":
        return new AlertmanagerSink({
          ...http(c),
          maxBatch: c.max_batch,
          resolveAfterMs: c.resolve_after * 1000,
          extraLabels: c.extra_labels,
          ...(c.generator_url !== undefined ? { generatorURL: c.generator_url } : {}),
        });
      case "syslog": {
        const t = tls(c);
        return new SyslogSink({
          name: c.name,
          transport: c.transport,
          host: c.host,
          ...(c.port !== undefined ? { port: c.port } : {}),
          format: c.format,
          facility: c.facility,
          appName: c.app_name,
          framing: c.framing,
          timeoutMs: c.timeout * 1000,
          maxDatagramBytes: c.max_datagram_bytes,
          tls: { ...t, ...(c.server_name !== undefined ? { servername: c.server_name } : {}) },
        });
      }
    }
  } catch (err) {
    if (err instanceof SinkConfigError) throw err;
    throw new SinkConfigError(`alert sink ${c.name}: ${(err as Error).message}`);
  }
}
