/**
 * Did-you-mean for config keys and enum values: the closest candidate by edit distance
 * (adjacent transpositions count as one edit), or undefined when nothing is close enough
 * to be a plausible typo.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = normalise(word);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const c = normalise(candidate);
    let d = editDistance(w, c);
    // "country" for "country_db": a prefix is a likely half-remembered name.
    if (d > 0 && Math.min(w.length, c.length) >= 4 && (c.startsWith(w) || w.startsWith(c))) {
      d = Math.min(d, 1.5);
    }
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  if (best === undefined) return undefined;
  // Short words need a tighter bound, or "tcp" would suggest "udp".
  const allowed = w.length <= 3 ? 1 : w.length <= 5 ? 1.5 : 2;
  return bestDistance <= allowed ? best : undefined;
}

/** Case and `-`/`_` slips are not typos worth counting. */
function normalise(s: string): string {
  return s.toLowerCase().replaceAll("-", "_");
}

/** Optimal string alignment distance (Levenshtein plus adjacent transposition). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(
        d[(i - 1) * cols + j]! + 1,
        d[i * cols + j - 1]! + 1,
        d[(i - 1) * cols + j - 1]! + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1);
      }
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1]!;
}
