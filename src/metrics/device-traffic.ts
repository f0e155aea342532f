/**
 * Per-device internet traffic for Prometheus, with a hard cap on series: bytes each local
 * device sent to internet addresses, the connections it opened to them by destination
 * country, those connections by outcome (did the other side answer?) and by destination
 * network (AS). The daemon calls record() once per flow record (flow ends and
 * active-timeout reports), never per packet.
 *
 * Only the top N devices (by bytes, or by connections) and the top M countries get series
 * of their own; the rest is summed under device="other" / country="other". Cardinality is
 * then at most N+1 series of bytes and (N+1) x (M+1) of connections.
 *
 * Counters must never go down, even as devices move in and out of the top N. So each
 * record's counts go, when recorded, to exactly one series (the device's own if it is in
 * the top set then, else "other"), and a series' value is only ever added to:
 *  - the top sets are chosen again at each scrape, from the running totals; between
 *    scrapes a device (or country) joins at once while its set has a free slot;
 *  - a device's own series counts what it sent while it was in the top set (a newcomer's
 *    series starts at 0: what it sent before is in "other"), so rate() is right for every
 *    series, but a device's series is not its lifetime total;
 *  - a device that drops out of the top set loses its series (it goes stale); if it comes
 *    back, the series continues from where it stopped (a device that joined a free slot
 *    and left before any scrape showed it gives its counts back to "other" instead);
 *  - so sum() over the series equals all traffic until a device shown at a scrape drops
 *    out (its count then hides until it returns); sum(rate()) stays right.
 * Memory is bounded too: at most maxTracked devices are followed; beyond that the smallest
 * (those never exported first) are forgotten and counted. A forgotten device that later
 * reaches the top starts its series again from 0 (Prometheus reads that as a reset).
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { Flow } from "../flow/flow.js";
import { flowOutcome } from "../flow/outcome.js";
import { setCounter } from "./registry.js";

export interface DeviceTrafficOptions {
  /** Devices with series of their own. Default 20. */
  topDevices?: number;
  /** Countries with series of their own (in egressd_device_internet_connections_total). Default 10. */
  topCountries?: number;
  /** Devices followed at most (must be above topDevices). Default 10 000. */
  maxTracked?: number;
  /** Destination networks (AS) with series of their own. Default 10. */
  topNetworks?: number;
}

/** How an internet connection went: the dashboard's "attempted vs established". */
export const INTERNET_OUTCOMES = ["attempted", "established", "rejected"] as const;
/** The AS label of an internet address no ASN database placed. */
export const UNKNOWN_NETWORK = "unknown";

export const OTHER = "other";
/** The country label of an internet address no database placed. */
export const UNKNOWN_COUNTRY = "unknown";

interface Tracked {
  id: string;
  group: string;
  /** Running totals, for ranking. */
  bytes: number;
  connections: number;
  /** What went to the device's own series, per metric. */
  ownBytes: number;
  ownConnections: Map<string, number>;
  /** Whether a scrape has shown the device's own series, per metric. */
  shownBytes: boolean;
  shownConnections: boolean;
}

export class DeviceTraffic {
  readonly topDevices: number;
  readonly topCountries: number;
  readonly maxTracked: number;
  readonly topNetworks: number;
  /** Devices forgotten because more than maxTracked were followed. */
  evicted = 0;
  private readonly tracked = new Map<string, Tracked>();
  private readonly countryTotals = new Map<string, number>();
  /** The current top sets, chosen at each scrape. */
  private byBytes = new Set<string>();
  private byConnections = new Set<string>();
  private countries = new Set<string>();
  /** Countries a scrape has shown as labels of their own. */
  private readonly shownCountries = new Set<string>();
  /** What went to device="other". */
  private otherBytes = 0;
  private readonly otherConnections = new Map<string, number>();
  /** Connections to the internet by outcome (INTERNET_OUTCOMES). */
  private readonly outcomes = new Map<string, number>(INTERNET_OUTCOMES.map((o) => [o, 0]));
  /** Connections by destination AS number, with the top ones ranked (bounded). */
  private readonly networks: TopCounts;
  /** The organisation name of each ranked AS (first seen wins; as bounded as `networks`). */
  private readonly networkNames = new Map<string, string>();

