import { UsageError } from "./errors.js";

/**
 * `--var NAME=VALUE` options (`NAME=a,b,c` for a list), as rules check/test and replay
 * take them: values for the rules' $variables, over the config file's.
 */
export function parseRuleVariables(list: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const item of list) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`--var needs NAME=VALUE, got "${item}"`);
    const name = item.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new UsageError(`--var: "${name}" is not a variable name (letters, digits and _)`);
    }
    const value = item.slice(eq + 1);
    out[name] = value.includes(",")
      ? value
          .split(",")
          .map((v) => v.trim())
          .filter((v) => v !== "")
      : value;
  }
  return out;
}
