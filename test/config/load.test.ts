import { mkdtempSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ConfigError } from "../../src/config/errors.js";
import { loadConfig, parseConfig } from "../../src/config/load.js";
import { problemsOf, yaml } from "./helpers.js";

describe("defaults", () => {
  test("an empty file is all defaults", () => {
    const c = parseConfig("", "/etc/egressd/egressd.yaml");
    expect(c.sensor.name).toBe(hostname());
    expect(c.geoip).toEqual({ bundled: true, internet_ranges: [], max_age_days: 60 });
    expect(c.devices.max_devices).toBe(100_000);
    expect(c.devices.groups).toEqual([]);
    expect(c.flows.max_flows).toBe(500_000);
    expect(c.flows.max_fragments).toBe(10_000);
    expect(c.flows.timeouts).toEqual({
      tcp_new: 30,
      tcp: 300,
      tcp_closed: 5,
      udp: 60,
      icmp: 60,
      other: 60,
      active: 1800,
    });
  });

  test("a file of comments, or of empty sections, is all defaults too", () => {
    const empty = parseConfig("", "x.yaml");
    expect(parseConfig("# nothing here\n", "x.yaml")).toEqual(empty);
    expect(parseConfig("sensor:\ngeoip:\ndevices:\n  groups:\nflows:\n", "x.yaml")).toEqual(empty);
  });

  test("setting one key keeps the defaults of its neighbours", () => {
    const c = parseConfig(
      yaml`
        flows:
          timeouts:
            udp: 2m
      `,
      "x.yaml",
    );
    expect(c.flows.timeouts.udp).toBe(120);
    expect(c.flows.timeouts.tcp).toBe(300);
    expect(c.flows.max_flows).toBe(500_000);
  });

  test("optional keys are absent, not empty strings", () => {
    const c = parseConfig("", "x.yaml");
    expect("country_db" in c.geoip).toBe(false);
    expect(c.geoip.city_db).toBeUndefined();
  });
});

describe("values", () => {
  test("a full config comes back typed and normalised", () => {
    const c = parseConfig(
      yaml`
        sensor:
          name: lobby-1
        geoip:
          bundled: false
          internet_ranges: [192.0.2.0/24, "2001:DB8::/32", 198.51.100.7]
          max_age_days: 30
        devices:
          max_devices: 500
          groups:
            - name: cameras
              role: camera
              description: lobby cameras
              cidrs: [10.20.0.0/24]
              ouis: [44-19-b6, 70B3D51]
              vlans: [20, 0, 4095]
            - name: nvr
              role: nvr
              macs: [44-19-b6-12-34-5a]
        flows:
          max_flows: 1000
          timeouts: { tcp: 1h30m, active: 1d }
      `,
      "x.yaml",
    );
    expect(c.sensor.name).toBe("lobby-1");
    expect(c.geoip.bundled).toBe(false);
    expect(c.geoip.internet_ranges).toEqual(["192.0.2.0/24", "2001:db8::/32", "198.51.100.7/32"]);
    expect(c.devices.groups).toEqual([
      {
        name: "cameras",
        role: "camera",
        description: "lobby cameras",
        cidrs: ["10.20.0.0/24"],
        macs: [],
        ouis: ["44:19:B6", "70:B3:D5:1"],
        vlans: [20, 0, 4095],
      },
      { name: "nvr", role: "nvr", cidrs: [], macs: ["44:19:B6:12:34:5A"], ouis: [], vlans: [] },
    ]);
    expect(c.flows.timeouts.tcp).toBe(5400);
    expect(c.flows.timeouts.active).toBe(86_400);
  });

  test("anchors and aliases are followed", () => {
    const c = parseConfig(
      yaml`
        devices:
          groups:
            - name: a
              role: camera
              cidrs: &lab [10.0.0.0/8]
            - name: b
              role: nvr
              cidrs: *lab
      `,
      "x.yaml",
    );
    expect(c.devices.groups[1]!.cidrs).toEqual(["10.0.0.0/8"]);
  });

  test("a role outside the known list is refused, so a typo cannot make a rule miss", () => {
    expect(() =>
      parseConfig(
        "devices:\n  groups:\n    - { name: doors, role: camra, vlans: [30] }\n",
        "x.yaml",
      ),
    ).toThrow(
      /x\.yaml:3:28: devices\.groups\[0\]\.role: expected one of .*found string "camra"; did you mean "camera"\?/,
    );
  });
});

