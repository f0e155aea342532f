/**
 * Real bytes from real tools: dig against dnsmasq, captured by tcpdump. Every DNS message in
 * the captures is parsed by egressd and compared field for field with what tshark (an
 * independent implementation) decodes from the same frames.
 *
 * - test/fixtures/real/namespace-clients.pcap: dig A, AAAA and a two-step CNAME chain over
 *   UDP and TCP, IPv4 and IPv6 (see test/fixtures/real/README.md).
 * - test/protocols/dns/fixtures/dns-records.pcap: dig against dnsmasq on loopback port 53530:
 *   MX, SRV, TXT (plain, escaped, long, binary), PTR, NS, SOA, NXDOMAIN, REFUSED, DNAME, CAA,
 *   HTTPS, SVCB, an IPv4-mapped AAAA, a truncated (TC) UDP answer and its TCP retry, mixed
 *   case, three queries in one TCP connection (make-dns-records.sh regenerates it).
 */

import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";
import { parseDnsMessage } from "../../../src/protocols/dns/parse.js";
import { looksLikeDns } from "../../../src/protocols/dns/recognise.js";
import type {
  DnsMessage,
  DnsResourceRecord,
  DnsTransaction,
} from "../../../src/protocols/dns/record.js";
import { DnsTransactionTracker } from "../../../src/protocols/dns/transactions.js";
import { type CapturedMessage, readDnsMessages, tsharkDnsFields } from "./capture.js";

const NAMESPACE = fileURLToPath(
  new URL("../../fixtures/real/namespace-clients.pcap", import.meta.url),
);
const RECORDS = fileURLToPath(new URL("./fixtures/dns-records.pcap", import.meta.url));
const RECORDS_PORT = 53530;

const FIELDS = [
  "dns.id",
  "dns.flags.response",
  "dns.flags.opcode",
  "dns.flags.rcode",
  "dns.flags.authoritative",
  "dns.flags.truncated",
  "dns.flags.recdesired",
  "dns.flags.recavail",
  "dns.flags.authenticated",
  "dns.flags.checkdisable",
  "dns.count.queries",
  "dns.count.answers",
  "dns.count.auth_rr",
  "dns.count.add_rr",
  "dns.qry.name",
  "dns.qry.type",
  "dns.qry.class",
  "dns.resp.name",
  "dns.resp.type",
  "dns.resp.class",
  "dns.resp.ttl",
  "dns.a",
  "dns.aaaa",
  "dns.cname",
  "dns.ns",
  "dns.ptr.domain_name",
  "dns.dname",
  "mx",
  "srv",
  "srv.owner",
  "soa",
  "svcb",
  "dns.txt",
] as const;

/** Composite fields built from several tshark fields, to compare with our one data string. */
const COMPOSITES: Record<string, string[]> = {
  mx: ["dns.mx.preference", "dns.mx.mail_exchange"],
  srv: ["dns.srv.priority", "dns.srv.weight", "dns.srv.port", "dns.srv.target"],
  "srv.owner": ["dns.srv.service", "dns.srv.proto", "dns.srv.name"],
  soa: ["dns.soa.mname", "dns.soa.rname", "dns.soa.serial_number"],
  svcb: ["dns.svcb.svcpriority", "dns.svcb.targetname"],
};

type Row = Record<string, string[]>;

function tsharkRows(path: string, decodeAs: number[]): Map<number, Row> {
  const plain = FIELDS.filter((f) => !(f in COMPOSITES));
  const parts = Object.values(COMPOSITES).flat();
  const rows = tsharkDnsFields(path, [...plain, ...parts], decodeAs);
  for (const row of rows.values()) {
    for (const [name, sub] of Object.entries(COMPOSITES)) {
      const cols = sub.map((f) => row[f] ?? []);
      const n = cols[0]!.length;
      row[name] = Array.from({ length: n }, (_, i) =>
        cols.map((c) => c[i]).join(name === "srv.owner" ? "." : " "),
      );
      for (const f of sub) delete row[f];
    }
    // tshark prints the root name as "<Root>"; we print ".".
    for (const f of ["dns.qry.name", "dns.resp.name", "svcb"]) {
      row[f] = row[f]!.map((v) => v.replace("<Root>", "."));
    }
    // tshark shows TXT strings raw, one per occurrence: join and escape them as we do
    // (the binary TXT record has its own test below).
    row["dns.txt"] = row["dns.txt"]!.length === 0 ? [] : [txtAsOurs(row["dns.txt"]!)];
  }
  return rows;
}

