/**
 * The daemon's own metrics, read from its DaemonView at scrape time: capture per interface
 * (packets, bytes, libpcap drops, up/state, reopens), decoding, anomalies, the flow table,
 * protocols recognised, the passive DNS name table, the GeoIP databases' age, the device
 * inventory (with devices by maker, group and role, and how many reached the internet),
 * config reloads, and the build. The packet path never touches prom-client:
 * every counter here mirrors a total the pipeline already keeps.
 *
 * Before capture starts (no pipeline yet) the pipeline's metrics read zero, so every
 * series exists from the first scrape and rate() has a starting point.
 */
import { readFileSync } from "node:fs";
import { Counter, Gauge, type Registry } from "prom-client";
import type { CaptureState, CaptureStatus, DaemonView } from "../daemon/view.js";
import { ANOMALY_KINDS } from "../decode/anomalies.js";
import { FLOW_END_REASONS } from "../flow/table.js";
import { setCounter, setTotal } from "./registry.js";

const CAPTURE_STATES: readonly CaptureState[] = ["starting", "capturing", "down", "stopped"];

/** Label values with series of their own in egressd_inventory_devices_by_maker; the rest is "other". */
export const INVENTORY_LABEL_CAPS = { maker: 20, group: 20, role: 10 } as const;
/** A device whose maker is not known yet; one in no group (or a group without a role). */
export const UNKNOWN_MAKER = "unknown";
export const NO_GROUP = "none";