describe("problems, each at its line:col", () => {
  test("unknown keys, with a did-you-mean or the known keys", () => {
    expect(
      problemsOf(yaml`
        sensr:
          name: x
        devices:
          max_device: 5
        flows:
          timeout:
            udp: 1m
          colour: blue
      `),
    ).toEqual([
      '1:1: unknown key "sensr"; did you mean "sensor"?',
      '4:3: unknown key "max_device" in devices; did you mean "max_devices"?',
      '6:3: unknown key "timeout" in flows; did you mean "timeouts"?',
      '8:3: unknown key "colour" in flows; known keys: max_flows, max_fragments, timeouts',
    ]);
  });

  test("did-you-mean forgives case, dashes and half-remembered names", () => {
    expect(
      problemsOf(yaml`
        geoip:
          Bundled: true
          max-age-days: 3
          country: x.mmdb
      `),
    ).toEqual([
      '2:3: unknown key "Bundled" in geoip; did you mean "bundled"?',
      '3:3: unknown key "max-age-days" in geoip; did you mean "max_age_days"?',
      '4:3: unknown key "country" in geoip; did you mean "country_db"?',
    ]);
  });

  test("wrong types say what was expected and what was found", () => {
    expect(
      problemsOf(yaml`
        sensor: lobby
        geoip:
          bundled: yes
          max_age_days: "30"
          internet_ranges: 192.0.2.0/24
        devices:
          max_devices: 1.5
          store: [a, b]
        flows:
          max_flows: lots
          timeouts:
            udp: 60
            tcp: 5 minutes
      `),
    ).toEqual([
      '1:9: sensor: expected a mapping with keys name, found string "lobby"',
      '3:12: geoip.bundled: expected true or false, found string "yes"; YAML 1.2 reads yes/no/on/off as text: write true or false',
      '4:17: geoip.max_age_days: expected an integer >= 1, found string "30"; remove the quotes',
      '5:20: geoip.internet_ranges: expected a list of networks, found string "192.0.2.0/24"; write it as a list: [192.0.2.0/24]',
      "7:16: devices.max_devices: expected an integer >= 1, found number 1.5",
      "8:10: devices.store: expected a file path, found a list",
      '10:14: flows.max_flows: expected an integer >= 1, found string "lots"',
      '12:10: flows.timeouts.udp: expected a duration such as "30s", "5m", "1h", "2d" or "1h30m" of at least 1s, found number 60; add a unit, e.g. "60s"',
      '13:10: flows.timeouts.tcp: expected a duration such as "30s", "5m", "1h", "2d" or "1h30m" of at least 1s, found string "5 minutes"',
    ]);
  });

  test("an empty value where a scalar belongs points at the key", () => {
    expect(problemsOf("geoip:\n  country_db:\n  max_age_days:\n")).toEqual([
      "2:3: geoip.country_db: expected a file path, found an empty value",
      "3:3: geoip.max_age_days: expected an integer >= 1, found an empty value",
    ]);
  });

  test("numbers out of range", () => {
    expect(
      problemsOf(yaml`
        devices:
          max_devices: 0
          groups:
            - { name: a, role: camera, vlans: [-1, 4096, 100] }
        flows:
          timeouts: { tcp_closed: 0s }
      `),
    ).toEqual([
      "2:16: devices.max_devices: expected an integer >= 1, found number 0",
      "4:40: devices.groups[0].vlans[0]: expected an integer from 0 to 4095, found number -1",
      "4:44: devices.groups[0].vlans[1]: expected an integer from 0 to 4095, found number 4096",
      '6:27: flows.timeouts.tcp_closed: expected a duration such as "30s", "5m", "1h", "2d" or "1h30m" of at least 1s, found string "0s"',
    ]);
  });

  test("duplicate keys name the first occurrence", () => {
    expect(
      problemsOf(yaml`
        flows:
          max_flows: 10
          timeouts:
            udp: 1m
            udp: 2m
          max_flows: 20
      `),
    ).toEqual([
      '5:5: duplicate key "udp" in flows.timeouts (first set at line 4, col 5); keep one',
      '6:3: duplicate key "max_flows" in flows (first set at line 2, col 3); keep one',
    ]);
    expect(problemsOf("sensor: {}\nsensor: {}\n")).toEqual([
      '2:1: duplicate key "sensor" (first set at line 1, col 1); keep one',
    ]);
  });

  test("YAML syntax errors have positions too", () => {
    expect(problemsOf("devices:\n  max_devices: [1\nflows: {}\n")).toEqual([
      "3:1: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]",
    ]);
    expect(problemsOf("sensor:\n  name: 'unterminated\n")).toEqual([
      // The yaml library points at where it gave up: the end of the file.
      "3:1: YAML: Missing closing 'quote",
    ]);
    expect(problemsOf("sensor:\n\tname: x\n")[0]).toMatch(/^2:1: YAML: Tabs are not allowed/);
    expect(problemsOf("sensor: {}\n---\nflows: {}\n")[0]).toMatch(
      /^2:1: YAML: .*multiple documents/,
    );
  });

  test("a document that is not a mapping", () => {
    expect(problemsOf("- sensor\n- flows\n")).toEqual([
      "1:1: expected a mapping with keys sensor, capture, geoip, devices, flows, rules, baseline, alerts, http, found a list",
    ]);
  });

  test("keys that are not names", () => {
    expect(problemsOf("devices:\n  [a, b]: 1\n  5: x\n")).toEqual([
      "2:3: keys must be plain names, found a list in devices",
      '3:3: unknown key "5" in devices; known keys: max_devices, store, change_after_update, groups',
    ]);
  });

  test("every problem in the file is reported, in file order", () => {
    const problems = problemsOf(yaml`
      flows:
        max_flows: -3
      sensor:
        nme: x
      geoip:
        internet_ranges: [10.0.0.1/8, nonsense]
      devices:
        groups:
          - name: Cams
            role: camera
            cidrs: [10.20.0.0/24]
          - name: nvr
            role: nvr
    `);
    expect(problems.map((p) => p.split(": ")[0])).toEqual([
      "2:14",
      "4:3",
      "6:21",
      "6:33",
      "9:13",
      "12:7",
    ]);
  });
});

