/**
 * The rules a running pipeline evaluates, and their reload: on SIGHUP or a changed rule or
 * set file, everything is loaded and compiled again off to the side, and only a load
 * without errors replaces the running set, in one assignment between two packets. A
 * broken file is reported and the old rules keep running. Counts (matches per rule,
 * exception hits) carry over a reload, so the metrics built on them only ever grow.
 */
import { type FSWatcher, watch } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Trigger } from "./context.js";
import type { RuleSet } from "./evaluate.js";
import type { ExceptionStat } from "./exceptions.js";
import { type LoadOptions, type LoadResult, loadRuleFiles } from "./load.js";
import { formatRuleProblem, type RuleProblem } from "./problems.js";

/** A load made beside the running rules, not yet swapped in (RuleEngine.prepare). */
export interface PreparedReload {
  result: LoadResult;
  paths: readonly string[];
  options: LoadOptions;
  outcome: ReloadOutcome;
}

export interface ReloadOutcome {
  ok: boolean;
  /** What asked for it: "SIGHUP", "file change", "api". */
  cause: string;
  /** Wall-clock time it finished, ms. */
  atMs: number;
  seconds: number;
  /** Enabled rules running after it (the old count when it failed). */
  rules: number;
  problems: RuleProblem[];
}

/** Counts that survive reloads: each rule's (or exception's) running total. */
export interface RuleTotals {
  matches: Map<string, number>;
  suppressed: Map<string, number>;
  exceptions: Map<string, number>;
  evaluations: Map<Trigger, number>;
}

/** The rules could not be loaded at start: the message lists every error at file:line:col. */
export class RuleLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RuleLoadError";
  }
}

export class RuleEngine {
  private set: RuleSet;
  private files: string[];
  private readonly listeners: ((next: RuleSet, previous: RuleSet) => void)[] = [];
  private readonly carried: RuleTotals = {
    matches: new Map(),
    suppressed: new Map(),
    exceptions: new Map(),
    evaluations: new Map(),
  };
  private watchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | null = null;
  /** The last reload's outcome; null until the first reload. */
  lastReload: ReloadOutcome | null = null;
  /** Reloads by result since start. */
  reloads = { success: 0, failure: 0 };
  /** Wall-clock ms of the last successful load (the first load counts). */
  lastSuccessMs: number;

  /**
   * The first load, from a LoadResult without errors (the caller reports its problems:
   * at start a broken file is fatal, unlike on reload).
   */
  constructor(
    first: LoadResult & { ruleSet: RuleSet },
    private paths: readonly string[],
    private options: LoadOptions,
  ) {
    this.set = first.ruleSet;
    this.files = [...first.files, ...first.setFiles];
    this.lastSuccessMs = Date.now();
  }

  /**
   * The first load: warnings go to `warn`; any error throws RuleLoadError (at start a
   * broken file is fatal; on reload the old rules keep running instead).
   */
  static open(
    paths: readonly string[],
    options: LoadOptions,
    warn: (problem: RuleProblem) => void = () => {},
  ): RuleEngine {
    const result = loadRuleFiles(paths, options);
    for (const p of result.problems) if (p.severity === "warning") warn(p);
    if (result.ruleSet === null) {
      const errors = result.problems.filter((p) => p.severity === "error").map(formatRuleProblem);
      throw new RuleLoadError(`rules have errors:\n${errors.join("\n")}`);
    }
    return new RuleEngine({ ...result, ruleSet: result.ruleSet }, paths, options);
  }

  get current(): RuleSet {
    return this.set;
  }