/** egressd's version, from its package.json (src/metrics and dist/metrics are both two deep). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return String(pkg.version);
}

/** A counter without labels set to a total kept elsewhere. */
export function registerPipelineMetrics(
  registry: Registry,
  view: DaemonView,
  version: string = packageVersion(),
): void {
  const registers = [registry];

  // --- the process ------------------------------------------------------------
  new Gauge({
    name: "egressd_build_info",
    help: "Always 1; the version label says which egressd runs",
    labelNames: ["version", "nodejs_version"],
    registers,
  }).set({ version, nodejs_version: process.versions.node }, 1);
  new Gauge({
    name: "egressd_start_time_seconds",
    help: "Wall-clock time the daemon started",
    registers,
    collect() {
      this.set(view.startedMs / 1000);
    },
  });

  // --- capture, per interface ------------------------------------------------
  const perInterface = (name: string, help: string, value: (c: CaptureStatus) => number) =>
    new Counter({
      name,
      help,
      labelNames: ["interface"],
      registers,
      collect() {
        setCounter(
          this,
          view.captures().map((c) => [{ interface: c.interface }, value(c)]),
        );
      },
    });
  perInterface(
    "egressd_capture_packets_total",
    "Packets read from the interface and handed to the pipeline",
    (c) => c.packets,
  );
  perInterface(
    "egressd_capture_bytes_total",
    "Wire bytes of the packets handed to the pipeline (original length)",
    (c) => c.bytes,
  );
  perInterface(
    "egressd_capture_received_packets_total",
    "Packets libpcap says the filter accepted (ps_recv), summed over reopens",
    (c) => c.received,
  );
  perInterface(
    "egressd_capture_reopens_total",
    "Times the interface was reopened after it went down",
    (c) => c.reopens,
  );
  new Counter({
    name: "egressd_capture_dropped_packets_total",
    help: "Packets libpcap says were dropped: where=kernel (buffer full: egressd too slow) or where=interface (the NIC or driver)",
    labelNames: ["interface", "where"],
    registers,
    collect() {
      setCounter(
        this,
        view.captures().flatMap((c): [Record<string, string>, number][] => [
          [{ interface: c.interface, where: "kernel" }, c.droppedKernel],
          [{ interface: c.interface, where: "interface" }, c.droppedInterface],
        ]),
      );
    },
  });
  new Gauge({
    name: "egressd_capture_up",
    help: "1 while the interface is capturing, 0 while it is starting, down or stopped",
    labelNames: ["interface"],
    registers,
    collect() {
      this.reset();
      for (const c of view.captures())
        this.set({ interface: c.interface }, c.state === "capturing" ? 1 : 0);
    },
  });
  new Gauge({
    name: "egressd_capture_state",
    help: "1 for the state the interface is in (starting, capturing, down, stopped), 0 for the others",
    labelNames: ["interface", "state"],
    registers,
    collect() {
      this.reset();
      for (const c of view.captures()) {
        for (const state of CAPTURE_STATES)
          this.set({ interface: c.interface, state }, c.state === state ? 1 : 0);
      }
    },
  });

  // --- decoding --------------------------------------------------------------
  new Counter({
    name: "egressd_packets_total",
    help: "Packets the pipeline took in, by outcome: ip (decoded, accounted to a flow), non_ip (ARP, LLDP...), skipped (an anomaly)",
    labelNames: ["outcome"],
    registers,
    collect() {
      const c = view.pipeline()?.counters;
      setCounter(this, [
        [{ outcome: "ip" }, c?.ipPackets ?? 0],
        [{ outcome: "non_ip" }, c?.nonIpPackets ?? 0],
        [{ outcome: "skipped" }, c?.skippedPackets ?? 0],
      ]);
    },
  });
  new Counter({
    name: "egressd_decode_anomalies_total",
    help: "Packets or messages a decoder or protocol parser found malformed, by kind (Zeek 'weird' style)",
    labelNames: ["kind"],
    registers,
    collect() {
      const found = view.pipeline()?.anomalies.toObject() ?? {};
      // Every decode kind from the start (zero until seen); protocol kinds once they occur.
      const totals = new Map<string, number>(ANOMALY_KINDS.slice(1).map((k) => [k, 0]));
      for (const [kind, n] of Object.entries(found)) totals.set(kind, n);
      setCounter(
        this,
        [...totals].map(([kind, n]) => [{ kind }, n]),
      );
    },
  });

  // --- the flow table ----------------------------------------------------------
  new Gauge({
    name: "egressd_flows_active",
    help: "Flows in the flow table now",
    registers,
    collect() {
      this.set(view.pipeline()?.flows.size ?? 0);
    },
  });
  new Gauge({
    name: "egressd_flows_capacity",
    help: "Most flows the flow table holds (flows.max_flows); egressd_flows_active / this is its fill",
    registers,
    collect() {
      this.set(view.pipeline()?.flows.capacity ?? 0);
    },
  });
  new Counter({
    name: "egressd_flows_created_total",
    help: "Flows created in the flow table",
    registers,
    collect() {
      setTotal(this, view.pipeline()?.flows.stats.created ?? 0);
    },
  });
  new Counter({
    name: "egressd_flows_ended_total",
    help: "Flow records written, by reason; active_timeout reports a flow that goes on",
    labelNames: ["reason"],
    registers,
    collect() {
      const ended = view.pipeline()?.flows.stats.ended;
      setCounter(
        this,
        FLOW_END_REASONS.map((reason) => [{ reason }, ended?.[reason] ?? 0]),
      );
    },
  });
  new Counter({
    name: "egressd_flows_evicted_total",
    help: 'Flows pushed out because the table was full (flows.max_flows); also in egressd_flows_ended_total{reason="evicted"}',
    registers,
    collect() {
      setTotal(this, view.pipeline()?.flows.stats.evicted ?? 0);
    },
  });
  new Counter({
    name: "egressd_fragments_total",
    help: "Later IP fragments, by whether they could be accounted to their flow",
    labelNames: ["result"],
    registers,
    collect() {
      const s = view.pipeline()?.flows.stats;
      setCounter(this, [
        [{ result: "attributed" }, s?.fragmentsAttributed ?? 0],
        [{ result: "unattributed" }, s?.fragmentsUnattributed ?? 0],
      ]);
    },
  });
  new Counter({
    name: "egressd_fragment_entries_evicted_total",
    help: "Fragment table entries pushed out because the table was full",
    registers,
    collect() {
      setTotal(this, view.pipeline()?.flows.stats.fragmentEntriesEvicted ?? 0);
    },
  });
  new Gauge({
    name: "egressd_packet_clock_timestamp_seconds",
    help: "The flow table's clock: the latest packet time seen (0 before the first packet)",
    registers,
    collect() {
      const ms = view.pipeline()?.flows.clockMs ?? 0;
      this.set(Number.isFinite(ms) ? ms / 1000 : 0);
    },
  });

  // --- protocols and names ---------------------------------------------------
  new Counter({
    name: "egressd_protocol_flows_total",
    help: "Flows whose application protocol was recognised, by protocol",
    labelNames: ["protocol"],
    registers,
    collect() {
      const recognised = view.pipeline()?.inspector?.stats.recognised ?? {};
      setCounter(
        this,
        Object.entries(recognised).map(([protocol, n]) => [{ protocol }, n]),
      );
    },
  });
  new Gauge({
    name: "egressd_dns_names_cached",
    help: "(client, address) -> name entries in the passive DNS table",
    registers,
    collect() {
      this.set(view.pipeline()?.inspector?.names.size ?? 0);
    },
  });
  new Gauge({
    name: "egressd_dns_names_capacity",
    help: "Most entries the passive DNS table holds; egressd_dns_names_cached / this is its fill",
    registers,
    collect() {
      this.set(view.pipeline()?.inspector?.names.capacity ?? 0);
    },
  });
  const names = () => view.pipeline()?.inspector?.names.stats;
  new Counter({
    name: "egressd_dns_names_learned_total",
    help: "Names learned from DNS answers into the passive DNS table",
    registers,
    collect() {
      setTotal(this, names()?.learned ?? 0);
    },
  });
  new Counter({
    name: "egressd_dns_names_evicted_total",
    help: "Passive DNS entries pushed out because the table was full",
    registers,
    collect() {
      setTotal(this, names()?.evictions ?? 0);
    },
  });
  new Counter({
    name: "egressd_dns_names_expired_total",
    help: "Passive DNS entries dropped because their (bounded) TTL passed",
    registers,
    collect() {
      setTotal(this, names()?.expired ?? 0);
    },
  });

  // --- GeoIP -------------------------------------------------------------------
  new Counter({
    name: "egressd_geoip_lookups_total",
    help: "Addresses looked up in the GeoIP/ASN databases (both ends of each new flow)",
    registers,
    collect() {
      setTotal(this, view.geoip()?.lookups ?? 0);
    },
  });
  new Gauge({
    name: "egressd_geoip_database_build_timestamp_seconds",
    help: "When each GeoIP/ASN database answering lookups was built",
    labelNames: ["database", "kind", "path"],
    registers,
    collect() {
      this.reset();
      for (const d of view.geoip()?.databases() ?? [])
        this.set({ database: d.name, kind: d.kind, path: d.path }, d.buildTime.getTime() / 1000);
    },
  });
  new Gauge({
    name: "egressd_geoip_database_stale",
    help: "1 when the database was built longer ago than geoip.max_age_days: update it",
    labelNames: ["database", "kind", "path"],
    registers,
    collect() {
      this.reset();
      const geoip = view.geoip();
      if (geoip === null) return;
      const stale = new Set(geoip.stale(new Date()).map((d) => d.path));
      for (const d of geoip.databases())
        this.set({ database: d.name, kind: d.kind, path: d.path }, stale.has(d.path) ? 1 : 0);
    },
  });

  // --- the inventory -----------------------------------------------------------
  new Gauge({
    name: "egressd_inventory_devices",
    help: "Devices in the inventory now",
    registers,
    collect() {
      this.set(view.inventory().stats.devices);
    },
  });
  new Counter({
    name: "egressd_inventory_devices_learned_total",
    help: "Devices seen for the first time since start (not counting those loaded from the store)",
    registers,
    collect() {
      setTotal(this, view.inventory().stats.learned);
    },
  });
  new Counter({
    name: "egressd_inventory_devices_evicted_total",
    help: "Devices pushed out since start because the inventory was full (devices.max_devices)",
    registers,
    collect() {
      setTotal(this, view.inventory().stats.evicted);
    },
  });

  // The device list is read once per scrape for both gauges below (it is a walk over the
  // whole inventory: never on the packet path, and not twice per scrape).
  let snapshot: { at: number; devices: InventoryCounts } | null = null;
  const inventoryCounts = (): InventoryCounts => {
    const now = Date.now();
    if (snapshot === null || now - snapshot.at > 1000)
      snapshot = { at: now, devices: countInventory(view) };
    return snapshot.devices;
  };
  new Gauge({
    name: "egressd_inventory_devices_by_maker",
    help: `Devices in the inventory by maker, group and role (the phase-out view); the top ${INVENTORY_LABEL_CAPS.maker} makers, ${INVENTORY_LABEL_CAPS.group} groups and ${INVENTORY_LABEL_CAPS.role} roles by device count, the rest under "other"`,
    labelNames: ["maker", "group", "role"],
    registers,
    collect() {
      this.reset();
      for (const [key, n] of inventoryCounts().byKind) {
        const [maker, group, role] = key.split("\n") as [string, string, string];
        this.set({ maker, group, role }, n);
      }
    },
  });
  new Gauge({
    name: "egressd_inventory_internet_devices",
    help: "Devices in the inventory that opened connections to internet addresses: outcome=established (at least one answered), outcome=attempted (none ever answered)",
    labelNames: ["outcome"],
    registers,
    collect() {
      const c = inventoryCounts();
      this.set({ outcome: "established" }, c.internetEstablished);
      this.set({ outcome: "attempted" }, c.internetAttemptedOnly);
    },
  });

  // --- config reloads ------------------------------------------------------------
  new Gauge({
    name: "egressd_config_reload_success",
    help: "1 when the last config reload succeeded (or none was tried), 0 when it failed and the previous config still runs",
    registers,
    collect() {
      const r = view.configReloads();
      this.set(r.lastMs === 0 || r.lastOk ? 1 : 0);
    },
  });
  new Gauge({
    name: "egressd_config_last_reload_timestamp_seconds",
    help: "Wall-clock time of the last config reload attempt (0: none yet)",
    registers,
    collect() {
      this.set(view.configReloads().lastMs / 1000);
    },
  });
  new Counter({
    name: "egressd_config_reloads_total",
    help: "Config reloads by result",
    labelNames: ["result"],
    registers,
    collect() {
      const r = view.configReloads();
      setCounter(this, [
        [{ result: "success" }, r.success],
        [{ result: "failure" }, r.failure],
      ]);
    },
  });
}