describe("network, MAC and OUI values", () => {
  test("bad networks, MACs and OUIs are reported with a way out", () => {
    expect(
      problemsOf(yaml`
        devices:
          groups:
            - name: a
              role: camera
              cidrs: [10.20.0.5/24, 10.0.0.0/33, 10.0.0/8, "2001:db8::1/32", "fe80::1%eth0/64"]
              macs: [44:19:b6, "44:19:b6:12:34", 44:19-b6:12:34:56]
              ouis: [44:19:b6:12:34:56, 44:19, 123456]
      `),
    ).toEqual([
      '5:15: devices.groups[0].cidrs[0]: "10.20.0.5/24" has host bits set; did you mean 10.20.0.0/24?',
      '5:29: devices.groups[0].cidrs[1]: expected a prefix length from 0 to 32 after "/" in "10.0.0.0/33", found "33"',
      '5:42: devices.groups[0].cidrs[2]: expected an IPv4 or IPv6 network such as 10.20.0.0/24 or 2001:db8::/32, found string "10.0.0/8"',
      '5:52: devices.groups[0].cidrs[3]: "2001:db8::1/32" has host bits set; did you mean 2001:db8::/32?',
      '5:70: devices.groups[0].cidrs[4]: zone ids are not allowed in a network, found "fe80::1%eth0/64"',
      '6:14: devices.groups[0].macs[0]: "44:19:b6" is an OUI (a vendor prefix), not a MAC address; list it under ouis',
      '6:24: devices.groups[0].macs[1]: expected a MAC address such as 44:19:b6:12:34:56 (or 44-19-b6-12-34-56), found string "44:19:b6:12:34"',
      '6:42: devices.groups[0].macs[2]: expected a MAC address such as 44:19:b6:12:34:56 (or 44-19-b6-12-34-56), found string "44:19-b6:12:34:56"',
      '7:14: devices.groups[0].ouis[0]: "44:19:b6:12:34:56" is a full MAC address; list it under macs, or use its vendor prefix 44:19:B6',
      '7:33: devices.groups[0].ouis[1]: expected an OUI such as 44:19:B6 (or a 28/36-bit block such as 70:B3:D5:1), found string "44:19"',
      '7:40: devices.groups[0].ouis[2]: expected an OUI such as 44:19:B6 (or a 28/36-bit block such as 70:B3:D5:1), found number 123456; put it in quotes if you meant the text "123456"',
    ]);
  });
});

