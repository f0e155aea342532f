import { expect } from "vitest";
import { ConfigError, formatProblem } from "../../src/config/errors.js";
import { parseConfig } from "../../src/config/load.js";

/** Strips the common indentation so YAML can be written inline, indented with the test. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = String.raw({ raw: strings }, ...values).replace(/^\n/, "");
  const lines = text.split("\n");
  const indent = Math.min(
    ...lines.filter((l) => l.trim() !== "").map((l) => l.length - l.trimStart().length),
  );
  return lines.map((l) => l.slice(indent)).join("\n");
}

/** The problems parseConfig reports for `text`, as "line:col: message" strings. */
export function problemsOf(text: string, file = "egressd.yaml"): string[] {
  try {
    parseConfig(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => formatProblem(p).slice(file.length + 1));
  }
  return [];
}
