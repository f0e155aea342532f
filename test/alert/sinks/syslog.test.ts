/**
 * The syslog sink against real receivers on loopback: a UDP socket, a TCP server and a
 * TLS server (certificates made with openssl per run) that parse RFC 6587 frames. Checks
 * the RFC 5424 bytes exactly, and that failures (wrong CA, dropped connection, stalled
 * receiver) reject with a DeliveryError within the timeout instead of hanging.
 */
import { spawn } from "node:child_process";
import dgram from "node:dgram";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  cutUtf8,
  escapeParamValue,
  facilityCode,
  formatRfc5424,
  headerField,
  lfFramed,
  octetCounted,
  structuredData,
  syslogTimestamp,
} from "../../../src/alert/sinks/rfc5424.js";
import { DeliveryError, type QueuedAlert } from "../../../src/alert/sinks/sink.js";
import { SyslogSink, type SyslogSinkOptions } from "../../../src/alert/sinks/syslog.js";
import { selfSignedCert } from "../../helpers/self-signed.js";

const PID = process.pid;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Polls until check() holds; fails after ms. */
async function waitFor(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function alertJson(id: string, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    "@timestamp": "2024-05-01T12:00:00.123456789Z",
    event: { kind: "alert", severity: 73, action: "tls_client_hello", id },
    rule: { id: "CAM-CALLHOME-1", name: "Camera calls a vendor cloud" },
    message: "Überwachungskamera 摄像头 📷 opened TLS to relay.example.test",
    source: { ip: "192.0.2.10", port: 50123 },
    destination: { ip: "198.51.100.7", port: 443, domain: "relay.example.test" },
    network: { transport: "tcp" },
    egressd: { trigger: "tls_client_hello", severity: "high" },
    ...overrides,
  });
}

function alert(id: string, severity: QueuedAlert["severity"] = "high"): QueuedAlert {
  return { id, json: alertJson(id), severity };
}

/** The message the sink must send for alert(id), written out by hand. */
function expected(id: string, pri = 16 * 8 + 3, host = "sensor-1"): string {
  return (
    `<${pri}>1 2024-05-01T12:00:00.123456Z ${host} egressd ${PID} CAM-CALLHOME-1 ` +
    `[egressd@32473 alert_id="${id}" rule_id="CAM-CALLHOME-1" severity="high"] ${alertJson(id)}`
  );
}

function sink(options: Partial<SyslogSinkOptions> & { port: number }): SyslogSink {
  const s = new SyslogSink({
    name: "soc",
    transport: "tcp",
    host: "127.0.0.1",
    hostname: "sensor-1",
    timeoutMs: 2000,
    productVersion: "0.1.0",
    ...options,
  });
  cleanups.push(() => s.close());
  return s;
}

// --- receivers ------------------------------------------------------------------------

async function udpReceiver() {
  const socket = dgram.createSocket("udp4");
  const datagrams: Buffer[] = [];
  socket.on("message", (msg) => datagrams.push(msg));
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { port: socket.address().port, datagrams };
}

/** RFC 6587 3.4.1 frames: "LEN SP MSG" with LEN a byte count without leading zeros. */
function parseOctetCounted(data: Buffer): { frames: Buffer[]; rest: Buffer } {
  const frames: Buffer[] = [];
  let at = 0;
  for (;;) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const len = data.subarray(at, space).toString("ascii");
    if (!/^[1-9][0-9]*$/.test(len)) throw new Error(`bad frame length "${len}"`);
    const end = space + 1 + Number(len);
    if (end > data.length) break;
    frames.push(data.subarray(space + 1, end));
    at = end;
  }
  return { frames, rest: data.subarray(at) };
}

interface StreamReceiver {
  port: number;
  /** Raw bytes per connection, in arrival order. */
  connections: Buffer[];
  ended: number;
  close(): Promise<void>;
}

