/**
 * Per-device internet traffic metrics from a real pipeline (GeoIP, inventory, flow
 * records): 500 devices whose ranking changes every round export at most N+1 device
 * labels and M+1 countries, and no series ever goes down from one scrape to the next,
 * even when a device leaves the top and comes back. Active-timeout reports add bytes but
 * count the connection once; memory stays within maxTracked. Internet connections are
 * counted by outcome (attempted, established, rejected) and by destination network, with
 * at most M+1 networks that never go down either.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import type { RawPacket } from "../../src/capture/source.js";
import { FlowEnricher } from "../../src/enrich/flow-enricher.js";
import { GeoIp } from "../../src/enrich/geoip/index.js";
import type { Flow } from "../../src/flow/flow.js";
import { DEFAULT_FLOW_OPTIONS, type FlowOptions } from "../../src/flow/options.js";
import { DeviceGroups } from "../../src/inventory/groups.js";
import { Inventory } from "../../src/inventory/inventory.js";
import { DeviceTraffic } from "../../src/metrics/device-traffic.js";
import { Pipeline } from "../../src/pipeline.js";
import { uint32, writeMmdb } from "../helpers/mmdb-writer.js";
import { ethernet, ipv4, tcp, udp } from "../helpers/packets.js";

const T0 = Date.UTC(2026, 10, 22, 6) / 1000;
/** 16 countries, one per /28 of 203.0.113.0/24. */
const COUNTRIES = "CN RU US DE FR JP KR BR IN GB NL SG TW VN IR TR".split(" ");
const DEVICES = 500;

