import { type ChangeWatchOptions, DEFAULT_CHANGE_WATCH } from "../../inventory/change-watch.js";
import { DEVICE_ROLES } from "../../inventory/groups.js";
import { cidr, duration, formatDuration, mac, oui, path } from "../kinds.js";
import {
  array,
  field,
  type Infer,
  integer,
  object,
  optional,
  required,
  string,
} from "../schema.js";

const NAME = /^[a-z0-9_-]+$/;
const NAME_TEXT = 'a name of lowercase letters, digits, "_" and "-" (like "cameras")';

export { DEVICE_ROLES };

export const deviceGroupSchema = object(
  {
    name: required(
      string({ pattern: NAME, patternText: NAME_TEXT, maxLength: 64 }),
      "Group name, unique, used in rules and alerts.",
    ),
    role: required(
      // A fixed list: a typo ("camra") must fail here, not make a rule silently never match.
      string({ enum: DEVICE_ROLES }),
      `What the devices are: ${DEVICE_ROLES.join(", ")}.`,
    ),
    description: optional(string(), "Free text for people reading alerts."),
    cidrs: field(array(cidr(), { expected: "a list of networks" }), "Device addresses."),
    macs: field(array(mac(), { expected: "a list of MAC addresses" }), "Device MAC addresses."),
    ouis: field(
      array(oui(), { expected: "a list of OUIs" }),
      "MAC vendor prefixes (44:19:B6 is Hikvision).",
    ),
    vlans: field(
      array(integer({ min: 0, max: 4095 }), { expected: "a list of VLAN ids" }),
      "802.1Q VLAN ids the devices' traffic is tagged with.",
    ),
  },
  {
    description:
      "A device group. A device joins the first group all of whose declared selector kinds match, like a firewall rule: its address in one of the cidrs, AND its MAC in macs or ouis, AND its VLAN in vlans (any entry within a kind).",
    atLeastOneOf: { keys: ["cidrs", "macs", "ouis", "vlans"], what: "selector" },
  },
);

export type DeviceGroupConfig = Infer<typeof deviceGroupSchema>;

export const devicesSection = object({
  max_devices: field(
    integer({ min: 1 }),
    "Bound on remembered devices; beyond it the longest-unseen device is evicted.",
    { default: 100_000 },
  ),
  store: field(
    path(),
    "SQLite file for the device inventory. The default is relative to the working directory; a path written here is relative to this file's folder.",
    { default: "data/egressd.db" },
  ),
  change_after_update: field(
    object({
      quiet: field(
        duration({ min: 1 }),
        "Silence after an update that counts as the device going away (a reboot).",
        { default: formatDuration(DEFAULT_CHANGE_WATCH.quietSeconds) },
      ),
      update_bytes: field(
        integer({ min: 1 }),
        "Bytes in to a device in one flow that count as an update; a firmware image in an HTTP body counts whatever its size.",
        { default: DEFAULT_CHANGE_WATCH.updateBytes },
      ),
    }),
    "device_changed_after_update: a device that received an update, went quiet and came back with another TLS fingerprint (JA4), User-Agent, DHCP vendor class or HTTP Server banner.",
  ),
  groups: field(
    array(deviceGroupSchema, {
      expected: "a list of groups",
      unique: { key: "name", what: "group name" },
    }),
    "Device groups; the first group that matches a device wins.",
  ),
});

export type DevicesConfig = Infer<typeof devicesSection>;

/** The firmware-change heuristic's options from the config's devices section. */
export function changeWatchOptions(devices: DevicesConfig): Partial<ChangeWatchOptions> {
  return {
    quietSeconds: devices.change_after_update.quiet,
    updateBytes: devices.change_after_update.update_bytes,
    maxDevices: devices.max_devices,
  };
}
