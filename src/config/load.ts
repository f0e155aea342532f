import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { type EgressdConfig, egressdSchema } from "./config.js";
import { applyEnvOverrides, envProblem } from "./env.js";
import { ConfigError, type ConfigProblem } from "./errors.js";
import { INVALID, type ParseContext } from "./schema.js";

/**
 * Validates config text and returns the typed config with defaults filled in. Throws a
 * ConfigError listing every problem (YAML syntax, unknown or duplicate keys, wrong types,
 * bad values), each at file:line:col. `fileName` names the file in messages and is the
 * base for relative paths. Empty text means all defaults.
 */
export function parseConfig(
  text: string,
  fileName: string,
  env: Record<string, string | undefined> = {},
): EgressdConfig {
  const ctx = yamlContext(text, fileName);
  const { doc, problems } = ctx;
  const overrides = applyEnvOverrides(doc, egressdSchema.fields, env);
  const config = egressdSchema.parse(doc.contents, { line: 1, col: 1 }, "", ctx);
  const all = [
    ...overrides.problems,
    ...sortProblems(problems).map((p) => envProblem(p, overrides.paths)),
  ];
  if (config === INVALID || all.length > 0) throw new ConfigError(all);
  return config;
}

/**
 * YAML text as a document with positions, ready for a schema walk (config files, baseline
 * files): YAML warnings are its first problems; a syntax error is a ConfigError at once,
 * since after one the document's shape is a guess and schema problems would be noise.
 */
export function yamlContext(text: string, fileName: string): ParseContext {
  const lineCounter = new LineCounter();
  // Duplicate keys are found by the schema walk, which can say where the first one was.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const problems: ConfigProblem[] = [];
  const at = (offset: number) => lineCounter.linePos(Math.min(offset, text.length));
  for (const e of doc.errors) {
    problems.push({ file: fileName, ...at(e.pos[0]), message: `YAML: ${yamlMessage(e.message)}` });
  }
  for (const w of doc.warnings) {
    problems.push({ file: fileName, ...at(w.pos[0]), message: `YAML: ${yamlMessage(w.message)}` });
  }
  if (doc.errors.length > 0) throw new ConfigError(sortProblems(problems));
  return {
    file: fileName,
    problems,
    baseDir: dirname(resolve(fileName)),
    defaultBaseDir: process.cwd(),
    doc,
    lineCounter,
  };
}

/**
 * Reads and validates a config file, with `env`'s EGRESSD_* overrides on top (see
 * env.ts); see parseConfig. Unreadable files are a ConfigError too.
 */
export function loadConfig(
  path: string,
  env: Record<string, string | undefined> = {},
): EgressdConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === "ENOENT"
        ? "no such file"
        : e.code === "EISDIR"
          ? "is a directory, not a config file"
          : e.message;
    throw new ConfigError([{ file: path, line: 0, col: 0, message: `cannot read: ${why}` }]);
  }
  return parseConfig(text, path, env);
}

/** The yaml library's first sentence; the position is ours. */
function yamlMessage(message: string): string {
  return message.replace(/ at line \d+, column \d+:[\s\S]*$/, "").trim();
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.line - b.p.line || a.p.col - b.p.col || a.i - b.i)
    .map(({ p }) => p);
}
