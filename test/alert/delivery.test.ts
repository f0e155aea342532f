/**
 * Alerts are never lost: a running egressd (replay on a pipe, the config's webhook sink
 * and store) raises alerts while its receiver fails, then stalls; it is killed with
 * SIGKILL; the store and the queue hold every alert once; restarted with the receiver
 * back, every alert arrives, each exactly once.
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/store/sqlite.js";
import { PipedReplay } from "../helpers/piped-replay.js";

const dir = mkdtempSync(join(tmpdir(), "egressd-delivery-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Mode = "fail" | "stall" | "ok";

/** A webhook receiver whose behaviour the test switches: 503, never answer, or 200. */
class Receiver {
  mode: Mode = "fail";
  requests = 0;
  readonly received: string[] = [];
  private readonly stalled: ServerResponse[] = [];
  readonly server: Server;

  constructor() {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = "";
      req.on("data", (d) => {
        body += d;
      });
      req.on("end", () => {
        this.requests++;
        if (this.mode === "fail") {
          res.writeHead(503, { "Retry-After": "0" }).end("down");
        } else if (this.mode === "stall") {
          this.stalled.push(res);
        } else {
          const alerts = JSON.parse(body);
          for (const a of Array.isArray(alerts) ? alerts : [alerts]) this.received.push(a.event.id);
          res.writeHead(200).end("ok");
        }
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  close(): Promise<void> {
    for (const r of this.stalled) r.destroy();
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const RULES = `rules:
  - id: LOOKUP
    name: Looks up a name under example.test
    severity: high
    trigger: dns_query
    cooldown: 0
    when:
      dns.query: { suffix: example.test }
`;

function config(url: string, store: string): string {
  return `alerts:
  store: ${store}
  drain_timeout: 5s
  sinks:
    - name: soc
      type: webhook
      url: ${url}
      timeout: 1s
      max_batch: 2
`;
}

let receiver: Receiver | null = null;
let replay: PipedReplay | null = null;
afterEach(async () => {
  replay?.child.kill("SIGKILL");
  replay = null;
  await receiver?.close();
  receiver = null;
});

describe("alert delivery across failures and a crash", () => {
  it("keeps every alert through a failing, stalled receiver and a SIGKILL; delivers each once", async () => {
    receiver = new Receiver();
    const url = await receiver.listen();
    const store = join(dir, "egressd.db");
    const cfg = join(dir, "egressd.yaml");
    const rulesDir = join(dir, "rules");
    writeFileSync(cfg, config(url, store));
    rmSync(rulesDir, { recursive: true, force: true });
    mkdirSync(rulesDir);
    writeFileSync(join(rulesDir, "r.yaml"), RULES);
    const args = ["--alerts", "-c", cfg, "--rules", rulesDir, "--no-geoip", "--summary", "none"];

    // 1. The receiver fails: the alerts are stored and queued, and retried.
    const first = new PipedReplay(args);
    replay = first;
    for (let i = 0; i < 5; i++) first.query(`host${i}.example.test`);
    await first.until(() => first.stdout.split("\n").filter(Boolean).length === 5, "5 alerts out");
    await first.until(() => receiver!.requests >= 2, "the failing receiver to be tried twice");
    // 2. It stalls: the sink's timeout turns that into another retry, not a hang.
    receiver.mode = "stall";
    for (let i = 5; i < 8; i++) first.query(`host${i}.example.test`);
    await first.until(() => first.stdout.split("\n").filter(Boolean).length === 8, "8 alerts out");
    const before = receiver.requests;
    await first.until(() => receiver!.requests > before, "a request to the stalled receiver");
    // 3. The crash, with alerts in flight.
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.on("close", r));
    replay = null;
    expect(first.stderr).toMatch(/alert sink soc: .*503|alert sink soc: .*timed out/);

    const ids = first.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l).event.id as string);
    expect(new Set(ids).size).toBe(8);
    const db = openDatabase(store, { readonly: true });
    const stored = db.prepare("SELECT id FROM alerts ORDER BY id").all() as { id: string }[];
    const queued = db.prepare("SELECT alert_id FROM alert_queue WHERE sink = 'soc'").all() as {
      alert_id: string;
    }[];
    db.close();
    // Every alert once in the store, and once in the queue (none was accepted yet).
    expect(stored.map((r) => r.id)).toEqual([...ids].sort());
    expect(queued.map((r) => r.alert_id).sort()).toEqual([...ids].sort());
    expect(receiver.received).toEqual([]);

    // 4. Restart with the receiver back and nothing new on the wire: the queue drains.
    receiver.mode = "ok";
    const second = new PipedReplay(args);
    replay = second;
    await second.until(() => receiver!.received.length >= 8, "the queued alerts delivered", 20_000);
    expect(await second.end()).toBe(0);
    replay = null;
    expect([...receiver.received].sort()).toEqual([...ids].sort());
    const after = openDatabase(store, { readonly: true });
    expect(after.prepare("SELECT COUNT(*) AS n FROM alert_queue").get()).toEqual({ n: 0 });
    expect(after.prepare("SELECT COUNT(*) AS n FROM alerts").get()).toEqual({ n: 8 });
    after.close();
  }, 60_000);
});
