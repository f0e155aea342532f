/**
 * Passive DNS: which names each client resolved to which addresses, so a flow can be
 * named by what the device itself looked up ("camera 11 resolved
 * litedev.hik-connect.com and opened TLS to it"), not by a reverse lookup.
 *
 * Two bounded LRU maps (Map keeps insertion order; re-inserting moves an entry to the
 * end): per (client, address) and per address for any client. Entries live for the
 * record's TTL but at least `minTtlSeconds`: devices keep using an address well past a
 * short TTL, and a name that vanished after 30 s would turn their flows into
 * "hard-coded address" false positives.
 */

/** How a flow's destination name was learned. `none` on an internet address means hard-coded. */
export type NameSource = "dns" | "dns-other-client" | "sni" | "http" | "none";

export interface NameTableOptions {
  /** Bound on (client, address) entries; the global map has the same bound. */
  maxEntries: number;
  /** Lower bound on how long an answer is remembered, in seconds. */
  minTtlSeconds: number;
  /** Upper bound, so a 7-day TTL does not pin a stale name. */
  maxTtlSeconds: number;
}

export const DEFAULT_NAME_TABLE_OPTIONS: NameTableOptions = {
  maxEntries: 200_000,
  minTtlSeconds: 3600,
  maxTtlSeconds: 86_400,
};

interface NameEntry {
  name: string;
  expiresMs: number;
}

export interface NameLookup {
  name: string;
  source: "dns" | "dns-other-client";
}

export interface NameTableStats {
  learned: number;
  evictions: number;
  expired: number;
}

export class NameTable {
  private readonly byClient = new Map<string, NameEntry>();
  private readonly byAddress = new Map<string, NameEntry>();
  readonly stats: NameTableStats = { learned: 0, evictions: 0, expired: 0 };

  constructor(private readonly options: NameTableOptions = DEFAULT_NAME_TABLE_OPTIONS) {}

  /** Entries held per client (the figure bounded by maxEntries). */
  get size(): number {
    return this.byClient.size;
  }

  /** Most entries held (maxEntries): beyond it the oldest is evicted. */
  get capacity(): number {
    return this.options.maxEntries;
  }

  /** Records that `client` resolved `name` to `address` (from a DNS answer) at `nowMs`. */
  learn(client: string, address: string, name: string, ttlSeconds: number, nowMs: number): void {
    const ttl = Math.min(
      Math.max(ttlSeconds, this.options.minTtlSeconds),
      this.options.maxTtlSeconds,
    );
    const entry: NameEntry = { name, expiresMs: nowMs + ttl * 1000 };
    this.put(this.byClient, `${client}|${address}`, entry);
    this.put(this.byAddress, address, entry);
    this.stats.learned++;
  }

  /** The name `client` should know `address` by, preferring its own lookups. */
  lookup(client: string, address: string, nowMs: number): NameLookup | null {
    const own = this.get(this.byClient, `${client}|${address}`, nowMs);
    if (own !== null) return { name: own, source: "dns" };
    const other = this.get(this.byAddress, address, nowMs);
    if (other !== null) return { name: other, source: "dns-other-client" };
    return null;
  }

  private put(map: Map<string, NameEntry>, key: string, entry: NameEntry): void {
    if (map.has(key)) map.delete(key);
    else if (map.size >= this.options.maxEntries) {
      map.delete(map.keys().next().value as string);
      this.stats.evictions++;
    }
    map.set(key, entry);
  }

  private get(map: Map<string, NameEntry>, key: string, nowMs: number): string | null {
    const entry = map.get(key);
    if (entry === undefined) return null;
    if (entry.expiresMs < nowMs) {
      map.delete(key);
      this.stats.expired++;
      return null;
    }
    return entry.name;
  }
}
