/**
 * `egressd run` as production runs it: an unprivileged user (nobody) holding only
 * CAP_NET_RAW and CAP_NET_ADMIN. Ambient capabilities are how the systemd unit
 * (config/systemd/egressd.service) grants them; file capabilities on the node binary are
 * how the Docker image does (there with the config and stores named by EGRESSD_* variables,
 * as the image sets them). Either way a dig from the camera namespace must raise an alert,
 * written into a state folder only nobody can write, and the alert file survives a
 * logrotate-style rename + SIGUSR2. Without the capabilities the daemon must stop at once
 * (exit 1) and say how to grant them.
 *
 * Safety: packets only cross the veth between the two namespaces this test creates
 * (test/e2e/netns.ts), between documentation addresses assigned to them.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { once } from "node:events";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, requireBuild } from "../edge-cases/cli.js";
import { ADDR, canUseNetns, createNetnsPair, type NetnsPair, SERVER_IF } from "./netns.js";

const NOBODY = 65534;
const PORT = 9812;
/** CAP_NET_ADMIN (12) and CAP_NET_RAW (13), as /proc/PID/status prints a capability set. */
const NET_CAPS = (1n << 12n) | (1n << 13n);
const usable = canUseNetns();
const hasSetcap = spawnSync("setcap", ["-v", "cap_net_raw=p", "/nonexistent"]).error === undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Privileges {
  /** CAP_NET_RAW and CAP_NET_ADMIN as ambient capabilities (systemd's AmbientCapabilities=). */
  ambient?: boolean;
  /** setpriv's --bounding-set; default: none at all. */
  bounding?: string;
  /**
   * No new privileges (systemd's NoNewPrivileges=yes), on by default. It also voids file
   * capabilities, so the Docker image's way must run without it.
   */
  noNewPrivs?: boolean;
}

/** Drops to nobody with no supplementary groups and, unless given, no capabilities at all. */
function asNobody(caps: Privileges = {}): string[] {
  const argv = ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups"];
  if (caps.noNewPrivs !== false) argv.push("--no-new-privs");
  if (caps.ambient)
    argv.push("--inh-caps=+net_raw,+net_admin", "--ambient-caps=+net_raw,+net_admin");
  argv.push(`--bounding-set=${caps.bounding ?? "-all"}`);
  return argv;
}

/** The capability sets of a running process, from /proc (readable as root from any namespace). */
function capabilities(pid: number): { uid: string; eff: bigint; bnd: bigint } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, "m").exec(status)?.[1] ?? "";
  return {
    uid: field("Uid"),
    eff: BigInt(`0x${field("CapEff")}`),
    bnd: BigInt(`0x${field("CapBnd")}`),
  };
}

