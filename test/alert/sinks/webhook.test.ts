/**
 * The webhook sink against real receivers on loopback: a node:http server and a node:https
 * server with a self-signed certificate made by openssl for the test. Checks the bodies
 * are the stored alert JSON, headers and token arrive, TLS trusts exactly the configured
 * CA, and each failure (503, 400, 401, stalled, refused) maps to the right DeliveryError.
 */
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  HttpPoster,
  MAX_RESPONSE_BYTES,
  parseRetryAfter,
} from "../../../src/alert/sinks/http-post.js";
import { DeliveryError, type QueuedAlert } from "../../../src/alert/sinks/sink.js";
import { WebhookSink } from "../../../src/alert/sinks/webhook.js";
import { selfSignedCert } from "../../helpers/self-signed.js";

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** How the receiver answers the next requests; "stall" accepts and never answers. */
type Behaviour = { status: number; headers?: Record<string, string>; body?: string } | "stall";

/** A real HTTP(S) receiver on 127.0.0.1 that records every request. */
async function receiver(tls?: { key: string; cert: string }) {
  const received: Received[] = [];
  let behaviour: Behaviour = { status: 200 };
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      if (behaviour === "stall") return;
      res.writeHead(behaviour.status, behaviour.headers ?? {});
      res.end(behaviour.body ?? "");
    });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}/hook?x=1`,
    received,
    answer(b: Behaviour) {
      behaviour = b;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An alert as the queue hands it out, its JSON text in the stored record's shape. */
function alert(id: string, dst: string): QueuedAlert {
  const record = {
    "@timestamp": "2026-03-01T10:00:00.123456789Z",
    event: { kind: "alert", severity: 73, action: "dns_query", dataset: "egressd.alert", id },
    rule: { id: "cloud-p2p-hikvision", name: "Hikvision cloud P2P", description: "Hik-Connect" },
    message: `Camera in cams (Hikvision, 10.20.0.11) looked up ${dst} (A)`,
    source: { ip: "10.20.0.11", port: 40112 },
    destination: { ip: "203.0.113.7", port: 53, domain: dst },
    egressd: { trigger: "dns_query", severity: "high", repeat: { count: 1 } },
  };
  // Key order and spacing as stored, to show the body is these bytes and not a re-encoding.
  return { id, json: JSON.stringify(record, null, 1), severity: "high" };
}

/** The DeliveryError a promise rejects with (fails the test if it resolves). */
async function failure(p: Promise<unknown>): Promise<DeliveryError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DeliveryError);
    return err as DeliveryError;
  }
  throw new Error("expected a DeliveryError, delivery succeeded");
}

const sinks: WebhookSink[] = [];
function sink(options: ConstructorParameters<typeof WebhookSink>[0]): WebhookSink {
  const s = new WebhookSink(options);
  sinks.push(s);
  return s;
}
afterEach(async () => {
  for (const s of sinks.splice(0)) await s.close();
});

describe("webhook sink over HTTP", () => {
  let rx: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    rx = await receiver();
  });
  afterAll(() => rx.close());
  afterEach(() => {
    rx.received.length = 0;
    rx.answer({ status: 200 });
  });

  it("POSTs one alert as its stored JSON, with headers, token and alert ids", async () => {
    const a = alert("a1b2c3", "litedev.hik-connect.com");
    const s = sink({
      name: "soc",
      url: rx.url,
      headers: { "X-Scope-OrgID": "site-7" },
      bearerToken: "s3cret",
    });
    expect(s.maxBatch).toBe(1);
    await s.deliver([a]);
    expect(rx.received).toHaveLength(1);
    const r = rx.received[0]!;
    expect(r.method).toBe("POST");
    expect(r.url).toBe("/hook?x=1");
    expect(r.body).toBe(a.json);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.headers["x-scope-orgid"]).toBe("site-7");
    expect(r.headers.authorization).toBe("Bearer s3cret");
    expect(r.headers["idempotency-key"]).toBe("a1b2c3");
    expect(r.headers["x-egressd-alert-ids"]).toBe("a1b2c3");
  });

  it("batches alerts into one JSON array of the stored texts", async () => {
    const batch = [alert("id-1", "a.example"), alert("id-2", "b.example"), alert("id/3", "c")];
    const s = sink({ name: "soc", url: rx.url, batch: true });
    expect(s.maxBatch).toBe(100);
    await s.deliver(batch);
    expect(rx.received).toHaveLength(1);
    const r = rx.received[0]!;
    expect(r.body).toBe(`[${batch.map((a) => a.json).join(",")}]`);
    expect(JSON.parse(r.body)).toEqual(batch.map((a) => JSON.parse(a.json)));
    expect(r.headers["x-egressd-alert-ids"]).toBe("id-1,id-2,id%2F3");
    expect(r.headers["idempotency-key"]).toMatch(/^[0-9a-f]{64}$/);

    // The same batch again (a retry) carries the same key; another batch another key.
    await s.deliver(batch);
    await s.deliver(batch.slice(1));
    expect(rx.received[1]!.headers["idempotency-key"]).toBe(r.headers["idempotency-key"]);
    expect(rx.received[2]!.headers["idempotency-key"]).not.toBe(r.headers["idempotency-key"]);
  });

  it("splits a delivery larger than maxBatch; maxBatch 2 still sends arrays", async () => {
    const s = sink({ name: "soc", url: rx.url, maxBatch: 2 });
    await s.deliver([alert("1", "a"), alert("2", "b"), alert("3", "c")]);
    expect(rx.received.map((r) => JSON.parse(r.body).length)).toEqual([2, 1]);
  });

  it("503 with Retry-After is retryable after that long; then delivery succeeds", async () => {
    const s = sink({ name: "soc", url: rx.url });
    rx.answer({ status: 503, headers: { "Retry-After": "2" }, body: "overloaded" });
    const err = await failure(s.deliver([alert("r1", "a")]));
    expect(err.retryable).toBe(true);
    expect(err.retryAfterMs).toBe(2000);
    expect(err.message).toContain("503");
    expect(err.message).toContain("overloaded");
    rx.answer({ status: 202 });
    await s.deliver([alert("r1", "a")]);
    expect(rx.received).toHaveLength(2);
  });

  it("429 and 408 are retryable", async () => {
    const s = sink({ name: "soc", url: rx.url });
    for (const status of [429, 408, 500]) {
      rx.answer({ status });
      const err = await failure(s.deliver([alert("x", "a")]));
      expect(err.retryable).toBe(true);
      expect(err.retryAfterMs).toBeUndefined();
    }
  });

  it("400, 413 and 422 are not retryable", async () => {
    const s = sink({ name: "soc", url: rx.url });
    rx.answer({ status: 400, body: '{"error":"bad alert"}' });
    const err = await failure(s.deliver([alert("x", "a")]));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("bad alert");
    for (const status of [413, 422]) {
      rx.answer({ status });
      expect((await failure(s.deliver([alert("x", "a")]))).retryable).toBe(false);
    }
  });

  it("401, 403 and 404 keep the alerts (retryable) and say what to fix", async () => {
    const s = sink({ name: "soc", url: rx.url, bearerToken: "wrong" });
    const hints: Record<number, string> = { 401: "bearerToken", 403: "bearerToken", 404: "url" };
    for (const [status, hint] of Object.entries(hints)) {
      rx.answer({ status: Number(status) });
      const err = await failure(s.deliver([alert("x", "a")]));
      expect(err.retryable).toBe(true);
      expect(err.message).toContain(`HTTP ${status}`);
      expect(err.message).toContain(hint);
      expect(err.message).not.toContain("wrong"); // never the token itself
    }
  });

  it("a stalled receiver fails within the timeout; after it recovers delivery succeeds", async () => {
    const s = sink({ name: "soc", url: rx.url, timeoutMs: 300 });
    rx.answer("stall");
    const started = Date.now();
    const err = await failure(s.deliver([alert("s1", "a")]));
    const took = Date.now() - started;
    expect(err.retryable).toBe(true);
    expect(err.message).toContain("timed out");
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(2000);
    rx.answer({ status: 200 });
    await s.deliver([alert("s1", "a")]);
    expect(rx.received.at(-1)!.body).toBe(alert("s1", "a").json);
  });

  it("bounds the response it reads", async () => {
    const poster = new HttpPoster({ url: rx.url, timeoutMs: 5000 });
    try {
      rx.answer({ status: 200, body: "x".repeat(1024 * 1024) });
      const res = await poster.post("{}");
      expect(res.status).toBe(200);
      expect(res.body.length).toBe(MAX_RESPONSE_BYTES);
    } finally {
      poster.close();
    }
  });
});

describe("webhook sink failures without a receiver", () => {
  it("connection refused is retryable", async () => {
    const rx = await receiver();
    const url = rx.url;
    await rx.close();
    const s = sink({ name: "soc", url });
    const err = await failure(s.deliver([alert("x", "a")]));
    expect(err.retryable).toBe(true);
    expect(err.message).toContain("ECONNREFUSED");
  });

  it("rejects bad configuration at construction", () => {
    expect(() => new WebhookSink({ name: "x", url: "ftp://127.0.0.1/" })).toThrow(/http or https/);
    expect(() => new WebhookSink({ name: "x", url: "http://127.0.0.1/", maxBatch: 0 })).toThrow();
    expect(
      () => new WebhookSink({ name: "x", url: "http://127.0.0.1/", headers: { "X-A": "a\nb" } }),
    ).toThrow();
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds and HTTP-dates, ignores junk", () => {
    const now = Date.parse("2026-03-01T10:00:00Z");
    expect(parseRetryAfter("2", now)).toBe(2000);
    expect(parseRetryAfter("Sun, 01 Mar 2026 10:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Sun, 01 Mar 2026 09:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter("999999", now)).toBe(3_600_000);
  });
});

describe("webhook sink over HTTPS", () => {
  let dir: string;
  let ca: string;
  let otherCa: string;
  let rx: Awaited<ReturnType<typeof receiver>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "egressd-webhook-"));
    const server = selfSignedCert(dir, "server");
    ca = server.cert;
    otherCa = selfSignedCert(dir, "other").cert;
    rx = await receiver(server);
  });
  afterAll(async () => {
    await rx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("delivers when the configured CA signed the receiver's certificate", async () => {
    const s = sink({ name: "soc", url: rx.url, ca, bearerToken: "t" });
    const a = alert("tls-1", "a.example");
    await s.deliver([a]);
    expect(rx.received.at(-1)!.body).toBe(a.json);
    expect(rx.received.at(-1)!.headers.authorization).toBe("Bearer t");
  });

  it("refuses a receiver signed by another CA, or by none the system trusts", async () => {
    for (const options of [{ ca: otherCa }, {}]) {
      const s = sink({ name: "soc", url: rx.url, ...options });
      const before = rx.received.length;
      const err = await failure(s.deliver([alert("tls-2", "a")]));
      expect(err.retryable).toBe(true);
      expect(err.message).toContain("set ca");
      expect(rx.received.length).toBe(before);
    }
  });

  it("rejectUnauthorized: false skips verification", async () => {
    const s = sink({ name: "soc", url: rx.url, rejectUnauthorized: false });
    await s.deliver([alert("tls-3", "a")]);
    expect(rx.received.at(-1)!.headers["x-egressd-alert-ids"]).toBe("tls-3");
  });
});
