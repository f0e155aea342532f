import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { formatRuleProblem, loadRuleFiles } from "../../src/rules/index.js";
import { load, NOW, writeTree } from "./helpers.js";

/** Problems of a file as `line:col: message`. */
function problems(yaml: string, files: Record<string, string> = {}): string[] {
  return load(yaml, {}, files).problemLines.map((l) => l.replace(/^rules\.yaml:/, ""));
}

const HEAD = (trigger: string, id = "R1") =>
  `  - id: ${id}\n    name: a rule\n    severity: low\n    trigger: ${trigger}\n`;

describe("rules check problems, each at its line:col", () => {
  test("YAML syntax", () => {
    expect(problems("rules:\n  - id: R1\n    name: [unclosed\n")).toEqual([
      expect.stringMatching(/^4:1: YAML: /),
    ]);
  });

  test("unknown keys and fields, with a did-you-mean", () => {
    expect(
      problems(`rule:
  - id: X
rules:
  - id: R1
    name: a rule
    severty: low
    severity: low
    trigger: flow_end
    when:
      destination.domian: x.example
      role: camera
      dns.quer: x.example
      destination.port: { gt: 1, gte: 2, regex: "x" }
`),
    ).toEqual([
      '1:1: unknown key "rule" in the rule file; did you mean "rules"?',
      '6:5: unknown key "severty" in rule rules[0]; did you mean "severity"?',
      '10:7: unknown field "destination.domian"; did you mean "destination.domain"?',
      '11:7: unknown field "role"; did you mean "source.role" or "destination.role" or "device.role"?',
      '12:7: unknown field "dns.quer"; did you mean "dns.query"?',
      '13:42: unknown operator "regex" for destination.port; it takes a plain value or gt, gte, lt, lte, exists',
    ]);
  });

  test("an operator the field does not take", () => {
    expect(
      problems(`rules:\n${HEAD("flow_end")}    when:\n      source.role: { prefix: cam }\n`),
    ).toEqual([
      '7:22: source.role (one of a fixed list) does not take "prefix"; it takes a plain value or exists',
    ]);
  });

  test("bad types, severities and triggers", () => {
    expect(
      problems(`rules:
  - id: R1
    name: 5
    severity: hgh
    trigger: dns_qurey
    tags: call-home
    enabled: yes
  - id: "bad id!"
    name: x
    severity: info
    trigger: flow_end
`),
    ).toEqual([
      '3:11: rule R1: name: expected a non-empty string, found number 5; put it in quotes if you meant the text "5"',
      '4:15: rule R1: severity: expected one of "info", "low", "medium", "high", "critical", found string "hgh"; did you mean "high"?',
      '5:14: rule R1: trigger: expected one of "dns_query", "dns_answer", "flow_attempt", "flow_outcome", "tls_client_hello", "http_request", "http_response", "flow_threshold", "flow_end", "device_first_seen", "baseline_drift", "device_changed_after_update", found string "dns_qurey"; did you mean "dns_query"?',
      '6:11: rule R1: tags: expected a list of strings, found string "call-home"; write it as a list: [call-home]',
      '7:14: rule R1: enabled: expected true or false, found string "yes"; YAML 1.2 reads yes/no/on/off as text: write true or false',
      '8:9: rules[1].id: expected letters, digits, _ . : and -, starting with a letter or digit (at most 64), found string "bad id!"',
    ]);
  });

  test("missing required keys", () => {
    expect(problems("rules:\n  - id: R1\n    name: x\n")).toEqual([
      '2:5: missing required key "severity" in rule rules[0]',
      '2:5: missing required key "trigger" in rule rules[0]',
    ]);
  });

  test("bad values: roles, countries, ports, networks, names, booleans, amounts", () => {
    expect(
      problems(`rules:
${HEAD("flow_end")}    when:
      source.role: camra
      destination.country: China
      destination.port: 70000
      destination.ip: 10.20.0.5/24
      destination.domain: "bad domain.example"
      flow.answered: "yes"
      flow.bytes_out: { gt: 50mb }
      network.vlan: []
      network.direction: outgoing
`),
    ).toEqual([
      '7:20: source.role: expected one of camera, nvr, vms, dns, ntp, dhcp, management, gateway, server, workstation, iot, other; found "camra"; did you mean "camera"?',
      '8:28: destination.country: expected an ISO 3166 two-letter country code such as CN, found "China"',
      "9:25: destination.port: 70000 is outside 0..65535",
      '10:23: destination.ip: "10.20.0.5/24" has host bits set; did you mean 10.20.0.0/24?',
      '11:27: destination.domain: " " cannot be in a domain name (letters, digits, - and _; write IDNs as xn--...)',
      '12:22: flow.answered: expected true or false, found "yes"; YAML 1.2 reads yes/no/on/off as text',
      '13:29: flow.bytes_out: unknown byte unit "mb" in "50mb"; did you mean "50MB"?',
      "14:21: network.vlan: empty list; it would never match",
      '15:26: network.direction: expected one of outbound, inbound, internal, external; found "outgoing"',
    ]);
  });

  test("an unknown protocol name is a warning, not an error", () => {
    const r = load(`rules:\n${HEAD("flow_end")}    when:\n      network.protocol: mqtt\n`);
    expect(r.ruleSet).not.toBeNull();
    expect(r.problemLines).toEqual([
      'rules.yaml:7:25: warning: network.protocol: not one of the known values dns, mdns, llmnr, tls, http, rtsp, ntp, dhcp, sadp, dhip, dvrip, ws-discovery, dahua-p2p, unknown; found "mqtt"',
    ]);
  });

  test("a condition not known at the rule's trigger", () => {
    expect(
      problems(
        `rules:\n${HEAD("dns_query")}    when:\n      http.method: GET\n      any: [ {tls.sni: x.example}, {dns.rcode: NXDOMAIN} ]\n`,
      ),
    ).toEqual([
      "7:7: http.method is not known at trigger dns_query; it is known at http_request, http_response",
      "8:15: tls.sni is not known at trigger dns_query; it is known at tls_client_hello, flow_threshold, flow_end",
      "8:37: dns.rcode is not known at trigger dns_query; it is known at dns_answer",
    ]);
    expect(
      problems(`rules:\n${HEAD("device_first_seen")}    when:\n      source.role: camera\n`),
    ).toEqual([
      "7:7: source.role is not known at trigger device_first_seen; it is known at dns_query, dns_answer, flow_attempt, flow_outcome, tls_client_hello, http_request, http_response, flow_threshold, flow_end, baseline_drift",
    ]);
    // No ClientHello has been seen when a flow starts.
    expect(
      problems(`rules:\n${HEAD("flow_attempt")}    when:\n      tls.sni: example.com\n`),
    ).toEqual([
      "7:7: tls.sni is not known at trigger flow_attempt; it is known at tls_client_hello, flow_threshold, flow_end",
    ]);
  });

  test("undefined sets and variables", () => {
    expect(
      problems(
        `sets:\n  nvr_nets: [10.20.0.0/28]\nrules:\n${HEAD("flow_end")}    when:\n      destination.ip: { in: nvr_net }\n      destination.country: $watch_countries\n      destination.domain: { in: vendor_cloud }\n`,
      ),
    ).toEqual([
      expect.stringMatching(
        /^9:29: undefined set "nvr_net"; did you mean "nvr_nets"\?; define it under sets: in a rule file, or add nvr_net.txt to \/.*\/sets$/,
      ),
      "10:28: undefined variable $watch_countries; set it under variables: in a rule file, in the daemon config, or with --var watch_countries=VALUE",
      expect.stringMatching(/^11:33: undefined set "vendor_cloud"; did you mean "vendor_clouds"\?/),
    ]);
  });

  test("flow_threshold needs a threshold, and only it takes one", () => {
    expect(
      problems(`rules:
${HEAD("flow_threshold", "A")}${HEAD("flow_end", "B")}    threshold: { bytes_out: 50MB }
${HEAD("flow_threshold", "C")}    threshold: { bytes_out: 50mb, packets: 5 }
`),
    ).toEqual([
      "5:14: rule A: trigger flow_threshold needs threshold: { bytes_out | bytes_in | duration: AMOUNT }, e.g. threshold: { bytes_out: 50MB }",
      "10:5: rule B: threshold: only applies to trigger flow_threshold, not flow_end",
      '15:29: rule C: threshold bytes_out: unknown byte unit "mb" in "50mb"; did you mean "50MB"?',
      '15:35: unknown key "packets" in rule C: threshold; known keys: bytes_out, bytes_in, duration',
    ]);
  });

  test("rules that can never match", () => {
    expect(
      problems(`rules:
${HEAD("flow_end", "UDP-TLS")}    when:
      network.transport: udp
      tls.sni: x.example
${HEAD("flow_end", "PRIVATE-CN")}    when:
      destination.scope: private
      destination.country: CN
${HEAD("flow_end", "BYTES")}    when:
      all:
        - flow.bytes_out: { gt: 10MB }
        - flow.bytes_out: { lt: 1MB }
${HEAD("flow_end", "RANGE")}    when:
      flow.duration: { gt: 1h, lt: 10m }
${HEAD("flow_attempt", "OUT-PRIVATE")}    when:
      network.direction: outbound
      destination.scope: [private, multicast]
${HEAD("tls_client_hello", "TLS-UDP")}    when:
      network.transport: udp
${HEAD("flow_end", "CLOSED-UDP")}    when:
      network.protocol: ntp
      flow.outcome: closed
${HEAD("flow_end", "ANY")}    when:
      network.transport: udp
      any:
        - tls.sni: a.example
        - network.protocol: http
${HEAD("flow_end", "PORTS")}    when:
      destination.port: 443
      network.transport: icmp
${HEAD("flow_end", "EXISTS")}    when:
      all:
        - destination.domain: { exists: false }
        - destination.domain: { suffix: ys7.com }
`),
    ).toEqual([
      "8:7: this rule can never match: tls.sni (TLS runs over TCP) contradicts network.transport is udp (network.transport: tcp versus udp)",
      "15:7: this rule can never match: destination.country (only internet addresses have one) contradicts destination.scope is private (destination.scope: internet versus private)",
      "23:11: this rule can never match: flow.bytes_out < 1MB contradicts flow.bytes_out > 10MB",
      "29:7: this rule can never match: flow.duration < 10m contradicts flow.duration > 1h",
      "36:7: this rule can never match: network.direction is outbound contradicts destination.scope is private/multicast (outbound: local to internet, inbound: internet to local, internal: local to local, external: internet to internet)",
      "42:7: this rule can never match: network.transport is udp contradicts trigger tls_client_hello (TLS runs over TCP) (network.transport: udp versus tcp)",
      "49:7: this rule can never match: flow.outcome is closed (TCP only) contradicts network.protocol is ntp (udp only) (network.transport: tcp versus udp)",
      "56:7: this rule can never match: no alternative under any: can hold: tls.sni (TLS runs over TCP) contradicts network.transport is udp (network.transport: tcp versus udp)",
      "65:7: this rule can never match: network.transport is icmp contradicts destination.port (only TCP, UDP and SCTP have ports) (network.transport: icmp versus tcp, udp, sctp)",
      "73:11: this rule can never match: destination.domain contradicts destination.domain is not known",
    ]);
  });

  test("an alternative that can never hold is a warning", () => {
    const r = load(
      `rules:\n${HEAD("flow_end")}    when:\n      network.transport: udp\n      any:\n        - destination.port: 123\n        - tls.sni: a.example\n`,
    );
    expect(r.ruleSet).not.toBeNull();
    expect(r.problemLines).toEqual([
      "rules.yaml:10:11: warning: this alternative can never hold: tls.sni (TLS runs over TCP) contradicts network.transport is udp (network.transport: tcp versus udp)",
    ]);
  });
});

