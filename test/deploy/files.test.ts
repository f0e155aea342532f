/**
 * The deployment files against the code they deploy: the systemd unit
 * (config/systemd/egressd.service), the Dockerfile and .dockerignore, and the logrotate
 * file (config/logrotate/egressd). Each test fails when one side is renamed or moved
 * without the other: the CLI's `run`, the addon path pcap-binding.ts loads, the config
 * keys the environment sets, the default HTTP port, the log folder, SIGUSR2.
 *
 * No Docker engine is needed: the runtime stage is assembled from the Dockerfile's own
 * COPY lines out of this (built) checkout, and the CLI is run from that tree.
 */
import { execFile, execFileSync, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, posix, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { BIN, ROOT, requireBuild } from "../edge-cases/cli.js";

const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const pkg = JSON.parse(read("package.json")) as { bin: { egressd: string } };
const DEFAULTS = parseConfig("", "(defaults)");
/** `egressd run --help` of the built CLI: the daemon's own description of its interface. */
const runHelp = () => execFileSync(process.execPath, [BIN, "run", "--help"], { encoding: "utf8" });
const has = (tool: string) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;

// --- systemd unit ----------------------------------------------------------------------

const UNIT_PATH = "config/systemd/egressd.service";

/** Every `Key=value` of the unit's [Service] section, repeated keys in order. */
function unitService(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    if (section !== "Service") continue;
    const eq = line.indexOf("=");
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

const unit = unitService(read(UNIT_PATH));
const one = (key: string): string => {
  const values = unit.get(key) ?? [];
  expect(values, `${UNIT_PATH}: ${key}=`).toHaveLength(1);
  return values[0]!;
};
const words = (value: string) => new Set(value.split(/\s+/).filter(Boolean));
/** The unit's Environment= lines as variables. */
const unitEnv = (): Record<string, string> =>
  Object.fromEntries(
    (unit.get("Environment") ?? []).map((v) => [
      v.slice(0, v.indexOf("=")),
      v.slice(v.indexOf("=") + 1),
    ]),
  );
/** systemd time spans as used here: 30s, 2min, 1min 30s. */
function seconds(span: string): number {
  const units: Record<string, number> = { s: 1, sec: 1, min: 60, m: 60, h: 3600 };
  let total = 0;
  for (const [, n, u] of span.matchAll(/(\d+)\s*([a-z]+)?/g)) total += Number(n) * units[u ?? "s"]!;
  return total;
}

describe(UNIT_PATH, () => {
  it("starts bin/egressd.js run from /opt/egressd as egressd", () => {
    requireBuild();
    const [node, script, ...args] = one("ExecStart").split(/\s+/);
    expect(node).toMatch(/^\/.*\/node$/);
    expect(one("WorkingDirectory")).toBe("/opt/egressd");
    expect(script).toBe(posix.join("/opt/egressd", pkg.bin.egressd));
    expect(args).toEqual(["run"]);
    // The command it names is the CLI's own.
    const help = execFileSync(process.execPath, [join(ROOT, pkg.bin.egressd), ...args, "--help"], {
      encoding: "utf8",
    });
    expect(help).toMatch(/^Usage: egressd run /);
    expect(one("User")).toBe("egressd");
    expect(one("Type")).toBe("simple");
    expect(one("ExecReload")).toBe("/bin/kill -HUP $MAINPID");
    expect(one("Restart")).toBe("on-failure");
  });

  it("grants only CAP_NET_RAW and CAP_NET_ADMIN, and sandboxes the rest", () => {
    const caps = ["CAP_NET_ADMIN", "CAP_NET_RAW"];
    expect([...words(one("AmbientCapabilities"))].sort()).toEqual(caps);
    expect([...words(one("CapabilityBoundingSet"))].sort()).toEqual(caps);
    expect(one("NoNewPrivileges")).toBe("yes");
    expect(one("ProtectSystem")).toBe("strict");
    for (const key of [
      "ProtectHome",
      "PrivateTmp",
      "PrivateDevices",
      "ProtectKernelTunables",
      "ProtectKernelModules",
      "ProtectKernelLogs",
      "ProtectControlGroups",
      "RestrictNamespaces",
      "LockPersonality",
    ])
      expect(one(key), key).toBe("yes");
    // V8's JIT needs memory that is written and then executed.
    expect(one("MemoryDenyWriteExecute")).toBe("no");
    expect(one("SystemCallArchitectures")).toBe("native");
    const families = words(one("RestrictAddressFamilies"));
    for (const f of ["AF_PACKET", "AF_NETLINK", "AF_INET", "AF_INET6", "AF_UNIX"])
      expect(families.has(f), f).toBe(true);
  });

  it("sets valid config variables, with both stores in its StateDirectory", () => {
    requireBuild();
    const env = unitEnv();
    expect(env.EGRESSD_CONFIG).toBe("/etc/egressd/egressd.yaml");
    const state = `/var/lib/${one("StateDirectory")}/`;
    expect(env.EGRESSD_ALERTS_STORE?.startsWith(state)).toBe(true);
    expect(env.EGRESSD_DEVICES_STORE?.startsWith(state)).toBe(true);
    // The shipped config (what /etc/egressd/egressd.yaml starts as) with the unit's
    // variables: a renamed config key fails here.
    const { EGRESSD_CONFIG: _, ...overrides } = env;
    const r = spawnSync(
      process.execPath,
      [BIN, "config", "check", join(ROOT, "config/egressd.yaml")],
      {
        encoding: "utf8",
        env: { PATH: process.env.PATH, ...overrides },
      },
    );
    expect(r.status, r.stderr).toBe(0);
  });

  it("waits longer than alerts.drain_timeout before killing", () => {
    expect(one("KillSignal")).toBe("SIGTERM");
    // The drain, then flushing every open flow and closing the stores.
    expect(seconds(one("TimeoutStopSec"))).toBeGreaterThanOrEqual(
      DEFAULTS.alerts.drain_timeout + 10,
    );
  });

  it.skipIf(!has("systemd-analyze") || !existsSync(one("ExecStart").split(/\s+/)[0]!))(
    "passes systemd-analyze verify",
    () => {
      const r = spawnSync("systemd-analyze", ["verify", join(ROOT, UNIT_PATH)], {
        encoding: "utf8",
      });
      // verify only warns (exit 0) on unknown keys and bad values: any output is a finding.
      expect(`${r.stdout}${r.stderr}`.trim()).toBe("");
      expect(r.status).toBe(0);
    },
  );
});

// --- Dockerfile ------------------------------------------------------------------------

interface Instruction {
  cmd: string;
  args: string;
  /** Index of the FROM it belongs to (-1 before the first). */
  stage: number;
}

/** Instructions with line continuations joined and comments dropped; ARGs substituted in FROM. */
function dockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const args = new Map<string, string>();
  let stage = -1;
  let pending = "";
  for (const raw of text.split("\n")) {
    if (/^\s*#/.test(raw)) continue;
    const line = `${pending}${raw}`;
    if (line.endsWith("\\")) {
      pending = `${line.slice(0, -1)} `;
      continue;
    }
    pending = "";
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const cmd = m[1]!.toUpperCase();
    let rest = m[2]!.trim().replace(/\s+/g, " ");
    if (cmd === "ARG" && stage === -1) {
      const [name, value] = rest.split("=");
      args.set(name!, value ?? "");
    }
    if (cmd === "FROM") {
      stage++;
      rest = rest.replace(/\$\{(\w+)\}/g, (_, name: string) => args.get(name) ?? "");
    }
    out.push({ cmd, args: rest, stage });
  }
  return out;
}

const steps = dockerfile(read("Dockerfile"));
const stages = steps.filter((s) => s.cmd === "FROM");
const RUNTIME = stages.length - 1;
const inStage = (stage: number, cmd: string) =>
  steps.filter((s) => s.stage === stage && s.cmd === cmd).map((s) => s.args);
const workdir = (stage: number) => inStage(stage, "WORKDIR").at(-1)!;
/** ENV lines of a stage, `A=1 B=2` form. */
const dockerEnv = (stage: number): Record<string, string> =>
  Object.fromEntries(
    inStage(stage, "ENV").flatMap((a) =>
      a.split(" ").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    ),
  );
/** The runtime stage's COPY --from=build lines as [path in the checkout, absolute destination]. */
function runtimeCopies(): [string, string][] {
  const buildDir = workdir(0);
  return inStage(RUNTIME, "COPY")
    .filter((a) => a.startsWith("--from=build "))
    .map((a) => {
      const [, from, to] = a.split(" ");
      return [relative(buildDir, from!), posix.resolve(workdir(RUNTIME), to!)];
    });
}

describe("Dockerfile", () => {
  it("builds the way the README does, on one Node image for both stages", () => {
    expect(stages.map((s) => s.args)).toEqual([
      "node:20-bookworm-slim AS build",
      "node:20-bookworm-slim",
    ]);
    const run = inStage(0, "RUN").join("\n");
    for (const step of ["npm ci", "npm run build", "npm prune --omit=dev"])
      expect(run).toContain(step);
    // The build packages are the ones .ci/install-deps.sh installs for the same job.
    const ci = words(read(".ci/install-deps.sh").replace(/\\\n/g, " "));
    const apt = /apt-get install -y --no-install-recommends ([^&]+)/
      .exec(run)![1]!
      .trim()
      .split(" ");
    expect(apt.length).toBeGreaterThan(0);
    for (const p of apt) expect(ci.has(p), `${p} in .ci/install-deps.sh`).toBe(true);
  });

  it("copies into the runtime stage every path egressd loads, the addon where pcap-binding.ts looks", () => {
    const copies = runtimeCopies();
    const dests = copies.map(([, to]) => to);
    const app = workdir(RUNTIME);
    for (const path of ["package.json", "bin", "dist", "node_modules", "rules", "config"])
      expect(copies, path).toContainEqual([path, posix.join(app, path)]);
    // The built CLI lives in dist/capture/live/; the addon path is relative to it.
    const binding = read("src/capture/live/pcap-binding.ts");
    const fromDist = /"(\.\.\/[^"]*pcap_live\.node)"/.exec(binding)![1]!;
    const addon = posix.join(app, "dist/capture/live", fromDist);
    expect(dests).toContain(addon);
    expect(copies).toContainEqual([relative(app, addon), addon]);
    // What bin/egressd.js imports.
    expect(read(pkg.bin.egressd)).toContain('import "../dist/cli/main.js"');
    // The config EGRESSD_CONFIG names is the shipped one.
    expect(copies).toContainEqual(["config/egressd.yaml", dockerEnv(RUNTIME).EGRESSD_CONFIG]);
  });

  it("runs `egressd run` as uid 10001 with the two capabilities on node, the stores in the volume", () => {
    const app = workdir(RUNTIME);
    expect(JSON.parse(inStage(RUNTIME, "ENTRYPOINT")[0]!)).toEqual([
      "node",
      posix.join(app, pkg.bin.egressd),
    ]);
    expect(JSON.parse(inStage(RUNTIME, "CMD")[0]!)).toEqual(["run"]);
    const run = inStage(RUNTIME, "RUN").join("\n");
    expect(run).toMatch(/useradd [^\n]*--uid 10001 [^\n]*egressd/);
    expect(inStage(RUNTIME, "USER")).toEqual(["10001:10001"]);
    expect(run).toContain("setcap cap_net_raw,cap_net_admin=eip /usr/local/bin/node");
    expect(run).toContain("libpcap0.8");
    const env = dockerEnv(RUNTIME);
    const volumes = JSON.parse(inStage(RUNTIME, "VOLUME")[0]!) as string[];
    for (const key of ["EGRESSD_ALERTS_STORE", "EGRESSD_DEVICES_STORE"])
      expect(volumes, key).toContain(posix.dirname(env[key]!));
    expect(run).toContain(`chown egressd:egressd ${volumes[0]}`);
  });

  it("health-checks /healthz on the default http.listen port", async () => {
    const hc = inStage(RUNTIME, "HEALTHCHECK")[0]!;
    const argv = JSON.parse(hc.slice(hc.indexOf("CMD ") + 4)) as string[];
    const script = argv.at(-1)!;
    const url = new URL(/'(http[^']+)'/.exec(script)![1]!);
    // The image keeps the config's listener (no EGRESSD_HTTP_LISTEN of its own).
    const listen = dockerEnv(RUNTIME).EGRESSD_HTTP_LISTEN ?? DEFAULTS.http.listen;
    expect(`${url.hostname}:${url.port}`).toBe(listen);
    expect(url.pathname).toBe("/healthz");
    // The script itself, against real servers: healthy, failing, and nothing listening.
    const exitCode = async (port: number) => {
      const js = script.replace(`:${url.port}/`, `:${port}/`);
      try {
        await promisify(execFile)(process.execPath, ["-e", js], { timeout: 10_000 });
        return 0;
      } catch (e) {
        return (e as { code?: number }).code;
      }
    };
    const serve = async (status: number) => {
      const server = createServer((req, res) => {
        res.statusCode = req.url === "/healthz" ? status : 404;
        res.end();
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      return server;
    };
    const close = (s: Server) => new Promise((r) => s.close(r));
    const ok = await serve(200);
    const failing = await serve(503);
    const okPort = (ok.address() as AddressInfo).port;
    try {
      expect(await exitCode(okPort)).toBe(0);
      expect(await exitCode((failing.address() as AddressInfo).port)).toBe(1);
    } finally {
      await close(ok);
      await close(failing);
    }
    // Closed now: nothing answers.
    expect(await exitCode(okPort)).toBe(1);
  });

  it(".dockerignore keeps host builds out and everything the build copies in", () => {
    const ignored = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    for (const host of ["node_modules", "dist", "src/capture/live/native/build"])
      expect(ignored, host).toContain(host);
    const needed = ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json"];
    needed.push("src", "bin", "rules", "config");
    for (const path of needed) {
      for (const pattern of ignored)
        expect(path === pattern || path.startsWith(`${pattern}/`), `${pattern} hides ${path}`).toBe(
          false,
        );
    }
  });

  describe("the runtime stage, assembled from its COPY lines out of this checkout", () => {
    let root: string;
    let app: string;
    let env: Record<string, string>;
    const inTree = (p: string) => join(root, p);

    beforeAll(() => {
      requireBuild();
      root = mkdtempSync(join(tmpdir(), "egressd-image-"));
      app = inTree(workdir(RUNTIME));
      // npm prune --omit=dev keeps exactly the production dependency tree.
      // (npm ls exits 1 on an extraneous package but still lists the tree.)
      const listed = spawnSync("npm", ["ls", "--omit=dev", "--all", "--parseable"], {
        cwd: ROOT,
        encoding: "utf8",
      }).stdout;
      const production = new Set(listed.split("\n").filter((p) => p.includes("/node_modules/")));
      expect(production.size, "npm ls --omit=dev").toBeGreaterThan(0);
      for (const [from, to] of runtimeCopies()) {
        const source = join(ROOT, from);
        expect(existsSync(source), `${from} (npm run build)`).toBe(true);
        mkdirSync(dirname(inTree(to)), { recursive: true });
        cpSync(source, inTree(to), {
          recursive: true,
          filter: (src) => {
            const nm = src.indexOf("/node_modules/");
            if (from !== "node_modules" || nm < 0) return true;
            // A package folder: keep it when it, or a package inside it, is a production one.
            return [...production].some(
              (p) => p === src || p.startsWith(`${src}/`) || src.startsWith(`${p}/`),
            );
          },
        });
      }
      env = Object.fromEntries(
        Object.entries(dockerEnv(RUNTIME)).map(([k, v]) => [k, v.startsWith("/") ? inTree(v) : v]),
      );
      mkdirSync(dirname(env.EGRESSD_ALERTS_STORE!), { recursive: true });
    }, 120_000);

    afterAll(() => {
      if (root) rmSync(root, { recursive: true, force: true });
    });

    const cli = (args: string[]) =>
      spawnSync(process.execPath, [join(app, pkg.bin.egressd), ...args], {
        cwd: app,
        encoding: "utf8",
        env: { PATH: process.env.PATH, ...env },
      });

    it("accepts its config and environment", () => {
      const r = cli(["config", "check", env.EGRESSD_CONFIG!]);
      expect(r.status, r.stderr).toBe(0);
    });

    it("replays with the shipped rule packs, GeoIP data and the SQLite inventory", () => {
      const pcap = join(ROOT, "test/fixtures/real/namespace-clients.pcap");
      const db = env.EGRESSD_DEVICES_STORE!;
      const r = cli([
        "replay",
        "--alerts",
        "--summary",
        "json",
        "-c",
        env.EGRESSD_CONFIG!,
        "--inventory",
        db,
        pcap,
      ]);
      expect(r.status, r.stderr).toBe(0);
      const summary = JSON.parse(r.stderr.trim().split("\n").at(-1)!);
      expect(summary).toMatchObject({ packets: 304, devices: 2 });
      expect(existsSync(db)).toBe(true);
    });

    it("loads the capture addon and libpcap", () => {
      const binding = join(app, "dist/capture/live/pcap-binding.js");
      const r = spawnSync(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `const m = await import(${JSON.stringify(binding)}); console.log(m.loadPcapAddon().libVersion());`,
        ],
        { cwd: app, encoding: "utf8" },
      );
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/libpcap version \d/);
    });
  });
});

