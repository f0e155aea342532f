/** Text forms of MACs and times used in records. Off the per-packet path. */

/** ECS MAC format: uppercase hex pairs joined by hyphens. */
export function formatMac(mac: number): string {
  const hi = Math.floor(mac / 0x1_0000_0000);
  const lo = mac % 0x1_0000_0000;
  const bytes = [hi >>> 8, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff];
  return bytes.map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join("-");
}

/** ISO 8601 UTC with nanoseconds, from packet time (never the wall clock). */
export function formatTimestamp(sec: number, nsec: number): string {
  const base = new Date(sec * 1000).toISOString(); // "YYYY-MM-DDTHH:MM:SS.000Z"
  return `${base.slice(0, 19)}.${String(nsec).padStart(9, "0")}Z`;
}

/** Nanoseconds between two packet times, exact for any capture length. */
export function durationNs(
  startSec: number,
  startNsec: number,
  endSec: number,
  endNsec: number,
): number {
  return (endSec - startSec) * 1e9 + (endNsec - startNsec);
}
