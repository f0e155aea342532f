/**
 * WS-Discovery (UDP 3702, to 239.255.255.250 / ff02::c): SOAP envelopes in the 2005/04
 * (ONVIF) or OASIS 2009/01 namespace. Probe / ProbeMatches / Hello / Bye / Resolve /
 * ResolveMatches; ONVIF devices put their identity in Scopes
 * (onvif://www.onvif.org/name/..., /hardware/..., /MfrName/...) and their service URLs in
 * XAddrs. Source: nmap nselib/wsdd.lua, the WS-Discovery specifications.
 */

import type { ResolvedDiscoveryOptions } from "./options.js";
import type { DiscoveryFields, DiscoveryMessage, DiscoveryRecord } from "./record.js";
import { firstSignificantByte, ScanWindow } from "./scan.js";

export const WSD_PORT = 3702;
const MAX_LIST = 32;

const ACTIONS: [string, DiscoveryMessage][] = [
  ["probematches", "probe-matches"],
  ["probe", "probe"],
  ["hello", "hello"],
  ["bye", "bye"],
  ["resolvematches", "resolve-matches"],
  ["resolve", "resolve"],
];

export function recogniseWsDiscovery(
  buf: Uint8Array,
  off: number,
  len: number,
  opts: ResolvedDiscoveryOptions,
): DiscoveryRecord | null {
  if (firstSignificantByte(buf, off, len) !== 0x3c) return null;
  const w = new ScanWindow(buf, off, Math.min(len, opts.maxScanBytes), opts.maxValueLength);
  const lower = w.lower;
  if (!lower.includes("envelope")) return null;
  if (
    !lower.includes("schemas.xmlsoap.org/ws/2005/04/discovery") &&
    !lower.includes("docs.oasis-open.org/ws-dd/ns/discovery")
  ) {
    return null;
  }
  const f: DiscoveryFields = {};
  const record: DiscoveryRecord = {
    protocol: "ws-discovery",
    vendor: "unknown",
    message: message(w),
    fields: f,
  };
  const types = w.element("Types");
  if (types !== undefined && types !== "") f.types = types;
  const scopes = list(w, "Scopes", true);
  if (scopes.length > 0) f.scopes = scopes;
  const xaddrs = list(w, "XAddrs", false);
  if (xaddrs.length > 0) f.xaddrs = xaddrs;
  for (const s of scopes) {
    const l = s.toLowerCase();
    if (!l.startsWith("onvif://www.onvif.org/")) continue;
    const rest = s.slice("onvif://www.onvif.org/".length);
    const slash = rest.indexOf("/");
    if (slash < 0) continue;
    const kind = rest.slice(0, slash).toLowerCase();
    const value = rest.slice(slash + 1);
    if (kind === "name" && f.name === undefined) f.name = value;
    else if (kind === "hardware" && f.model === undefined) f.model = value;
    else if ((kind === "mfrname" || kind === "manufacturer") && f.manufacturer === undefined)
      f.manufacturer = value;
  }
  if (
    scopes.some((s) => s.toLowerCase().startsWith("onvif://")) ||
    types?.toLowerCase().includes("networkvideotransmitter") ||
    lower.includes("www.onvif.org/ver10/")
  ) {
    record.vendor = "onvif";
  }
  if (len > opts.maxScanBytes) record.anomaly = "discovery_scan_limit";
  return record;
}

function message(w: ScanWindow): DiscoveryMessage {
  const action = w.element("Action");
  if (action !== undefined) {
    const last = action.slice(action.lastIndexOf("/") + 1).toLowerCase();
    for (const [name, m] of ACTIONS) if (last === name) return m;
  }
  // No (known) Action header: go by the body element.
  for (const [name, m] of ACTIONS) if (w.elementRange(name) !== undefined) return m;
  return "other";
}

/** A whitespace-separated list element, each item cut to the value bound and optionally percent-decoded. */
function list(w: ScanWindow, name: string, decode: boolean): string[] {
  const range = w.elementRange(name);
  if (range === undefined) return [];
  const text = w.text;
  const out: string[] = [];
  let i = range[0];
  const end = range[1];
  while (i < end && out.length < MAX_LIST) {
    while (i < end && isSpace(text.charCodeAt(i))) i++;
    const start = i;
    while (i < end && !isSpace(text.charCodeAt(i))) i++;
    if (i > start) {
      const item = w.value(start, i);
      out.push(decode ? percentDecode(item) : item);
    }
  }
  return out;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** %XX to its character when that is printable ASCII (not the escape character); anything else stays as written. */
function percentDecode(s: string): string {
  if (!s.includes("%")) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) === 0x25 && i + 2 < s.length) {
      const v = (hexDigit(s.charCodeAt(i + 1)) << 4) | hexDigit(s.charCodeAt(i + 2));
      if (v >= 0x20 && v <= 0x7e && v !== 0x5c) {
        out += String.fromCharCode(v);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

/** 0-15, or 0x100 (which makes the combined value out of range) for a non-hex character. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return 0x100;
}