// --- logrotate -------------------------------------------------------------------------

const LOGROTATE_PATH = "config/logrotate/egressd";
const logrotate = read(LOGROTATE_PATH);

describe(LOGROTATE_PATH, () => {
  it("rotates the alert files in the unit's LogsDirectory, as its user", () => {
    const glob = /^(\/\S+)\s*\{/m.exec(logrotate)![1]!;
    expect(posix.dirname(glob)).toBe(`/var/log/${one("LogsDirectory")}`);
    // The log sink example in the shipped config is one of them.
    const example = /file: (\/var\/log\/\S+)/.exec(read("config/egressd.yaml"))![1]!;
    expect(posix.dirname(example)).toBe(posix.dirname(glob));
    expect(example.endsWith(posix.basename(glob).replace("*", ""))).toBe(true);
    expect(logrotate).toMatch(new RegExp(`^\\s*su ${one("User")} ${one("Group")}$`, "m"));
    expect(logrotate).toMatch(new RegExp(`^\\s*create 0640 ${one("User")} ${one("Group")}$`, "m"));
  });

  it("has egressd reopen them with SIGUSR2 instead of copytruncate", () => {
    expect(logrotate).not.toMatch(/^\s*copytruncate/m);
    const post = /postrotate\n([\s\S]*?)endscript/.exec(logrotate)![1]!;
    const command = post.split("\n").find((l) => l.trim().startsWith("systemctl"))!;
    expect(command).toContain("--signal=USR2");
    expect(command).toContain("--kill-who=main");
    expect(command).toContain(posix.basename(UNIT_PATH));
    // The daemon's side of the contract.
    requireBuild();
    expect(runHelp()).toMatch(/SIGUSR2 reopens log-sink files/);
  });

  it.skipIf(!has("logrotate"))("passes logrotate -d", () => {
    // Pointed at a temp folder and the current user, since egressd's need not exist here.
    const dir = mkdtempSync(join(tmpdir(), "egressd-logrotate-"));
    try {
      const me = execFileSync("id", ["-un"], { encoding: "utf8" }).trim();
      const group = execFileSync("id", ["-gn"], { encoding: "utf8" }).trim();
      const conf = logrotate
        .replace(/^\/var\/log\/egressd\//m, `${dir}/`)
        .replace(/egressd egressd$/gm, `${me} ${group}`);
      const file = join(dir, "conf");
      writeFileSync(file, conf);
      const r = spawnSync("logrotate", ["-d", "-s", join(dir, "state"), file], {
        encoding: "utf8",
      });
      expect(r.status, r.stderr).toBe(0);
      expect(`${r.stdout}${r.stderr}`).not.toMatch(/error:/);
      expect(r.stderr).toContain(`rotating pattern: ${dir}/*.json`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