const dir = mkdtempSync(join(tmpdir(), "egressd-device-traffic-"));
const countryDb = join(dir, "country.mmdb");
writeFileSync(
  countryDb,
  writeMmdb(
    COUNTRIES.map((iso, i) => ({
      network: `203.0.113.${i * 16}/28`,
      data: { country: { iso_code: iso } },
    })),
    { databaseType: "GeoLite2-Country" },
  ),
);
/** One AS per country block: AS64500 "Net CN", AS64501 "Net RU"... */
const asnDb = join(dir, "asn.mmdb");
writeFileSync(
  asnDb,
  writeMmdb(
    COUNTRIES.map((iso, i) => ({
      network: `203.0.113.${i * 16}/28`,
      data: {
        autonomous_system_number: uint32(64500 + i),
        autonomous_system_organization: `Net ${iso}`,
      },
    })),
    { databaseType: "GeoLite2-ASN" },
  ),
);
const geoip = GeoIp.open({
  countryDb,
  asnDb,
  bundled: false,
  internetRanges: ["203.0.113.0/24"],
  maxAgeDays: 100_000,
});
afterAll(() => {
  geoip.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A real pipeline whose flow records go to `record`. */
function pipelineTo(record: (flow: Flow) => void, options: Partial<FlowOptions> = {}) {
  const inventory = new Inventory({
    maxDevices: 2000,
    groups: new DeviceGroups([{ name: "cams", role: "camera", cidrs: ["10.1.0.0/16"] }]),
    isLocal: (v, w0, w1, w2, w3) => geoip.lookup(v, w0, w1, w2, w3).scope !== "internet",
  });
  const pipeline = new Pipeline(
    { ...DEFAULT_FLOW_OPTIONS, ...options },
    { flowEnded: (flow) => record(flow) },
    null,
    new FlowEnricher(geoip, inventory),
  );
  const raw: RawPacket = {
    buf: Buffer.alloc(0),
    offset: 0,
    capLen: 0,
    origLen: 0,
    tsSec: 0,
    tsNsec: 0,
    linkType: 1,
    interfaceId: 0,
    recordOffset: 0,
  };
  const sendFrame = (t: number, frame: Buffer) => {
    raw.buf = frame;
    raw.capLen = frame.length;
    raw.origLen = frame.length;
    raw.tsSec = Math.floor(T0 + t);
    raw.tsNsec = Math.round((t - Math.floor(t)) * 1e6) * 1000;
    pipeline.packet(raw);
  };
  /** Device `device` sends a UDP datagram with `payload` bytes to `dst`. */
  const send = (t: number, device: number, dst: string, dport: number, payload: number) =>
    sendFrame(
      t,
      ethernet(ipv4({ src: deviceIp(device), dst }, udp(50000, dport, Buffer.alloc(payload))), {
        src: deviceMac(device),
        dst: GW,
      }),
    );
  return { pipeline, send, sendFrame };
}

function deviceIp(i: number): string {
  return `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}
const GW = "02:00:00:00:00:01";
function deviceMac(i: number): string {
  const hi = (i >> 8).toString(16).padStart(2, "0");
  const lo = (i & 255).toString(16).padStart(2, "0");
  return `44:19:b6:00:${hi}:${lo}`;
}
function deviceId(i: number): string {
  const hex = (i >> 8).toString(16).padStart(2, "0") + (i & 255).toString(16).padStart(2, "0");
  return `mac:44-19-B6-00-${hex.slice(0, 2).toUpperCase()}-${hex.slice(2).toUpperCase()}`;
}

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line) ?? /^(\w+)() (\S+)$/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of m[2]!.matchAll(/(\w+)="([^"]*)"/g)) labels[k!] = v!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const BYTES = "egressd_device_internet_bytes_sent_total";
const CONNECTIONS = "egressd_device_internet_connections_total";

describe("DeviceTraffic", () => {
  it("500 devices: at most N+1 devices and M+1 countries, and no series ever goes down", async () => {
    const capped = new DeviceTraffic({ topDevices: 20, topCountries: 10 });
    // The same traffic with little memory: forgetting devices must not break the cap either.
    const small = new DeviceTraffic({ topDevices: 5, topCountries: 3, maxTracked: 50 });
    const registry = new Registry();
    const smallRegistry = new Registry();
    capped.register(registry);
    small.register(smallRegistry);
    let fedBytes = 0;
    let fedConnections = 0;
    const { pipeline, send } = pipelineTo((flow) => {
      capped.record(flow);
      small.record(flow);
      fedBytes += flow.srcBytes;
      fedConnections++;
    });

    const seen = new Map<string, number>();
    const smallSeen = new Map<string, number>();
    const topSets: string[] = [];
    const present: Set<string>[] = [];
    const check = (series: Series[], last: Map<string, number>) => {
      for (const s of series) {
        if (!s.name.endsWith("_total")) continue;
        const key = `${s.name}${JSON.stringify(s.labels)}`;
        const before = last.get(key);
        if (before !== undefined && s.value < before)
          throw new Error(`${key} went down from ${before} to ${s.value}`);
        last.set(key, s.value);
      }
    };
    const rounds = 8;
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < DEVICES; i++) {
        // Light traffic, ranked differently each round, to countries that rotate.
        const weight = (i * 7 + r * 131) % DEVICES;
        const c = (i + r * 3) % COUNTRIES.length;
        send(r * 120 + i * 0.001, i, `203.0.113.${c * 16 + 1}`, 9000 + r, 1 + weight);
        // Three groups of 20 heavy devices take turns, each burst bigger than the last:
        // the group in turn leads, so devices leave the top and come back to it.
        if (Math.floor(i / 20) === r % 3) {
          for (let k = 0; k <= r; k++)
            send(r * 120 + i * 0.001 + 0.0005, i, "203.0.113.1", 7000 + r, 1000);
        }
      }
      // An idle minute: every flow of the round is written.
      pipeline.flows.advanceTime((T0 + r * 120 + 100) * 1000);

      const series = parse(await registry.metrics());
      const bytes = series.filter((s) => s.name === BYTES);
      const connections = series.filter((s) => s.name === CONNECTIONS);
      const bytesDevices = new Set(bytes.map((s) => s.labels.device));
      expect(bytesDevices.size).toBeLessThanOrEqual(21);
      expect(bytesDevices.has("other")).toBe(true);
      expect(new Set(connections.map((s) => s.labels.device)).size).toBeLessThanOrEqual(21);
      expect(new Set(connections.map((s) => s.labels.country)).size).toBeLessThanOrEqual(11);
      expect(bytes.length).toBeLessThanOrEqual(21);
      expect(connections.length).toBeLessThanOrEqual(21 * 11);
      for (const s of bytes) {
        if (s.labels.device !== "other") expect(s.labels.group).toBe("cams");
      }
      if (r === 0) {
        // Before any device left the top, the series add up to everything sent.
        expect(bytes.reduce((sum, s) => sum + s.value, 0)).toBe(fedBytes);
        expect(connections.reduce((sum, s) => sum + s.value, 0)).toBe(fedConnections);
      }
      check(series, seen);
      topSets.push([...bytesDevices].sort().join(","));
      present.push(bytesDevices);

      const smallSeries = parse(await smallRegistry.metrics());
      expect(
        new Set(smallSeries.filter((s) => s.name === BYTES).map((s) => s.labels.device)).size,
      ).toBeLessThanOrEqual(6);
      expect(
        new Set(smallSeries.filter((s) => s.name === CONNECTIONS).map((s) => s.labels.country))
          .size,
      ).toBeLessThanOrEqual(4);
      check(smallSeries, smallSeen);
      expect(small.trackedDevices).toBeLessThanOrEqual(50);
    }
    // The top set really moved: devices left it and came back (their series continued).
    expect(new Set(topSets).size).toBeGreaterThan(2);
    const cameBack = [...present[0]!].filter(
      (d) =>
        d !== "other" &&
        present.some((p, k) => !p.has(d) && present.slice(k).some((q) => q.has(d))),
    );
    expect(cameBack.length).toBeGreaterThan(0);
    // "other" carries the bulk of 500 devices.
    const other = parse(await registry.metrics()).find(
      (s) => s.name === BYTES && s.labels.device === "other",
    )!;
    expect(other.value).toBeGreaterThan(fedBytes / 2);
    expect(small.evicted).toBeGreaterThan(0);
    expect(parse(await smallRegistry.metrics())).toContainEqual({
      name: "egressd_device_internet_evicted_total",
      labels: {},
      value: small.evicted,
    });
  });

  it("active-timeout reports add their bytes; the connection counts once", async () => {
    const traffic = new DeviceTraffic();
    const registry = new Registry();
    traffic.register(registry);
    const records: number[] = [];
    const { pipeline, send } = pipelineTo(
      (flow) => {
        records.push(flow.srcBytes);
        traffic.record(flow);
      },
      { timeouts: { ...DEFAULT_FLOW_OPTIONS.timeouts, active: 30 } },
    );
    // One UDP flow from device 3 to Russia, a 100-byte payload every 10 s for 100 s.
    for (let t = 0; t <= 100; t += 10) send(t, 3, "203.0.113.17", 5000, 100);
    pipeline.finish();
    expect(records.length).toBeGreaterThan(2);
    const series = parse(await registry.metrics());
    expect(series).toContainEqual({
      name: BYTES,
      labels: { device: deviceId(3), group: "cams" },
      value: 11 * (20 + 8 + 100),
    });
    expect(series).toContainEqual({
      name: CONNECTIONS,
      labels: { device: deviceId(3), country: "RU" },
      value: 1,
    });
  });

  it("counts only internet destinations, and what a device answers the internet", async () => {
    const traffic = new DeviceTraffic({ topDevices: 2 });
    const registry = new Registry();
    traffic.register(registry);
    const { pipeline, send, sendFrame } = pipelineTo((flow) => traffic.record(flow));
    // To another local device: not counted.
    send(0, 1, deviceIp(2), 554, 500);
    // Opened from Germany to device 2, which answers 300 bytes: sent to the internet.
    const de = "203.0.113.49";
    sendFrame(
      1,
      ethernet(ipv4({ src: de, dst: deviceIp(2) }, udp(6000, 8000, Buffer.alloc(10))), {
        src: GW,
        dst: deviceMac(2),
      }),
    );
    sendFrame(
      1.1,
      ethernet(ipv4({ src: deviceIp(2), dst: de }, udp(8000, 6000, Buffer.alloc(300))), {
        src: deviceMac(2),
        dst: GW,
      }),
    );
    pipeline.finish();
    const series = parse(await registry.metrics());
    expect(series.filter((s) => s.name === BYTES)).toEqual([
      { name: BYTES, labels: { device: deviceId(2), group: "cams" }, value: 20 + 8 + 300 },
      { name: BYTES, labels: { device: "other", group: "" }, value: 0 },
    ]);
    // Connections are the ones a device opened: none here.
    expect(series.filter((s) => s.name === CONNECTIONS)).toEqual([]);
    expect(() => new DeviceTraffic({ topDevices: 20, maxTracked: 20 })).toThrow(
      /maxTracked must be an integer above topDevices \(20\)/,
    );
  });

  it("counts internet connections by outcome, and by destination network capped to M+1", async () => {
    const traffic = new DeviceTraffic({ topNetworks: 3 });
    const registry = new Registry();
    traffic.register(registry);
    const { pipeline, send, sendFrame } = pipelineTo((flow) => traffic.record(flow));
    const frame = (from: number | string, to: string, l4: ReturnType<typeof tcp>) => {
      const src = typeof from === "number" ? deviceIp(from) : from;
      const mac = typeof from === "number" ? { src: deviceMac(from), dst: GW } : { src: GW };
      return ethernet(ipv4({ src, dst: to }, l4), mac);
    };
    const ru = "203.0.113.17";
    // Device 1 to Russia: SYN answered by SYN-ACK (established), SYN answered by RST
    // (rejected), a SYN never answered (attempted), and a UDP datagram answered (established).
    sendFrame(0, frame(1, ru, tcp({ sport: 40000, dport: 443, flags: "S" })));
    sendFrame(0.1, frame(ru, deviceIp(1), tcp({ sport: 443, dport: 40000, flags: "SA" })));
    sendFrame(0.2, frame(1, ru, tcp({ sport: 40001, dport: 81, flags: "S" })));
    sendFrame(0.3, frame(ru, deviceIp(1), tcp({ sport: 81, dport: 40001, flags: "RA" })));
    sendFrame(0.4, frame(1, ru, tcp({ sport: 40002, dport: 8000, flags: "S" })));
    send(0.5, 1, ru, 123, 48);
    sendFrame(0.6, frame(ru, deviceIp(1), udp(123, 50000, Buffer.alloc(48))));
    // To a local device: no internet connection at all.
    send(0.7, 1, deviceIp(2), 554, 10);
    // Past the established TCP flow's idle timeout (5 min): every flow is written.
    pipeline.flows.advanceTime((T0 + 400) * 1000);
    let series = parse(await registry.metrics());
    const outcomes = Object.fromEntries(
      series
        .filter((s) => s.name === "egressd_internet_connections_total")
        .map((s) => [s.labels.outcome, s.value]),
    );
    expect(outcomes).toEqual({ attempted: 1, established: 2, rejected: 1 });
    expect(series.filter((s) => s.name === "egressd_internet_network_connections_total")).toEqual([
      {
        name: "egressd_internet_network_connections_total",
        labels: { as_number: "64501", as_organization: "Net RU" },
        value: 4,
      },
      {
        name: "egressd_internet_network_connections_total",
        labels: { as_number: "other", as_organization: "" },
        value: 0,
      },
    ]);

    // Rounds of traffic to all 16 networks, ranked differently each round: at most 3
    // networks and "other", and no series goes down.
    const last = new Map<string, number>();
    let total = 4;
    const ranked = new Set<string>();
    for (let r = 1; r <= 6; r++) {
      for (let n = 0; n < COUNTRIES.length; n++) {
        const flows = ((n + r * 5) % COUNTRIES.length) + 1;
        for (let k = 0; k < flows; k++)
          send(r * 1000 + n + k * 0.01, 3, `203.0.113.${n * 16 + 1}`, 1000 + k, 10);
        total += flows;
      }
      pipeline.flows.advanceTime((T0 + r * 1000 + 150) * 1000);
      series = parse(await registry.metrics()).filter(
        (s) => s.name === "egressd_internet_network_connections_total",
      );
      expect(series.length).toBeLessThanOrEqual(4);
      for (const s of series) {
        const before = last.get(s.labels.as_number!);
        if (before !== undefined) expect(s.value).toBeGreaterThanOrEqual(before);
        last.set(s.labels.as_number!, s.value);
        if (s.labels.as_number !== "other") {
          ranked.add(s.labels.as_number!);
          expect(s.labels.as_organization).toMatch(/^Net [A-Z]{2}$/);
        }
      }
    }
    // The top 3 moved, and nothing was lost while no shown network left the top.
    expect(ranked.size).toBeGreaterThan(3);
    expect([...last.values()].reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(total);
    expect(series.find((s) => s.labels.as_number === "other")!.value).toBeGreaterThan(0);
  });
});
