/**
 * The firmware-change heuristic through the real pipeline: a camera that received an
 * update, went quiet and came back with other fingerprints raises exactly one
 * device_changed_after_update; without the update, the silence or a new fingerprint it
 * raises nothing. Plus the whole path from a rule file and a capture to the alert.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCaptureWithRules } from "../../src/cli/capture-run.js";
import { parseConfig } from "../../src/config/load.js";
import { FlowEnricher } from "../../src/enrich/flow-enricher.js";
import type { ChangeWatchOptions } from "../../src/inventory/change-watch.js";
import { DeviceGroups, Inventory, isPrivateAddress } from "../../src/inventory/index.js";
import type { RuleContext } from "../../src/rules/context.js";
import { formatRuleProblem, loadRuleFiles } from "../../src/rules/index.js";
import { RuleTriggers } from "../../src/rules/triggers.js";
import { pcapFile } from "../helpers/capture-writer.js";
import { ethernet, ipv4, macBytes, tcp, udp } from "../helpers/packets.js";
import { runFrames, type TimedFrame } from "../helpers/run-pipeline.js";
import { clientHelloBody, ext, handshake, record } from "../protocols/tls/build.js";

interface Host {
  ip: string;
  mac: string;
}

const CAM: Host = { ip: "10.20.0.11", mac: "44:19:b6:00:00:11" };
const PC: Host = { ip: "10.20.0.99", mac: "02:00:00:00:00:99" };
const NVR: Host = { ip: "10.20.0.50", mac: "02:00:00:00:00:50" };
/** The internet, behind the router's MAC. */
const CLOUD: Host = { ip: "203.0.113.7", mac: "02:00:00:00:00:fe" };
const T0 = 1_700_000_000;
const QUIET = 600;

const JA4_A_HELLO = hello([0x1301, 0x1302]);
const JA4_B_HELLO = hello([0x1301, 0x1302, 0x1303, 0xc02f]);

function hello(ciphers: number[]): Buffer {
  return record(
    22,
    handshake(1, clientHelloBody({ ciphers, extensions: [ext.sni("dev.example.com")] })),
  );
}

/** A TCP connection from a to b: handshake, the messages in turn, FINs. */
function session(
  t: number,
  a: Host,
  b: Host,
  sport: number,
  dport: number,
  messages: { fromClient: boolean; data: Buffer }[],
): TimedFrame[] {
  let aSeq = 1000;
  let bSeq = 5000;
  const out: TimedFrame[] = [];
  let now = t;
  const send = (fromClient: boolean, flags: string, payload?: Buffer) => {
    const [x, y, sp, dp, seq] = fromClient
      ? [a, b, sport, dport, aSeq]
      : [b, a, dport, sport, bSeq];
    const frame = ethernet(
      ipv4({ src: x.ip, dst: y.ip }, tcp({ sport: sp, dport: dp, flags, seq, payload })),
      {
        src: x.mac,
        dst: y.mac,
      },
    );
    out.push({ t: now, frame });
    now += 0.001;
    const n = (payload?.length ?? 0) + (flags.includes("S") || flags.includes("F") ? 1 : 0);
    if (fromClient) aSeq += n;
    else bSeq += n;
  };
  send(true, "S");
  send(false, "SA");
  send(true, "A");
  for (const m of messages) send(m.fromClient, "PA", m.data);
  send(true, "FA");
  send(false, "FA");
  send(true, "A");
  return out;
}

const tls = (t: number, helloBytes: Buffer, sport: number) =>
  session(t, CAM, CLOUD, sport, 443, [
    { fromClient: true, data: helloBytes },
    { fromClient: false, data: Buffer.alloc(200, 0x16) },
  ]);

const httpText = (s: string) => Buffer.from(s.replace(/\n/g, "\r\n"), "latin1");

/** The camera downloads `size` bytes over HTTP from the cloud (its body all zeros). */
function download(t: number, size: number, sport = 45000): TimedFrame[] {
  const body: { fromClient: boolean; data: Buffer }[] = [];
  const chunk = Buffer.alloc(60_000);
  for (let sent = 0; sent < size; sent += chunk.length) {
    body.push({ fromClient: false, data: chunk.subarray(0, Math.min(chunk.length, size - sent)) });
  }
  return session(t, CAM, CLOUD, sport, 80, [
    {
      fromClient: true,
      data: httpText("GET /pkg/update.bin HTTP/1.1\nHost: upgrade.example.com\n\n"),
    },
    {
      fromClient: false,
      data: httpText(`HTTP/1.1 200 OK\nContent-Length: ${size}\n\n`),
    },
    ...body,
  ]);
}