/** A TCP or TLS server that records every connection's bytes. */
async function streamReceiver(
  options: { tls?: { key: string; cert: string }; port?: number; paused?: boolean } = {},
): Promise<StreamReceiver> {
  const sockets = new Set<net.Socket>();
  const rx: StreamReceiver = {
    port: 0,
    connections: [],
    ended: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const onSocket = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    if (options.paused) return; // accepted, never read: the receiver is stalled
    const index = rx.connections.push(Buffer.alloc(0)) - 1;
    socket.on("data", (chunk: Buffer) => {
      rx.connections[index] = Buffer.concat([rx.connections[index]!, chunk]);
    });
    socket.on("end", () => {
      rx.ended++;
      socket.end();
    });
  };
  const server = options.tls
    ? tls.createServer({ key: options.tls.key, cert: options.tls.cert }, onSocket)
    : net.createServer({ pauseOnConnect: options.paused === true }, onSocket);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  rx.port = (server.address() as net.AddressInfo).port;
  cleanups.push(() => (server.listening ? rx.close() : undefined));
  return rx;
}

// --- certificates ---------------------------------------------------------------------

const certDir = mkdtempSync(join(tmpdir(), "egressd-syslog-"));
afterAll(() => rmSync(certDir, { recursive: true, force: true }));

let server: { key: string; cert: string };
let stranger: { key: string; cert: string };
beforeAll(() => {
  server = selfSignedCert(certDir, "server");
  stranger = selfSignedCert(certDir, "stranger");
});

// --- tests ----------------------------------------------------------------------------

describe("RFC 5424 formatting", () => {
  it("builds PRI, header and structured data exactly", () => {
    const line = formatRfc5424({
      facility: facilityCode("daemon"),
      severity: 2,
      timestamp: "2024-05-01T12:00:00.1Z",
      hostname: "sensor 1\u00e9",
      appName: "a".repeat(60),
      procId: "42",
      msgId: "RULE ID WITH SPACES AND A VERY LONG TAIL",
      structuredData: structuredData("egressd@32473", [
        ["alert_id", 'x"y\\z]w'],
        ["rule_id", undefined],
      ]),
      msg: "hello",
    });
    expect(line).toBe(
      `<26>1 2024-05-01T12:00:00.1Z sensor_1_ ${"a".repeat(48)} 42 ` +
        `RULE_ID_WITH_SPACES_AND_A_VERY_L [egressd@32473 alert_id="x\\"y\\\\z\\]w"] hello`,
    );
  });

  it("keeps header fields printable ASCII within their limits, NILVALUE when empty", () => {
    expect(headerField("", 48)).toBe("-");
    expect(headerField(undefined, 48)).toBe("-");
    expect(headerField("h".repeat(300), 255)).toHaveLength(255);
    expect(headerField("tab\there\u0000", 32)).toBe("tab_here_");
    expect(escapeParamValue('a"b\\c]d')).toBe('a\\"b\\\\c\\]d');
  });

  it("cuts timestamps to microseconds and refuses what is not RFC 3339", () => {
    expect(syslogTimestamp("2024-05-01T12:00:00.123456789Z")).toBe("2024-05-01T12:00:00.123456Z");
    expect(syslogTimestamp("2024-05-01T12:00:00+02:00")).toBe("2024-05-01T12:00:00+02:00");
    expect(syslogTimestamp("2024-13-01T12:00:00Z")).toBe("-");
    expect(syslogTimestamp("yesterday")).toBe("-");
    expect(syslogTimestamp(undefined)).toBe("-");
  });

  it("frames by octet count in bytes, or by LF", () => {
    const msg = "ü📷";
    expect(octetCounted(msg).toString("utf8")).toBe(`6 ${msg}`);
    expect(lfFramed("a\nb").toString("utf8")).toBe("a b\n");
  });

  it("facility names and codes; unknown ones are refused", () => {
    expect(facilityCode(undefined)).toBe(16);
    expect(facilityCode("local7")).toBe(23);
    expect(facilityCode(4)).toBe(4);
    expect(() => facilityCode("local8")).toThrow(/unknown syslog facility/);
    expect(() => facilityCode(24)).toThrow(/unknown syslog facility/);
  });

  it("cuts UTF-8 at a character boundary", () => {
    const buf = Buffer.from("ab📷", "utf8"); // 2 + 4 bytes
    for (const max of [2, 3, 4, 5]) expect(cutUtf8(buf, max).toString("utf8")).toBe("ab");
    expect(cutUtf8(buf, 6)).toBe(buf);
  });
});