interface InventoryCounts {
  /** "maker\ngroup\nrole" -> devices, label values already capped. */
  byKind: Map<string, number>;
  internetEstablished: number;
  internetAttemptedOnly: number;
}

/** Counts the inventory's devices by maker, group and role, each capped to its top values. */
function countInventory(view: DaemonView): InventoryCounts {
  const devices = view.inventory().devices();
  const kinds = devices.map((d) => ({
    maker: d.maker ?? UNKNOWN_MAKER,
    group: d.group ?? NO_GROUP,
    role: d.role ?? NO_GROUP,
  }));
  const keep = {
    maker: topValues(
      kinds.map((k) => k.maker),
      INVENTORY_LABEL_CAPS.maker,
    ),
    group: topValues(
      kinds.map((k) => k.group),
      INVENTORY_LABEL_CAPS.group,
    ),
    role: topValues(
      kinds.map((k) => k.role),
      INVENTORY_LABEL_CAPS.role,
    ),
  };
  const capped = (value: string, top: Set<string>) => (top.has(value) ? value : "other");
  const byKind = new Map<string, number>();
  for (const k of kinds) {
    const key = [
      capped(k.maker, keep.maker),
      capped(k.group, keep.group),
      capped(k.role, keep.role),
    ].join("\n");
    byKind.set(key, (byKind.get(key) ?? 0) + 1);
  }
  let internetEstablished = 0;
  let internetAttemptedOnly = 0;
  for (const d of devices) {
    if (d.internet.established > 0) internetEstablished++;
    else if (d.internet.attempted > 0) internetAttemptedOnly++;
  }
  return { byKind, internetEstablished, internetAttemptedOnly };
}

/** The `n` most frequent values (ties by name, so the choice is stable). */
function topValues(values: string[], n: number): Set<string> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return new Set(ranked.slice(0, n).map(([v]) => v));
}
