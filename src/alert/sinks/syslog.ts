/**
 * The syslog alert sink: each alert as one RFC 5424 message, its body the ECS JSON record
 * or a CEF line, sent over UDP (RFC 5426, one datagram per alert), TCP (RFC 6587) or TLS
 * (RFC 5425), with octet-counting framing by default or LF framing for receivers that want
 * it. Streams use one persistent connection, opened when a delivery needs it and dropped
 * on any failure so the next delivery starts afresh; every wait is bounded by timeoutMs.
 */

import dgram from "node:dgram";
import { lookup } from "node:dns/promises";
import { readFileSync } from "node:fs";
import net from "node:net";
import { hostname as osHostname } from "node:os";
import tls from "node:tls";
import { cefMessage } from "./cef.js";
import {
  cutUtf8,
  facilityCode,
  formatRfc5424,
  lfFramed,
  octetCounted,
  SD_ID,
  SYSLOG_SEVERITY,
  structuredData,
} from "./rfc5424.js";
import { type AlertSink, DeliveryError, type QueuedAlert } from "./sink.js";

export type SyslogTransport = "udp" | "tcp" | "tls";

export interface SyslogTlsOptions {
  /** PEM text of the CA(s) that signed the receiver's certificate. */
  ca?: string;
  /** PEM client certificate and key, for receivers that want mutual TLS. */
  cert?: string;
  key?: string;
  /** Name to send in SNI and check the certificate against, when host is an address. */
  servername?: string;
  /** Default true: a receiver whose certificate does not verify gets no alerts. */
  rejectUnauthorized?: boolean;
}

export interface SyslogSinkOptions {
  name: string;
  transport: SyslogTransport;
  host: string;
  /** Default 514, or 6514 for TLS (RFC 5425). */
  port?: number;
  /** The message body: the ECS record as JSON (default) or an ArcSight CEF line. */
  format?: "json" | "cef";
  /** A facility name (local0..local7, daemon, ...) or code 0..23; default local0. */
  facility?: string | number;
  /** Default "egressd". */
  appName?: string;
  /** Default os.hostname(). */
  hostname?: string;
  /** TCP and TLS only: RFC 6587 octet counting (default) or LF-terminated messages. */
  framing?: "octet-counting" | "lf";
  tls?: SyslogTlsOptions;
  /** Bounds each resolve, connect and write; default 10000. */
  timeoutMs?: number;
  /** Default 100. */
  maxBatch?: number;
  /** UDP only: longer messages are cut to this many bytes; default 8192. */
  maxDatagramBytes?: number;
  /** Device Version of CEF lines; default egressd's package version. */
  productVersion?: string;
}

export interface SyslogStats {
  /** Messages handed to the network (for streams: accepted by the socket). */
  sent: number;
  /** UDP messages cut to maxDatagramBytes. */
  truncated: number;
  /** TCP or TLS connections opened. */
  connects: number;
  /** Failed deliver() calls. */
  errors: number;
}

/** RFC 5426: every receiver takes at least 480-byte IPv4 datagrams. */
const MIN_DATAGRAM_BYTES = 480;

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8"));
  return String(pkg.version);
}

function parseRecord(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json);
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // A damaged record still goes out: its text is the JSON body, its header holds what
    // the queue knows (id, severity).
  }
  return {};
}

