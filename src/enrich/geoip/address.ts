/**
 * Address and CIDR text to the 32-bit words the flow table keeps (IPv4 in w3, IPv6 in
 * w0..w3, unsigned, network order). Strict like inet_pton: no leading zeros in IPv4
 * parts, no shortened IPv4 forms; an IPv6 zone ("%eth0") is accepted and dropped.
 */

export interface AddressWords {
  version: 4 | 6;
  w0: number;
  w1: number;
  w2: number;
  w3: number;
}

export interface Cidr extends AddressWords {
  prefix: number;
}

/** IPv4 text to an unsigned 32-bit word, or -1. */
export function parseIPv4(text: string): number {
  let word = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && part === 0) return -1; // leading zero
      part = part * 10 + (c - 0x30);
      if (part > 255) return -1;
      digits++;
    } else if (c === 0x2e) {
      if (digits === 0 || parts === 4) return -1;
      word = word * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  return parts === 4 ? word : -1;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

const groups = new Int32Array(8);

/**
 * IPv6 text to four words in `out`; false if it is not an IPv6 address. A character
 * loop into a scratch array, not split and regexes: the bundled ASN table parses
 * 200,000 of these at start-up.
 */
export function parseIPv6Into(text: string, out: Uint32Array | number[]): boolean {
  let end = text.indexOf("%");
  if (end === text.length - 1) return false;
  if (end < 0) end = text.length;
  let n = 0;
  let gap = -1;
  let i = 0;
  if (text.charCodeAt(0) === 0x3a) {
    if (text.charCodeAt(1) !== 0x3a) return false;
    gap = 0;
    i = 2;
  }
  while (i < end) {
    const groupStart = i;
    let value = 0;
    let digits = 0;
    while (i < end) {
      const d = hexDigit(text.charCodeAt(i));
      if (d < 0) break;
      value = value * 16 + d;
      digits++;
      i++;
    }
    if (i < end && text.charCodeAt(i) === 0x2e) {
      // A dotted quad, only as the last 32 bits.
      const v4 = parseIPv4(text.slice(groupStart, end));
      if (v4 < 0 || n > 6) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      break;
    }
    if (digits === 0 || digits > 4 || n === 8) return false;
    groups[n++] = value;
    if (i === end) break;
    if (text.charCodeAt(i) !== 0x3a) return false;
    i++;
    if (text.charCodeAt(i) === 0x3a) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    } else if (i === end) {
      return false; // a trailing single colon
    }
  }
  if (gap < 0 ? n !== 8 : n > 7) return false;
  // Groups after the gap move to the end; the gap is zeros.
  const tail = gap < 0 ? 0 : n - gap;
  const head = n - tail;
  let g = 0;
  for (let k = 0; k < 8; k += 2) {
    const hi = k < head ? groups[k]! : k >= 8 - tail ? groups[head + k - (8 - tail)]! : 0;
    const j = k + 1;
    const lo = j < head ? groups[j]! : j >= 8 - tail ? groups[head + j - (8 - tail)]! : 0;
    out[g++] = ((hi << 16) | lo) >>> 0;
  }
  return true;
}

/** IPv6 text to four words, or null. */
export function parseIPv6(text: string): [number, number, number, number] | null {
  const out: [number, number, number, number] = [0, 0, 0, 0];
  return parseIPv6Into(text, out) ? out : null;
}

/** IPv4 or IPv6 text to words, or null if it is not an address. */
export function parseAddress(text: string): AddressWords | null {
  if (text.includes(":")) {
    const w = parseIPv6(text);
    return w === null ? null : { version: 6, w0: w[0], w1: w[1], w2: w[2], w3: w[3] };
  }
  const v4 = parseIPv4(text);
  return v4 < 0 ? null : { version: 4, w0: 0, w1: 0, w2: 0, w3: v4 };
}

/** The network mask word for bits [wordIndex*32, wordIndex*32+32) of a prefix, as unsigned. */
export function maskWord(prefix: number, wordIndex: number): number {
  const bits = Math.min(32, Math.max(0, prefix - wordIndex * 32));
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * "192.0.2.0/24", "2001:db8::/32", or a bare address (a /32 or /128). Host bits are
 * cleared. Null if it is not a CIDR.
 */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf("/");
  const address = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (address === null) return null;
  const max = address.version === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > max) return null;
  }
  if (address.version === 4) {
    return {
      version: 4,
      w0: 0,
      w1: 0,
      w2: 0,
      w3: (address.w3 & maskWord(prefix, 0)) >>> 0,
      prefix,
    };
  }
  return {
    version: 6,
    w0: (address.w0 & maskWord(prefix, 0)) >>> 0,
    w1: (address.w1 & maskWord(prefix, 1)) >>> 0,
    w2: (address.w2 & maskWord(prefix, 2)) >>> 0,
    w3: (address.w3 & maskWord(prefix, 3)) >>> 0,
    prefix,
  };
}
