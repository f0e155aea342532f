/** Type tests: checked by `tsc --noEmit` (test/ is in tsconfig.json) and run by vitest. */
import { describe, expectTypeOf, test } from "vitest";
import type {
  AlertsConfig,
  BaselineConfig,
  CaptureConfig,
  DeviceGroupConfig,
  DevicesConfig,
  EgressdConfig,
  FlowsConfig,
  GeoipConfig,
  HttpConfig,
  RulesConfig,
  SensorConfig,
} from "../../src/config/config.js";
import { parseConfig } from "../../src/config/load.js";
import { flowOptions } from "../../src/config/sections/flows.js";
import type { FlowOptions, FlowTimeouts } from "../../src/flow/options.js";
import type { DEVICE_ROLES } from "../../src/inventory/groups.js";

describe("the config type is derived from the schema", () => {
  test("sections", () => {
    expectTypeOf<EgressdConfig>().toEqualTypeOf<{
      sensor: SensorConfig;
      capture: CaptureConfig;
      geoip: GeoipConfig;
      devices: DevicesConfig;
      flows: FlowsConfig;
      rules: RulesConfig;
      baseline: BaselineConfig;
      alerts: AlertsConfig;
      http: HttpConfig;
    }>();
    expectTypeOf<AlertsConfig["sinks"][number]["type"]>().toEqualTypeOf<
      "log" | "webhook" | "syslog" | "alertmanager"
    >();
    expectTypeOf<RulesConfig>().toEqualTypeOf<{
      paths: string[];
      variables: Record<string, string | number | string[]>;
    }>();
    expectTypeOf<SensorConfig>().toEqualTypeOf<{ name: string }>();
    expectTypeOf<GeoipConfig>().toEqualTypeOf<{
      country_db?: string;
      city_db?: string;
      asn_db?: string;
      bundled: boolean;
      internet_ranges: string[];
      max_age_days: number;
    }>();
    expectTypeOf<DevicesConfig>().toEqualTypeOf<{
      max_devices: number;
      store: string;
      change_after_update: { quiet: number; update_bytes: number };
      groups: DeviceGroupConfig[];
    }>();
    expectTypeOf<DeviceGroupConfig>().toEqualTypeOf<{
      name: string;
      role: (typeof DEVICE_ROLES)[number];
      description?: string;
      cidrs: string[];
      macs: string[];
      ouis: string[];
      vlans: number[];
    }>();
  });

  test("flow timeouts are the flow table's own type", () => {
    expectTypeOf<FlowsConfig["timeouts"]>().toEqualTypeOf<FlowTimeouts>();
    expectTypeOf(flowOptions).returns.toEqualTypeOf<FlowOptions>();
    expectTypeOf(parseConfig).returns.toEqualTypeOf<EgressdConfig>();
  });
});