  constructor(options: DeviceTrafficOptions = {}) {
    this.topDevices = options.topDevices ?? 20;
    this.topCountries = options.topCountries ?? 10;
    this.maxTracked = options.maxTracked ?? 10_000;
    this.topNetworks = options.topNetworks ?? 10;
    for (const [name, v] of [
      ["topDevices", this.topDevices],
      ["topCountries", this.topCountries],
      ["topNetworks", this.topNetworks],
    ] as const) {
      if (!Number.isInteger(v) || v < 0)
        throw new Error(`${name} must be an integer >= 0, got ${v}`);
    }
    if (!Number.isInteger(this.maxTracked) || this.maxTracked <= this.topDevices)
      throw new Error(
        `maxTracked must be an integer above topDevices (${this.topDevices}), got ${this.maxTracked}`,
      );
    this.networks = new TopCounts(this.topNetworks, this.maxTracked);
  }

  /** One flow record: its byte counts are this record's (an active timeout reports a part). */
  record(flow: Flow): void {
    const dst = flow.dstGeo;
    if (flow.srcDevice !== null && dst !== null && dst.scope === "internet") {
      const t = this.track(flow.srcDevice.id, flow.srcDevice.group);
      this.addBytes(t, flow.srcBytes);
      // A flow counts once as a connection: not again in the records that continue it.
      if (!flow.continued) {
        this.addConnection(t, dst.countryIso ?? UNKNOWN_COUNTRY);
        addTo(this.outcomes, internetOutcome(flow), 1);
        const asn = dst.asNumber === undefined ? UNKNOWN_NETWORK : String(dst.asNumber);
        if (this.networks.add(asn) && !this.networkNames.has(asn))
          this.networkNames.set(asn, dst.asOrganization ?? "");
      }
    }
    // Flows the internet opened to a device: what the device answered was sent out too.
    if (flow.dstDevice !== null && flow.srcGeo?.scope === "internet") {
      this.addBytes(this.track(flow.dstDevice.id, flow.dstDevice.group), flow.dstBytes);
    }
  }

  /** Devices followed now. */
  get trackedDevices(): number {
    return this.tracked.size;
  }

