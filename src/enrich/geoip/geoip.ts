/**
 * Scope, country and network owner for an address, from the flow table's words.
 *
 * Order of answers: the special-range classifier first (a private or documentation
 * address never gets a country), then for internet addresses the operator's City, then
 * Country database, then the bundled country data; the operator's ASN database, then the
 * bundled ASN table. The first database that has the address answers and is named in the
 * answer.
 *
 * Reload builds a whole new set of databases to the side (unchanged files are kept, not
 * reread) and swaps it in with one assignment, so lookups never see half a reload and a
 * failed reload leaves the old set answering.
 */
import { parseAddress } from "./address.js";
import { internetAnswer, specialAnswer } from "./answer.js";
import type { AsnTable } from "./asn-table.js";
import { bundledAsn, bundledCountry } from "./bundled.js";
import { GeoIpError } from "./errors.js";
import { type FileSignature, statFile } from "./file-read.js";
import { MmdbSource } from "./mmdb-source.js";
import { RULE_EMBEDDED_IPV4, RULE_INTERNET, ScopeClassifier } from "./scope.js";
import type {
  AsnInfo,
  CountryInfo,
  GeoAnswer,
  GeoDatabaseInfo,
  GeoDatabaseKind,
  GeoIpOptions,
} from "./types.js";
import { FileWatcher } from "./watch.js";

export const DEFAULT_MAX_AGE_DAYS = 60;
export const DEFAULT_WATCH_DELAY_MS = 500;
const DAY_MS = 86_400_000;

const NOT_IP = specialAnswer("reserved", "not an IPv4 or IPv6 address");

/** One consistent set of databases; replaced whole on reload. */
interface GeoState {
  /** In the order they are asked: city, country, bundled country. */
  readonly country: readonly MmdbSource[];
  readonly asnMmdb: MmdbSource | null;
  readonly asnTable: AsnTable | null;
  readonly databases: readonly GeoDatabaseInfo[];
  /** Operator files, by path, as read. */
  readonly operator: ReadonlyMap<string, MmdbSource>;
}

interface ResolvedOptions {
  countryDb: string | undefined;
  cityDb: string | undefined;
  asnDb: string | undefined;
  bundled: boolean;
  maxAgeDays: number;
  watch: boolean;
  watchDelayMs: number;
}

function resolve(options: GeoIpOptions): ResolvedOptions {
  const maxAgeDays = options.maxAgeDays ?? DEFAULT_MAX_AGE_DAYS;
  if (!(maxAgeDays > 0))
    throw new GeoIpError(`maxAgeDays must be a positive number, got ${maxAgeDays}`);
  const watchDelayMs = options.watchDelayMs ?? DEFAULT_WATCH_DELAY_MS;
  if (!(watchDelayMs >= 0)) throw new GeoIpError(`watchDelayMs must be >= 0, got ${watchDelayMs}`);
  for (const [key, path] of Object.entries({
    countryDb: options.countryDb,
    cityDb: options.cityDb,
    asnDb: options.asnDb,
  })) {
    if (path !== undefined && (typeof path !== "string" || path === "")) {
      throw new GeoIpError(`${key} must be a file path`);
    }
  }
  return {
    countryDb: options.countryDb,
    cityDb: options.cityDb,
    asnDb: options.asnDb,
    bundled: options.bundled ?? true,
    maxAgeDays,
    watch: options.watch ?? false,
    watchDelayMs,
  };
}

function operatorPaths(o: ResolvedOptions): [string, GeoDatabaseKind][] {
  const out: [string, GeoDatabaseKind][] = [];
  if (o.cityDb !== undefined) out.push([o.cityDb, "city"]);
  if (o.countryDb !== undefined) out.push([o.countryDb, "country"]);
  if (o.asnDb !== undefined) out.push([o.asnDb, "asn"]);
  return out;
}

/** Builds a state; a file whose signature did not change is taken from `previous`. */
function buildState(o: ResolvedOptions, previous: GeoState | null): GeoState {
  const operator = new Map<string, MmdbSource>();
  const open = (path: string, kind: GeoDatabaseKind): MmdbSource => {
    const key = `${kind}\0${path}`;
    const old = previous?.operator.get(key);
    if (old !== undefined && old.signature === statFile(path, `${kind} database`).signature) {
      operator.set(key, old);
      return old;
    }
    const source = MmdbSource.open(path, { kind, bundled: false });
    operator.set(key, source);
    return source;
  };
  const country: MmdbSource[] = [];
  if (o.cityDb !== undefined) country.push(open(o.cityDb, "city"));
  if (o.countryDb !== undefined) country.push(open(o.countryDb, "country"));
  const asnMmdb = o.asnDb === undefined ? null : open(o.asnDb, "asn");
  let asnTable: AsnTable | null = null;
  const databases: GeoDatabaseInfo[] = country.map((s) => s.info);
  if (o.bundled) {
    const bc = bundledCountry();
    country.push(bc);
    databases.push(bc.info);
  }
  if (asnMmdb !== null) databases.push(asnMmdb.info);
  if (o.bundled) {
    const ba = bundledAsn();
    asnTable = ba.table;
    databases.push(ba.info);
  }
  return {
    country,
    asnMmdb,
    asnTable,
    databases: databases.map((d) => Object.freeze({ ...d })),
    operator,
  };
}

