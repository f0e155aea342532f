/**
 * Folding repeats. The first alert for a dedup key (rule, device, destination) goes out
 * at once; repeats within the rule's cooldown are counted, not sent. The next alert after
 * the cooldown carries the count and the first and last repeat times; if none comes, a
 * summary of the repeats goes out when the cooldown ends. Time is packet time, so a
 * replay folds the same way every time.
 *
 * The table is bounded (maxKeys, least recently seen evicted); an evicted key with
 * repeats still owed hands them out as a summary first, so no repeat is lost silently.
 * Entries are marked dirty for the store to persist (src/alert/store.ts), so the fold
 * state survives a restart.
 */

export interface DedupEntry {
  key: string;
  ruleId: string;
  cooldownMs: number;
  /** Packet time (ms) the last alert for this key went out. */
  sentMs: number;
  /** Repeats folded since then. */
  folded: number;
  firstFoldedMs: number;
  lastFoldedMs: number;
  /**
   * The last folded alert, to build the summary from: the record itself in memory (a
   * storm folds thousands a second; turning each into JSON would cost more than the rest
   * of the path), its JSON text once saved or restored.
   */
  pending: Record<string, unknown> | string | null;
}

/** What a sent alert or a summary reports about the repeats it stands for. */
export interface Repeats {
  count: number;
  firstMs: number;
  lastMs: number;
}

export interface DedupOptions {
  maxKeys: number;
}

export class AlertDedup {
  private readonly entries = new Map<string, DedupEntry>();
  private readonly dirty = new Set<string>();
  /** Keys pushed out by maxKeys. */
  evictions = 0;
  /** Alerts folded into a count instead of being sent. */
  folded = 0;

  constructor(private readonly options: DedupOptions) {}

  get size(): number {
    return this.entries.size;
  }

  /** State read back from the store at start. */
  restore(entries: Iterable<DedupEntry>): void {
    for (const e of entries) this.entries.set(e.key, e);
  }

  /** True when an alert for `key` at `nowMs` is a repeat within the cooldown. */
  isRepeat(key: string, nowMs: number): boolean {
    const e = this.entries.get(key);
    // Cooldown 0 sends every repeat, even when interfaces deliver a little out of order.
    return e !== undefined && e.cooldownMs > 0 && nowMs - e.sentMs < e.cooldownMs;
  }

  /** Counts a repeat (the caller checked isRepeat). */
  fold(key: string, nowMs: number, record: Record<string, unknown> | string): void {
    const e = this.entries.get(key)!;
    if (e.folded === 0) e.firstFoldedMs = nowMs;
    e.folded++;
    e.lastFoldedMs = Math.max(e.lastFoldedMs, nowMs);
    e.pending = record;
    this.folded++;
    this.touch(e);
  }

  /**
   * The alert for `key` goes out now: returns the repeats it carries (folded since the
   * last one), and starts a new cooldown. Keys beyond maxKeys are evicted: their owed
   * repeats come back through `evicted`.
   */
  sent(key: string, ruleId: string, cooldownMs: number, nowMs: number, evicted: DedupEntry[]) {
    const e = this.entries.get(key);
    const repeats: Repeats | null =
      e !== undefined && e.folded > 0
        ? { count: e.folded, firstMs: e.firstFoldedMs, lastMs: e.lastFoldedMs }
        : null;
    const next: DedupEntry = {
      key,
      ruleId,
      cooldownMs,
      sentMs: nowMs,
      folded: 0,
      firstFoldedMs: 0,
      lastFoldedMs: 0,
      pending: null,
    };
    this.entries.delete(key);
    this.entries.set(key, next);
    this.dirty.add(key);
    while (this.entries.size > this.options.maxKeys) {
      const oldest = this.entries.values().next().value as DedupEntry;
      this.entries.delete(oldest.key);
      this.dirty.add(oldest.key);
      this.evictions++;
      if (oldest.folded > 0) evicted.push(oldest);
    }
    return repeats;
  }

  /**
   * Keys whose cooldown ended with repeats owed (`all`: every key with repeats owed, at
   * the end of a run): each is handed out once for a summary and starts a new cooldown at
   * `nowMs` (so a steady repeat gives one summary per cooldown, not one per repeat).
   * `nowMs` must be a real packet time: it is stored as the key's last send.
   */
  due(nowMs: number, all = false): DedupEntry[] {
    const out: DedupEntry[] = [];
    for (const e of this.entries.values()) {
      if (e.folded > 0 && (all || nowMs - e.sentMs >= e.cooldownMs)) out.push({ ...e });
    }
    for (const e of out) {
      const live = this.entries.get(e.key)!;
      live.sentMs = nowMs;
      live.folded = 0;
      live.pending = null;
      this.dirty.add(e.key);
    }
    return out;
  }

  /** Entries changed since the last call (null: the key was evicted), for the store. */
  takeDirty(): { key: string; entry: DedupEntry | null }[] {
    const out = [...this.dirty].map((key) => ({ key, entry: this.entries.get(key) ?? null }));
    this.dirty.clear();
    return out;
  }

  /** The entry as it is now (to put back with putBack() if storing the alert fails). */
  snapshot(key: string): DedupEntry | null {
    const e = this.entries.get(key);
    return e === undefined ? null : { ...e };
  }

  /** Puts a key back as snapshot() saw it (null: the key was not there). */
  putBack(key: string, entry: DedupEntry | null): void {
    if (entry === null) this.entries.delete(key);
    else this.entries.set(key, entry);
    this.dirty.add(key);
  }

  /** Marks keys changed again (their save failed). */
  markDirty(keys: Iterable<string>): void {
    for (const k of keys) this.dirty.add(k);
  }

  /** Forgets what changed (nothing saves it: no store). */
  clearDirty(): void {
    this.dirty.clear();
  }

  /** One key's change (the alert going out with it), leaving the rest for takeDirty(). */
  takeDirtyKey(key: string): { key: string; entry: DedupEntry | null }[] {
    if (!this.dirty.delete(key)) return [];
    return [{ key, entry: this.entries.get(key) ?? null }];
  }

  private touch(e: DedupEntry): void {
    // Map order is recency order: re-inserting moves the key to the young end.
    this.entries.delete(e.key);
    this.entries.set(e.key, e);
    this.dirty.add(e.key);
  }
}
