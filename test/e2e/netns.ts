/**
 * Two throwaway network namespaces joined by a veth pair, for end-to-end tests that need
 * real traffic from real clients and servers without touching any real network.
 *
 * Safety: packets only ever cross the veth link between the two namespaces created here,
 * between documentation addresses (RFC 5737 / RFC 3849) assigned to those namespaces' own
 * interfaces. Nothing is routed anywhere else: neither namespace has a default route or any
 * interface but lo and its end of the veth. The namespaces (and the processes started in
 * them) are removed by destroy(); namespaces left behind by a crashed run are removed by the
 * next createNetnsPair().
 */

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";

/** Every namespace this module creates is called `${PREFIX}<pid>-<n><c|s>`. */
export const NETNS_PREFIX = "egressd-t-";

/** Both ends sit on one /24 and one /64, so no routing is needed. */
export const ADDR = {
  client4: "192.0.2.10",
  server4: "192.0.2.53",
  client6: "2001:db8:0:1::10",
  server6: "2001:db8:0:1::53",
} as const;

/** Interface names inside each namespace (each namespace has its own name space). */
export const CLIENT_IF = "veth-c";
export const SERVER_IF = "veth-s";

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the command's stdin, which is then closed (an empty stdin, like </dev/null, by default). */
  input?: string;
  /** Exit codes that are not an error (default [0]). */
  okCodes?: number[];
  /** Killed after this long (default 10 s) so a hung client cannot hang the test. */
  timeoutMs?: number;
}

export interface Capture {
  readonly file: string;
  /** SIGINT (tcpdump then flushes and closes the file), wait for exit; returns tcpdump's stderr. */
  stop(): Promise<string>;
}

export interface Server {
  readonly child: ChildProcess;
  readonly name: string;
  /** What it wrote to stdout and stderr so far (the last 16 kB), for error messages. */
  output(): string;
}

export interface NetnsPair {
  readonly client: string;
  readonly server: string;
  /** Runs argv inside namespace `ns` and waits for it. */
  run(ns: string, argv: string[], opts?: RunOptions): Promise<RunResult>;
  /** Starts a long-running process inside `ns`; destroy() kills it if still running. */
  spawn(ns: string, argv: string[]): Server;
  /** tcpdump on the client's veth, resolved once tcpdump says it is listening. */
  startCapture(file: string): Promise<Capture>;
  /** Kills what spawn() started and deletes both namespaces. Safe to call twice. */
  destroy(): Promise<void>;
}