/** A camera HTTP request with a User-Agent, answered. */
function userAgent(t: number, ua: string, sport: number): TimedFrame[] {
  return session(t, CAM, CLOUD, sport, 80, [
    {
      fromClient: true,
      data: httpText(`GET /ping HTTP/1.1\nHost: a.example.com\nUser-Agent: ${ua}\n\n`),
    },
    { fromClient: false, data: httpText("HTTP/1.1 204 No Content\n\n") },
  ]);
}

/** The PC asks the camera's web server for its page; the camera answers with `server`. */
function webPage(t: number, server: string, sport: number): TimedFrame[] {
  return session(t, PC, CAM, sport, 80, [
    { fromClient: true, data: httpText("GET / HTTP/1.1\nHost: 10.20.0.11\n\n") },
    {
      fromClient: false,
      data: httpText(`HTTP/1.1 200 OK\nServer: ${server}\nContent-Length: 0\n\n`),
    },
  ]);
}

/** The PC pushes a small Hikvision firmware image (digicap.dav) to the camera. */
function firmwarePush(t: number, sport: number): TimedFrame[] {
  const image = Buffer.concat([Buffer.from([0xe9, 0x9a, 0xf7, 0xb6]), Buffer.alloc(2000)]);
  return session(t, PC, CAM, sport, 80, [
    {
      fromClient: true,
      data: Buffer.concat([
        httpText(
          `PUT /ISAPI/System/updateFirmware HTTP/1.1\nHost: 10.20.0.11\nContent-Length: ${image.length}\n\n`,
        ),
        image,
      ]),
    },
    { fromClient: false, data: httpText("HTTP/1.1 200 OK\nContent-Length: 0\n\n") },
  ]);
}

/** RFC 2131 DISCOVER from the camera with a vendor class (option 60), from 0.0.0.0. */
function dhcpDiscover(t: number, vendorClass: string): TimedFrame {
  const h = Buffer.alloc(236);
  h[0] = 1;
  h[1] = 1;
  h[2] = 6;
  h.writeUInt32BE(0x0a0b0c0d, 4);
  macBytes(CAM.mac).copy(h, 28);
  const vc = Buffer.from(vendorClass, "latin1");
  const options = Buffer.concat([
    Buffer.from([0x63, 0x82, 0x53, 0x63, 53, 1, 1, 60, vc.length]),
    vc,
    Buffer.from([255]),
  ]);
  const ip = ipv4(
    { src: "0.0.0.0", dst: "255.255.255.255" },
    udp(68, 67, Buffer.concat([h, options])),
  );
  return { t, frame: ethernet(ip, { src: CAM.mac, dst: "ff:ff:ff:ff:ff:ff" }) };
}

interface Change {
  t: number;
  device: string | undefined;
  group: string | undefined;
  change: RuleContext["change"];
}

/** The frames through the pipeline (inventory, enricher, triggers): the changes raised. */
function changes(frames: TimedFrame[], options: Partial<ChangeWatchOptions> = {}): Change[] {
  const seen: Change[] = [];
  const triggers = new RuleTriggers(
    {
      wants: (t) => t === "device_changed_after_update",
      thresholds: () => ({ bytesOut: [], bytesIn: [], durationSeconds: [] }),
    },
    (ctx) =>
      seen.push({
        t: ctx.tsSec + ctx.tsNsec / 1e9,
        device: ctx.device?.id,
        group: ctx.device?.group,
        change: ctx.change,
      }),
  );
  const inventory = new Inventory({
    maxDevices: 100,
    groups: new DeviceGroups([{ name: "cams", role: "camera", cidrs: ["10.20.0.0/24"] }]),
    isLocal: isPrivateAddress,
  });
  const sorted = [...frames].sort((a, b) => a.t - b.t);
  runFrames(
    sorted,
    {},
    { events: [] },
    { enricher: new FlowEnricher(null, inventory, options), triggers },
  );
  return seen;
}

const CAM_ID = "mac:44-19-B6-00-00-11";

