/**
 * Flow keys: a bidirectional 5-tuple plus VLAN ids. Addresses are four 32-bit words
 * (IPv4 in word 3 only). The hash is symmetric, so a packet and its reply land in the
 * same bucket without first sorting the endpoints; the table's comparison then tells
 * the direction for free.
 */

/** murmur3's 32-bit finalizer: cheap and spreads every input bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

function endpointHash(w0: number, w1: number, w2: number, w3: number, port: number): number {
  let h = Math.imul(w3, 0x9e3779b1) ^ port;
  h = Math.imul(h ^ w2, 0x85ebca6b) ^ Math.imul(w1, 0x27d4eb2f) ^ Math.imul(w0, 0x165667b1);
  return fmix32(h);
}

/** Symmetric flow hash, a non-negative small integer (a V8 Smi, so Map-free tables stay fast). */
export function flowHash(
  proto: number,
  vlanOuter: number,
  vlanInner: number,
  s0: number,
  s1: number,
  s2: number,
  s3: number,
  sPort: number,
  d0: number,
  d1: number,
  d2: number,
  d3: number,
  dPort: number,
): number {
  const h =
    (endpointHash(s0, s1, s2, s3, sPort) + endpointHash(d0, d1, d2, d3, dPort)) ^
    Math.imul(proto + 1, 0x27d4eb2f) ^
    Math.imul(vlanOuter + 2, 0x165667b1) ^
    Math.imul(vlanInner + 3, 0x9e3779b1);
  return fmix32(h) & 0x3fffffff;
}

/**
 * ICMP request/response pairs, as Zeek and the Community ID spec pair them: the
 * counterpart type stands in for the destination port so a request and its reply form
 * one flow. Types not listed are one-way: their code is the "port".
 */
const ICMP4_COUNTERPART = new Int16Array(256).fill(-1);
const ICMP6_COUNTERPART = new Int16Array(256).fill(-1);
for (const [a, b] of [
  [8, 0], // echo
  [13, 14], // timestamp
  [15, 16], // information
  [10, 9], // router solicitation / advertisement
  [17, 18], // address mask
]) {
  ICMP4_COUNTERPART[a!] = b!;
  ICMP4_COUNTERPART[b!] = a!;
}
for (const [a, b] of [
  [128, 129], // echo
  [130, 131], // multicast listener query / report
  [133, 134], // router solicitation / advertisement
  [135, 136], // neighbor solicitation / advertisement
  [139, 140], // node information query / reply
  [144, 145], // home agent address discovery
]) {
  ICMP6_COUNTERPART[a!] = b!;
  ICMP6_COUNTERPART[b!] = a!;
}

/** The "destination port" of an ICMP message: its counterpart type, or its code when one-way. */
export function icmpPortEquivalent(isV6: boolean, type: number, code: number): number {
  const counterpart = (isV6 ? ICMP6_COUNTERPART : ICMP4_COUNTERPART)[type]!;
  return counterpart >= 0 ? counterpart : code;
}

/** True when the ICMP type has no reply type: the Community ID keeps its tuple unordered. */
export function icmpIsOneWay(isV6: boolean, type: number): boolean {
  return (isV6 ? ICMP6_COUNTERPART : ICMP4_COUNTERPART)[type]! < 0;
}
