/**
 * Semantic string kinds for the config: networks, MAC addresses, OUI prefixes, durations
 * and file paths. Each validates, normalises (so later code compares like with like) and
 * describes itself in the JSON Schema.
 */
import { isAbsolute, resolve } from "node:path";
import IPCIDR from "ip-cidr";
import { type Failure, fail, mismatch, type Schema, stringKind } from "./schema.js";

// ---------------------------------------------------------------------------------------
// cidr

const CIDR_EXPECTED = "an IPv4 or IPv6 network such as 10.20.0.0/24 or 2001:db8::/32";

/**
 * Parses "10.20.0.0/24", "2001:db8::/32", or a bare address (a /32 or /128 network).
 * Returns the canonical form ("10.20.0.0/24", lowercase compressed IPv6) or a Failure.
 * Host bits set ("10.20.0.5/24") are refused: such a line is nearly always a typo for
 * either the host or the network, and the message offers the network.
 */
export function parseCidr(text: string): string | Failure {
  const s = text.trim();
  if (s.includes("%")) return fail(`zone ids are not allowed in a network, found "${s}"`);
  const slash = s.lastIndexOf("/");
  const addr = slash < 0 ? s : s.slice(0, slash);
  const v6 = addr.includes(":");
  const maxPrefix = v6 ? 128 : 32;
  let prefix = maxPrefix;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(p) || Number(p) > maxPrefix) {
      return fail(
        `expected a prefix length from 0 to ${maxPrefix} after "/" in "${s}", found "${p}"`,
      );
    }
    prefix = Number(p);
  }
  let cidr: IPCIDR;
  try {
    cidr = new IPCIDR(`${addr}/${prefix}`);
  } catch {
    return mismatch(CIDR_EXPECTED, text);
  }
  // ip-cidr reads some IPv6 spellings of IPv4 addresses as IPv4; keep families apart.
  if ((cidr.address as { v4: boolean }).v4 === v6) return mismatch(CIDR_EXPECTED, text);
  const canonical = (a: IPCIDR.Address) =>
    v6 ? a.correctForm() : (a as { addressMinusSuffix: string }).addressMinusSuffix;
  const network = `${canonical(cidr.addressStart)}/${prefix}`;
  const given = IPCIDR.formatIP(cidr.address, { type: "bigInteger" });
  const start = IPCIDR.formatIP(cidr.addressStart, { type: "bigInteger" });
  if (given !== start) {
    return fail(`"${s}" has host bits set; did you mean ${network}?`);
  }
  return network;
}

export function cidr(): Schema<string> {
  return stringKind({
    expected: CIDR_EXPECTED,
    json: {
      type: "string",
      description:
        "IPv4 or IPv6 network in CIDR notation (10.20.0.0/24, 2001:db8::/32); a bare address is a /32 or /128.",
      pattern: "^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$",
    },
    convert: parseCidr,
  });
}

// ---------------------------------------------------------------------------------------
// mac, oui

// No /i flag: the sources go into the JSON Schema, whose patterns have no flags.
const H = "[0-9A-Fa-f]";
const MAC = new RegExp(`^${H}{2}([:-])${H}{2}(?:\\1${H}{2}){4}$`);
/** 24-bit OUI, or a 28-bit (MA-M) or 36-bit (MA-S) IEEE block: 6, 7 or 9 hex digits. */
const OUI = new RegExp(`^${H}{2}([:-]?)${H}{2}\\1${H}{2}(?:\\1${H}(?:${H}\\1${H})?)?$`);

function hexDigits(s: string): string {
  return s.replace(/[:-]/g, "").toUpperCase();
}

/** Hex digits in pairs joined by ":", a trailing odd digit on its own: 70:B3:D5:1. */
function colonPairs(hex: string): string {
  return hex.match(/.{1,2}/g)!.join(":");
}

const MAC_EXPECTED = "a MAC address such as 44:19:b6:12:34:56 (or 44-19-b6-12-34-56)";
const OUI_EXPECTED = "an OUI such as 44:19:B6 (or a 28/36-bit block such as 70:B3:D5:1)";

