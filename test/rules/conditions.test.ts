import { describe, expect, test } from "vitest";
import { TcpState } from "../../src/flow/tcp-state.js";
import { FlowApp } from "../../src/protocols/flow-app.js";
import {
  CAMERA,
  ctx,
  geo,
  rules as loadRules,
  makeFlow,
  NVR,
  oneRule,
  reasons,
} from "./helpers.js";

describe("endpoint conditions", () => {
  test("device group and role, each side", () => {
    const rs = oneRule("flow_end", "source.role: camera\ndestination.group: [nvr, vms]");
    const f = makeFlow({ dst: "10.20.0.2", dstGeo: geo("private"), dstDevice: NVR });
    expect(reasons(rs, ctx("flow_end", f))).toEqual([
      'source.role is "camera"',
      'destination.group "nvr" in [nvr, vms]',
    ]);
    expect(reasons(rs, ctx("flow_end", makeFlow()))).toBeNull(); // no destination device
    expect(reasons(rs, ctx("flow_end", makeFlow({ srcDevice: NVR, dstDevice: NVR })))).toBeNull();
  });

  test("role names are case-insensitive", () => {
    const rs = oneRule("flow_end", "source.role: Camera");
    expect(reasons(rs, ctx("flow_end", makeFlow()))).not.toBeNull();
  });

  test("maker as text", () => {
    const rs = oneRule("flow_end", "source.maker: { prefix: hik }");
    expect(reasons(rs, ctx("flow_end", makeFlow()))).toEqual([
      'source.maker "Hikvision" starts with "hik"',
    ]);
  });

  test("CIDR on source and destination, IPv4 and IPv6, longest network named", () => {
    const rs = oneRule(
      "flow_end",
      "source.ip: [10.20.0.0/24, 10.20.0.0/16]\ndestination.ip: [203.0.113.0/24, 2001:db8::/32]",
    );
    expect(reasons(rs, ctx("flow_end", makeFlow()))).toEqual([
      "source.ip 10.20.0.11 in [10.20.0.0/24, 10.20.0.0/16] (10.20.0.0/24)",
      "destination.ip 203.0.113.9 in [203.0.113.0/24, 2001:db8::/32] (203.0.113.0/24)",
    ]);
    expect(reasons(rs, ctx("flow_end", makeFlow({ src: "10.21.0.11" })))).toBeNull();
    const v6 = oneRule("flow_end", "destination.ip: 2001:db8:1::/48");
    expect(
      reasons(v6, ctx("flow_end", makeFlow({ src: "fd00::5", dst: "2001:db8:1::9" }))),
    ).toEqual(["destination.ip 2001:db8:1::9 in 2001:db8:1::/48"]);
    expect(
      reasons(v6, ctx("flow_end", makeFlow({ src: "fd00::5", dst: "2001:db8:2::9" }))),
    ).toBeNull();
    // An IPv4 network never matches an IPv6 flow whose low word happens to agree.
    const v4 = oneRule("flow_end", "destination.ip: 203.0.113.9");
    expect(
      reasons(v4, ctx("flow_end", makeFlow({ src: "fd00::5", dst: "::cb00:7109" }))),
    ).toBeNull();
    expect(reasons(v4, ctx("flow_end", makeFlow()))).toEqual(["destination.ip is 203.0.113.9"]);
  });

  test("ports (destination and source), lists and ranges", () => {
    const rs = oneRule(
      "flow_end",
      'destination.port: [7660, "7665-7670"]\nsource.port: { gte: 1024 }',
    );
    expect(reasons(rs, ctx("flow_end", makeFlow({ dstPort: 7667 })))).toEqual([
      "destination.port 7667 in [7660, 7665-7670] (in 7665-7670)",
      "source.port 50000 >= 1024",
    ]);
    expect(reasons(rs, ctx("flow_end", makeFlow({ dstPort: 7661 })))).toBeNull();
    expect(reasons(rs, ctx("flow_end", makeFlow({ dstPort: 7660, srcPort: 80 })))).toBeNull();
    // ICMP has no ports: a port condition never holds there.
    const any = oneRule("flow_end", 'destination.port: "0-65535"');
    expect(reasons(any, ctx("flow_end", makeFlow({ proto: 1, dstPort: 0 })))).toBeNull();
  });

  test("scope, country and AS of the destination", () => {
    const rs = oneRule(
      "flow_end",
      "destination.scope: internet\ndestination.country: [CN, RU]\ndestination.asn: [37963, 45102]",
    );
    expect(reasons(rs, ctx("flow_end", makeFlow()))).toEqual([
      'destination.scope is "internet"',
      'destination.country "CN" in [CN, RU]',
      "destination.asn 37963 in [37963, 45102]",
    ]);
    expect(
      reasons(rs, ctx("flow_end", makeFlow({ dstGeo: geo("internet", "DE", 37963) }))),
    ).toBeNull();
    expect(
      reasons(rs, ctx("flow_end", makeFlow({ dstGeo: geo("internet", "CN", 3320) }))),
    ).toBeNull();
  });

  test("source country for inbound rules", () => {
    const rs = oneRule(
      "flow_attempt",
      "source.country: CN\nsource.asn: 4134\nnetwork.direction: inbound",
    );
    const f = makeFlow({
      src: "198.51.100.7",
      dst: "10.20.0.11",
      srcGeo: geo("internet", "CN", 4134),
      dstGeo: geo("private"),
      srcDevice: null,
      dstDevice: CAMERA,
    });
    expect(reasons(rs, ctx("flow_attempt", f))).toEqual([
      'source.country is "CN"',
      "source.asn is 4134",
      'network.direction is "inbound"',
    ]);
  });

  test("scope falls back to the special ranges when the flow has no GeoIP answer", () => {
    const rs = oneRule("flow_end", "network.direction: outbound\nsource.scope: private");
    const f = makeFlow({ srcGeo: null, dstGeo: null, dst: "8.8.8.8" });
    expect(reasons(rs, ctx("flow_end", f))).not.toBeNull();
    const internal = makeFlow({ srcGeo: null, dstGeo: null, dst: "10.20.0.2" });
    expect(reasons(rs, ctx("flow_end", internal))).toBeNull();
  });
});

