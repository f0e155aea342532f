/**
 * Reading a JSON record (a flow record, an alert) by dotted path, as the alert path,
 * the sinks and the CLI do: `fieldAt(alert, "destination.geo.country_iso_code")`.
 */

/** record.a.b.c, or undefined when any step is missing or not an object. */
export function fieldAt(record: unknown, path: string): unknown {
  let v = record;
  for (const key of path.split(".")) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** A non-empty string or a finite number as text; anything else (objects, "") is absent. */
export function fieldText(value: unknown): string | undefined {
  if (typeof value === "string") return value !== "" ? value : undefined;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}