/** "aa-bb-cc-dd-ee-ff" -> "AA:BB:CC:DD:EE:FF". */
export function parseMac(text: string): string | Failure {
  const s = text.trim();
  if (MAC.test(s)) return colonPairs(hexDigits(s));
  if (OUI.test(s)) {
    return fail(`"${s}" is an OUI (a vendor prefix), not a MAC address; list it under ouis`);
  }
  return mismatch(MAC_EXPECTED, text);
}

/** "44-19-b6" -> "44:19:B6"; "70B3D51" -> "70:B3:D5:1". */
export function parseOui(text: string): string | Failure {
  const s = text.trim();
  if (OUI.test(s)) return colonPairs(hexDigits(s));
  if (MAC.test(s)) {
    const prefix = colonPairs(hexDigits(s).slice(0, 6));
    return fail(
      `"${s}" is a full MAC address; list it under macs, or use its vendor prefix ${prefix}`,
    );
  }
  return mismatch(OUI_EXPECTED, text);
}

export function mac(): Schema<string> {
  return stringKind({
    expected: MAC_EXPECTED,
    json: {
      type: "string",
      description: "MAC address, bytes separated by : or - (44:19:b6:12:34:56).",
      pattern: MAC.source,
    },
    convert: parseMac,
  });
}

export function oui(): Schema<string> {
  return stringKind({
    expected: OUI_EXPECTED,
    json: {
      type: "string",
      description:
        "Vendor prefix of a MAC address: a 3-byte OUI (44:19:B6) or a 28/36-bit IEEE block (70:B3:D5:1, 70:B3:D5:00:1).",
      pattern: OUI.source,
    },
    convert: parseOui,
  });
}

// ---------------------------------------------------------------------------------------
// duration

const DURATION = /^(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$/;
const UNITS: [string, number][] = [
  ["d", 86_400],
  ["h", 3_600],
  ["m", 60],
  ["s", 1],
];

/** "30s", "5m", "1h", "2d", "1h30m" -> seconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m || text.trim() === "") return undefined;
  let seconds = 0;
  for (let i = 0; i < UNITS.length; i++) {
    const amount = m[i + 1];
    if (amount !== undefined) seconds += Number(amount) * UNITS[i]![1];
  }
  return seconds;
}

/** Seconds -> the shortest exact text: 1800 -> "30m", 5400 -> "1h30m". */
export function formatDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0) {
    throw new RangeError(`formatDuration: ${seconds} is not a whole number of seconds`);
  }
  if (seconds === 0) return "0s";
  let rest = seconds;
  let out = "";
  for (const [unit, size] of UNITS) {
    const amount = Math.floor(rest / size);
    if (amount > 0) out += `${amount}${unit}`;
    rest -= amount * size;
  }
  return out;
}

export function duration(options: { min?: number } = {}): Schema<number> {
  const min = options.min ?? 0;
  const expected = `a duration such as "30s", "5m", "1h", "2d" or "1h30m"${min > 0 ? ` of at least ${formatDuration(min)}` : ""}`;
  return stringKind({
    expected,
    json: {
      type: "string",
      description:
        "Duration: whole numbers with units d, h, m, s in that order (30s, 5m, 1h30m, 2d).",
      pattern: DURATION.source.replace("^", "^(?=.)"),
    },
    nonStringHint: (value) =>
      typeof value === "number" ? `add a unit, e.g. "${value}s"` : undefined,
    convert(value) {
      const seconds = parseDuration(value);
      if (seconds === undefined) return mismatch(expected, value);
      if (seconds < min) return mismatch(expected, value);
      return seconds;
    },
  });
}

// ---------------------------------------------------------------------------------------
// path

/**
 * A file path. Relative paths written in the config file are resolved against the file's
 * folder, so the config works from any working directory; relative defaults are resolved
 * against the working directory (like Prometheus's data/ directory).
 */
export function path(): Schema<string> {
  return stringKind({
    expected: "a file path",
    json: {
      type: "string",
      minLength: 1,
      description: "File path; relative paths are relative to this config file's folder.",
    },
    convert(value, ctx) {
      if (value.trim() === "") return mismatch("a file path", value);
      if (value.includes("\0")) return fail("a path cannot contain a NUL character");
      return isAbsolute(value) ? value : resolve(ctx.baseDir, value);
    },
  });
}
