import { path } from "../kinds.js";
import { array, field, type Infer, number, object } from "../schema.js";

export const baselineSection = object({
  files: field(
    array(path(), { expected: "a list of baseline files" }),
    "Baseline files (egressd learn, egressd mud import) enforced by rules on trigger baseline_drift; several files for one group allow their union.",
  ),
  volume_factor: field(
    number({ min: 1 }),
    "A device sending more than its group's learned bytes_out_per_day max times this in a day is a volume drift.",
    { default: 2 },
  ),
});

export type BaselineConfig = Infer<typeof baselineSection>;
