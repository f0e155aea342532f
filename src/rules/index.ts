/** The rule engine: load and check rule files, evaluate contexts at trigger points. */
export { type RuleContext, TRIGGERS, type Trigger } from "./context.js";
export {
  type RuleInfo,
  type RuleMatch,
  RuleSet,
  SEVERITIES,
  type SetSummary,
  type Severity,
  type ThresholdKind,
  type ThresholdSpec,
} from "./evaluate.js";
export type { ExceptionStat } from "./exceptions.js";
export { FIELDS, type FieldDef } from "./fields.js";
export { BUILTIN_SETS_DIR, type LoadOptions, type LoadResult, loadRuleFiles } from "./load.js";
export { formatRuleProblem, type RuleProblem } from "./problems.js";
