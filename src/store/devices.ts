/**
 * The inventory's rows in egressd's database: one row per device (the full DeviceView as
 * JSON, with the columns people query copied out), and the eviction count in `meta`.
 */

import type { DeviceView } from "../inventory/device.js";
import type { InventoryStore } from "../inventory/inventory.js";
import { type Database, openDatabase, type Statement, StoreError } from "./sqlite.js";

const EVICTED_KEY = "inventory_evicted_total";

export class SqliteDeviceStore implements InventoryStore {
  private readonly upsert: Statement | null;
  private readonly remove: Statement | null;
  private readonly setMeta: Statement | null;

  private constructor(
    private readonly db: Database,
    readonly path: string,
    readonly readonly: boolean,
  ) {
    this.upsert = readonly
      ? null
      : db.prepare(
          `INSERT INTO devices (id, mac, maker, device_group, role, first_seen, last_seen, record)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET mac = excluded.mac, maker = excluded.maker,
             device_group = excluded.device_group, role = excluded.role,
             first_seen = excluded.first_seen, last_seen = excluded.last_seen,
             record = excluded.record`,
        );
    this.remove = readonly ? null : db.prepare("DELETE FROM devices WHERE id = ?");
    this.setMeta = readonly
      ? null
      : db.prepare(
          "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        );
  }

  /** Opens (creating when writable) the inventory in egressd's database at `path`. */
  static open(path: string, options: { readonly?: boolean } = {}): SqliteDeviceStore {
    const readonly = options.readonly === true;
    return new SqliteDeviceStore(openDatabase(path, { readonly }), path, readonly);
  }

  load(): { devices: DeviceView[]; evictedTotal: number } {
    const rows = this.db.prepare("SELECT id, record FROM devices ORDER BY last_seen, id").all() as {
      id: string;
      record: string;
    }[];
    const devices = rows.map((r) => {
      try {
        return JSON.parse(r.record) as DeviceView;
      } catch (err) {
        throw new StoreError(
          this.path,
          `${this.path}: device row ${JSON.stringify(r.id)} is damaged: ${(err as Error).message}`,
        );
      }
    });
    const meta = this.db.prepare("SELECT value FROM meta WHERE key = ?").get(EVICTED_KEY) as
      | { value: string }
      | undefined;
    return { devices, evictedTotal: meta === undefined ? 0 : Number(meta.value) || 0 };
  }

  save(changed: DeviceView[], removed: string[], evictedTotal: number): void {
    if (this.upsert === null || this.remove === null || this.setMeta === null)
      throw new StoreError(this.path, `${this.path}: opened read-only, cannot save`);
    const upsert = this.upsert;
    const remove = this.remove;
    const setMeta = this.setMeta;
    this.db.transaction(() => {
      for (const id of removed) remove.run(id);
      for (const d of changed) {
        upsert.run(
          d.id,
          d.mac ?? null,
          d.maker ?? null,
          d.group ?? null,
          d.role ?? null,
          d.first_seen,
          d.last_seen,
          JSON.stringify(d),
        );
      }
      setMeta.run(EVICTED_KEY, String(evictedTotal));
    })();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