describe("device_changed_after_update", () => {
  it("a camera that downloads 2 MB, goes quiet 10 min and comes back with another JA4: one change", () => {
    const frames = [
      ...tls(T0, JA4_A_HELLO, 41000),
      ...download(T0 + 20, 2_000_000),
      ...tls(T0 + 20 + QUIET, JA4_B_HELLO, 41001),
      // Later flows with the new fingerprint do not raise it again.
      ...tls(T0 + 30 + QUIET, JA4_B_HELLO, 41002),
    ];
    const seen = changes(frames);
    expect(seen).toHaveLength(1);
    const c = seen[0]!;
    expect(c.device).toBe(CAM_ID);
    expect(c.group).toBe("cams");
    expect(c.t).toBe(T0 + 20 + QUIET);
    expect(c.change!.what).toEqual(["ja4"]);
    expect(c.change!.before.ja4).toMatch(/^t12d02/);
    expect(c.change!.after.ja4).toMatch(/^t12d04/);
    // From the download's last packet to the camera's return.
    expect(c.change!.quietSeconds).toBeGreaterThan(QUIET - 1);
    expect(c.change!.quietSeconds).toBeLessThanOrEqual(QUIET);
    expect(c.change!.update).toBe("2.0 MB in from 203.0.113.7");
  });

  it("the same return without the download raises nothing", () => {
    const seen = changes([
      ...tls(T0, JA4_A_HELLO, 41000),
      ...tls(T0 + 20 + QUIET, JA4_B_HELLO, 41001),
    ]);
    expect(seen).toEqual([]);
  });

  it("a small download is no update; the threshold is configurable", () => {
    const frames = [
      ...tls(T0, JA4_A_HELLO, 41000),
      ...download(T0 + 20, 300_000),
      ...tls(T0 + 20 + QUIET, JA4_B_HELLO, 41001),
    ];
    expect(changes(frames)).toEqual([]);
    expect(changes(frames, { updateBytes: 200_000 })).toHaveLength(1);
  });

  it("a new JA4 without a silence raises nothing, nor after a silence shorter than the quiet time", () => {
    const frames = [
      ...tls(T0, JA4_A_HELLO, 41000),
      ...download(T0 + 20, 2_000_000),
      ...tls(T0 + 120, JA4_B_HELLO, 41001),
    ];
    expect(changes(frames)).toEqual([]);
    expect(changes(frames, { quietSeconds: 60 })).toHaveLength(1);
  });

  it("an update long before the silence does not count", () => {
    const frames = [
      ...tls(T0, JA4_A_HELLO, 41000),
      ...download(T0 + 20, 2_000_000),
      // Busy for two hours after the download, then quiet, then back changed.
      ...Array.from({ length: 24 }, (_, i) =>
        tls(T0 + 300 * (i + 1), JA4_A_HELLO, 42000 + i),
      ).flat(),
      ...tls(T0 + 7200 + QUIET, JA4_B_HELLO, 41001),
    ];
    expect(changes(frames)).toEqual([]);
  });

  it("a known fingerprint is no change, and a kind never seen before cannot change", () => {
    const frames = [
      ...tls(T0, JA4_A_HELLO, 41000),
      ...tls(T0 + 5, JA4_B_HELLO, 41003),
      ...download(T0 + 20, 2_000_000),
      // Both JA4s were seen before (A not last); the User-Agent is the first it ever sent.
      ...tls(T0 + 20 + QUIET, JA4_A_HELLO, 41001),
      ...userAgent(T0 + 21 + QUIET, "HikUpdater/2.0", 43000),
    ];
    expect(changes(frames)).toEqual([]);
  });

  it("a User-Agent change after a firmware download", () => {
    const frames = [
      ...userAgent(T0, "HikClient/1.0", 43000),
      ...download(T0 + 20, 1_500_000),
      ...userAgent(T0 + 20 + QUIET, "HikClient/2.0", 43001),
    ];
    const seen = changes(frames);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.change).toMatchObject({
      what: ["user_agent"],
      before: { user_agent: "HikClient/1.0" },
      after: { user_agent: "HikClient/2.0" },
      update: "1.5 MB in from 203.0.113.7",
    });
  });

  it("an HTTP Server change after a firmware image pushed to the camera, whatever its size", () => {
    const frames = [
      ...webPage(T0, "App-webs/", 50000),
      ...firmwarePush(T0 + 30, 50001),
      // The camera only answers: it is back when it answers the PC again.
      ...webPage(T0 + 30 + QUIET, "webserver/2.0", 50002),
    ];
    const seen = changes(frames);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.device).toBe(CAM_ID);
    expect(seen[0]!.change).toMatchObject({
      what: ["http_server"],
      before: { http_server: "App-webs/" },
      after: { http_server: "webserver/2.0" },
      update: "hikvision-digicap image pushed by 10.20.0.99",
    });
  });

  it("a push whose connection is still open when the camera comes back counts too", () => {
    const frames = [
      ...webPage(T0, "App-webs/", 50000),
      // No FINs: the flow is still open (TCP idle timeout 5 min) when the camera is back.
      ...firmwarePush(T0 + 30, 50001).slice(0, -3),
      ...webPage(T0 + 30 + 200, "webserver/2.0", 50002),
      // A later packet ends the page's flow while the push's is still open.
      ...userAgent(T0 + 30 + 240, "HikClient/1.0", 43000),
    ];
    expect(changes(frames)).toEqual([]);
    const seen = changes(frames, { quietSeconds: 120 });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.change).toMatchObject({
      what: ["http_server"],
      update: "hikvision-digicap image pushed by 10.20.0.99",
    });
  });

  it("a DHCP vendor class change: the camera's first packet back is its DISCOVER", () => {
    const frames = [
      dhcpDiscover(T0, "HIKVISION"),
      ...download(T0 + 100, 2_000_000),
      dhcpDiscover(T0 + 100 + QUIET, "udhcp 1.30.1"),
    ];
    const seen = changes(frames);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.change).toMatchObject({
      what: ["dhcp_vendor_class"],
      before: { dhcp_vendor_class: "HIKVISION" },
      after: { dhcp_vendor_class: "udhcp 1.30.1" },
    });
  });

  it("a camera streaming to the NVR all along is not quiet", () => {
    // The NVR's stream from the camera stays open across the ten minutes.
    const stream: TimedFrame[] = [];
    const send = (t: number, fromCam: boolean, flags: string, payload?: Buffer) => {
      const [x, y, sp, dp] = fromCam ? [CAM, NVR, 554, 51000] : [NVR, CAM, 51000, 554];
      stream.push({
        t,
        frame: ethernet(
          ipv4({ src: x.ip, dst: y.ip }, tcp({ sport: sp, dport: dp, flags, payload })),
          {
            src: x.mac,
            dst: y.mac,
          },
        ),
      });
    };
    send(T0 + 1, false, "S");
    send(T0 + 1.001, true, "SA");
    for (let s = 2; s < 30 + QUIET; s += 30) send(T0 + s, true, "PA", Buffer.alloc(1000, 0x24));
    const frames = [
      ...tls(T0, JA4_A_HELLO, 41000),
      ...download(T0 + 20, 2_000_000),
      ...stream,
      ...tls(T0 + 30 + QUIET, JA4_B_HELLO, 41001),
    ];
    expect(changes(frames)).toEqual([]);
  });

  it("the same capture finds the same change every time", () => {
    const frames = [
      dhcpDiscover(T0, "HIKVISION"),
      ...tls(T0 + 1, JA4_A_HELLO, 41000),
      ...userAgent(T0 + 2, "HikClient/1.0", 43000),
      ...download(T0 + 20, 2_000_000),
      dhcpDiscover(T0 + 20 + QUIET, "udhcp 1.30.1"),
      ...tls(T0 + 21 + QUIET, JA4_B_HELLO, 41001),
      ...userAgent(T0 + 22 + QUIET, "HikClient/2.0", 43001),
    ];
    const first = changes(frames);
    expect(first).toHaveLength(1);
    expect(changes(frames)).toEqual(first);
  });
});

