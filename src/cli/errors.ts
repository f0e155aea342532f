/** Exit codes, as documented in `egressd --help`. */
export const ExitCode = {
  OK: 0,
  /** The work could not be done: unreadable or damaged input. */
  ERROR: 1,
  /** Bad command line, or input egressd cannot decode at all. */
  USAGE: 2,
} as const;

/** A mistake on the command line: printed with a hint to use --help, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Input that cannot be used (not a capture, a directory...): the message says why, exit 1. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}
