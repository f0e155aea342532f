/** One thing wrong with a config file, where it is and what to do about it. */
export interface ConfigProblem {
  file: string;
  /** 1-based; 0 when the problem is about the whole file (it could not be read). */
  line: number;
  /** 1-based; 0 with line 0. */
  col: number;
  message: string;
}

/** `file:line:col: message`, the form editors and CI annotators jump to. */
export function formatProblem(p: ConfigProblem): string {
  return p.line > 0 ? `${p.file}:${p.line}:${p.col}: ${p.message}` : `${p.file}: ${p.message}`;
}

/**
 * A config file that cannot be used. Carries every problem found, not just the first, so
 * one edit-check round fixes them all; the message is one problem per line.
 */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "ConfigError";
    this.problems = problems;
  }
}