describe("across files", () => {
  test("duplicate ids, sets and variable defaults name the first place", () => {
    const root = writeTree({
      "a.yaml": `variables:\n  nvr: nvr\nsets:\n  s1: [a.example]\nrules:\n${HEAD("flow_end", "DUP")}`,
      "b/b.yaml": `variables:\n  nvr: recorders\nsets:\n  s1: [b.example]\nrules:\n${HEAD("flow_end", "DUP")}exceptions:\n  - id: E\n    rules: DUP\n    reason: x\n    when: { source.role: nvr }\n  - id: E\n    rules: DUP\n    reason: y\n`,
    });
    const r = loadRuleFiles([root], { now: NOW });
    expect(r.ruleSet).toBeNull();
    expect(r.files).toEqual([join(root, "a.yaml"), join(root, "b/b.yaml")]);
    expect(r.problems.map((p) => formatRuleProblem(p).replaceAll(`${root}/`, ""))).toEqual([
      "b/b.yaml:2:3: variable nvr is already set at a.yaml:2; set each default once",
      "b/b.yaml:4:3: set s1 is already defined at a.yaml:4:3",
      'b/b.yaml:6:9: duplicate rule id "DUP"; already used at a.yaml:6:9',
      'b/b.yaml:15:9: duplicate exception id "E"; already used at b/b.yaml:11:9',
    ]);
  });

  test("paths that cannot be read, folders without rules, set files that are missing", () => {
    const root = writeTree({
      "empty/README": "nothing here",
      "r.yaml": `sets:\n  big:\n    file: nowhere.txt\nrules:\n${HEAD("flow_end")}    when: { destination.domain: { in: big } }\n`,
    });
    const r = loadRuleFiles([join(root, "missing"), join(root, "empty"), join(root, "r.yaml")], {
      now: NOW,
    });
    expect(r.problems.map((p) => formatRuleProblem(p).replaceAll(`${root}/`, ""))).toEqual([
      "missing: cannot read: no such file or directory",
      "empty: warning: no rule files (*.yaml, *.yml) here",
      "r.yaml:3:11: set big: cannot read nowhere.txt: no such file",
    ]);
  });

  test("a set without the kind of entries a field needs: a warning", () => {
    const r = load(
      `sets:\n  nets: [10.0.0.0/8]\nrules:\n${HEAD("flow_end")}    when: { destination.domain: { in: nets } }\n`,
    );
    expect(r.problemLines).toEqual([
      "rules.yaml:8:39: warning: set nets has no domain names, so destination.domain is never in it",
    ]);
  });

  test("group names are checked against the config's groups when given", () => {
    const r = load(`rules:\n${HEAD("flow_end")}    when: { destination.group: nvrs }\n`, {
      groups: ["nvr", "cameras"],
    });
    expect(r.problemLines).toEqual([
      'rules.yaml:6:32: warning: destination.group: no device group "nvrs" in the config; did you mean "nvr"?',
    ]);
  });
});
