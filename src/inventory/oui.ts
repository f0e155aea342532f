/**
 * MAC -> organisation from the IEEE registry as the `oui-data` package carries it (MA-L
 * 24-bit, MA-M 28-bit and MA-S 36-bit assignments; the longest matching prefix wins, since
 * MA-M and MA-S blocks sit inside MA-L blocks registered to "IEEE Registration Authority").
 * Loaded once, on first use: about 54,000 entries, kept as first lines only.
 */

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { isLocallyAdministered, macPrefixHex } from "./mac.js";
import { makerFromRegistry } from "./makers.js";

export interface OuiInfo {
  /** The assigned prefix as hex digits: 6 (MA-L), 7 (MA-M) or 9 (MA-S). */
  prefix: string;
  /** Registered organisation name, as the registry writes it. */
  organisation: string;
  /** Short maker name when the organisation is a known camera/VMS maker (makers.ts). */
  maker: string | null;
}

/** The MA-L block that holds MA-M and MA-S assignments: its owner is no device's maker. */
const REGISTRATION_AUTHORITY = "IEEE Registration Authority";

let table: Map<string, string> | null = null;

function load(): Map<string, string> {
  if (table !== null) return table;
  const require = createRequire(import.meta.url);
  const path = require.resolve("oui-data");
  const raw = JSON.parse(readFileSync(path, "utf8")) as Record<string, string>;
  const map = new Map<string, string>();
  for (const [prefix, text] of Object.entries(raw)) {
    const nl = text.indexOf("\n");
    map.set(prefix.toUpperCase(), (nl < 0 ? text : text.slice(0, nl)).trim());
  }
  table = map;
  return map;
}

/**
 * The registry entry for a MAC, or null when the MAC is unknown (-1), locally
 * administered (randomised: the registry says nothing about it), or unassigned.
 */
export function lookupOui(mac: number): OuiInfo | null {
  if (mac < 0 || isLocallyAdministered(mac)) return null;
  const t = load();
  for (const nibbles of [9, 7, 6]) {
    const prefix = macPrefixHex(mac, nibbles);
    const organisation = t.get(prefix);
    if (organisation === undefined || organisation === "") continue;
    if (organisation === REGISTRATION_AUTHORITY) return null;
    return { prefix, organisation, maker: makerFromRegistry(organisation) };
  }
  return null;
}

/** "4419B6" -> "44:19:B6", "1006480" -> "10:06:48:0" (how people write prefixes). */
export function formatPrefix(hex: string): string {
  return hex.match(/.{1,2}/g)!.join(":");
}