describe("device_changed_after_update from a rule file and a capture", () => {
  const dir = mkdtempSync(join(tmpdir(), "egressd-change-watch-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("raises one alert with the sentence", async () => {
    const rulesFile = join(dir, "rules.yaml");
    const capture = join(dir, "capture.pcap");
    writeFileSync(
      rulesFile,
      `rules:
  - id: FW-CHANGED
    name: Camera changed after an update
    severity: high
    trigger: device_changed_after_update
    when:
      device.role: camera
      change.what: ja4
      change.quiet_seconds: { gte: 300 }
`,
    );
    const frames = [
      ...tls(T0, JA4_A_HELLO, 41000),
      ...download(T0 + 20, 2_000_000),
      ...tls(T0 + 20 + QUIET, JA4_B_HELLO, 41001),
    ].sort((a, b) => a.t - b.t);
    writeFileSync(
      capture,
      pcapFile(
        {},
        frames.map((f) => ({
          tsSec: Math.floor(f.t),
          tsFrac: Math.round((f.t % 1) * 1e6),
          data: f.frame,
        })),
      ),
    );
    const loaded = loadRuleFiles([rulesFile], {});
    expect(loaded.problems.map(formatRuleProblem)).toEqual([]);
    const config = parseConfig(
      "geoip:\n  bundled: false\ndevices:\n  groups:\n    - { name: cams, role: camera, cidrs: [10.20.0.0/24] }\n",
      "config.yaml",
    );
    const { alerts } = await runCaptureWithRules({ capture, config, ruleSet: loaded.ruleSet! });
    expect(alerts).toHaveLength(1);
    const a = alerts[0] as any;
    expect(a.rule.id).toBe("FW-CHANGED");
    expect(a.egressd.trigger).toBe("device_changed_after_update");
    expect(a.message).toMatch(
      /^Device mac:44-19-B6-00-00-11 in cams came back after 600 s of silence changed \(ja4 t12d02\S+ -> t12d04\S+\) after 2\.0 MB in from 203\.0\.113\.7$/,
    );
    expect(a.egressd.change.what).toEqual(["ja4"]);
  });
});