describe("network conditions", () => {
  test("direction: outbound, inbound, internal, external", () => {
    const rs = oneRule("flow_end", "network.direction: [internal, external]");
    const internal = makeFlow({ dst: "10.20.0.2", dstGeo: geo("private") });
    const external = makeFlow({ src: "198.51.100.1", srcGeo: geo("internet") });
    expect(reasons(rs, ctx("flow_end", internal))).toEqual([
      'network.direction "internal" in [internal, external]',
    ]);
    expect(reasons(rs, ctx("flow_end", external))).not.toBeNull();
    expect(reasons(rs, ctx("flow_end", makeFlow()))).toBeNull(); // outbound
    // Multicast discovery stays on the LAN: internal.
    const mc = makeFlow({ dst: "239.255.255.250", dstGeo: geo("multicast"), proto: 17 });
    expect(reasons(rs, ctx("flow_end", mc))).not.toBeNull();
  });

  test("VLAN", () => {
    const rs = oneRule("flow_end", 'network.vlan: "20-29"');
    expect(reasons(rs, ctx("flow_end", makeFlow({ vlan: 21 })))).toEqual([
      "network.vlan 21 in 20-29",
    ]);
    expect(reasons(rs, ctx("flow_end", makeFlow({ vlan: 30 })))).toBeNull();
    expect(reasons(rs, ctx("flow_end", makeFlow({ vlan: -1 })))).toBeNull(); // untagged
  });

  test("transport by name, alias and number", () => {
    const rs = oneRule("flow_end", "network.transport: [udp, icmpv6, 132]");
    expect(reasons(rs, ctx("flow_end", makeFlow({ proto: 17 })))).toEqual([
      'network.transport "udp" in [udp, icmpv6, 132]',
    ]);
    expect(
      reasons(rs, ctx("flow_end", makeFlow({ proto: 58, src: "fd00::1", dst: "fd00::2" }))),
    ).not.toBeNull();
    expect(reasons(rs, ctx("flow_end", makeFlow({ proto: 132 })))).not.toBeNull();
    expect(reasons(rs, ctx("flow_end", makeFlow({ proto: 6 })))).toBeNull();
  });

  test("recognised protocol, and unknown for flows nothing recognised", () => {
    const rs = oneRule("flow_end", "network.protocol: [dahua-p2p, unknown]");
    const app = new FlowApp();
    app.protocol = "dahua-p2p";
    expect(reasons(rs, ctx("flow_end", makeFlow({ proto: 17, app })))).toEqual([
      'network.protocol "dahua-p2p" in [dahua-p2p, unknown]',
    ]);
    expect(reasons(rs, ctx("flow_end", makeFlow({ app: null })))).not.toBeNull();
    const tls = new FlowApp();
    tls.protocol = "tls";
    expect(reasons(rs, ctx("flow_end", makeFlow({ app: tls })))).toBeNull();
  });
});

