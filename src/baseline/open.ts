/**
 * The config's baseline files as one monitor (egressd run, replay --alerts): every file
 * read and checked at file:line:col; groups that appear in several files allow their
 * union. Device groups a baseline names that the config does not have are reported: such
 * a baseline can never apply.
 */
import type { EgressdConfig } from "../config/config.js";
import { ConfigError } from "../config/errors.js";
import { readBaselineFile } from "./baseline-file.js";
import type { GroupBaseline } from "./model.js";
import { BaselineMonitor } from "./monitor.js";

export class BaselineLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BaselineLoadError";
  }
}

/** The groups of every configured baseline file; throws BaselineLoadError listing all problems. */
export function loadBaselines(config: EgressdConfig): {
  groups: GroupBaseline[];
  warnings: string[];
} {
  const groups: GroupBaseline[] = [];
  const problems: string[] = [];
  for (const file of config.baseline.files) {
    try {
      groups.push(...readBaselineFile(file).groups);
    } catch (err) {
      if (err instanceof ConfigError) problems.push(err.message);
      else throw err;
    }
  }
  if (problems.length > 0)
    throw new BaselineLoadError(`baseline files have errors:\n${problems.join("\n")}`);
  const known = new Set(config.devices.groups.map((g) => g.name));
  const warnings = [...new Set(groups.map((g) => g.group))]
    .filter((g) => !known.has(g))
    .map((g) => `baseline for group "${g}", which devices.groups does not define: it cannot apply`);
  return { groups, warnings };
}

/** A monitor for the configured files, or null when there are none. */
export function openBaselineMonitor(config: EgressdConfig): {
  monitor: BaselineMonitor | null;
  warnings: string[];
} {
  if (config.baseline.files.length === 0) return { monitor: null, warnings: [] };
  const { groups, warnings } = loadBaselines(config);
  return {
    monitor: new BaselineMonitor(groups, { volumeFactor: config.baseline.volume_factor }),
    warnings,
  };
}