describe("SyslogSink over UDP", () => {
  it("sends one datagram per alert, byte-exact", async () => {
    const rx = await udpReceiver();
    const s = sink({ transport: "udp", port: rx.port });
    await s.deliver([alert("a1"), alert("a2")]);
    await waitFor(() => rx.datagrams.length === 2, "two datagrams");
    expect(rx.datagrams.map((d) => d.toString("utf8"))).toEqual([expected("a1"), expected("a2")]);
    expect(rx.datagrams[0]!.equals(Buffer.from(expected("a1"), "utf8"))).toBe(true);
    expect(s.stats).toEqual({ sent: 2, truncated: 0, connects: 0, errors: 0 });
  });

  it("maps severity and facility into PRI", async () => {
    const rx = await udpReceiver();
    const s = sink({ transport: "udp", port: rx.port, facility: "daemon" });
    const severities = ["critical", "high", "medium", "low", "info"] as const;
    await s.deliver(severities.map((sev, i) => ({ ...alert(`s${i}`), severity: sev })));
    await waitFor(() => rx.datagrams.length === 5, "five datagrams");
    const pris = rx.datagrams.map((d) => /^<(\d+)>1 /.exec(d.toString("utf8"))![1]);
    expect(pris).toEqual(["26", "27", "28", "29", "30"]);
    expect(rx.datagrams[0]!.toString("utf8")).toContain('severity="critical"');
  });

  it("cuts a message longer than maxDatagramBytes and counts the cut", async () => {
    const rx = await udpReceiver();
    const s = sink({ transport: "udp", port: rx.port, maxDatagramBytes: 1024 });
    const long: QueuedAlert = {
      id: "big",
      severity: "high",
      json: alertJson("big", { message: "摄像头".repeat(400) }),
    };
    await s.deliver([long, alert("small")]);
    await waitFor(() => rx.datagrams.length === 2, "two datagrams");
    const cut = rx.datagrams[0]!;
    expect(Buffer.byteLength(expected("small"))).toBeLessThan(1024);
    expect(cut.length).toBeLessThanOrEqual(1024);
    expect(cut.length).toBeGreaterThan(1021); // only the partial 3-byte character is dropped
    expect(Buffer.from(cut.toString("utf8"), "utf8").equals(cut)).toBe(true); // valid UTF-8
    expect(rx.datagrams[1]!.toString("utf8")).toBe(expected("small"));
    expect(s.stats.truncated).toBe(1);
    expect(s.stats.sent).toBe(2);
  });

  it("carries a CEF body when asked", async () => {
    const rx = await udpReceiver();
    const s = sink({ transport: "udp", port: rx.port, format: "cef" });
    await s.deliver([alert("c1")]);
    await waitFor(() => rx.datagrams.length === 1, "a datagram");
    const text = rx.datagrams[0]!.toString("utf8");
    const header =
      `<131>1 2024-05-01T12:00:00.123456Z sensor-1 egressd ${PID} CAM-CALLHOME-1 ` +
      `[egressd@32473 alert_id="c1" rule_id="CAM-CALLHOME-1" severity="high"] `;
    expect(text.startsWith(header)).toBe(true);
    const cef = text.slice(header.length);
    expect(cef.startsWith("CEF:0|egressd|egressd|0.1.0|CAM-CALLHOME-1|")).toBe(true);
    expect(cef).toContain("|8|rt=1714564800123 externalId=c1 act=tls_client_hello ");
    expect(cef).toContain(" dst=198.51.100.7 dpt=443 dhost=relay.example.test proto=TCP");
  });

  it("sends what the queue knows for a damaged record", async () => {
    const rx = await udpReceiver();
    const s = sink({ transport: "udp", port: rx.port });
    await s.deliver([{ id: "bad", json: "{not json", severity: "low" }]);
    await waitFor(() => rx.datagrams.length === 1, "a datagram");
    expect(rx.datagrams[0]!.toString("utf8")).toBe(
      `<133>1 - sensor-1 egressd ${PID} - [egressd@32473 alert_id="bad" severity="low"] {not json`,
    );
  });
});

