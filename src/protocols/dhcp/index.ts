export { DHCP_FIXED_BYTES, dhcpMessageTypeName, looksLikeDhcp, parseDhcp } from "./parse.js";
export * from "./record.js";
