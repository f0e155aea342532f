/**
 * egressd's HTTP listener: /metrics for Prometheus and /healthz for liveness. Bound to
 * 127.0.0.1 unless told otherwise: the metrics name devices and destinations.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface HttpListenerOptions {
  /** "127.0.0.1:9810", "[::1]:9810", ":9810" (all interfaces) or a port alone (loopback). */
  listen: string;
  registry: Registry;
}

export interface HttpListener {
  /** The address actually bound ("127.0.0.1:9810"; the port is real when 0 was asked for). */
  readonly address: string;
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

export async function startHttpListener(options: HttpListenerOptions): Promise<HttpListener> {
  const where = parseListen(options.listen);
  if (typeof where === "string") throw new Error(`listen: ${where}`);
  const registry = options.registry;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/metrics") {
      registry.metrics().then(
        (text) => res.writeHead(200, { "Content-Type": registry.contentType }).end(text),
        (err: Error) =>
          res.writeHead(500, { "Content-Type": "text/plain" }).end(`${err.message}\n`),
      );
      return;
    }
    if (path === "/healthz") {
      res.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n");
      return;
    }
    res.writeHead(404, { "Content-Type": "text/plain" }).end("not found: try /metrics\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(where.port, where.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
  return {
    address: `${host}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
