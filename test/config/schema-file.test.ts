/**
 * config/egressd.schema.json is generated from src/config. After changing the schema,
 * regenerate it and review the diff:
 *
 *   UPDATE_SCHEMA=1 npx vitest run test/config/schema-file.test.ts
 */
import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { configJsonSchema } from "../../src/config/config.js";

const SCHEMA_FILE = new URL("../../config/egressd.schema.json", import.meta.url);
const YAML_FILE = new URL("../../config/egressd.yaml", import.meta.url);

describe("config/egressd.schema.json", () => {
  test("is what the schema generates now (UPDATE_SCHEMA=1 regenerates it)", () => {
    const generated = configJsonSchema();
    if (process.env.UPDATE_SCHEMA === "1") {
      writeFileSync(SCHEMA_FILE, `${JSON.stringify(generated, null, 2)}\n`);
    }
    const onDisk = JSON.parse(readFileSync(SCHEMA_FILE, "utf8"));
    // Compared as data, so reformatting the file (biome) is not a change.
    expect(onDisk, "run UPDATE_SCHEMA=1 npx vitest run test/config/schema-file.test.ts").toEqual(
      generated,
    );
  });

  test("the shipped config points editors at it", () => {
    const firstLine = readFileSync(YAML_FILE, "utf8").split("\n")[0];
    expect(firstLine).toBe("# yaml-language-server: $schema=./egressd.schema.json");
  });
});

describe("generated JSON Schema", () => {
  const schema = configJsonSchema() as any;
  const groups = schema.properties.devices.properties.groups;
  const group = groups.items;

  test("is draft 2020-12 and closed at every level", () => {
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual([
      "sensor",
      "capture",
      "geoip",
      "devices",
      "flows",
      "rules",
      "baseline",
      "alerts",
      "http",
    ]);
    const objects: any[] = [];
    const walk = (s: any) => {
      if (s === null || typeof s !== "object") return;
      if (s.properties && String(s.type).includes("object")) objects.push(s);
      for (const v of Object.values(s)) walk(v);
    };
    walk(schema);
    expect(objects.length).toBeGreaterThanOrEqual(6);
    for (const o of objects) expect(o.additionalProperties).toBe(false);
  });

  test("every key has a description", () => {
    const missing: string[] = [];
    const walk = (s: any, path: string) => {
      for (const [k, v] of Object.entries<any>(s.properties ?? {})) {
        if (typeof v.description !== "string" || v.description === "") missing.push(`${path}${k}`);
        walk(v, `${path}${k}.`);
        if (v.items) walk(v.items, `${path}${k}[].`);
      }
    };
    walk(schema, "");
    expect(missing).toEqual([]);
  });

  test("carries defaults in the form one writes them", () => {
    const flows = schema.properties.flows.properties;
    expect(flows.max_flows.default).toBe(500000);
    expect(flows.timeouts.properties.tcp.default).toBe("5m");
    expect(flows.timeouts.properties.active.default).toBe("30m");
    expect(schema.properties.devices.properties.store.default).toBe("data/egressd.db");
    expect(schema.properties.geoip.properties.bundled.default).toBe(true);
    // The host name is not known when the schema is generated.
    expect(schema.properties.sensor.properties.name.default).toBeUndefined();
  });

  test("describes device groups: required keys, a selector, value shapes", () => {
    expect(groups.type).toEqual(["array", "null"]);
    expect(group.required).toEqual(["name", "role"]);
    expect(group.anyOf.map((b: any) => b.required[0])).toEqual(["cidrs", "macs", "ouis", "vlans"]);
    expect(group.properties.vlans.items).toMatchObject({
      type: "integer",
      minimum: 0,
      maximum: 4095,
    });
    expect(group.properties.role.enum).toContain("camera");
    const mac = new RegExp(group.properties.macs.items.pattern);
    expect(mac.test("44:19:b6:12:34:56")).toBe(true);
    expect(mac.test("44-19-b6-12-34-56")).toBe(true);
    expect(mac.test("44:19-b6:12:34:56")).toBe(false);
    const oui = new RegExp(group.properties.ouis.items.pattern);
    for (const ok of ["44:19:B6", "4419b6", "70:B3:D5:1", "70-B3-D5-00-1"])
      expect(oui.test(ok)).toBe(true);
    for (const bad of ["44:19", "44:19:B6:12:34:56", "44:19-B6"]) expect(oui.test(bad)).toBe(false);
    const duration = new RegExp(schema.properties.flows.properties.timeouts.properties.udp.pattern);
    for (const ok of ["30s", "5m", "1h30m", "2d"]) expect(duration.test(ok)).toBe(true);
    for (const bad of ["", "30", "5min", "30m1h"]) expect(duration.test(bad)).toBe(false);
  });
});