  /** Registers the series in `registry`; they are computed at each scrape. */
  register(registry: Registry): void {
    const registers = [registry];
    const self = this;
    new Counter({
      name: "egressd_device_internet_bytes_sent_total",
      help: `IP bytes local devices sent to internet addresses, for the top ${this.topDevices} devices by bytes (counted from when each entered the top) and device="other" for the rest`,
      labelNames: ["device", "group"],
      registers,
      collect() {
        self.byBytes = self.rechoose(
          self.byBytes,
          (t) => t.bytes,
          (t) => {
            if (t.shownBytes) return;
            self.otherBytes += t.ownBytes;
            t.ownBytes = 0;
          },
        );
        const totals: [Record<string, string>, number][] = [];
        for (const id of self.byBytes) {
          const t = self.tracked.get(id)!;
          t.shownBytes = true;
          totals.push([{ device: id, group: t.group }, t.ownBytes]);
        }
        totals.push([{ device: OTHER, group: "" }, self.otherBytes]);
        setCounter(this, totals);
      },
    });
    new Counter({
      name: "egressd_device_internet_connections_total",
      help: `Connections local devices opened to internet addresses, by destination country: the top ${this.topDevices} devices by connections and top ${this.topCountries} countries, the rest under "other"`,
      labelNames: ["device", "country"],
      registers,
      collect() {
        self.byConnections = self.rechoose(
          self.byConnections,
          (t) => t.connections,
          (t) => {
            if (t.shownConnections) return;
            for (const [label, n] of t.ownConnections) addTo(self.otherConnections, label, n);
            t.ownConnections.clear();
          },
        );
        const countries = self.topCountrySet();
        for (const c of self.countries) {
          if (!countries.has(c) && !self.shownCountries.has(c)) self.foldCountry(c);
        }
        self.countries = countries;
        for (const c of countries) self.shownCountries.add(c);
        const totals: [Record<string, string>, number][] = [];
        const add = (device: string, perCountry: Map<string, number>) => {
          // Countries that left the top M keep their counts, unexported, for when they return.
          for (const [country, n] of perCountry) {
            if (country === OTHER || self.countries.has(country))
              totals.push([{ device, country }, n]);
          }
        };
        for (const id of self.byConnections) {
          const t = self.tracked.get(id)!;
          t.shownConnections = true;
          add(id, t.ownConnections);
        }
        add(OTHER, self.otherConnections);
        setCounter(this, totals);
      },
    });
    new Counter({
      name: "egressd_internet_connections_total",
      help: "Connections local devices opened to internet addresses, by outcome when first reported: established (the other side answered), rejected (refused by RST or ICMP) or attempted (no answer)",
      labelNames: ["outcome"],
      registers,
      collect() {
        setCounter(
          this,
          [...self.outcomes].map(([outcome, n]) => [{ outcome }, n]),
        );
      },
    });
    new Counter({
      name: "egressd_internet_network_connections_total",
      help: `Connections local devices opened to internet addresses, by destination network (AS): the top ${this.topNetworks} networks, the rest under as_number="other"`,
      labelNames: ["as_number", "as_organization"],
      registers,
      collect() {
        setCounter(
          this,
          self.networks
            .collect()
            .map(([asn, n]) => [
              { as_number: asn, as_organization: self.networkNames.get(asn) ?? "" },
              n,
            ]),
        );
      },
    });
    new Gauge({
      name: "egressd_device_internet_tracked_devices",
      help: "Devices whose internet traffic is followed for the per-device series (bounded)",
      registers,
      collect() {
        this.set(self.tracked.size);
      },
    });
    new Counter({
      name: "egressd_device_internet_evicted_total",
      help: "Devices forgotten by the per-device internet accounting because too many were followed",
      registers,
      collect() {
        this.reset();
        this.inc(self.evicted);
      },
    });
  }

  private track(id: string, group: string | undefined): Tracked {
    let t = this.tracked.get(id);
    if (t === undefined) {
      t = {
        id,
        group: "",
        bytes: 0,
        connections: 0,
        ownBytes: 0,
        ownConnections: new Map(),
        shownBytes: false,
        shownConnections: false,
      };
      this.tracked.set(id, t);
      if (this.tracked.size > this.maxTracked) this.forgetSmallest(t);
    }
    t.group = group ?? "";
    return t;
  }

  private addBytes(t: Tracked, n: number): void {
    if (n <= 0) return;
    t.bytes += n;
    if (joins(this.byBytes, t.id, this.topDevices)) t.ownBytes += n;
    else this.otherBytes += n;
  }

  private addConnection(t: Tracked, country: string): void {
    t.connections++;
    this.countryTotals.set(country, (this.countryTotals.get(country) ?? 0) + 1);
    const label = joins(this.countries, country, this.topCountries) ? country : OTHER;
    const into = joins(this.byConnections, t.id, this.topDevices)
      ? t.ownConnections
      : this.otherConnections;
    addTo(into, label, 1);
  }