describe("device groups", () => {
  test("name and role are required, and a group needs a selector", () => {
    expect(
      problemsOf(yaml`
        devices:
          groups:
            - role: camera
              cidrs: [10.0.0.0/8]
            - name: b
              cidrs: [10.0.0.0/8]
            - name: c
              role: nvr
              description: no selector at all
            - name: d
              role: nvr
              cidrs: []
              macs:
      `),
    ).toEqual([
      '3:7: missing required key "name" in devices.groups[0]',
      '5:7: missing required key "role" in devices.groups[1]',
      "7:7: devices.groups[2]: no selector: set at least one of cidrs, macs, ouis or vlans",
      "10:7: devices.groups[3]: no selector: set at least one of cidrs, macs, ouis or vlans",
    ]);
  });

  test("group names are unique, even when the second group has other problems", () => {
    expect(
      problemsOf(yaml`
        devices:
          groups:
            - name: cameras
              role: camera
              cidrs: [10.20.0.0/24]
            - name: cameras
              role: camera
              cidrs: [10.21.0.0/33]
      `),
    ).toEqual([
      '6:13: devices.groups[1].name: group name "cameras" is already used by devices.groups[0] at line 3; each group name must be unique',
      '8:15: devices.groups[1].cidrs[0]: expected a prefix length from 0 to 32 after "/" in "10.21.0.0/33", found "33"',
    ]);
  });

  test("names and roles are lowercase names", () => {
    expect(
      problemsOf(yaml`
        devices:
          groups:
            - name: Lobby Cameras
              role: Camera
              vlans: [1]
            - name: x
              role: ""
              vlans: [1]
      `),
    ).toEqual([
      '3:13: devices.groups[0].name: expected a name of lowercase letters, digits, "_" and "-" (like "cameras"), found string "Lobby Cameras"',
      '4:13: devices.groups[0].role: expected one of "camera", "nvr", "vms", "dns", "ntp", "dhcp", "management", "gateway", "server", "workstation", "iot", "other", found string "Camera"; did you mean "camera"?',
      '7:13: devices.groups[1].role: expected one of "camera", "nvr", "vms", "dns", "ntp", "dhcp", "management", "gateway", "server", "workstation", "iot", "other", found string ""',
    ]);
  });

  test("a group item that is not a mapping", () => {
    expect(problemsOf("devices:\n  groups:\n    - cameras\n")).toEqual([
      '3:7: devices.groups[0]: expected a mapping with keys name, role, description, cidrs, macs, ouis, vlans, found string "cameras"',
    ]);
  });
});

describe("paths", () => {
  test("relative paths in the file are relative to the file's folder", () => {
    const c = parseConfig(
      yaml`
        geoip:
          country_db: GeoLite2-Country.mmdb
          asn_db: ../geoip/asn.mmdb
          city_db: /srv/geoip/city.mmdb
        devices:
          store: state/devices.db
      `,
      "/etc/egressd/egressd.yaml",
    );
    expect(c.geoip.country_db).toBe("/etc/egressd/GeoLite2-Country.mmdb");
    expect(c.geoip.asn_db).toBe("/etc/geoip/asn.mmdb");
    expect(c.geoip.city_db).toBe("/srv/geoip/city.mmdb");
    expect(c.devices.store).toBe("/etc/egressd/state/devices.db");
  });

  test("a relative file name is taken from the working directory", () => {
    const c = parseConfig("geoip:\n  asn_db: asn.mmdb\n", "conf/egressd.yaml");
    expect(c.geoip.asn_db).toBe(join(process.cwd(), "conf", "asn.mmdb"));
  });

  test("the default store is relative to the working directory, not the file", () => {
    const c = parseConfig("", "/etc/egressd/egressd.yaml");
    expect(c.devices.store).toBe(join(process.cwd(), "data", "egressd.db"));
  });
});

describe("loadConfig", () => {
  const dir = mkdtempSync(join(tmpdir(), "egressd-config-"));

  test("reads the file and resolves paths against its folder", () => {
    const file = join(dir, "egressd.yaml");
    writeFileSync(file, "geoip:\n  country_db: country.mmdb\n");
    expect(loadConfig(file).geoip.country_db).toBe(join(dir, "country.mmdb"));
  });

  test("problems carry the file name given", () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "flows:\n  max_flow: 1\n");
    expect(() => loadConfig(file)).toThrow(
      `${file}:2:3: unknown key "max_flow" in flows; did you mean "max_flows"?`,
    );
  });

  test("a missing file or a directory is a ConfigError without a position", () => {
    const missing = join(dir, "nope.yaml");
    const err = (() => {
      try {
        loadConfig(missing);
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(`${missing}: cannot read: no such file`);
    expect(() => loadConfig(dir)).toThrow(`${dir}: cannot read: is a directory, not a config file`);
  });

  test("the message lists one problem per line", () => {
    const err = (() => {
      try {
        parseConfig("sensor:\n  nam: x\nflows:\n  max_flows: 0\n", "e.yaml");
      } catch (e) {
        return e as ConfigError;
      }
    })()!;
    expect(err.problems).toHaveLength(2);
    expect(err.message.split("\n")).toEqual([
      'e.yaml:2:3: unknown key "nam" in sensor; did you mean "name"?',
      "e.yaml:4:14: flows.max_flows: expected an integer >= 1, found number 0",
    ]);
  });
});