describe("names", () => {
  test("domain: exact, case and trailing dot ignored", () => {
    const rs = oneRule("flow_end", "destination.domain: LiteDev.Hik-Connect.com.");
    expect(reasons(rs, ctx("flow_end", makeFlow({ domain: "litedev.hik-connect.com" })))).toEqual([
      'destination.domain is "litedev.hik-connect.com"',
    ]);
    expect(
      reasons(rs, ctx("flow_end", makeFlow({ domain: "x.litedev.hik-connect.com" }))),
    ).toBeNull();
    expect(reasons(rs, ctx("flow_end", makeFlow({ domain: "" })))).toBeNull();
  });

  test("domain: suffix covers the name and names below it, on label boundaries", () => {
    const rs = oneRule("flow_end", "destination.domain: { suffix: hik-connect.com }");
    expect(reasons(rs, ctx("flow_end", makeFlow({ domain: "hik-connect.com" })))).not.toBeNull();
    expect(reasons(rs, ctx("flow_end", makeFlow({ domain: "a.b.hik-connect.com" })))).toEqual([
      'destination.domain "a.b.hik-connect.com" is or is below "hik-connect.com"',
    ]);
    expect(reasons(rs, ctx("flow_end", makeFlow({ domain: "nothik-connect.com" })))).toBeNull();
  });

  test("domain: globs, * within a label, ** across labels; a plain value with * is a glob", () => {
    const rs = oneRule("flow_end", 'destination.domain: "vtm*.ezvizlife.com"');
    expect(reasons(rs, ctx("flow_end", makeFlow({ domain: "vtm12.ezvizlife.com" })))).toEqual([
      'destination.domain "vtm12.ezvizlife.com" matches "vtm*.ezvizlife.com"',
    ]);
    expect(reasons(rs, ctx("flow_end", makeFlow({ domain: "a.vtm1.ezvizlife.com" })))).toBeNull();
    expect(reasons(rs, ctx("flow_end", makeFlow({ domain: "vtm.x.ezvizlife.com" })))).toBeNull();
    const deep = oneRule("flow_end", 'destination.domain: { glob: "**.ys7.com" }');
    expect(reasons(deep, ctx("flow_end", makeFlow({ domain: "a.b.ys7.com" })))).toEqual([
      'destination.domain "a.b.ys7.com" matches "**.ys7.com"',
    ]);
    expect(reasons(deep, ctx("flow_end", makeFlow({ domain: "ys7.com" })))).toBeNull();
    const q = oneRule("flow_end", 'destination.domain: { glob: "dev?.ys7.com" }');
    expect(reasons(q, ctx("flow_end", makeFlow({ domain: "dev1.ys7.com" })))).not.toBeNull();
    expect(reasons(q, ctx("flow_end", makeFlow({ domain: "dev.ys7.com" })))).toBeNull();
  });

  test("domain in a named set, with the entry that matched", () => {
    const rs = oneRule(
      "dns_query",
      "source.role: camera\ndestination.domain: { in: vendor_clouds }",
    );
    const f = makeFlow({ proto: 17, dst: "10.20.0.1", dstGeo: geo("private"), dstPort: 53 });
    const c = ctx("dns_query", f, {
      dns: { queryName: "litedev.hik-connect.com", queryType: "A", answers: [] },
    });
    expect(reasons(rs, c)).toEqual([
      'source.role is "camera"',
      'destination.domain "litedev.hik-connect.com" in set vendor_clouds (suffix hik-connect.com)',
    ]);
    const other = ctx("dns_query", f, {
      dns: { queryName: "example.com", queryType: "A", answers: [] },
    });
    expect(reasons(rs, other)).toBeNull();
  });

  test("name source: none is a hard-coded address", () => {
    const rs = oneRule(
      "flow_attempt",
      "destination.name_source: none\nnetwork.direction: outbound",
    );
    expect(reasons(rs, ctx("flow_attempt", makeFlow({ nameSource: "none" })))).toEqual([
      'destination.name_source is "none"',
      'network.direction is "outbound"',
    ]);
    expect(reasons(rs, ctx("flow_attempt", makeFlow({ nameSource: "dns" })))).toBeNull();
  });
});