  /**
   * The top devices by `score` (ties by id, so equal scores give the same set each time).
   * Each device that leaves the set is handed to `leaving`: one whose series no scrape has
   * shown (it joined a free slot since the last scrape) gives its counts back to "other",
   * which no one saw go down; one already shown keeps them, so its series can continue.
   */
  private rechoose(
    current: Set<string>,
    score: (t: Tracked) => number,
    leaving: (t: Tracked) => void,
  ): Set<string> {
    const all = [...this.tracked.values()].filter((t) => score(t) > 0);
    all.sort((a, b) => score(b) - score(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const next = new Set(all.slice(0, this.topDevices).map((t) => t.id));
    for (const id of current) {
      const t = this.tracked.get(id);
      if (t !== undefined && !next.has(id)) leaving(t);
    }
    return next;
  }

  /**
   * A country leaves the top M before any scrape showed it (it joined a free slot): its
   * connections, never seen under its own label, go to each device's "other".
   */
  private foldCountry(country: string): void {
    for (const perCountry of [
      this.otherConnections,
      ...[...this.tracked.values()].map((t) => t.ownConnections),
    ]) {
      const n = perCountry.get(country);
      if (n === undefined) continue;
      perCountry.delete(country);
      addTo(perCountry, OTHER, n);
    }
  }

  private topCountrySet(): Set<string> {
    const all = [...this.countryTotals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return new Set(all.slice(0, this.topCountries).map(([c]) => c));
  }

  /**
   * Forgets a tenth of the devices (at least one), never one in a top set now nor `keep`
   * (the device just added): first those that never had a series of their own, smallest
   * first. Batches keep this sort off the per-record path most of the time.
   */
  private forgetSmallest(keep: Tracked): void {
    const exported = (t: Tracked) => (t.shownBytes || t.shownConnections ? 1 : 0);
    const candidates = [...this.tracked.values()].filter(
      (t) => t !== keep && !this.byBytes.has(t.id) && !this.byConnections.has(t.id),
    );
    candidates.sort((a, b) => exported(a) - exported(b) || a.bytes - b.bytes);
    const n = Math.max(1, Math.floor(this.maxTracked / 10));
    for (const t of candidates.slice(0, n)) this.tracked.delete(t.id);
    this.evicted += Math.min(n, candidates.length);
  }
}

/** attempted / established / rejected, from the record's outcome (src/flow/outcome.ts). */
function internetOutcome(flow: Flow): (typeof INTERNET_OUTCOMES)[number] {
  const outcome = flowOutcome(flow);
  if (outcome === "attempted" || outcome === "rejected") return outcome;
  return "established"; // established, midstream, closed, reset: the other side answered
}

/**
 * Counts by key, exported as the top `slots` keys by count plus "other", with the same
 * never-go-down rules as the device series above: each count goes, when added, to the
 * key's own series if the key is in the top set then (joining a free slot at once), else
 * to "other"; the top set is chosen again at each collect(); a key that leaves it before
 * any collect() showed it gives its count back to "other"; one already shown keeps its
 * count, unexported, for when it returns. At most `maxKeys` keys are ranked: once full,
 * new keys count under "other" only.
 */
export class TopCounts {
  private readonly totals = new Map<string, number>();
  private readonly own = new Map<string, number>();
  private readonly shown = new Set<string>();
  private top = new Set<string>();
  private other = 0;

  constructor(
    private readonly slots: number,
    private readonly maxKeys: number,
  ) {}

  /** Counts one for `key`; true when the key is ranked (its own series may show it). */
  add(key: string): boolean {
    let total = this.totals.get(key);
    if (total === undefined) {
      if (this.totals.size >= this.maxKeys) {
        this.other++;
        return false;
      }
      total = 0;
    }
    this.totals.set(key, total + 1);
    if (joins(this.top, key, this.slots)) addTo(this.own, key, 1);
    else this.other++;
    return true;
  }

  /** Chooses the top set again; returns each top key's series and "other". */
  collect(): [string, number][] {
    const ranked = [...this.totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const next = new Set(ranked.slice(0, this.slots).map(([k]) => k));
    for (const key of this.top) {
      if (next.has(key) || this.shown.has(key)) continue;
      this.other += this.own.get(key) ?? 0;
      this.own.delete(key);
    }
    this.top = next;
    const out: [string, number][] = [];
    for (const key of next) {
      this.shown.add(key);
      out.push([key, this.own.get(key) ?? 0]);
    }
    out.push([OTHER, this.other]);
    return out;
  }
}

/**
 * Whether `key` is in the top set, joining it now if the set has a free slot: with no
 * more devices (or countries) than slots, every one is counted under its own label from
 * its first record instead of only from the next scrape.
 */
function joins(set: Set<string>, key: string, slots: number): boolean {
  if (set.has(key)) return true;
  if (set.size >= slots) return false;
  set.add(key);
  return true;
}

function addTo(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}