function txtAsOurs(strings: string[]): string {
  return strings.join(" ").replaceAll("\\", "\\\\").slice(0, 255);
}

const hex4 = (n: number) => `0x${n.toString(16).padStart(4, "0")}`;
const bit = (b: boolean) => (b ? "1" : "0");

/** Our message in tshark's terms. */
function ourRow(m: DnsMessage): Row {
  const rrs = [...m.answers, ...m.authorities, ...m.additionals];
  const notOpt = rrs.filter((r) => r.type !== 41);
  const data = (type: number) =>
    rrs.filter((r) => r.type === type).map((r) => r.data ?? "<undefined>");
  const resp = (values: string[]) => (m.response ? values : []);
  return {
    "dns.id": [hex4(m.id)],
    "dns.flags.response": [bit(m.response)],
    "dns.flags.opcode": [String(m.opcode)],
    "dns.flags.rcode": resp([String(m.rcode)]),
    "dns.flags.authoritative": resp([bit(m.aa)]),
    "dns.flags.truncated": [bit(m.tc)],
    "dns.flags.recdesired": [bit(m.rd)],
    "dns.flags.recavail": resp([bit(m.ra)]),
    "dns.flags.authenticated": [bit(m.ad)],
    "dns.flags.checkdisable": [bit(m.cd)],
    "dns.count.queries": [String(m.qdcount)],
    "dns.count.answers": [String(m.ancount)],
    "dns.count.auth_rr": [String(m.nscount)],
    "dns.count.add_rr": [String(m.arcount)],
    "dns.qry.name": m.questions.map((q) => q.name),
    "dns.qry.type": m.questions.map((q) => String(q.type)),
    "dns.qry.class": m.questions.map((q) => hex4(q.class)),
    // tshark splits SRV owner names into service, protocol and name instead.
    "dns.resp.name": rrs.filter((r) => r.type !== 33).map((r) => r.name),
    "dns.resp.type": rrs.map((r) => String(r.type)),
    // OPT's class and TTL fields are not a class and a TTL.
    "dns.resp.class": notOpt.map((r) => hex4(r.class)),
    "dns.resp.ttl": notOpt.map((r) => String(r.ttl)),
    "dns.a": data(1),
    "dns.aaaa": data(28),
    "dns.cname": data(5),
    "dns.ns": data(2),
    "dns.ptr.domain_name": data(12),
    "dns.dname": data(39),
    mx: data(15),
    srv: data(33),
    "srv.owner": rrs.filter((r) => r.type === 33).map((r) => r.name),
    soa: data(6),
    svcb: [...data(64), ...data(65)],
    "dns.txt": data(16),
  };
}

interface Loaded {
  messages: CapturedMessage[];
  parsed: DnsMessage[];
  tshark: Map<number, Row>;
}

async function load(path: string, ports: number[], decodeAs: number[]): Promise<Loaded> {
  const messages = await readDnsMessages(path, ports);
  const parsed = messages.map((m) => {
    const r = parseDnsMessage(m.bytes, 0, m.bytes.length);
    expect(r.anomaly, `frame ${m.frame}`).toBeUndefined();
    expect(r.message!.partial, `frame ${m.frame}`).toBe(false);
    return r.message!;
  });
  return { messages, parsed, tshark: tsharkRows(path, decodeAs) };
}

function compareWithTshark(l: Loaded): void {
  expect(l.messages.map((m) => m.frame)).toEqual([...l.tshark.keys()]);
  l.parsed.forEach((m, i) => {
    const frame = l.messages[i]!.frame;
    const theirs = l.tshark.get(frame)!;
    const ours = ourRow(m);
    // The binary TXT record: tshark prints raw bytes, compared by its own test.
    if (m.answers.some((r) => r.name === "bin.x.test")) {
      ours["dns.txt"] = theirs["dns.txt"]!;
    }
    expect({ frame, ...ours }).toEqual({ frame, ...theirs });
  });
}