describe("flow conditions", () => {
  test("TCP outcome: rejected by RST or by an ICMP unreachable to the SYN", () => {
    const rs = oneRule("flow_outcome", "flow.outcome: rejected");
    expect(reasons(rs, ctx("flow_outcome", makeFlow({ tcpState: TcpState.REJECTED })))).toEqual([
      'flow.outcome is "rejected"',
    ]);
    const icmp = makeFlow({ tcpState: TcpState.SYN_SENT, icmpErrors: 1, dstPackets: 0 });
    expect(reasons(rs, ctx("flow_outcome", icmp))).not.toBeNull();
    const attempted = makeFlow({ tcpState: TcpState.SYN_SENT, dstPackets: 0 });
    expect(reasons(rs, ctx("flow_outcome", attempted))).toBeNull();
  });

  test("outcome of every TCP state, and of UDP by whether it was answered", () => {
    const rs = oneRule(
      "flow_end",
      "flow.outcome: [attempted, established, closed, reset, midstream]",
    );
    for (const st of [
      TcpState.SYN_SENT,
      TcpState.ESTABLISHED,
      TcpState.CLOSED,
      TcpState.RESET,
      TcpState.MIDSTREAM,
    ]) {
      expect(reasons(rs, ctx("flow_end", makeFlow({ tcpState: st })))).not.toBeNull();
    }
    const udp = oneRule("flow_end", "flow.outcome: attempted\nflow.answered: false");
    expect(reasons(udp, ctx("flow_end", makeFlow({ proto: 17, dstPackets: 0 })))).toEqual([
      'flow.outcome is "attempted"',
      "flow.answered is false",
    ]);
    expect(reasons(udp, ctx("flow_end", makeFlow({ proto: 17, dstPackets: 1 })))).toBeNull();
  });

  test("bytes and packets each way, with units", () => {
    const rs = oneRule(
      "flow_end",
      'flow.bytes_out: { gt: 50MB }\nflow.bytes_in: { lt: 10KiB }\nflow.packets_out: ">= 100"\nflow.packets_in: { lte: 50 }',
    );
    const f = makeFlow({ srcBytes: 60_000_000, dstBytes: 10_239, srcPackets: 100, dstPackets: 50 });
    expect(reasons(rs, ctx("flow_end", f))).toEqual([
      "flow.bytes_out 60000000 (60.0 MB) > 50MB",
      "flow.bytes_in 10239 (10.2 kB) < 10KiB",
      "flow.packets_out 100 >= 100",
      "flow.packets_in 50 <= 50",
    ]);
    expect(
      reasons(rs, ctx("flow_end", makeFlow({ ...f, srcBytes: 50_000_000 } as never))),
    ).toBeNull();
    f.dstBytes = 10_240;
    expect(reasons(rs, ctx("flow_end", f))).toBeNull();
  });

  test("duration in seconds, written with units", () => {
    const rs = oneRule("flow_end", "flow.duration: { gte: 1h }");
    expect(reasons(rs, ctx("flow_end", makeFlow({ durationSec: 3700 })))).toEqual([
      "flow.duration 3700 s (1h1m40s) >= 1h",
    ]);
    expect(reasons(rs, ctx("flow_end", makeFlow({ durationSec: 3599 })))).toBeNull();
  });

  test("a range as two operators", () => {
    const rs = oneRule("flow_end", "flow.bytes_in: { gte: 1MiB, lt: 50MiB }");
    expect(reasons(rs, ctx("flow_end", makeFlow({ dstBytes: 1_048_576 })))).toEqual([
      "flow.bytes_in 1048576 (1.0 MB) >= 1MiB",
      "flow.bytes_in 1048576 (1.0 MB) < 50MiB",
    ]);
    expect(reasons(rs, ctx("flow_end", makeFlow({ dstBytes: 52_428_800 })))).toBeNull();
  });
});

