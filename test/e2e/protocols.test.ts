/**
 * Protocol metadata through the real CLI, checked field for field against tshark on the
 * same captures of real clients: dig (UDP and TCP, A/AAAA, CNAME chain), curl (HTTP/1.1
 * keep-alive, HTTPS), openssl s_client (TLS 1.2/1.3, with and without SNI, IPv4 and
 * IPv6), and openssl over a 576-byte MTU so ClientHellos span two TCP segments. Also
 * checks destination naming: a flow is named by the client's own DNS lookup.
 */
import { describe, expect, it } from "vitest";
import { get, replay, requireBuild } from "../edge-cases/cli.js";
import { tshark } from "./tshark.js";

const CLIENTS = "test/fixtures/real/namespace-clients.pcap";
const SMALL_MTU = "test/protocols/tls/fixtures/openssl-small-mtu.pcap";

type Rec = Record<string, any>;

function events(file: string): { flows: Rec[]; events: Rec[] } {
  requireBuild();
  const run = replay(file, ["--events", "all"]);
  expect(run.code, run.stderr).toBe(0);
  const all = run.records as Rec[];
  return {
    flows: all.filter((r) => r.event.dataset === undefined),
    events: all.filter((r) => r.event.dataset !== undefined),
  };
}

function fields(file: string, filter: string, names: string[]): string[][] {
  const out = tshark([
    "-r",
    file,
    "-Y",
    filter,
    "-T",
    "fields",
    ...names.flatMap((n) => ["-e", n]),
  ]);
  return out
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => l.split("\t"));
}

const sorted = (xs: string[]) => [...xs].sort();

describe("protocol metadata matches tshark", () => {
  it("DNS over UDP and TCP: question, answers, CNAME chain, pairing", () => {
    const { events: evs } = events(CLIENTS);
    const ours = evs
      .filter((e) => e.event.dataset === "egressd.dns")
      .map(
        (e) =>
          `${e.network.transport} ${e.source.port} ${e.dns.question.name} ${e.dns.question.type} ${sorted(e.dns.resolved_ip ?? []).join(",")}`,
      );
    const theirs = fields(CLIENTS, "dns.flags.response == 1", [
      "udp.dstport",
      "tcp.dstport",
      "dns.qry.name",
      "dns.qry.type",
      "dns.a",
      "dns.aaaa",
    ]).map(([udp, tcp, name, type, a, aaaa]) => {
      const transport = udp ? "udp" : "tcp";
      const ips = [...(a ? a.split(",") : []), ...(aaaa ? aaaa.split(",") : [])];
      const typeName = type === "1" ? "A" : type === "28" ? "AAAA" : type;
      return `${transport} ${udp || tcp} ${name!.toLowerCase()} ${typeName} ${sorted(ips).join(",")}`;
    });
    expect(ours.length).toBeGreaterThanOrEqual(12);
    expect(sorted(ours)).toEqual(sorted(theirs));
    const chain = evs.find((e) => e.dns?.question.name === "update.example.test");
    expect(chain!.egressd.dns.cnames).toEqual(["cam.example.test", "cdn.example.test"]);
    expect(
      evs.filter((e) => e.event.dataset === "egressd.dns").every((e) => e.egressd.dns.answered),
    ).toBe(true);
  });

  it("TLS: SNI and JA3 per connection, on both captures (ClientHellos split over segments)", () => {
    for (const file of [CLIENTS, SMALL_MTU]) {
      const { flows } = events(file);
      const ours = flows
        .filter((f) => f.tls?.client?.ja3 !== undefined)
        .map((f) => `${f.source.port} ${f.tls.client.server_name ?? ""} ${f.tls.client.ja3}`);
      // One line per connection: a HelloRetryRequest makes tshark show two ClientHellos.
      const theirs = [
        ...new Set(
          fields(file, "tls.handshake.type == 1", [
            "tcp.srcport",
            "tls.handshake.extensions_server_name",
            "tls.handshake.ja3",
          ]).map(([port, sni, ja3]) => `${port} ${sni ?? ""} ${ja3}`),
        ),
      ];
      expect(theirs.length, file).toBeGreaterThanOrEqual(5);
      expect(sorted(ours), file).toEqual(sorted(theirs));
    }
  });

  it("TLS 1.2 server certificate: subject, SANs, self-signed", () => {
    const { flows } = events(SMALL_MTU);
    const withCert = flows.filter((f) => f.tls?.server?.subject !== undefined);
    expect(withCert.length).toBeGreaterThan(0);
    const leaf = withCert[0]!;
    expect(leaf.tls.server.subject).toContain("CN=devices.example.test");
    expect(leaf.tls.server.x509.alternative_names).toContain("devices.example.test");
    expect(leaf.egressd.tls.self_signed).toBe(false);
    const sha = fields(SMALL_MTU, "tls.handshake.type == 11", ["tcp.srcport"]).length;
    expect(sha).toBeGreaterThan(0);
  });

  it("HTTP/1.1 keep-alive: every request's method, Host and URI", () => {
    const { events: evs } = events(CLIENTS);
    const ours = evs
      .filter((e) => e.event.dataset === "egressd.http")
      .map(
        (e) =>
          `${e.source.port} ${e.http.request.method} ${e.url.domain} ${e.url.original} ${e.http.response.status_code}`,
      );
    const theirs = fields(CLIENTS, "http.response", [
      "tcp.dstport",
      "http.request_in",
      "http.response.code",
    ]);
    const requests = new Map(
      fields(CLIENTS, "http.request", [
        "frame.number",
        "tcp.srcport",
        "http.request.method",
        "http.host",
        "http.request.uri",
      ]).map(([frame, ...rest]) => [frame!, rest]),
    );
    const expected = theirs.map(([, reqFrame, code]) => {
      const [port, method, host, uri] = requests.get(reqFrame!)!;
      return `${port} ${method} ${host} ${uri} ${code}`;
    });
    expect(ours.length).toBe(8);
    expect(sorted(ours)).toEqual(sorted(expected));
    // Keep-alive: two requests on one connection.
    const perPort = new Map<number, number>();
    for (const e of evs.filter((x) => x.event.dataset === "egressd.http")) {
      perPort.set(e.source.port, (perPort.get(e.source.port) ?? 0) + 1);
    }
    expect([...perPort.values()].every((n) => n === 2)).toBe(true);
  });

  it("names destinations by the client's own lookups, and says when there was none", () => {
    const { flows } = events(CLIENTS);
    const dnsFirst = flows.find((f) => get(f, "destination.port") === 53);
    expect(dnsFirst!.egressd.name_source).toBe("none");
    const https = flows.filter((f) => f.network.protocol === "tls" && f.network.type === "ipv4");
    expect(https.length).toBeGreaterThan(0);
    for (const f of https) {
      expect(f.egressd.name_source).toBe("dns");
      expect(f.destination.domain).toMatch(/\.example\.test$/);
    }
    const kinds = new Set(flows.map((f) => f.network.protocol).filter(Boolean));
    expect(kinds).toEqual(new Set(["dns", "http", "tls"]));
  });
});