function track(l: Loaded): DnsTransaction[] {
  const out: DnsTransaction[] = [];
  const tracker = new DnsTransactionTracker({ maxPending: 100, timeoutMs: 5000 }, (tx) =>
    out.push(tx),
  );
  const flows = new Map<string, { id: number; initiator: string }>();
  l.messages.forEach((m, i) => {
    // Both directions of one conversation share a flow; the first sender initiates it.
    const [, a, , b] = m.conversation.split(" ");
    const key = [a, b].sort().join(" ");
    let flow = flows.get(key);
    if (flow === undefined) {
      flow = { id: flows.size + 1, initiator: a! };
      flows.set(key, flow);
    }
    const nowMs = m.tsSec * 1000 + m.tsNsec / 1e6;
    tracker.expire(nowMs);
    tracker.onMessage(
      flow.id,
      a === flow.initiator,
      l.parsed[i]!,
      m.tsSec,
      m.tsNsec,
      nowMs,
      "dns",
      m.transport,
    );
  });
  tracker.flush();
  return out;
}

describe("namespace-clients.pcap: dig over UDP and TCP, IPv4 and IPv6", () => {
  let l: Loaded;
  beforeAll(async () => {
    l = await load(NAMESPACE, [53], []);
  });

  test("24 messages, every field as tshark decodes it", () => {
    expect(l.messages).toHaveLength(24);
    expect(l.messages.filter((m) => m.transport === "tcp")).toHaveLength(12);
    compareWithTshark(l);
  });

  test("each message is recognised as DNS by content", () => {
    for (const m of l.messages) {
      const bytes =
        m.transport === "tcp"
          ? Buffer.concat([Buffer.from([m.bytes.length >> 8, m.bytes.length & 255]), m.bytes])
          : m.bytes;
      expect(looksLikeDns(bytes, 0, bytes.length, m.transport), `frame ${m.frame}`).toBe(true);
    }
  });

  test("12 transactions, each answered, the CNAME chain followed to the address", () => {
    const txs = track(l);
    expect(txs).toHaveLength(12);
    for (const tx of txs) {
      expect(tx).toMatchObject({
        answered: true,
        sawQuery: true,
        rcodeName: "NOERROR",
        closedBy: "response",
      });
      expect(tx.rtt).toBeGreaterThanOrEqual(0);
      expect(tx.rtt).toBeLessThan(1);
    }
    const chains = txs.filter((t) => t.query === "update.example.test");
    expect(chains).toHaveLength(4);
    for (const tx of chains) {
      expect(tx.cnames).toEqual(["cam.example.test", "cdn.example.test"]);
      expect(tx.addresses).toEqual(["192.0.2.53"]);
      expect(tx.ttls).toEqual([0]);
    }
    const aaaa = txs.filter((t) => t.qtypeName === "AAAA");
    expect(aaaa.map((t) => t.addresses)).toEqual(Array(4).fill(["2001:db8:0:1::53"]));
    expect(new Set(txs.map((t) => t.transport))).toEqual(new Set(["udp", "tcp"]));
  });
});