describe("combinators", () => {
  test("any: the alternative that held is the reason", () => {
    const rs = oneRule(
      "flow_end",
      "any:\n  - destination.port: 8800\n  - destination.domain: { in: vendor_clouds }",
    );
    expect(reasons(rs, ctx("flow_end", makeFlow({ domain: "www.easy4ipcloud.com" })))).toEqual([
      'destination.domain "www.easy4ipcloud.com" in set vendor_clouds (suffix easy4ipcloud.com)',
    ]);
    expect(reasons(rs, ctx("flow_end", makeFlow({ dstPort: 8800 })))).toEqual([
      "destination.port is 8800",
    ]);
    expect(reasons(rs, ctx("flow_end", makeFlow()))).toBeNull();
  });

  test("any: with a mapping, each entry is an alternative", () => {
    const rs = oneRule("flow_end", "any: { destination.port: 8800, destination.country: RU }");
    expect(reasons(rs, ctx("flow_end", makeFlow({ dstPort: 8800 })))).not.toBeNull();
    expect(
      reasons(rs, ctx("flow_end", makeFlow({ dstGeo: geo("internet", "RU") }))),
    ).not.toBeNull();
    expect(reasons(rs, ctx("flow_end", makeFlow()))).toBeNull();
  });

  test("not: holds when the inner conditions do not, and shows the values seen", () => {
    const rs = oneRule("flow_end", "source.role: camera\nnot: { destination.role: [nvr, vms] }");
    expect(reasons(rs, ctx("flow_end", makeFlow()))).toEqual([
      'source.role is "camera"',
      "not (destination.role in [nvr, vms]) [destination.role: none]",
    ]);
    const toNvr = makeFlow({ dst: "10.20.0.2", dstGeo: geo("private"), dstDevice: NVR });
    expect(reasons(rs, ctx("flow_end", toNvr))).toBeNull();
  });

  test("not: with a list means none of them", () => {
    const rs = oneRule("flow_end", "not:\n  - destination.port: 443\n  - destination.country: RU");
    expect(reasons(rs, ctx("flow_end", makeFlow({ dstPort: 80 })))).not.toBeNull();
    expect(reasons(rs, ctx("flow_end", makeFlow({ dstPort: 443 })))).toBeNull();
  });

  test("all: with a list, and nesting", () => {
    const rs = oneRule(
      "flow_end",
      "all:\n  - source.role: camera\n  - any: [ {destination.port: 1}, {not: {destination.port: 1}} ]",
    );
    expect(reasons(rs, ctx("flow_end", makeFlow()))).toEqual([
      'source.role is "camera"',
      "not (destination.port is 1) [destination.port: 443]",
    ]);
  });

  test("exists", () => {
    const rs = oneRule(
      "flow_end",
      "destination.domain: { exists: false }\ndestination.country: { exists: true }",
    );
    expect(reasons(rs, ctx("flow_end", makeFlow()))).toEqual([
      "destination.domain is not known",
      'destination.country is known: "CN"',
    ]);
    expect(reasons(rs, ctx("flow_end", makeFlow({ domain: "x.example" })))).toBeNull();
  });

  test("operators in one mapping must all hold", () => {
    const rs = oneRule("http_request", 'http.path: { prefix: "/cgi-bin/", suffix: ".cgi" }');
    const ok = ctx("http_request", makeFlow(), { http: { path: "/cgi-bin/upgrader.cgi" } });
    const no = ctx("http_request", makeFlow(), { http: { path: "/cgi-bin/upgrader.php" } });
    expect(reasons(rs, ok)).toEqual([
      'http.path "/cgi-bin/upgrader.cgi" starts with "/cgi-bin/"',
      'http.path "/cgi-bin/upgrader.cgi" ends with ".cgi"',
    ]);
    expect(reasons(rs, no)).toBeNull();
  });
});

