/**
 * Address facts the inventory needs, on the 32-bit words egressd keeps addresses in (IPv4
 * in word 3, unsigned, network order), plus ip-cidr's bigint addresses -> words for the
 * group config (text -> words is src/enrich/geoip/address.ts). Off the per-packet path:
 * called per flow at most.
 */

import type { AddressWords } from "../enrich/geoip/address.js";

/** 0.0.0.0 or :: (a DHCP client before it has an address). */
export function isUnspecified(v: number, w0: number, w1: number, w2: number, w3: number): boolean {
  return v === 4 ? w3 === 0 : (w0 | w1 | w2 | w3) === 0;
}

/** Multicast, or the IPv4 limited broadcast: a destination that is a group, not a device. */
export function isGroupAddress(v: number, w0: number, w3: number): boolean {
  return v === 4 ? w3 >>> 28 === 0xe || w3 >>> 0 === 0xffffffff : w0 >>> 24 === 0xff;
}

/** 169.254.0.0/16 and fe80::/10: on-link by definition, never the internet. */
export function isLinkLocal(v: number, w0: number, w3: number): boolean {
  return v === 4 ? w3 >>> 16 === 0xa9fe : w0 >>> 22 === 0x3fa;
}

/**
 * RFC 1918, link-local and IPv6 unique-local (fc00::/7) addresses: a default for "is this
 * address on our side" when no GeoIP scope is configured.
 */
export function isPrivateAddress(
  v: number,
  w0: number,
  _w1: number,
  _w2: number,
  w3: number,
): boolean {
  if (v === 4) {
    return w3 >>> 24 === 10 || w3 >>> 20 === 0xac1 || w3 >>> 16 === 0xc0a8 || w3 >>> 16 === 0xa9fe;
  }
  return w0 >>> 25 === 0x7e || w0 >>> 22 === 0x3fa;
}

const TWO_32 = 0x1_0000_0000n;

/** Words of a bigint address as ip-cidr gives it. */
export function wordsOfBigInt(version: 4 | 6, n: bigint): AddressWords {
  if (version === 4) return { version, w0: 0, w1: 0, w2: 0, w3: Number(n & 0xffffffffn) };
  return {
    version,
    w0: Number((n >> 96n) % TWO_32),
    w1: Number((n >> 64n) % TWO_32),
    w2: Number((n >> 32n) % TWO_32),
    w3: Number(n % TWO_32),
  };
}
