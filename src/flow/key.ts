/**
 * Flow keys: a bidirectional 5-tuple plus VLAN ids. Addresses are four 32-bit words
 * (IPv4 in word 3 only). The hash is symmetric, so a packet and its reply land in the
 * same bucket without first sorting the endpoints; the table's comparison then tells
 * the direction for free.
 */

/** A local binding: shorter bytecode per call than `Math.imul` (see flowHash). */
const imul = Math.imul;

/**
 * Symmetric flow hash, a non-negative small integer (a V8 Smi, so Map-free tables stay fast).
 *
 * One flat function on purpose: it runs once per packet and V8 inlines it into
 * FlowTable.process only while the inlined bytecode fits a per-function budget. Written
 * with helpers (endpoint hash, murmur3's finalizer) it counted ~600 bytes once V8 had
 * also optimised it on its own, missed the budget whenever protocol parsing was on, and
 * cost a call per packet (seen in --trace-turbo-inlining); flat, it is ~250 bytes.
 * Each endpoint is mixed on its own and the two are added, so swapping them gives the
 * same hash; the sum then goes through murmur3's 32-bit finalizer.
 */
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
  let a = imul(s3 ^ imul(sPort, 0x9e3779b1), 0x85ebca6b);
  a ^= imul(s2, 0xc2b2ae35) ^ imul(s1, 0x27d4eb2f) ^ imul(s0, 0x165667b1);
  a = imul(a ^ (a >>> 15), 0x2c1b3c6d);
  let b = imul(d3 ^ imul(dPort, 0x9e3779b1), 0x85ebca6b);
  b ^= imul(d2, 0xc2b2ae35) ^ imul(d1, 0x27d4eb2f) ^ imul(d0, 0x165667b1);
  b = imul(b ^ (b >>> 15), 0x2c1b3c6d);
  let h =
    (a + b) ^
    imul(proto + 1, 0x27d4eb2f) ^
    imul(vlanOuter + 2, 0x165667b1) ^
    imul(vlanInner + 3, 0x9e3779b1);
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h & 0x3fffffff;
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