describe("variables", () => {
  test("a list variable stands for its items, and the reason names it", () => {
    const rs = oneRule("flow_end", "destination.country: $watch_countries", "", {
      variables: { watch_countries: ["CN", "RU"] },
    });
    expect(reasons(rs, ctx("flow_end", makeFlow()))).toEqual([
      'destination.country "CN" in $watch_countries [CN, RU]',
    ]);
  });

  test("scalar variables inside lists, numbers as text", () => {
    const rs = oneRule(
      "flow_end",
      "destination.port: [$p2p_port, 443]\nsource.group: $camera_group",
      "",
      {
        variables: { p2p_port: "8800", camera_group: "cameras" },
      },
    );
    expect(reasons(rs, ctx("flow_end", makeFlow({ dstPort: 8800 })))).not.toBeNull();
    expect(reasons(rs, ctx("flow_end", makeFlow({ dstPort: 443 })))).not.toBeNull();
  });

  test("the config overrides a rule file's default", () => {
    const yaml =
      "variables:\n  nvr_group: nvr\nrules:\n  - id: R1\n    name: n\n    severity: low\n    trigger: flow_end\n    when:\n      destination.group: $nvr_group\n";
    const { rules } = awaitRules(yaml, { nvr_group: "recorders" });
    const f = makeFlow({ dstDevice: { ...NVR, group: "recorders" } });
    expect(reasons(rules, ctx("flow_end", f))).not.toBeNull();
    expect(reasons(awaitRules(yaml, {}).rules, ctx("flow_end", f))).toBeNull();
  });

  test("$$ is a literal dollar", () => {
    const rs = oneRule("http_request", 'http.path: "$$x"');
    expect(reasons(rs, ctx("http_request", makeFlow(), { http: { path: "$x" } }))).not.toBeNull();
  });
});

function awaitRules(yaml: string, variables: Record<string, string | string[]>) {
  return { rules: loadRules(yaml, { variables }) };
}

describe("ECS names from the flow record and alerts", () => {
  test("mean the same fields, and reasons use the rule language's name", () => {
    const ecs = oneRule(
      "dns_query",
      "dns.question.name: { suffix: hik-connect.com }\ndestination.geo.country_iso_code: CN\ndestination.as.number: 37963",
    );
    const plain = oneRule(
      "dns_query",
      "dns.query: { suffix: hik-connect.com }\ndestination.country: CN\ndestination.asn: 37963",
    );
    const c = ctx("dns_query", makeFlow(), {
      dns: { queryName: "litedev.hik-connect.com", queryType: "A", answers: [] },
    });
    expect(reasons(ecs, c)).toEqual(reasons(plain, c));
    expect(reasons(ecs, c)).not.toBeNull();
    const other = ctx("dns_query", makeFlow(), {
      dns: { queryName: "example.org", queryType: "A", answers: [] },
    });
    expect(reasons(ecs, other)).toBeNull();
  });

  test("an alias is checked against the trigger like its field", () => {
    expect(() => oneRule("dns_query", "tls.client.server_name: a.example")).toThrow(
      /tls\.client\.server_name \(tls\.sni\) is not known at trigger dns_query/,
    );
  });
});
