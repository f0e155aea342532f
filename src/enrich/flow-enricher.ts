import type { Flow } from "../flow/flow.js";
import type { FlowEndReason } from "../flow/table.js";
import { ChangeWatch, type ChangeWatchOptions } from "../inventory/change-watch.js";
import type { DeviceSummary, Inventory } from "../inventory/index.js";
import type { ChangeFacts } from "../rules/context.js";
import type { GeoIp } from "./geoip/index.js";

/**
 * What the enricher needs from the device inventory (src/inventory/): told of each flow
 * as it starts and as it is reported, so devices are learned from flows, not packets.
 */
export type FlowInventory = Pick<
  Inventory,
  "flowStarted" | "flowEnded" | "deviceFor" | "onDeviceLearned"
>;

/** Told of devices the inventory sees for the first time, with their group and role. */
export type DeviceLearned = (device: DeviceSummary, flow: Flow) => void;

/** Told of a device back from silence after an update with different fingerprints. */
export type DeviceChanged = (
  device: DeviceSummary,
  change: ChangeFacts,
  tsSec: number,
  tsNsec: number,
) => void;

/**
 * Per-flow enrichment, once when a flow starts: where each endpoint is (scope, country,
 * network owner) and which device it is. The answers are kept on the flow, so the flow
 * record, the protocol events and (later) the rules read them without another lookup.
 */
export class FlowEnricher {
  /** Ids the inventory learned while it looked at the current flow. */
  private readonly learned: string[] = [];
  deviceLearned: DeviceLearned | null = null;
  deviceChanged: DeviceChanged | null = null;
  /** The firmware-change heuristic, fed with the inventory's devices of each flow. */
  readonly changes: ChangeWatch | null;

  constructor(
    private readonly geoip: GeoIp | null,
    private readonly inventory: FlowInventory | null,
    changeWatch: Partial<ChangeWatchOptions> = {},
  ) {
    if (inventory !== null) inventory.onDeviceLearned = (id) => this.learned.push(id);
    this.changes =
      inventory === null
        ? null
        : new ChangeWatch(changeWatch, (mac) => inventory.deviceFor(0, 0, 0, 0, 0, mac));
  }

  flowStarted(flow: Flow): void {
    const geoip = this.geoip;
    if (geoip !== null) {
      flow.srcGeo = geoip.lookup(flow.ipVersion, flow.src0, flow.src1, flow.src2, flow.src3);
      flow.dstGeo = geoip.lookup(flow.ipVersion, flow.dst0, flow.dst1, flow.dst2, flow.dst3);
    }
    const inventory = this.inventory;
    if (inventory !== null) {
      inventory.flowStarted(flow);
      flow.srcDevice = inventory.deviceFor(
        flow.ipVersion,
        flow.src0,
        flow.src1,
        flow.src2,
        flow.src3,
        flow.srcMac,
      );
      flow.dstDevice = inventory.deviceFor(
        flow.ipVersion,
        flow.dst0,
        flow.dst1,
        flow.dst2,
        flow.dst3,
        flow.dstMac,
      );
      if (this.learned.length > 0) this.announceLearned(flow);
      this.changes?.flowStarted(flow);
    }
  }

  private announceLearned(flow: Flow): void {
    for (const device of [flow.srcDevice, flow.dstDevice]) {
      if (device !== null && this.learned.includes(device.id)) this.deviceLearned?.(device, flow);
    }
    this.learned.length = 0;
  }

  flowEnded(flow: Flow, reason: FlowEndReason): void {
    this.inventory?.flowEnded(flow, reason);
    if (this.changes !== null) {
      for (const c of this.changes.flowRecord(flow, reason !== "active_timeout")) {
        this.deviceChanged?.(c.device, c.change, c.tsSec, c.tsNsec);
      }
    }
    // Devices first seen by what a flow carried (a DHCP client's chaddr) are announced
    // when they first appear as a flow's endpoint; device_first_seen needs an address.
    this.learned.length = 0;
  }
}
