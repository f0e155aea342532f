export { isPrivateAddress } from "./addresses.js";
export type {
  AddressView,
  ClaimView,
  DeviceSummary,
  DeviceView,
  DomainView,
  InventoryLimits,
} from "./device.js";
export { DEFAULT_LIMITS } from "./device.js";
export { type ClaimSource, chooseMaker, type MakerClaim } from "./fingerprints.js";
export { DEVICE_ROLES, type DeviceGroupSpec, DeviceGroups, GroupSpecError } from "./groups.js";
export {
  Inventory,
  type InventoryOptions,
  type InventoryStats,
  type InventoryStore,
  type IsLocal,
} from "./inventory.js";
export { type OpenInventoryOptions, openInventory } from "./open.js";
export { lookupOui, type OuiInfo } from "./oui.js";
export { VENDOR_CLOUDS_PATH, type VendorCloud, VendorClouds } from "./vendor-clouds.js";
