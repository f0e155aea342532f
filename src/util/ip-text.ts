/**
 * IP addresses as text, from the 32-bit words egressd keeps them in (IPv4 in word 3).
 * One implementation for flow records, names and DNS answers, so the same address is
 * always written the same way. Off the per-packet path.
 */

export function formatIPv4(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 0xff}.${(w >>> 8) & 0xff}.${w & 0xff}`;
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run of 2+ zero groups as "::". */
export function formatIPv6(w0: number, w1: number, w2: number, w3: number): string {
  const groups = [
    w0 >>> 16,
    w0 & 0xffff,
    w1 >>> 16,
    w1 & 0xffff,
    w2 >>> 16,
    w2 & 0xffff,
    w3 >>> 16,
    w3 & 0xffff,
  ];
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // IPv4-mapped addresses read best with the dotted quad, as inet_ntop writes them.
  if (bestStart === 0 && bestLen === 5 && groups[5] === 0xffff) return `::ffff:${formatIPv4(w3)}`;
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  const head = hex.slice(0, bestStart).join(":");
  const tail = hex.slice(bestStart + bestLen).join(":");
  return `${head}::${tail}`;
}

export function formatIp(version: number, w0: number, w1: number, w2: number, w3: number): string {
  return version === 6 ? formatIPv6(w0, w1, w2, w3) : formatIPv4(w3);
}