describe("SyslogSink over TCP", () => {
  it("writes octet-counted frames whose length is the UTF-8 byte length", async () => {
    const rx = await streamReceiver();
    const s = sink({ port: rx.port });
    await s.deliver([alert("t1"), alert("t2")]);
    await s.deliver([alert("t3")]);
    const want = ["t1", "t2", "t3"].map((id) => octetCounted(expected(id)));
    const total = Buffer.concat(want);
    await waitFor(() => rx.connections[0]?.length === total.length, "three frames");
    expect(rx.connections).toHaveLength(1); // one persistent connection
    expect(rx.connections[0]!.equals(total)).toBe(true);
    const { frames, rest } = parseOctetCounted(rx.connections[0]!);
    expect(rest).toHaveLength(0);
    expect(frames.map((f) => f.toString("utf8"))).toEqual(
      ["t1", "t2", "t3"].map((id) => expected(id)),
    );
    // Multi-byte characters make the byte count larger than the string length.
    const len = Number(rx.connections[0]!.toString("latin1").split(" ", 1)[0]);
    expect(len).toBe(Buffer.byteLength(expected("t1"), "utf8"));
    expect(len).toBeGreaterThan(expected("t1").length);
    expect(s.stats).toEqual({ sent: 3, truncated: 0, connects: 1, errors: 0 });
  });

  it("writes LF-terminated messages when asked", async () => {
    const rx = await streamReceiver();
    const s = sink({ port: rx.port, framing: "lf" });
    await s.deliver([alert("l1"), alert("l2")]);
    const want = `${expected("l1")}\n${expected("l2")}\n`;
    await waitFor(() => rx.connections[0]?.length === Buffer.byteLength(want), "two lines");
    expect(rx.connections[0]!.toString("utf8")).toBe(want);
  });

  it("reconnects after the receiver drops the connection and comes back", async () => {
    const first = await streamReceiver();
    const port = first.port;
    const s = sink({ port });
    await s.deliver([alert("r1")]);
    await waitFor(() => (first.connections[0]?.length ?? 0) > 0, "r1");
    await first.close();
    await waitFor(() => !s.connected, "the sink to see the close");

    const down = await s.deliver([alert("r2")]).catch((err: unknown) => err);
    expect(down).toBeInstanceOf(DeliveryError);
    expect((down as DeliveryError).retryable).toBe(true);
    expect((down as DeliveryError).message).toMatch(/ECONNREFUSED/);

    const second = await streamReceiver({ port });
    await s.deliver([alert("r2")]);
    const want = octetCounted(expected("r2"));
    await waitFor(() => second.connections[0]?.length === want.length, "r2 after restart");
    expect(second.connections[0]!.equals(want)).toBe(true);
    expect(s.stats).toMatchObject({ sent: 2, connects: 2, errors: 1 });
  });

  it("rejects with a timeout, not a hang, when the receiver stops reading", async () => {
    const rx = await streamReceiver({ paused: true });
    const s = sink({ port: rx.port, timeoutMs: 500, maxBatch: 100 });
    // 100 alerts of ~64 KiB: more than the loopback socket buffers hold unread.
    const big = "x".repeat(64 * 1024);
    const batch = Array.from({ length: 100 }, (_, i) => ({
      id: `w${i}`,
      severity: "high" as const,
      json: alertJson(`w${i}`, { message: big }),
    }));
    let failure: unknown;
    for (let i = 0; i < 5 && failure === undefined; i++) {
      const started = Date.now();
      failure = await s.deliver(batch).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(Date.now() - started).toBeLessThan(3000);
    }
    expect(failure).toBeInstanceOf(DeliveryError);
    expect((failure as Error).message).toMatch(/write timed out after 500 ms/);
    expect(s.connected).toBe(false);
  });

  it("refuses deliveries after close() and ends the connection", async () => {
    const rx = await streamReceiver();
    const s = sink({ port: rx.port });
    await s.deliver([alert("c1")]);
    await s.close();
    await waitFor(() => rx.ended === 1, "the receiver to see the end");
    expect(rx.connections[0]!.equals(octetCounted(expected("c1")))).toBe(true);
    await expect(s.deliver([alert("c2")])).rejects.toBeInstanceOf(DeliveryError);
  });
});