/** True when this process may create network namespaces (root, and `ip netns` works here). */
export function canUseNetns(): boolean {
  if (process.getuid?.() !== 0) return false;
  // `ip netns list` succeeds even where creating one is forbidden (unprivileged containers),
  // so create and delete a real probe namespace.
  const probe = `${NETNS_PREFIX}${process.pid}-probe`;
  try {
    execFileSync("ip", ["netns", "add", probe], { stdio: "ignore" });
    execFileSync("ip", ["netns", "del", probe], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function ipIn(ns: string, ...args: string[]): void {
  ip("-n", ns, ...args);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function listNetns(): string[] {
  const out = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  return out
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name !== "");
}

/** Kills whatever still runs inside `ns` (only ever our own servers), then deletes it. */
function removeNetns(ns: string): void {
  try {
    const pids = execFileSync("ip", ["netns", "pids", ns], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    for (const pid of pids.split("\n").filter((p) => p !== "")) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // already gone
      }
    }
  } catch {
    // namespace already gone
  }
  try {
    // Deleting the namespace also deletes its end of the veth, and with it the peer.
    ip("netns", "del", ns);
  } catch {
    // already gone
  }
}

/** Removes namespaces of ours whose creating process has died (a crashed or killed run). */
export function removeStaleNetns(): void {
  for (const ns of listNetns()) {
    const m = new RegExp(`^${NETNS_PREFIX}(\\d+)-`).exec(ns);
    if (m && !pidAlive(Number(m[1]))) removeNetns(ns);
  }
}

let pairCounter = 0;

export async function createNetnsPair(): Promise<NetnsPair> {
  removeStaleNetns();
  const base = `${NETNS_PREFIX}${process.pid}-${pairCounter++}`;
  const client = `${base}c`;
  const server = `${base}s`;
  const children = new Set<ChildProcess>();
  let destroyed = false;

  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await once(child, "exit").catch(() => {});
      }
    }
    removeNetns(client);
    removeNetns(server);
  };

  try {
    // A leftover with the very same name (pid reuse after a crash) would make `add` fail.
    removeNetns(client);
    removeNetns(server);
    ip("netns", "add", client);
    ip("netns", "add", server);
    // Create the veth pair directly with each end inside its namespace: it never exists
    // in the host namespace, even for a moment.
    const peer = ["peer", "name", SERVER_IF, "netns", server];
    ip("link", "add", CLIENT_IF, "netns", client, "type", "veth", ...peer);
    for (const [ns, dev, v4, v6] of [
      [client, CLIENT_IF, ADDR.client4, ADDR.client6],
      [server, SERVER_IF, ADDR.server4, ADDR.server6],
    ] as const) {
      // No fe80:: link-local address and no router solicitations: the link then carries
      // only documentation addresses, plus ND's multicast and MLD reports from "::", which
      // keeps the captures clean enough to ship as fixtures.
      ipIn(ns, "link", "set", dev, "addrgenmode", "none");
      await execIn(ns, ["sysctl", "-q", `net.ipv6.conf.${dev}.router_solicitations=0`]);
      ipIn(ns, "addr", "add", `${v4}/24`, "dev", dev);
      // nodad: the address is usable at once instead of after duplicate address detection.
      ipIn(ns, "addr", "add", `${v6}/64`, "dev", dev, "nodad");
      ipIn(ns, "link", "set", "lo", "up");
      ipIn(ns, "link", "set", dev, "up");
    }
  } catch (e) {
    await destroy();
    throw e;
  }

  const spawnIn = (ns: string, argv: string[]): Server => {
    if (destroyed) throw new Error("namespace pair already destroyed");
    // `ip netns exec` execs the command in place, so the child's pid is the command's.
    const child = spawn("ip", ["netns", "exec", ns, ...argv], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    child.on("exit", () => children.delete(child));
    // Always read the output: a server blocked on a full pipe would stop answering.
    let output = "";
    const keep = (chunk: string) => {
      output = (output + chunk).slice(-16_384);
    };
    child.stdout.setEncoding("utf8").on("data", keep);
    child.stderr.setEncoding("utf8").on("data", keep);
    return { child, name: argv.join(" "), output: () => output };
  };

  const startCapture = async (file: string): Promise<Capture> => {
    // --immediate-mode: hand each packet to tcpdump as it arrives (otherwise packets still
    // in the kernel's ring buffer block are lost on SIGINT); -U: write each one to the file
    // at once; -Z root: Debian's tcpdump would otherwise drop to the tcpdump user and may
    // be unable to write into a root-only temp dir.
    const argv = ["tcpdump", "-i", CLIENT_IF, "-n", "--immediate-mode", "-U", "-Z", "root"];
    const tcpdump = spawnIn(client, [...argv, "-w", file]);
    const { child } = tcpdump;
    // It prints "listening on veth-c, ..." once the capture socket is bound.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`tcpdump did not start: ${tcpdump.output()}`));
      }, 10_000);
      child.stderr?.on("data", () => {
        if (tcpdump.output().includes("listening on")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`tcpdump exited (${code}) before listening: ${tcpdump.output()}`));
      });
    });
    return {
      file,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = once(child, "exit");
          child.kill("SIGINT");
          await exited;
        }
        return tcpdump.output();
      },
    };
  };

  return {
    client,
    server,
    run: (ns, argv, opts) => execIn(ns, argv, opts),
    spawn: spawnIn,
    startCapture,
    destroy,
  };
}

/** Runs argv in `ns`, collecting output; rejects on a timeout or an exit code not in okCodes. */
export function execIn(ns: string, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const { input = "", okCodes = [0], timeoutMs = 10_000 } = opts;
  return new Promise((resolve, reject) => {
    const child = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding("utf8").on("data", (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const what = `${argv.join(" ")} (in ${ns})`;
      if (timedOut) reject(new Error(`${what} timed out after ${timeoutMs} ms\n${stderr}`));
      else if (code === null || !okCodes.includes(code))
        reject(new Error(`${what} exited ${code ?? signal}\n${stdout}${stderr}`));
      else resolve({ code, signal, stdout, stderr });
    });
    // A client that exits before reading its stdin makes the write fail with EPIPE: harmless.
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}
