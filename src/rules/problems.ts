/**
 * What is wrong with a rule file, a set file or a variable, and where. Errors keep the
 * rule set from loading; warnings are printed and the rules still load.
 */

export interface RuleProblem {
  file: string;
  /** 1-based; 0 when the problem is about the whole file (it could not be read). */
  line: number;
  /** 1-based; 0 with line 0. */
  col: number;
  message: string;
  severity: "error" | "warning";
}

/** `file:line:col: message`, warnings marked, the form editors and CI annotators jump to. */
export function formatRuleProblem(p: RuleProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
  return `${where}: ${p.severity === "warning" ? "warning: " : ""}${p.message}`;
}

/** File order as given, then line and column; reports at one spot keep their order. */
export function sortRuleProblems(problems: readonly RuleProblem[], fileOrder: readonly string[]) {
  const rank = new Map<string, number>();
  fileOrder.forEach((f, i) => {
    if (!rank.has(f)) rank.set(f, i);
  });
  const r = (f: string) => rank.get(f) ?? fileOrder.length;
  return problems
    .map((p, i) => ({ p, i }))
    .sort(
      (a, b) =>
        r(a.p.file) - r(b.p.file) ||
        (a.p.file < b.p.file ? -1 : a.p.file > b.p.file ? 1 : 0) ||
        a.p.line - b.p.line ||
        a.p.col - b.p.col ||
        a.i - b.i,
    )
    .map(({ p }) => p);
}

export function hasErrors(problems: readonly RuleProblem[]): boolean {
  return problems.some((p) => p.severity === "error");
}
