/** EGRESSD_* environment overrides: set over the file, validated, problems named by variable. */
import { describe, expect, test } from "vitest";
import { type ConfigError, formatProblem } from "../../src/config/errors.js";
import { parseConfig } from "../../src/config/load.js";

const problems = (text: string, env: Record<string, string>) => {
  try {
    parseConfig(text, "egressd.yaml", env);
    return [];
  } catch (err) {
    return (err as ConfigError).problems.map(formatProblem);
  }
};

describe("environment overrides", () => {
  test("set scalars, lists and nested keys over the file", () => {
    const c = parseConfig("sensor:\n  name: from-file\ncapture:\n  snaplen: 512\n", "x.yaml", {
      EGRESSD_SENSOR_NAME: "from-env",
      EGRESSD_CAPTURE_INTERFACES: "eth1, eth2",
      EGRESSD_CAPTURE_PROMISCUOUS: "false",
      EGRESSD_ALERTS_RATE_LIMIT_PER_SECOND: "50",
      EGRESSD_HTTP_LISTEN: "0.0.0.0:9810",
      EGRESSD_CONFIG: "/etc/egressd/egressd.yaml",
      PATH: "/usr/bin",
    });
    expect(c.sensor.name).toBe("from-env");
    expect(c.capture).toMatchObject({
      interfaces: ["eth1", "eth2"],
      promiscuous: false,
      snaplen: 512,
    });
    expect(c.alerts.rate_limit.per_second).toBe(50);
    expect(c.http.listen).toBe("0.0.0.0:9810");
  });

  test("work on an empty file and on sections left empty", () => {
    expect(parseConfig("", "x.yaml", { EGRESSD_SENSOR_NAME: "s" }).sensor.name).toBe("s");
    expect(parseConfig("sensor:\n", "x.yaml", { EGRESSD_SENSOR_NAME: "s" }).sensor.name).toBe("s");
  });

  test("problems name the variable, with a did-you-mean for unknown ones", () => {
    expect(
      problems("flows:\n  max_flows: 10\n", {
        EGRESSD_FLOWS_MAX_FLOWS: "lots",
        EGRESSD_HTTP_LISTN: "x",
      }),
    ).toEqual([
      "environment: EGRESSD_HTTP_LISTN: no such setting; did you mean EGRESSD_HTTP_LISTEN?",
      'environment: EGRESSD_FLOWS_MAX_FLOWS: flows.max_flows: expected an integer >= 1, found string "lots"',
    ]);
  });
});
