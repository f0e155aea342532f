import { parseArgs } from "node:util";
import {
  DEFAULT_MAX_AGE_DAYS,
  type GeoAnswer,
  type GeoDatabaseInfo,
  GeoIp,
  GeoIpError,
  parseAddress,
  parseCidr,
  ScopeClassifier,
} from "../enrich/geoip/index.js";
import { RULE_EMBEDDED_IPV4 } from "../enrich/geoip/scope.js";
import { formatIPv4 } from "../util/ip-text.js";
import { ExitCode, InputError, UsageError } from "./errors.js";

export const GEOIP_HELP = `Usage: egressd geoip [options] ADDRESS...

Tells what egressd knows about each IPv4 or IPv6 address: its scope (internet, or the
special range it is in, such as RFC 1918 private or documentation), its country, its
network owner (AS number and organisation), and which database said so. Then lists
the databases, in the order they are asked, with the date each was built.

Without options it uses the data shipped with egressd (ip-location-db: no licence key,
no network access). Give your own MaxMind GeoLite2/GeoIP2 files and they are asked
first; the shipped data still answers for addresses they do not have.

  egressd geoip 8.8.8.8 2001:4860:4860::8888 10.0.0.1
  egressd geoip --city-db /var/lib/GeoIP/GeoLite2-City.mmdb \\
                --asn-db /var/lib/GeoIP/GeoLite2-ASN.mmdb 1.1.1.1

Options:
      --country-db FILE      country database (.mmdb): GeoLite2/GeoIP2 Country, or
                             the ip-location-db layout (country_code)
      --city-db FILE         city database (.mmdb): GeoLite2/GeoIP2 City; asked first
      --asn-db FILE          network-owner database (.mmdb): GeoLite2/GeoIP2 ASN,
                             or ip-location-db asn
      --no-bundled           do not use the shipped data
      --internet-range CIDR  treat CIDR as internet and look it up even if it is a
                             special range (repeatable; for labs that stand in
                             documentation ranges for the internet)
      --json                 one JSON object: {"addresses": [...], "databases": [...]}
  -h, --help                 show this help

A database built more than ${DEFAULT_MAX_AGE_DAYS} days ago is marked stale.

Exit status: 0 on success; 1 when a database is missing or cannot be read (the
message names the file and what is wrong); 2 on a usage error (no address, or an
argument that is not an IP address or CIDR).
`;

interface GeoipArgs {
  addresses: string[];
  countryDb: string | undefined;
  cityDb: string | undefined;
  asnDb: string | undefined;
  bundled: boolean;
  internetRanges: string[];
  json: boolean;
}