describe("dns-records.pcap: dnsmasq's record types, errors and TCP", () => {
  let l: Loaded;
  beforeAll(async () => {
    l = await load(RECORDS, [RECORDS_PORT], [RECORDS_PORT]);
  });

  test("every message, every field as tshark decodes it", () => {
    expect(l.messages.length).toBeGreaterThanOrEqual(50);
    compareWithTshark(l);
  });

  const answer = (name: string, type: string): DnsResourceRecord | undefined =>
    l.parsed.flatMap((m) => m.answers).find((r) => r.name === name && r.typeName === type);

  test("record data text for each type", () => {
    expect(answer("x.test", "MX")?.data).toBe("10 mail.x.test");
    expect(answer("_sip._udp.x.test", "SRV")?.data).toBe("1 2 5060 sip.x.test");
    expect(answer("txt.x.test", "TXT")?.data).toBe("v=spf1 -all hello world");
    expect(answer("esc.x.test", "TXT")?.data).toBe('a"b\\\\\\\\c');
    expect(answer("7.2.0.192.in-addr.arpa", "PTR")?.data).toBe("host.x.test");
    expect(answer("x.test", "SOA")?.data).toBe("ns.x.test hostmaster.x.test 2024010101");
    expect(answer("dname.x.test", "DNAME")?.data).toBe("new.example.test");
    expect(answer("svc.x.test", "HTTPS")?.data).toBe("1 .");
    expect(answer("alias.x.test", "SVCB")?.data).toBe("0 cdn.x.test");
    expect(answer("mapped.x.test", "AAAA")?.data).toBe("::ffff:192.0.2.9");
    expect(answer("host.x.test", "AAAA")?.data).toBe("2001:db8::7");
    const caa = answer("caa.x.test", "CAA");
    expect(caa).toBeDefined();
    expect(caa!.data).toBeUndefined();
  });

  test("TXT: bytes outside printable ASCII escaped, empty strings kept, long text capped", () => {
    expect(answer("bin.x.test", "TXT")?.data).toBe("tab\\009here caf\\195\\169 ctl\\001\\127 ");
    const long = answer("long.x.test", "TXT")!.data!;
    expect(long).toHaveLength(255);
    expect(long).toBe(`${"A".repeat(200)} ${"B".repeat(54)}`);
  });

  test("names keep the case they were sent with; nameLower is the lookup key", () => {
    const m = l.parsed.find((p) => p.response && p.questions[0]?.name === "WwW.X.TeSt")!;
    expect(m.questions[0]!.nameLower).toBe("www.x.test");
    expect(m.answers.map((r) => [r.name, r.typeName, r.data])).toEqual([
      ["WwW.X.TeSt", "CNAME", "host.x.test"],
      ["host.x.test", "A", "192.0.2.7"],
    ]);
  });

  test("rcode names, the TC flag, OPT in the additional section", () => {
    const byQuery = (name: string, response = true) =>
      l.parsed.filter((p) => p.response === response && p.questions[0]?.name === name);
    expect(byQuery("nope.x.test")[0]).toMatchObject({ rcode: 3, rcodeName: "NXDOMAIN", aa: true });
    expect(byQuery("nope.x.test")[0]!.authorities[0]!.typeName).toBe("SOA");
    expect(byQuery("example.com")[0]).toMatchObject({ rcode: 5, rcodeName: "REFUSED" });
    const big = byQuery("big.x.test");
    expect(big.map((m) => m.tc)).toEqual([true, false]);
    expect(big[1]!.answers[0]!.data).toHaveLength(255);
    const opt = byQuery("host.x.test")[0]!.additionals.find((r) => r.typeName === "OPT")!;
    expect(opt).toMatchObject({ name: ".", class: 1232, data: undefined });
  });

  test("transactions: NXDOMAIN and REFUSED answered, the TCP keep-open stream paired", () => {
    const txs = track(l);
    expect(txs.every((t) => t.answered && t.sawQuery)).toBe(true);
    expect(txs.find((t) => t.query === "nope.x.test")).toMatchObject({
      rcodeName: "NXDOMAIN",
      addresses: [],
    });
    expect(txs.find((t) => t.query === "WwW.X.TeSt")).toMatchObject({
      queryLower: "www.x.test",
      cnames: ["host.x.test"],
      addresses: ["192.0.2.7"],
      ttls: [600],
    });
    // dig +tcp +keepopen: three queries, one connection.
    const keepOpen = txs.filter((t) => t.transport === "tcp").map((t) => [t.flowId, t.query]);
    const lastFlow = keepOpen.at(-1)![0];
    expect(keepOpen.filter(([f]) => f === lastFlow).map(([, q]) => q)).toEqual([
      "host.x.test",
      "www.x.test",
      "x.test",
    ]);
  });
});
