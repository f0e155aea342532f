/**
 * The inventory as `egressd replay --inventory PATH` and the daemon use it: loaded from
 * egressd's database at start, saved by the caller (periodically and at exit) with
 * inventory.save(), closed with inventory.close().
 */

import { SqliteDeviceStore } from "../store/devices.js";
import type { InventoryLimits } from "./device.js";
import type { DeviceGroups } from "./groups.js";
import { Inventory, type IsLocal } from "./inventory.js";

export interface OpenInventoryOptions {
  dbPath: string;
  maxDevices: number;
  groups: DeviceGroups;
  isLocal: IsLocal;
  limits?: Partial<InventoryLimits>;
}

/** Throws StoreError (src/store/sqlite.ts) when the file is not an egressd database. */
export function openInventory(options: OpenInventoryOptions): Inventory {
  const store = SqliteDeviceStore.open(options.dbPath);
  try {
    return new Inventory({
      maxDevices: options.maxDevices,
      groups: options.groups,
      isLocal: options.isLocal,
      limits: options.limits ?? {},
      store,
    });
  } catch (err) {
    store.close();
    throw err;
  }
}