describe("SyslogSink over TLS", () => {
  it("delivers to a receiver whose certificate the CA option trusts", async () => {
    const rx = await streamReceiver({ tls: server });
    const s = sink({ transport: "tls", port: rx.port, tls: { ca: server.cert } });
    await s.deliver([alert("s1")]);
    const want = octetCounted(expected("s1"));
    await waitFor(() => rx.connections[0]?.length === want.length, "s1");
    expect(rx.connections[0]!.equals(want)).toBe(true);
    expect(s.stats.connects).toBe(1);
  });

  it("fails with a DeliveryError when the certificate is not from the given CA", async () => {
    const rx = await streamReceiver({ tls: server });
    const s = sink({ transport: "tls", port: rx.port, tls: { ca: stranger.cert } });
    const err = await s.deliver([alert("s2")]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as Error).message).toMatch(/self[- ]signed certificate/);
    expect(s.stats).toMatchObject({ sent: 0, connects: 0, errors: 1 });
    expect(rx.connections.every((c) => c.length === 0)).toBe(true);
  });

  it("times out a receiver that accepts TCP but never answers the handshake", async () => {
    const rx = await streamReceiver({ paused: true });
    const s = sink({ transport: "tls", port: rx.port, timeoutMs: 300, tls: { ca: server.cert } });
    const started = Date.now();
    const err = await s.deliver([alert("s3")]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as Error).message).toMatch(/connecting timed out after 300 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

// rsyslog is not part of the test machine's setup; when a machine has it, it checks the
// framing against a real syslog daemon too.
const RSYSLOGD = "/usr/sbin/rsyslogd";
describe.skipIf(!existsSync(RSYSLOGD))("SyslogSink into rsyslogd", () => {
  it("rsyslogd parses the octet-counted RFC 5424 messages", async () => {
    const dir = mkdtempSync(join(tmpdir(), "egressd-rsyslog-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // A free port: bind to 0, note it, release it for rsyslogd.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const out = join(dir, "out.log");
    writeFileSync(
      join(dir, "rsyslog.conf"),
      `global(workDirectory="${dir}")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="${port}")
template(name="fields" type="string" string="%pri%|%timereported:::date-rfc3339%|%hostname%|%app-name%|%msgid%|%structured-data%|%msg%\\n")
action(type="omfile" file="${out}" template="fields")
`,
    );
    const daemon = spawn(
      RSYSLOGD,
      ["-n", "-f", join(dir, "rsyslog.conf"), "-i", join(dir, "pid")],
      {
        stdio: "ignore",
      },
    );
    cleanups.push(() => {
      daemon.kill("SIGTERM");
    });
    const s = sink({ port, timeoutMs: 2000 });
    await waitFor(() => existsSync(join(dir, "pid")), "rsyslogd to start");
    let sent = false;
    for (let i = 0; i < 50 && !sent; i++) {
      sent = await s.deliver([alert("x1")]).then(
        () => true,
        () => false,
      );
      if (!sent) await new Promise((r) => setTimeout(r, 100));
    }
    expect(sent).toBe(true);
    await waitFor(() => existsSync(out) && readFileSync(out, "utf8").includes("\n"), "output");
    const [pri, , host, app, msgid, sd, msg] = readFileSync(out, "utf8").split("\n")[0]!.split("|");
    expect([pri, host, app, msgid]).toEqual(["131", "sensor-1", "egressd", "CAM-CALLHOME-1"]);
    expect(sd).toBe('[egressd@32473 alert_id="x1" rule_id="CAM-CALLHOME-1" severity="high"]');
    expect(JSON.parse(msg!.trim())).toEqual(JSON.parse(alertJson("x1")));
  });
});