export class GeoIp {
  /** Addresses looked up since start (twice per new flow), for /metrics. */
  lookups = 0;
  /** Called after each watch-triggered reload: null when it worked, else why the old databases stay. */
  onReload?: (error: GeoIpError | null) => void;

  private state: GeoState;
  private readonly classifier: ScopeClassifier;
  private readonly options: ResolvedOptions;
  private watcher: FileWatcher | null = null;

  /** Opens every configured database; throws GeoIpError naming the first that cannot be used. */
  static open(options: GeoIpOptions = {}): GeoIp {
    const resolved = resolve(options);
    const classifier = new ScopeClassifier(options.internetRanges ?? []);
    return new GeoIp(resolved, classifier, buildState(resolved, null));
  }

  private constructor(options: ResolvedOptions, classifier: ScopeClassifier, state: GeoState) {
    this.options = options;
    this.classifier = classifier;
    this.state = state;
    const watched = operatorPaths(options).map(([path]) => path);
    if (options.watch && watched.length > 0) {
      this.watcher = new FileWatcher(
        watched,
        options.watchDelayMs,
        () => this.watchedFileChanged(),
        (err) =>
          this.onReload?.(new GeoIpError(`watching for database changes failed: ${err.message}`)),
      );
    }
  }

  /**
   * Flow address words, as src/flow/flow.ts stores them: IPv4 in w3 only (unsigned
   * 32-bit, network order), IPv6 in w0..w3. Never throws.
   */
  lookup(ipVersion: number, w0: number, w1: number, w2: number, w3: number): GeoAnswer {
    this.lookups++;
    if (ipVersion === 4) return this.lookup4(this.state, w3 >>> 0);
    if (ipVersion !== 6) return NOT_IP;
    // Words built with | and << come out signed; the tables compare unsigned.
    w0 >>>= 0;
    w1 >>>= 0;
    w2 >>>= 0;
    w3 >>>= 0;
    const rule = this.classifier.classify6(w0, w1, w2, w3);
    if (rule !== null && rule.kind !== RULE_INTERNET) {
      return rule.kind === RULE_EMBEDDED_IPV4 ? this.lookup4(this.state, w3 >>> 0) : rule.answer!;
    }
    const s = this.state;
    let country: CountryInfo | null = null;
    const sources = s.country;
    for (let i = 0; i < sources.length && country === null; i++) {
      country = sources[i]!.country6(w0, w1, w2, w3);
    }
    let asn: AsnInfo | null = s.asnMmdb === null ? null : s.asnMmdb.asn6(w0, w1, w2, w3);
    if (asn === null && s.asnTable !== null) asn = s.asnTable.lookup6(w0, w1, w2, w3);
    return internetAnswer(country, asn);
  }

  private lookup4(s: GeoState, w: number): GeoAnswer {
    const rule = this.classifier.classify4(w);
    if (rule !== null && rule.kind !== RULE_INTERNET) return rule.answer!;
    let country: CountryInfo | null = null;
    const sources = s.country;
    for (let i = 0; i < sources.length && country === null; i++) country = sources[i]!.country4(w);
    let asn: AsnInfo | null = s.asnMmdb === null ? null : s.asnMmdb.asn4(w);
    if (asn === null && s.asnTable !== null) asn = s.asnTable.lookup4(w);
    return internetAnswer(country, asn);
  }

  /** The same for address text; null if it is not an IPv4 or IPv6 address. */
  lookupText(address: string): GeoAnswer | null {
    const a = parseAddress(address.trim());
    return a === null ? null : this.lookup(a.version, a.w0, a.w1, a.w2, a.w3);
  }

  /**
   * Rereads changed database files (SIGHUP). Throws GeoIpError if one cannot be used; the
   * databases in use then stay as they were.
   */
  reload(): void {
    this.state = buildState(this.options, this.state);
  }

  /** The databases answering now, in the order they are asked. */
  databases(): GeoDatabaseInfo[] {
    return [...this.state.databases];
  }

  /** Databases built more than maxAgeDays before `now`: worth a warning and a metric. */
  stale(now: Date): GeoDatabaseInfo[] {
    const limit = now.getTime() - this.options.maxAgeDays * DAY_MS;
    return this.state.databases.filter((d) => d.buildTime.getTime() < limit);
  }

  /** Stops watching files. Lookups keep working with the databases loaded. */
  close(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  private watchedFileChanged(): void {
    if (this.watcher === null) return;
    let changed = false;
    for (const [path, kind] of operatorPaths(this.options)) {
      const current = this.state.operator.get(`${kind}\0${path}`)?.signature;
      let now: FileSignature | null = null;
      try {
        now = statFile(path, kind).signature;
      } catch {
        // Missing now: reload to report it.
      }
      if (now !== current) changed = true;
    }
    if (!changed) return;
    let error: GeoIpError | null = null;
    try {
      this.reload();
    } catch (err) {
      error =
        err instanceof GeoIpError
          ? err
          : new GeoIpError(`reload failed: ${(err as Error).message}`);
    }
    this.onReload?.(error);
  }
}
