/**
 * egressd's HTTP listener: /metrics for Prometheus and /healthz for liveness; with the
 * daemon's view also /readyz and the read-only JSON API (src/http/api.ts). Bound to
 * 127.0.0.1 unless told otherwise: the metrics and the API name devices and destinations.
 *
 * Optional bearer token (every path but /healthz needs it) and TLS. The daemon refuses a
 * non-loopback address without a token unless told allowUnauthenticated; `egressd replay
 * --metrics` (no view) serves metrics only and keeps its old behaviour.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import { type AddressInfo, isIP } from "node:net";
import type { Registry } from "prom-client";
import type { DaemonView } from "../daemon/view.js";
import { packageVersion } from "../metrics/pipeline-metrics.js";
import { apiResponse, failingChecks } from "./api.js";

export interface HttpListenerOptions {
  /** "127.0.0.1:9810", "[::1]:9810", ":9810" (all interfaces) or a port alone (loopback). */
  listen: string;
  registry: Registry;
  /** The running daemon: adds /readyz and /api/*. Without it only /metrics and /healthz. */
  view?: DaemonView;
  /** Requests must carry "Authorization: Bearer <token>" (all but /healthz). */
  token?: string;
  /** Serve HTTPS with this certificate and key (PEM text). */
  tls?: { cert: string; key: string };
  /** With a view: serve a non-loopback address without a token anyway. */
  allowUnauthenticated?: boolean;
}

export interface HttpListener {
  /** The address actually bound ("127.0.0.1:9810"; the port is real when 0 was asked for). */
  readonly address: string;
  /** "http://127.0.0.1:9810" or "https://...". */
  readonly url: string;
  close(): Promise<void>;
}

/** "127.0.0.1:9810" -> host and port; a message when it is not an address to listen on. */
export function parseListen(text: string): { host: string; port: number } | string {
  const m =
    /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(text) ??
    /^()()([0-9]{1,5})$/.exec(text);
  if (m === null) return `"${text}" is not HOST:PORT (e.g. 127.0.0.1:9810, [::1]:9810, :9810)`;
  const port = Number(m[3]);
  if (port > 65535) return `port ${port} is above 65535`;
  const host = m[1] ?? m[2] ?? "";
  const bare = /^[0-9]{1,5}$/.test(text);
  return { host: bare ? "127.0.0.1" : host === "" ? "0.0.0.0" : host, port };
}

/** Only this host can reach it: 127.0.0.0/8, ::1 (also IPv4-mapped), "localhost". */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^::ffff:/, "");
  if (h === "localhost" || h === "::1") return true;
  return isIP(h) === 4 && h.startsWith("127.");
}

export async function startHttpListener(options: HttpListenerOptions): Promise<HttpListener> {
  const where = parseListen(options.listen);
  if (typeof where === "string") throw new Error(`listen: ${where}`);
  const { registry, view } = options;
  const token = options.token;
  if (token !== undefined && token.trim() === "") throw new Error("the bearer token is empty");
  if (
    view !== undefined &&
    token === undefined &&
    options.allowUnauthenticated !== true &&
    !isLoopback(where.host)
  ) {
    throw new Error(
      `refusing to serve metrics and the API on ${options.listen}, which is not a loopback address, without a bearer token: they name devices and destinations. Set http.token_file, listen on 127.0.0.1 or [::1] (http.listen), or set http.allow_unauthenticated: true`,
    );
  }
  const version = packageVersion();
  const tokenDigest = token === undefined ? null : digest(token);

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    const url = new URL(req.url ?? "/", "http://egressd");
    const path = url.pathname;
    if (path === "/healthz") {
      text(res, 200, "ok\n");
      return;
    }
    if (tokenDigest !== null) {
      const problem = authProblem(req.headers.authorization, tokenDigest);
      if (problem !== null) {
        const error = problem === "missing" ? "" : ', error="invalid_token"';
        res.writeHead(401, {
          "Content-Type": "text/plain; charset=utf-8",
          "WWW-Authenticate": `Bearer realm="egressd"${error}`,
        });
        res.end(
          problem === "missing"
            ? "a bearer token is required (Authorization: Bearer <token>)\n"
            : "the bearer token is wrong\n",
        );
        return;
      }
    }
    if (path === "/metrics") {
      registry.metrics().then(
        (body) => res.writeHead(200, { "Content-Type": registry.contentType }).end(body),
        (err: Error) => text(res, 500, `${err.message}\n`),
      );
      return;
    }
    if (view !== undefined) {
      try {
        if (path === "/readyz") {
          const failing = failingChecks(view);
          if (Object.keys(failing).length === 0) text(res, 200, "ready\n");
          else json(res, 503, { ready: false, failing });
          return;
        }
        const answer = apiResponse(view, path, url.searchParams, version);
        if (answer !== null) {
          json(res, answer.status, answer.body);
          return;
        }
      } catch (err) {
        json(res, 500, { error: (err as Error).message });
        return;
      }
    }
    const paths =
      view === undefined
        ? "/metrics, /healthz"
        : "/metrics, /healthz, /readyz, /api/alerts, /api/devices, /api/flows, /api/status";
    text(res, 404, `not found: try ${paths}\n`);
  };

  let server: Server;
  if (options.tls !== undefined) {
    try {
      server = createTlsServer({ cert: options.tls.cert, key: options.tls.key }, handle);
    } catch (err) {
      throw new Error(`tls: cannot use the certificate and key: ${(err as Error).message}`);
    }
  } else {
    server = createServer(handle);
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(where.port, where.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
  const address = `${host}:${a.port}`;
  return {
    address,
    url: `${options.tls !== undefined ? "https" : "http"}://${address}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" }).end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { "Content-Type": "application/json; charset=utf-8" })
    .end(`${JSON.stringify(body)}\n`);
}

/** Fixed-length digests, so comparing them takes the same time whatever the token's length. */
function digest(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

function authProblem(header: string | undefined, expected: Buffer): "missing" | "wrong" | null {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
  if (m === null) return "missing";
  return timingSafeEqual(digest(m[1]!), expected) ? null : "wrong";
}
