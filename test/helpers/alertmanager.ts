/**
 * A real Prometheus Alertmanager (Debian's prometheus-alertmanager) for the sink tests:
 * started on 127.0.0.1 with an OS-chosen free port, clustering off, a temp storage dir and
 * a minimal config (one receiver that notifies nobody), ready once /-/ready answers.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ALERTMANAGER_BIN = "/usr/bin/prometheus-alertmanager";

export interface RunningAlertmanager {
  /** http://127.0.0.1:PORT */
  url: string;
  /** GET {url}/api/v2/alerts: the alerts Alertmanager holds. */
  alerts(): Promise<GettableAlert[]>;
  stop(): Promise<void>;
}

/** The parts of an API v2 gettableAlert the tests look at. */
export interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
  fingerprint: string;
  status: { state: string };
}

const CONFIG = `route:
  receiver: "null"
receivers:
  - name: "null"
`;

/** A port the OS says is free right now (Alertmanager cannot be told to pick one itself). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Waits for the binary to appear (it may still be being installed), up to timeoutMs. */
export async function waitForAlertmanagerBinary(timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(ALERTMANAGER_BIN)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 2000));
  }
  return true;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

export async function startAlertmanager(readyTimeoutMs = 30_000): Promise<RunningAlertmanager> {
  const dir = await mkdtemp(join(tmpdir(), "egressd-am-"));
  await writeFile(join(dir, "am.yml"), CONFIG);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    ALERTMANAGER_BIN,
    [
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
      `--storage.path=${dir}`,
      `--config.file=${join(dir, "am.yml")}`,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  // Kept for the error message if it never gets ready.
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited(child);
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`alertmanager exited with ${child.exitCode}:\n${log}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`alertmanager not ready after ${readyTimeoutMs} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    async alerts() {
      const res = await fetch(`${url}/api/v2/alerts`, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`GET /api/v2/alerts: HTTP ${res.status}`);
      return (await res.json()) as GettableAlert[];
    },
    stop,
  };
}
