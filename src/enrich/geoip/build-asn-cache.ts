/**
 * `npm run build`, after tsc: parses the bundled ASN CSV once and writes the table to
 * dist/data/asn-table.bin, which GeoIp then loads in milliseconds instead of parsing
 * the CSV (~0.5 s) at every start. Run as `node dist/enrich/geoip/build-asn-cache.js
 * [OUTPUT]`. Exit status 1 if the CSV cannot be read or the file cannot be written.
 */
import { relative } from "node:path";
import { bundledAsnCachePath, writeBundledAsnCache } from "./bundled.js";

const started = performance.now();
try {
  const out = writeBundledAsnCache(process.argv[2] ?? bundledAsnCachePath());
  const mb = (out.bytes / 1_048_576).toFixed(1);
  const ms = Math.round(performance.now() - started);
  process.stdout.write(
    `build-asn-cache: wrote ${relative(process.cwd(), out.path)} (${mb} MiB: ${out.rows.v4} IPv4 + ${out.rows.v6} IPv6 ranges, ${out.asNumbers} AS numbers) in ${ms} ms from ${out.key}\n`,
  );
} catch (err) {
  process.stderr.write(`build-asn-cache: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