export function parseGeoipArgs(argv: string[]): GeoipArgs | "help" {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      "country-db": { type: "string" },
      "city-db": { type: "string" },
      "asn-db": { type: "string" },
      "no-bundled": { type: "boolean" },
      "internet-range": { type: "string", multiple: true },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  if (positionals.length === 0) throw new UsageError("geoip needs at least one IP address");
  for (const a of positionals) {
    if (parseAddress(a) === null) throw new UsageError(`"${a}" is not an IPv4 or IPv6 address`);
  }
  const internetRanges = values["internet-range"] ?? [];
  for (const r of internetRanges) {
    if (parseCidr(r) === null) {
      throw new UsageError(`--internet-range: "${r}" is not a CIDR (like 192.0.2.0/24)`);
    }
  }
  for (const key of ["country-db", "city-db", "asn-db"] as const) {
    if (values[key] === "") throw new UsageError(`--${key} needs a file name`);
  }
  return {
    addresses: positionals,
    countryDb: values["country-db"],
    cityDb: values["city-db"],
    asnDb: values["asn-db"],
    bundled: !values["no-bundled"],
    internetRanges,
    json: Boolean(values.json),
  };
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** "private: RFC 1918 private, 10.0.0.0/8", with the range's CIDR from the classifier. */
function scopeLine(address: string, answer: GeoAnswer, classifier: ScopeClassifier): string {
  const a = parseAddress(address)!;
  let rule =
    a.version === 4 ? classifier.classify4(a.w3) : classifier.classify6(a.w0, a.w1, a.w2, a.w3);
  let via = "";
  if (rule?.kind === RULE_EMBEDDED_IPV4) {
    via = ` (${rule.name}: taken as ${formatIPv4(a.w3)})`;
    rule = classifier.classify4(a.w3);
  }
  const range = rule === null ? "" : `: ${rule.name}, ${rule.cidr}`;
  return `${answer.scope}${range}${via}`;
}

function countryLine(a: GeoAnswer): string {
  if (a.countryIso === undefined) return "unknown (no database has this address)";
  const place = [a.countryName, a.cityName].filter((x) => x !== undefined).join(", ");
  return `${a.countryIso}${place === "" ? "" : ` ${place}`} (${a.countrySource})`;
}

function networkLine(a: GeoAnswer): string {
  if (a.asNumber === undefined) return "unknown (no database has this address)";
  const org = a.asOrganization === undefined ? "" : ` ${a.asOrganization}`;
  return `AS${a.asNumber}${org} (${a.asSource})`;
}

function databaseTable(dbs: GeoDatabaseInfo[], stale: Set<GeoDatabaseInfo>): string {
  if (dbs.length === 0) return "databases: none (scope only)\n";
  const nameWidth = Math.max(...dbs.map((d) => d.name.length));
  const lines = dbs.map((d) => {
    const old = stale.has(d) ? ` (stale: more than ${DEFAULT_MAX_AGE_DAYS} days old)` : "";
    const where = d.bundled ? "shipped with egressd" : "yours";
    return `  ${d.name.padEnd(nameWidth)}  ${d.kind.padEnd(7)}  built ${day(d.buildTime)}${old}\n    ${d.layout} layout, ${where}: ${d.path}`;
  });
  return `databases, in the order they are asked:\n${lines.join("\n")}\n`;
}

/** `egressd geoip`: what egressd knows about addresses. Returns the exit code. */
export async function runGeoip(argv: string[]): Promise<number> {
  const parsed = parseGeoipArgs(argv);
  if (parsed === "help") {
    process.stdout.write(GEOIP_HELP);
    return ExitCode.OK;
  }
  let geoip: GeoIp;
  try {
    geoip = GeoIp.open({
      countryDb: parsed.countryDb,
      cityDb: parsed.cityDb,
      asnDb: parsed.asnDb,
      bundled: parsed.bundled,
      internetRanges: parsed.internetRanges,
    });
  } catch (err) {
    if (err instanceof GeoIpError) throw new InputError(err.message);
    throw err;
  }
  try {
    const answers = parsed.addresses.map((address) => ({
      address,
      answer: geoip.lookupText(address)!,
    }));
    const dbs = geoip.databases();
    const stale = new Set(geoip.stale(new Date()));
    if (parsed.json) {
      const out = {
        addresses: answers.map(({ address, answer }) => ({ address, ...answer })),
        databases: dbs.map((d) => ({
          ...d,
          buildTime: d.buildTime.toISOString(),
          stale: stale.has(d),
        })),
      };
      process.stdout.write(`${JSON.stringify(out)}\n`);
      return ExitCode.OK;
    }
    const classifier = new ScopeClassifier(parsed.internetRanges);
    let text = "";
    for (const { address, answer } of answers) {
      text += `${address}\n  scope    ${scopeLine(address, answer, classifier)}\n`;
      if (answer.scope === "internet") {
        text += `  country  ${countryLine(answer)}\n  network  ${networkLine(answer)}\n`;
      }
    }
    process.stdout.write(`${text}\n${databaseTable(dbs, stale)}`);
    return ExitCode.OK;
  } finally {
    geoip.close();
  }
}
