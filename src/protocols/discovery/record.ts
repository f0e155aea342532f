/**
 * The camera discovery / P2P record: which vendor protocol a UDP datagram speaks and the
 * identity fields it gives away (model, serial, MAC, firmware), from camera-indicators.md
 * sections 1 and 4. One record per recognised datagram; the fields are strings copied out
 * of the datagram with non-printable bytes escaped as `\xNN`.
 *
 * Hikvision ISUP/EHome (TCP/UDP 7660, 7661, 7662, 7663, 7665, 6011) has no recogniser here:
 * its payload is not documented well enough, so it is left to port rules.
 */

/** Anomalies a recogniser can attach to a record (the datagram is still recognised). */
export const DISCOVERY_ANOMALIES = [
  /** A DHIP header announces more JSON than the datagram holds. */
  "discovery_dhip_length_mismatch",
  /** The datagram was longer than the scan bound: fields after it were not read. */
  "discovery_scan_limit",
] as const;

export type DiscoveryAnomaly = (typeof DISCOVERY_ANOMALIES)[number];

export type DiscoveryProtocol =
  /** Hikvision Search Active Devices Protocol over UDP 37020 (XML Probe / ProbeMatch). */
  | "sadp"
  /** Dahua DHIP discovery, UDP 37810: a 32-byte "DHIP" header and JSON. */
  | "dhip"
  /** Dahua DVRIP discovery, UDP 5050 broadcast: binary. */
  | "dvrip"
  /** WS-Discovery (ONVIF cameras, also Windows devices), UDP 3702. */
  | "ws-discovery"
  /** Dahua P2P cloud traffic (Easy4IP rendezvous, inverted STUN, PTCP), usually UDP 8800. */
  | "dahua-p2p";

/** Whose protocol it is: "onvif" for standard WS-Discovery with ONVIF evidence, "unknown" for other WS-Discovery. */
export type DiscoveryVendor = "hikvision" | "dahua" | "onvif" | "unknown";

/**
 * What kind of datagram: "probe", "probe-match" (SADP); "search", "reply" (DHIP, DVRIP);
 * "probe", "probe-matches", "hello", "bye", "resolve", "resolve-matches" (WS-Discovery);
 * "http-request", "http-response", "inverted-stun", "ptcp" (Dahua P2P); "other".
 */
export type DiscoveryMessage =
  | "probe"
  | "probe-match"
  | "probe-matches"
  | "search"
  | "reply"
  | "hello"
  | "bye"
  | "resolve"
  | "resolve-matches"
  | "http-request"
  | "http-response"
  | "inverted-stun"
  | "ptcp"
  | "other";

export interface DiscoveryFields {
  /** Device model: SADP DeviceDescription, DHIP DeviceType, ONVIF hardware scope. */
  model?: string;
  /** Device class: SADP DeviceType (a numeric code), DHIP DeviceClass ("IPC", "NVR", "VTO"). */
  device_class?: string;
  /** Serial number: SADP DeviceSN, DHIP SerialNo, the SN in a Dahua P2P path. */
  serial?: string;
  /** MAC address as the device wrote it ("c0-56-e3-00-00-01", "3c:ef:8c:00:00:01"). */
  mac?: string;
  /** The device's own IPv4 address as it announces it (may differ from the packet's). */
  ipv4?: string;
  /** Firmware version: SADP SoftwareVersion, DHIP Version. */
  firmware_version?: string;
  /** OEM brand a Dahua device reports (DHIP Vendor: "Dahua", "Lorex", "General"...). */
  brand?: string;
  /** Host name (DVRIP reply) or ONVIF name scope ("HIKVISION"). */
  name?: string;
  /** ONVIF manufacturer scope (MfrName), when the device sends one. */
  manufacturer?: string;
  /** SADP activation state: an unactivated camera still has no password. */
  activated?: boolean;
  /** SADP Types ("inquiry"...), DHIP method ("DHDiscover.search"), P2P method ("DHGET"). */
  method?: string;
  /** WS-Discovery Types ("dn:NetworkVideoTransmitter"). */
  types?: string;
  /** WS-Discovery Scopes, percent-decoded, at most 32. */
  scopes?: string[];
  /** WS-Discovery XAddrs (service URLs), at most 32. */
  xaddrs?: string[];
  /** Dahua P2P request path ("/online/p2psrv/{SN}"). */
  uri?: string;
}

export interface DiscoveryRecord {
  protocol: DiscoveryProtocol;
  vendor: DiscoveryVendor;
  message: DiscoveryMessage;
  fields: DiscoveryFields;
  /** Set when the datagram was recognised but damaged or only partly read. */
  anomaly?: DiscoveryAnomaly;
}

export interface DiscoveryOptions {
  /** Bytes of a datagram that are looked at. Default 4096. */
  maxScanBytes?: number;
  /** Field values are cut to this many bytes. Default 256. */
  maxValueLength?: number;
}