function child(record: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = record[key];
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** Runs start() and fails with "<what> timed out" if it has not settled within ms. */
function bounded<T>(
  what: string,
  ms: number,
  start: (resolve: (value: T) => void, reject: (err: Error) => void) => void,
  onTimeout: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      onTimeout();
      reject(new Error(`${what} timed out after ${ms} ms`));
    }, ms);
    start(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

export class SyslogSink implements AlertSink {
  readonly type = "syslog" as const;
  readonly name: string;
  readonly maxBatch: number;
  readonly stats: SyslogStats = { sent: 0, truncated: 0, connects: 0, errors: 0 };

  private readonly transport: SyslogTransport;
  private readonly host: string;
  private readonly port: number;
  private readonly format: "json" | "cef";
  private readonly facility: number;
  private readonly appName: string;
  private readonly hostname: string;
  private readonly framing: "octet-counting" | "lf";
  private readonly tls: SyslogTlsOptions;
  private readonly timeoutMs: number;
  private readonly maxDatagramBytes: number;
  private readonly productVersion: string;

  private udp: { socket: dgram.Socket; address: string } | null = null;
  private stream: net.Socket | null = null;
  private connecting: Promise<net.Socket> | null = null;
  private closed = false;

  constructor(options: SyslogSinkOptions) {
    if (!["udp", "tcp", "tls"].includes(options.transport)) {
      throw new Error(`syslog sink ${options.name}: unknown transport ${options.transport}`);
    }
    if (options.host === "") throw new Error(`syslog sink ${options.name}: host is empty`);
    this.name = options.name;
    this.transport = options.transport;
    this.host = options.host;
    this.port = options.port ?? (options.transport === "tls" ? 6514 : 514);
    this.format = options.format ?? "json";
    this.facility = facilityCode(options.facility);
    this.appName = options.appName ?? "egressd";
    this.hostname = options.hostname ?? osHostname();
    this.framing = options.framing ?? "octet-counting";
    this.tls = options.tls ?? {};
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxBatch = options.maxBatch ?? 100;
    this.maxDatagramBytes = Math.max(options.maxDatagramBytes ?? 8192, MIN_DATAGRAM_BYTES);
    this.productVersion = options.productVersion ?? packageVersion();
  }

  /** Whether a TCP or TLS connection is open now. */
  get connected(): boolean {
    return this.stream !== null;
  }

  /** The RFC 5424 message for one alert, before framing. */
  message(alert: QueuedAlert): string {
    const record = parseRecord(alert.json);
    const rule = child(record, "rule");
    const ruleId = typeof rule.id === "string" ? rule.id : undefined;
    let body: string;
    if (this.format === "cef") {
      // The queue's id and severity stand in for a record that lacks them.
      const event = { ...child(record, "event") };
      event.id ??= alert.id;
      const egressd = { ...child(record, "egressd") };
      egressd.severity ??= alert.severity;
      body = cefMessage(
        { ...record, event, egressd },
        { vendor: "egressd", product: "egressd", version: this.productVersion },
      );
    } else {
      body = alert.json.trim();
    }
    const timestamp = record["@timestamp"];
    return formatRfc5424({
      facility: this.facility,
      severity: SYSLOG_SEVERITY[alert.severity] ?? SYSLOG_SEVERITY.info,
      timestamp: typeof timestamp === "string" ? timestamp : undefined,
      hostname: this.hostname,
      appName: this.appName,
      procId: String(process.pid),
      msgId: ruleId ?? "-",
      structuredData: structuredData(SD_ID, [
        ["alert_id", alert.id],
        ["rule_id", ruleId],
        ["severity", alert.severity],
      ]),
      msg: body,
    });
  }

  async deliver(alerts: readonly QueuedAlert[]): Promise<void> {
    if (this.closed) throw new DeliveryError(`syslog sink ${this.name} is closed`);
    if (alerts.length === 0) return;
    try {
      if (this.transport === "udp") await this.sendDatagrams(alerts);
      else await this.sendStream(alerts);
    } catch (err) {
      this.stats.errors++;
      const reason = err instanceof Error ? err.message : String(err);
      throw new DeliveryError(
        `syslog ${this.transport}://${this.host}:${this.port} (${this.name}): ${reason}`,
      );
    }
  }

  reopen(): void {
    this.dropStream();
    this.dropUdp();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.dropUdp();
    const socket = this.stream;
    this.stream = null;
    if (socket === null) return;
    // End politely so buffered messages are flushed; destroy if the receiver stalls.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => socket.destroy(), this.timeoutMs);
      socket.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.end();
    });
  }

  // UDP: the address is resolved once per socket; a datagram has no acknowledgement, so
  // "sent" means the kernel took it.

  private async sendDatagrams(alerts: readonly QueuedAlert[]): Promise<void> {
    const udp = await this.udpSocket();
    for (const alert of alerts) {
      let datagram: Buffer = Buffer.from(this.message(alert), "utf8");
      if (datagram.length > this.maxDatagramBytes) {
        datagram = cutUtf8(datagram, this.maxDatagramBytes);
        this.stats.truncated++;
      }
      await bounded<void>(
        "send",
        this.timeoutMs,
        (resolve, reject) => {
          udp.socket.send(datagram, this.port, udp.address, (err) =>
            err ? reject(err) : resolve(),
          );
        },
        () => this.dropUdp(),
      );
      this.stats.sent++;
    }
  }

  private async udpSocket(): Promise<{ socket: dgram.Socket; address: string }> {
    if (this.udp !== null) return this.udp;
    const found = await bounded<{ address: string; family: number }>(
      `resolving ${this.host}`,
      this.timeoutMs,
      (resolve, reject) => {
        lookup(this.host).then(resolve, reject);
      },
      () => {},
    );
    const socket = dgram.createSocket(found.family === 6 ? "udp6" : "udp4");
    const udp = { socket, address: found.address };
    socket.on("error", () => {
      if (this.udp === udp) this.dropUdp();
    });
    this.udp = udp;
    return udp;
  }

  private dropUdp(): void {
    const udp = this.udp;
    this.udp = null;
    if (udp !== null) {
      try {
        udp.socket.close();
      } catch {
        // Already closed.
      }
    }
  }

  // TCP and TLS. Syslog over a stream has no application-level acknowledgement: the best
  // a sender can know is that its socket accepted the bytes (the write callback). A
  // receiver that dies right after may lose them; the RFCs offer nothing better.

  private async sendStream(alerts: readonly QueuedAlert[]): Promise<void> {
    const frame = this.framing === "lf" ? lfFramed : octetCounted;
    const batch = Buffer.concat(alerts.map((alert) => frame(this.message(alert))));
    const socket = await this.openStream();
    await bounded<void>(
      "write",
      this.timeoutMs,
      (resolve, reject) => {
        const fail = (err: Error) => {
          cleanup();
          this.dropStream(socket);
          reject(err);
        };
        const onClose = () => fail(new Error("connection closed"));
        const cleanup = () => {
          socket.off("error", fail);
          socket.off("close", onClose);
        };
        socket.once("error", fail);
        socket.once("close", onClose);
        socket.write(batch, (err) => {
          if (err) return fail(err);
          cleanup();
          resolve();
        });
      },
      () => this.dropStream(socket),
    );
    this.stats.sent += alerts.length;
  }

  private async openStream(): Promise<net.Socket> {
    const current = this.stream;
    // A receiver that closed its side is gone even if 'close' has not been seen yet.
    if (current?.writable && !current.readableEnded) return current;
    if (current !== null) this.dropStream(current);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private connect(): Promise<net.Socket> {
    const secure = this.transport === "tls";
    const socket = secure
      ? tls.connect({
          host: this.host,
          port: this.port,
          ca: this.tls.ca,
          cert: this.tls.cert,
          key: this.tls.key,
          ...(this.tls.servername !== undefined ? { servername: this.tls.servername } : {}),
          rejectUnauthorized: this.tls.rejectUnauthorized ?? true,
        })
      : net.connect({ host: this.host, port: this.port });
    return bounded<net.Socket>(
      `connecting`,
      this.timeoutMs,
      (resolve, reject) => {
        // Stays attached on failure: a destroyed socket may still report a late error.
        socket.on("error", reject);
        socket.once(secure ? "secureConnect" : "connect", () => {
          socket.off("error", reject);
          if (this.closed) return reject(new Error("sink closed while connecting"));
          this.stats.connects++;
          this.adopt(socket);
          resolve(socket);
        });
      },
      () => socket.destroy(),
    ).catch((err: Error) => {
      socket.destroy();
      throw err;
    });
  }

  /** Makes a connected socket the sink's connection until it fails or the peer leaves. */
  private adopt(socket: net.Socket): void {
    this.stream = socket;
    socket.setKeepAlive(true);
    // Receivers send nothing; whatever arrives is read and dropped so it cannot pile up.
    socket.resume();
    const drop = () => this.dropStream(socket);
    socket.on("error", drop);
    socket.on("end", drop);
    socket.on("close", drop);
  }

  private dropStream(socket: net.Socket | null = this.stream): void {
    if (socket === null) return;
    if (this.stream === socket) this.stream = null;
    socket.destroy();
  }
}