describe.skipIf(!usable)("egressd run as an unprivileged user", () => {
  let pair: NetnsPair;
  let dir: string;

  /** A state folder owned by nobody (the store, the alert file), inside the root-owned dir. */
  function stateDir(name: string): string {
    const state = join(dir, name);
    mkdirSync(state, { mode: 0o700 });
    chownSync(state, NOBODY, NOBODY);
    return state;
  }

  /**
   * The config and rules are root's (nobody reads them, cannot change them); only the
   * state folder is nobody's, like /var/lib/egressd under the unit's StateDirectory=.
   * Without `stores` the stores are left to EGRESSD_*_STORE, as in the unit and the image.
   */
  function writeConfig(state: string, stores = true): string {
    const file = join(dir, `${state.split("/").pop()}.yaml`);
    writeFileSync(
      file,
      `sensor: { name: unprivileged-gateway }
capture:
  interfaces: [${SERVER_IF}]
geoip: { bundled: false }
${stores ? `devices: { store: ${state}/egressd.db }\n` : ""}rules:
  paths: [${join(dir, "rules.yaml")}]
alerts:
${stores ? `  store: ${state}/egressd.db\n` : ""}  cooldown: 0s
  drain_timeout: 5s
  sinks:
    - { name: file, type: log, file: ${state}/alerts.json }
http:
  listen: 127.0.0.1:${PORT}
`,
    );
    return file;
  }

  const alerts = (file: string): any[] => {
    if (!existsSync(file)) return [];
    return readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  };

  async function waitFor(
    what: () => boolean | Promise<boolean>,
    label: string,
    output: () => string,
  ) {
    const end = Date.now() + 15_000;
    while (!(await what())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${label}\n${output()}`);
      await sleep(50);
    }
  }

  interface DaemonRun {
    /** setpriv and its options. */
    prefix: string[];
    /** The node binary to run. */
    node: string;
    state: string;
    /** Config and stores from EGRESSD_* variables rather than -c and the file. */
    fromEnvironment?: boolean;
    /** Rotate the alert file the way config/logrotate/egressd does, mid-run. */
    rotate?: boolean;
  }

  /**
   * Starts the daemon as nobody, checks it holds exactly the two capabilities, has a dig
   * raise an alert, then stops it with SIGTERM.
   */
  async function captureAsNobody(run: DaemonRun): Promise<void> {
    const { state } = run;
    const config = writeConfig(state, !run.fromEnvironment);
    // env after setpriv is also one more exec: setpriv's own permitted set is gone by the
    // time node starts, as under Docker, so node holds only what its file grants.
    const argv = run.fromEnvironment
      ? [
          ...run.prefix,
          "env",
          `EGRESSD_CONFIG=${config}`,
          `EGRESSD_ALERTS_STORE=${state}/egressd.db`,
          `EGRESSD_DEVICES_STORE=${state}/egressd.db`,
          run.node,
          BIN,
          "run",
        ]
      : [...run.prefix, run.node, BIN, "run", "-c", config];
    const daemon = pair.spawn(pair.server, argv);
    const readyz = async () => {
      const r = await pair.run(
        pair.server,
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${PORT}/readyz`],
        { okCodes: [0, 7, 22] },
      );
      return r.stdout === "200";
    };
    await waitFor(readyz, "/readyz", daemon.output);

    // `ip netns exec`, setpriv and env all exec in place: the child's pid is node's.
    const caps = capabilities(daemon.child.pid!);
    expect(caps.uid.split(/\s+/)).toEqual(Array(4).fill(String(NOBODY)));
    expect(caps.eff.toString(16)).toBe(NET_CAPS.toString(16));
    expect(caps.bnd & ~NET_CAPS).toBe(0n);

    const file = join(state, "alerts.json");
    const lookUp = async (name: string) => {
      await pair.run(pair.client, ["dig", `@${ADDR.server4}`, name, "+tries=1", "+time=2"]);
      await waitFor(
        () => alerts(file).some((a) => a.dns?.question?.name === name),
        `the alert on ${name}`,
        daemon.output,
      );
    };
    await lookUp("update.example.test");
    expect(alerts(file).find((a) => a.rule.id === "U-DNS")).toMatchObject({
      event: { kind: "alert" },
      observer: { name: "unprivileged-gateway" },
      dns: { question: { name: "update.example.test" } },
    });
    // What the daemon wrote belongs to nobody.
    expect(statSync(join(state, "egressd.db")).uid).toBe(NOBODY);
    expect(statSync(file).uid).toBe(NOBODY);

    if (run.rotate) {
      // logrotate renames the file, then SIGUSR2: egressd (as nobody) opens a new one.
      renameSync(file, `${file}.1`);
      process.kill(daemon.child.pid!, "SIGUSR2");
      await waitFor(() => existsSync(file), "the reopened alert file", daemon.output);
      await lookUp("fw.update.example.test");
      expect(alerts(`${file}.1`).map((a) => a.dns.question.name)).toEqual(["update.example.test"]);
      expect(alerts(file).map((a) => a.dns.question.name)).toEqual(["fw.update.example.test"]);
    }

    const exited = once(daemon.child, "exit");
    process.kill(daemon.child.pid!, "SIGTERM");
    const [code] = await exited;
    expect(code, daemon.output()).toBe(0);
  }

  beforeAll(async () => {
    requireBuild();
    // mkdtemp makes a 0700 folder: open it for traversal so nobody reaches the config.
    dir = mkdtempSync(join(tmpdir(), "egressd-unprivileged-"));
    chmodSync(dir, 0o755);
    writeFileSync(
      join(dir, "rules.yaml"),
      `rules:
  - id: U-DNS
    name: Looks up the update host
    severity: high
    trigger: dns_query
    when: { dns.query: { suffix: update.example.test } }
`,
    );
    // The built CLI must be readable by nobody: a repo under a private home folder is not.
    const probe = spawnSync(
      asNobody()[0]!,
      [...asNobody().slice(1), process.execPath, BIN, "--version"],
      {
        encoding: "utf8",
      },
    );
    if (probe.status !== 0)
      throw new Error(
        `nobody cannot run ${BIN} (is the checkout world-readable?): ${probe.stderr}`,
      );
    pair = await createNetnsPair();
    pair.spawn(pair.server, [
      "dnsmasq",
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      "--no-resolv",
      "--no-hosts",
      "--port=53",
      "--bind-interfaces",
      "--pid-file=",
      "--user=root",
      `--listen-address=${ADDR.server4}`,
      `--host-record=update.example.test,${ADDR.server4}`,
    ]);
    const dnsUp = async () =>
      (await pair.run(pair.server, ["ss", "-Hlnu"])).stdout.includes(`${ADDR.server4}:53`);
    await waitFor(dnsUp, "dnsmasq", () => "");
  }, 60_000);

  afterAll(async () => {
    await pair?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("captures and alerts with only CAP_NET_RAW and CAP_NET_ADMIN as ambient capabilities (systemd)", async () => {
    await captureAsNobody({
      prefix: asNobody({ ambient: true, bounding: "-all,+net_raw,+net_admin" }),
      node: process.execPath,
      state: stateDir("ambient"),
      rotate: true,
    });
  }, 60_000);

  it("without the capabilities exits 1 and says how to grant them", async () => {
    const state = stateDir("no-caps");
    const result = await pair.run(
      pair.server,
      [...asNobody(), process.execPath, BIN, "run", "-c", writeConfig(state)],
      { okCodes: [0, 1, 2], timeoutMs: 20_000 },
    );
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/no permission to capture on veth-s/);
    expect(result.stderr).toMatch(/CAP_NET_RAW/);
    expect(result.stderr).toMatch(/setcap/);
  }, 30_000);

  describe.skipIf(!hasSetcap)("file capabilities on the node binary (the Docker image)", () => {
    let node: string;

    beforeAll(() => {
      // A root-owned copy, so the system's node is never touched.
      const bin = join(dir, "bin");
      mkdirSync(bin, { mode: 0o755 });
      node = join(bin, "node");
      copyFileSync(process.execPath, node);
      chmodSync(node, 0o755);
      execFileSync("setcap", ["cap_net_raw,cap_net_admin=eip", node]);
    });

    it("captures and alerts as nobody, configured by EGRESSD_* variables", async () => {
      // Docker's bounding set after --cap-add NET_RAW --cap-add NET_ADMIN (and the rest dropped).
      await captureAsNobody({
        prefix: asNobody({ bounding: "-all,+net_raw,+net_admin", noNewPrivs: false }),
        node,
        state: stateDir("file-caps"),
        fromEnvironment: true,
      });
    }, 60_000);

    it("gets nothing from them under no_new_privs (docker --security-opt no-new-privileges)", async () => {
      const state = stateDir("file-caps-nnp");
      const prefix = asNobody({ bounding: "-all,+net_raw,+net_admin", noNewPrivs: true });
      const result = await pair.run(
        pair.server,
        [...prefix, "env", node, BIN, "run", "-c", writeConfig(state)],
        { okCodes: [0, 1, 2], timeoutMs: 20_000 },
      );
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(/no permission to capture on veth-s/);
    }, 30_000);

    it("cannot even start when the bounding set lacks one of them (docker run without --cap-add NET_ADMIN)", async () => {
      const result = await pair.run(
        pair.server,
        [...asNobody({ bounding: "-all,+net_raw", noNewPrivs: false }), node, "--version"],
        { okCodes: [0, 1, 126, 127], timeoutMs: 10_000 },
      );
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/Operation not permitted/);
    });
  });
});
