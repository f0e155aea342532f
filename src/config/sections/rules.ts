import { path } from "../kinds.js";
import {
  array,
  field,
  type Infer,
  map,
  number,
  object,
  oneOf,
  type Schema,
  string,
} from "../schema.js";

/** A rule variable: text, a number, or a list of text (countries, group names...). */
const variableValue = oneOf<string | number | string[]>("text, a number or a list of text", [
  string() as Schema<string | number | string[]>,
  number() as Schema<string | number | string[]>,
  array(string(), { expected: "a list of text" }) as Schema<string | number | string[]>,
]);

export const rulesSection = object({
  paths: field(
    array(path(), { expected: "a list of rule files or folders" }),
    "Rule files or folders (*.yaml). Default: the shipped packs in rules/.",
    { default: () => ["rules"] },
  ),
  variables: field(
    map(variableValue, {
      keyPattern: /^[a-z][a-z0-9_]*$/,
      keyText: 'a variable name of lowercase letters, digits and "_"',
      description: "Values for the rules' $variables, overriding the rule files' defaults.",
    }),
    "Values for the rules' $variables (e.g. watch_countries: [CN, RU]), overriding the rule files' defaults.",
  ),
});

export type RulesConfig = Infer<typeof rulesSection>;