  /** Called after each successful swap (the pipeline re-arms its triggers); returns an unsubscribe. */
  onSwap(listener: (next: RuleSet, previous: RuleSet) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Loads the rule files again; swaps them in only when they load without errors. */
  reload(cause: string): ReloadOutcome {
    return this.commit(this.prepare(cause));
  }

  /**
   * Loads rule files beside the running set, from new sources if given (a config reload
   * may change paths and variables); nothing changes until commit(). A caller that has
   * more to check (the daemon's sinks, groups) prepares, checks, then commits.
   */
  prepare(
    cause: string,
    paths: readonly string[] = this.paths,
    options: LoadOptions = this.options,
  ): PreparedReload {
    const started = process.hrtime.bigint();
    const result = loadRuleFiles(paths, options);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return {
      result,
      paths,
      options,
      outcome: {
        ok: result.ruleSet !== null,
        cause,
        atMs: Date.now(),
        seconds,
        rules: 0,
        problems: result.problems,
      },
    };
  }

  /** Swaps a prepared load in (or records that it failed: the running set stays). */
  commit(prepared: PreparedReload): ReloadOutcome {
    const { result, outcome } = prepared;
    if (result.ruleSet !== null) {
      this.paths = prepared.paths;
      this.options = prepared.options;
      const previous = this.set;
      this.carry(previous);
      previous.onExceptionExpired = null;
      this.set = result.ruleSet;
      this.files = [...result.files, ...result.setFiles];
      this.lastSuccessMs = outcome.atMs;
      this.reloads.success++;
      for (const l of this.listeners) l(result.ruleSet, previous);
      if (this.watchers.length > 0) this.watch();
    } else {
      this.reloads.failure++;
    }
    outcome.rules = this.set.rules.filter((r) => r.enabled).length;
    this.lastReload = outcome;
    return outcome;
  }

  /**
   * Reloads when a rule file, a set file or a rule folder changes (debounced: an editor's
   * save is several events). `onReload` hears each outcome. Calling it again re-watches
   * the files of the current load.
   */
  watch(onReload?: (o: ReloadOutcome) => void, debounceMs = 300): void {
    if (onReload !== undefined) this.onReload = onReload;
    this.unwatch();
    const dirs = new Set<string>();
    for (const p of this.paths) dirs.add(resolve(p));
    for (const f of this.files) dirs.add(dirname(resolve(f)));
    for (const d of dirs) {
      try {
        const w = watch(d, { persistent: false }, () => this.changed(debounceMs));
        w.on("error", () => {});
        this.watchers.push(w);
      } catch {
        // A path that vanished: the next reload reports it.
      }
    }
  }

  private onReload: ((o: ReloadOutcome) => void) | null = null;

  private changed(debounceMs: number): void {
    if (this.debounce !== null) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = null;
      const o = this.reload("file change");
      this.onReload?.(o);
    }, debounceMs);
    this.debounce.unref();
  }

  unwatch(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.debounce !== null) {
      clearTimeout(this.debounce);
      this.debounce = null;
    }
  }

  /** Running totals: the current set's counts plus every replaced set's. */
  totals(): RuleTotals {
    const set = this.set;
    return {
      matches: sum(this.carried.matches, set.hits()),
      suppressed: sum(this.carried.suppressed, set.suppressed()),
      exceptions: sum(this.carried.exceptions, exceptionHits(set.exceptionStats())),
      evaluations: sum(this.carried.evaluations, set.evaluations()),
    };
  }

  /** The current exceptions, with hit counts carried over reloads. */
  exceptions(): ExceptionStat[] {
    const carried = this.carried.exceptions;
    return this.set
      .exceptionStats()
      .map((e) => ({ ...e, hits: e.hits + (carried.get(e.id) ?? 0) }));
  }

  private carry(previous: RuleSet): void {
    addInto(this.carried.matches, previous.hits());
    addInto(this.carried.suppressed, previous.suppressed());
    addInto(this.carried.exceptions, exceptionHits(previous.exceptionStats()));
    addInto(this.carried.evaluations, previous.evaluations());
  }
}

function exceptionHits(stats: ExceptionStat[]): Map<string, number> {
  return new Map(stats.map((e) => [e.id, e.hits]));
}

function addInto<K>(into: Map<K, number>, more: Map<K, number>): void {
  for (const [k, v] of more) into.set(k, (into.get(k) ?? 0) + v);
}

function sum<K>(a: Map<K, number>, b: Map<K, number>): Map<K, number> {
  const out = new Map(a);
  addInto(out, b);
  return out;
}
