/**
 * MAC addresses as the flow table keeps them (48-bit numbers, exact in a double; -1 when
 * unknown) and as people write them.
 */

const TWO_40 = 2 ** 40;

/** First octet of a MAC number. */
function firstOctet(mac: number): number {
  return Math.floor(mac / TWO_40);
}

/** Group bit: multicast or broadcast, never one device. */
export function isGroupMac(mac: number): boolean {
  return (firstOctet(mac) & 0x01) !== 0;
}

/**
 * Locally administered bit: set by software, not the maker (phones' private Wi-Fi
 * addresses, VMs, containers, veth). Such a MAC says nothing about who built the device.
 */
export function isLocallyAdministered(mac: number): boolean {
  return (firstOctet(mac) & 0x02) !== 0;
}

/** The first `nibbles` hex digits of a MAC (6 for MA-L, 7 for MA-M, 9 for MA-S), uppercase. */
export function macPrefixHex(mac: number, nibbles: number): string {
  return mac.toString(16).toUpperCase().padStart(12, "0").slice(0, nibbles);
}

/** The first `bits` bits of a MAC as a number (24, 28 or 36). */
export function macPrefix(mac: number, bits: number): number {
  return Math.floor(mac / 2 ** (48 - bits));
}

/**
 * Hex digits of a MAC or prefix written any common way: "44:19:B6:00:00:01",
 * "44-19-b6-00-00-01", "4419.b600.0001", "4419B6000001"; a prefix may end in a half
 * octet ("70:B3:D5:1" for a 28-bit MA-M block). Null for anything else.
 */
export function macHexDigits(text: string): string | null {
  const t = text.trim();
  if (
    /^[0-9a-fA-F]+$/.test(t) ||
    /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})*(:[0-9a-fA-F])?$/.test(t) ||
    /^[0-9a-fA-F]{2}(-[0-9a-fA-F]{2})*(-[0-9a-fA-F])?$/.test(t) ||
    /^[0-9a-fA-F]{4}(\.[0-9a-fA-F]{4}){0,2}$/.test(t)
  ) {
    return t.replace(/[:.-]/g, "").toUpperCase();
  }
  return null;
}

/** A full MAC in any common notation -> number, or null. */
export function parseMac(text: string): number | null {
  const hex = macHexDigits(text);
  if (hex === null || hex.length !== 12) return null;
  return Number.parseInt(hex, 16);
}
