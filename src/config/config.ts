/**
 * The egressd config file: one section per concern. To add a section, write
 * sections/<name>.ts (an `object({...})` and its `Infer` type), add one `field` line
 * below, and regenerate config/egressd.schema.json (UPDATE_SCHEMA=1, see
 * test/config/schema-file.test.ts).
 */
import { field, type Infer, type JsonSchema, object } from "./schema.js";
import { alertsSection } from "./sections/alerts.js";
import { baselineSection } from "./sections/baseline.js";
import { captureSection } from "./sections/capture.js";
import { devicesSection } from "./sections/devices.js";
import { flowsSection } from "./sections/flows.js";
import { geoipSection } from "./sections/geoip.js";
import { httpSection } from "./sections/http.js";
import { rulesSection } from "./sections/rules.js";
import { sensorSection } from "./sections/sensor.js";

export type { AlertsConfig, SinkConfig } from "./sections/alerts.js";
export type { BaselineConfig } from "./sections/baseline.js";
export type { CaptureConfig } from "./sections/capture.js";
export type { DeviceGroupConfig, DevicesConfig } from "./sections/devices.js";
export type { FlowsConfig } from "./sections/flows.js";
export type { GeoipConfig } from "./sections/geoip.js";
export type { HttpConfig } from "./sections/http.js";
export type { RulesConfig } from "./sections/rules.js";
export type { SensorConfig } from "./sections/sensor.js";

export const egressdSchema = object(
  {
    sensor: field(sensorSection, "This sensor."),
    capture: field(
      captureSection,
      "Live capture (egressd run): interfaces, BPF filter and libpcap options.",
    ),
    geoip: field(
      geoipSection,
      "Where destination countries and ASNs come from: operator MaxMind databases, else the bundled open data.",
    ),
    devices: field(devicesSection, "The watched devices: inventory bounds and device groups."),
    flows: field(flowsSection, "Flow table bounds and timeouts."),
    rules: field(rulesSection, "Which rules run, and the values of their variables."),
    baseline: field(
      baselineSection,
      "What normal looks like per device group: learned or imported baselines, enforced by baseline_drift rules.",
    ),
    alerts: field(
      alertsSection,
      "What happens to alerts: the store, dedup, rate limit, and the sinks they are sent to.",
    ),
    http: field(httpSection, "The HTTP listener of egressd run: metrics, health and the JSON API."),
  },
  { description: "egressd configuration (config/egressd.yaml)." },
);

export type EgressdConfig = Infer<typeof egressdSchema>;

/** The JSON Schema (draft 2020-12) that config/egressd.schema.json holds. */
export function configJsonSchema(): JsonSchema {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "egressd configuration",
    ...egressdSchema.jsonSchema(),
  };
}
