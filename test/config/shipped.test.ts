import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { configJsonSchema } from "../../src/config/config.js";
import { loadConfig, parseConfig } from "../../src/config/load.js";

const FILE = fileURLToPath(new URL("../../config/egressd.yaml", import.meta.url));
const text = readFileSync(FILE, "utf8");

/**
 * The shipped file with its commented-out keys and examples switched on: "# key: value"
 * lines and the indented example blocks ("#  - ...") lose their "#", and the "[]" that
 * stand in for the examples go.
 */
function uncommented(): string {
  return text
    .split("\n")
    .map((line) =>
      line
        .replace(/^(\s*)# ([a-z_]+: .*)$/, "$1$2")
        .replace(/^(\s+)#( {2}- .*| {4}[a-z_]+: .*)$/, "$1 $2")
        .replace(/^(\s*[a-z_]+): \[\]$/, "$1:"),
    )
    .join("\n");
}

describe("config/egressd.yaml", () => {
  test("loads with zero problems and states the defaults", () => {
    expect(loadConfig(FILE)).toEqual(parseConfig("", FILE));
  });

  test("its commented-out keys and example groups are valid when switched on", () => {
    const on = uncommented();
    expect(on).not.toBe(text);
    const c = parseConfig(on, FILE);
    expect(c.sensor.name).toBe("cctv-sensor-1");
    expect(c.geoip.country_db).toBe("/var/lib/GeoIP/GeoLite2-Country.mmdb");
    expect(c.geoip.internet_ranges).toHaveLength(4);
    expect(c.devices.store).toBe("/var/lib/egressd/egressd.db");
    expect(c.devices.groups.map((g) => [g.name, g.role])).toEqual([
      ["cameras", "camera"],
      ["recorders", "nvr"],
      ["resolvers", "dns"],
    ]);
    expect(c.devices.groups[0]).toMatchObject({ cidrs: ["10.20.0.0/24"], ouis: ["44:19:B6"] });
  });

  test("mentions every key of the schema", () => {
    const keys = new Set<string>();
    const walk = (s: any) => {
      for (const [k, v] of Object.entries<any>(s.properties ?? {})) {
        keys.add(k);
        walk(v);
        if (v.items) walk(v.items);
      }
    };
    walk(configJsonSchema());
    const missing = [...keys].filter((k) => !new RegExp(`^\\s*#?\\s*-?\\s*${k}:`, "m").test(text));
    expect(missing).toEqual([]);
  });
});

/**
 * Just enough of JSON Schema to check that the generated schema accepts what the loader
 * accepts: type, properties, additionalProperties, required, items, enum, anyOf, not,
 * pattern, lengths and bounds.
 */
function validate(schema: any, value: unknown, path = "$"): string[] {
  const errors: string[] = [];
  const typeOf = (v: unknown) =>
    v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v;
  if (schema.type !== undefined) {
    const types: string[] = [schema.type].flat();
    const t = typeOf(value);
    if (!types.includes(t) && !(t === "integer" && types.includes("number"))) {
      return [`${path}: type ${t}, want ${types.join("|")}`];
    }
  }
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: not in enum`);
  if (schema.not && validate(schema.not, value, path).length === 0) errors.push(`${path}: not`);
  if (schema.anyOf && !schema.anyOf.some((s: any) => validate(s, value, path).length === 0)) {
    errors.push(`${path}: no anyOf branch`);
  }
  if (typeof value === "string") {
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) errors.push(`${path}: pattern`);
    if (schema.minLength !== undefined && value.length < schema.minLength)
      errors.push(`${path}: minLength`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength)
      errors.push(`${path}: maxLength`);
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${path}: minimum`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${path}: maximum`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      errors.push(`${path}: minItems`);
    if (schema.items)
      value.forEach((v, i) => {
        errors.push(...validate(schema.items, v, `${path}[${i}]`));
      });
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const k of schema.required ?? []) if (!(k in obj)) errors.push(`${path}: missing ${k}`);
    for (const [k, v] of Object.entries(obj)) {
      const sub = schema.properties?.[k];
      if (sub) errors.push(...validate(sub, v, `${path}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: extra key ${k}`);
    }
  }
  return errors;
}

describe("the JSON Schema and the loader agree", () => {
  const schema = configJsonSchema();

  test("on the shipped file, plain and with its examples switched on", () => {
    expect(validate(schema, parse(text))).toEqual([]);
    expect(validate(schema, parse(uncommented()))).toEqual([]);
  });

  test("on files the loader refuses", () => {
    expect(validate(schema, parse("devices:\n  max_device: 5\n"))).toEqual([
      "$.devices: extra key max_device",
    ]);
    expect(
      validate(schema, parse("devices:\n  groups:\n    - name: a\n      role: camera\n")),
    ).toEqual(["$.devices.groups[0]: no anyOf branch"]);
    expect(validate(schema, parse("flows:\n  timeouts:\n    udp: 60\n"))).toEqual([
      "$.flows.timeouts.udp: type integer, want string",
    ]);
    expect(
      validate(schema, parse("devices:\n  groups:\n    - { role: Camera, vlans: [5000] }\n")),
    ).toEqual([
      "$.devices.groups[0]: missing name",
      "$.devices.groups[0].role: not in enum",
      "$.devices.groups[0].vlans[0]: maximum",
    ]);
  });
});
