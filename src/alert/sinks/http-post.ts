/**
 * One JSON POST to an alert receiver (the webhook and Alertmanager sinks), over node:http
 * or node:https with the operator's CA, client certificate and bearer token, bounded by a
 * total timeout. Every outcome other than a 2xx answer becomes a DeliveryError that says
 * whether sending the same alerts again can succeed, so the dispatcher knows whether to
 * keep them queued.
 */
import http from "node:http";
import https from "node:https";
import { DeliveryError } from "./sink.js";

export interface HttpPostOptions {
  url: string;
  /** Extra request headers (tenant ids, API keys). */
  headers?: Record<string, string>;
  /** Sent as `Authorization: Bearer <token>`; wins over an Authorization in headers. */
  bearerToken?: string;
  /** PEM text of the CA(s) that signed the receiver's certificate. */
  ca?: string;
  /** PEM client certificate and key, for receivers that want mutual TLS. */
  cert?: string;
  key?: string;
  /** Default true: a receiver whose certificate does not verify gets no alerts. */
  rejectUnauthorized?: boolean;
  /** Connect + request + response, in total. */
  timeoutMs: number;
}

/** What an HTTP sink's config gives: the POST options, a name, and a default timeout. */
export interface HttpSinkOptions extends Omit<HttpPostOptions, "timeoutMs"> {
  name: string;
  /** Default 10000. */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  /** The response body, at most MAX_RESPONSE_BYTES of it. */
  body: string;
}

/** Receivers answer with a short status; anything longer is cut here. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/** A Retry-After further out than this is taken as this: alerts should not wait for days. */
const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/** Retry-After in seconds or as an HTTP-date, in ms from now; undefined when absent or bad. */
export function parseRetryAfter(value: string | undefined, nowMs = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    const date = Date.parse(text);
    if (Number.isNaN(date)) return undefined;
    ms = date - nowMs;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/** The URL without credentials or query, safe for log lines. */
function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** The start of a response body as one printable line, for error messages. */
function snippet(body: string): string {
  const line = body
    .replace(/\s+/g, " ")
    .replace(/\p{Cc}/gu, "")
    .trim();
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

/** What a non-2xx answer means for the alerts. */
function statusError(
  url: string,
  res: HttpResponse,
  headers: http.IncomingHttpHeaders,
): DeliveryError {
  const { status } = res;
  const said = snippet(res.body);
  const detail = said !== "" ? `: ${said}` : "";
  if (status === 400 || status === 413 || status === 422) {
    // Sending the same bytes again gets the same answer: the dispatcher drops them.
    const hint = status === 413 ? " (lower maxBatch)" : "";
    return new DeliveryError(
      `${url} rejected the alerts with HTTP ${status}${hint}${detail}`,
      false,
    );
  }
  // 401/403/404 and any other refusal are a misconfiguration the operator will fix: the
  // alerts wait in the queue instead of being lost.
  let reason = `answered HTTP ${status}`;
  if (status === 401) reason = "refused the credentials (HTTP 401: check bearerToken / headers)";
  else if (status === 403) reason = "forbids this client (HTTP 403: check bearerToken / headers)";
  else if (status === 404) reason = "has no such path (HTTP 404: check url)";
  else if (status === 405) reason = "does not take POST there (HTTP 405: check url)";
  else if (status >= 300 && status < 400) {
    reason = `redirects (HTTP ${status}) to ${headers.location ?? "?"}: set url to the final address`;
  }
  return new DeliveryError(
    `${url} ${reason}${detail}`,
    true,
    parseRetryAfter(headers["retry-after"]),
  );
}

/** A network or TLS failure, with a hint where the cause is usually the config. */
function networkError(err: NodeJS.ErrnoException, url: string): DeliveryError {
  const code = err.code ?? "";
  let hint = "";
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) {
    hint = " (the receiver's certificate did not verify: set ca to the CA that signed it)";
  } else if (code === "ECONNREFUSED") hint = " (nothing listening)";
  return new DeliveryError(`POST ${url} failed: ${err.message}${hint}`, true);
}

/** One receiver: a keep-alive agent and the fixed parts of every request. */
export class HttpPoster {
  readonly url: URL;
  private readonly agent: http.Agent;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(options: HttpPostOptions) {
    this.url = new URL(options.url);
    const tls = this.url.protocol === "https:";
    if (!tls && this.url.protocol !== "http:") {
      throw new Error(`alert receiver url must be http or https: ${displayUrl(this.url)}`);
    }
    // Bad header names or values would throw inside every request: refuse them now.
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      http.validateHeaderName(name);
      http.validateHeaderValue(name, value);
      headers[name.toLowerCase()] = value;
    }
    if (options.bearerToken !== undefined) {
      headers.authorization = `Bearer ${options.bearerToken}`;
      http.validateHeaderValue("authorization", headers.authorization);
    }
    headers["user-agent"] ??= "egressd";
    headers.accept ??= "application/json";
    this.headers = headers;
    this.timeoutMs = options.timeoutMs;
    // One socket is enough: the dispatcher sends a sink's batches one at a time.
    this.agent = tls
      ? new https.Agent({
          keepAlive: true,
          maxSockets: 1,
          ca: options.ca,
          cert: options.cert,
          key: options.key,
          rejectUnauthorized: options.rejectUnauthorized ?? true,
        })
      : new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  /** POSTs the JSON text; resolves on a 2xx answer, rejects with a DeliveryError otherwise. */
  post(json: string, extraHeaders: Record<string, string> = {}): Promise<HttpResponse> {
    const url = displayUrl(this.url);
    const body = Buffer.from(json, "utf8");
    const headers: Record<string, string | number> = { ...this.headers };
    for (const [name, value] of Object.entries(extraHeaders)) headers[name.toLowerCase()] = value;
    headers["content-type"] = "application/json";
    headers["content-length"] = body.length;
    const request = this.url.protocol === "https:" ? https.request : http.request;

    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      const finish = (err: DeliveryError | null, res?: HttpResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err !== null) reject(err);
        else resolve(res!);
      };
      const req = request(this.url, { method: "POST", agent: this.agent, headers });
      // One deadline for connect, upload and the whole answer: a receiver that accepts and
      // never answers is a failure, not a hang.
      const timer = setTimeout(() => {
        finish(new DeliveryError(`POST ${url} timed out after ${this.timeoutMs} ms`, true));
        req.destroy();
      }, this.timeoutMs);
      req.on("error", (err) => finish(networkError(err, url)));
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          const result = {
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString("utf8"),
          };
          if (result.status >= 200 && result.status < 300) finish(null, result);
          else finish(statusError(url, result, res.headers));
        };
        res.on("data", (chunk: Buffer) => {
          if (size >= MAX_RESPONSE_BYTES) return;
          const keep = chunk.subarray(0, MAX_RESPONSE_BYTES - size);
          chunks.push(keep);
          size += keep.length;
          // Enough read: drop the rest with the socket rather than download it.
          if (size >= MAX_RESPONSE_BYTES) {
            res.destroy();
            done();
          }
        });
        res.on("end", done);
        res.on("error", (err) => finish(networkError(err, url)));
      });
      req.end(body);
    });
  }

  /** Closes the kept-alive sockets; a request in flight fails. */
  close(): void {
    this.agent.destroy();
  }
}
