/**
 * Recognising DNS by content and telling DNS, mDNS and LLMNR apart. The mDNS and LLMNR
 * messages are hand-written hex (no multicast leaves this machine in tests); tshark decodes
 * the same bytes to check the hex says what the comments say.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parseDnsMessage } from "../../../src/protocols/dns/parse.js";
import { dnsKindForPort, looksLikeDns } from "../../../src/protocols/dns/recognise.js";
import { pcapFile } from "../../helpers/capture-writer.js";
import { ethernet, hex, ipv4, ipv6, udp } from "../../helpers/packets.js";
import { encodeMessage, framed } from "./build.js";
import { tsharkDnsFields } from "./capture.js";

/** mDNS query (RFC 6762): DNS-SD service enumeration, asking for a unicast response (QU). */
const MDNS_QUERY = hex(`
  0000 0000 0001 0000 0000 0000   # id 0, a query, one question
  09 5f7365727669636573           # "_services"
  07 5f646e732d7364               # "_dns-sd"
  04 5f756470                     # "_udp"
  05 6c6f63616c 00                # "local"
  000c 8001                       # PTR, class IN with the QU bit`);

/** mDNS announcement: a response with no question, the A record with the cache-flush bit. */
const MDNS_RESPONSE = hex(`
  0000 8400 0000 0001 0000 0000   # id 0, response, AA, one answer
  06 63616d657261 05 6c6f63616c 00  # "camera.local"
  0001 8001 00000078 0004 c0000205  # A, IN + cache flush, TTL 120, 192.0.2.5`);

/** LLMNR query (RFC 4795) for the single-label name "wpad". */
const LLMNR_QUERY = hex(`
  a1b2 0000 0001 0000 0000 0000   # id 0xa1b2, a query, one question
  04 77706164 00                  # "wpad"
  0001 0001                       # A, IN`);

const dir = mkdtempSync(join(tmpdir(), "egressd-dns-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("mDNS and LLMNR", () => {
  test("tshark reads the hex as the comments say", () => {
    const frames = [
      ethernet(
        ipv4({ src: "192.0.2.10", dst: "224.0.0.251" }, udp(5353, 5353, Buffer.from(MDNS_QUERY))),
      ),
      ethernet(
        ipv6({ src: "2001:db8::5", dst: "ff02::fb" }, udp(5353, 5353, Buffer.from(MDNS_RESPONSE))),
      ),
      ethernet(
        ipv4({ src: "192.0.2.10", dst: "224.0.0.252" }, udp(50000, 5355, Buffer.from(LLMNR_QUERY))),
      ),
    ];
    const path = join(dir, "mdns-llmnr.pcap");
    writeFileSync(
      path,
      pcapFile(
        {},
        frames.map((data, i) => ({ tsSec: i, tsFrac: 0, data })),
      ),
    );
    const rows = tsharkDnsFields(
      path,
      [
        "dns.qry.name",
        "dns.qry.type",
        "dns.qry.qu",
        "dns.resp.name",
        "dns.resp.cache_flush",
        "dns.resp.ttl",
        "dns.a",
        "frame.protocols",
      ],
      [],
      "dns || mdns || llmnr",
    );
    expect(rows.get(1)).toMatchObject({
      "dns.qry.name": ["_services._dns-sd._udp.local"],
      "dns.qry.type": ["12"],
      "dns.qry.qu": ["1"],
    });
    expect(rows.get(2)).toMatchObject({
      "dns.resp.name": ["camera.local"],
      "dns.resp.cache_flush": ["1"],
      "dns.resp.ttl": ["120"],
      "dns.a": ["192.0.2.5"],
    });
    expect(rows.get(2)!["frame.protocols"]![0]).toContain("mdns");
    expect(rows.get(3)).toMatchObject({ "dns.qry.name": ["wpad"], "dns.qry.type": ["1"] });
    expect(rows.get(3)!["frame.protocols"]![0]).toContain("llmnr");
  });

  test("parsed: all 16 class bits kept in the message", () => {
    const q = parseDnsMessage(MDNS_QUERY, 0, MDNS_QUERY.length);
    expect(q.anomaly).toBeUndefined();
    expect(q.message!.questions[0]).toMatchObject({
      name: "_services._dns-sd._udp.local",
      typeName: "PTR",
      class: 0x8001,
    });
    const r = parseDnsMessage(MDNS_RESPONSE, 0, MDNS_RESPONSE.length);
    expect(r.message!.answers[0]).toMatchObject({
      name: "camera.local",
      class: 0x8001,
      ttl: 120,
      data: "192.0.2.5",
    });
  });

  test("kind by port: mDNS on 5353, LLMNR on 5355, unicast included", () => {
    expect(dnsKindForPort(5353, true)).toBe("mdns");
    expect(dnsKindForPort(5353, false)).toBe("mdns");
    expect(dnsKindForPort(5355, true)).toBe("llmnr");
    expect(dnsKindForPort(5355, false)).toBe("llmnr");
    expect(dnsKindForPort(53, false)).toBe("dns");
    expect(dnsKindForPort(5300, false)).toBe("dns");
    // Unicast DNS is never sent to a group.
    expect(dnsKindForPort(53, true)).toBe("mdns");
  });

  test("content: the mDNS query (QU bit) and the LLMNR query look like DNS", () => {
    expect(looksLikeDns(MDNS_QUERY, 0, MDNS_QUERY.length, "udp")).toBe(true);
    expect(looksLikeDns(LLMNR_QUERY, 0, LLMNR_QUERY.length, "udp")).toBe(true);
    // An announcement has no question: port, not content, says what it is.
    expect(looksLikeDns(MDNS_RESPONSE, 0, MDNS_RESPONSE.length, "udp")).toBe(false);
  });
});

describe("looksLikeDns", () => {
  const query = encodeMessage({ id: 0x4242, question: { name: "update.example.test", type: 1 } });
  const response = encodeMessage({
    id: 0x4242,
    response: true,
    question: { name: "update.example.test", type: 1 },
    answers: [{ name: "update.example.test", type: 1, data: "192.0.2.1" }],
  });

  test("queries and responses over UDP and TCP", () => {
    expect(looksLikeDns(query, 0, query.length, "udp")).toBe(true);
    expect(looksLikeDns(response, 0, response.length, "udp")).toBe(true);
    const t = framed(response);
    expect(looksLikeDns(t, 0, t.length, "tcp")).toBe(true);
    // The first segment may hold only part of the message: header and question suffice.
    expect(looksLikeDns(t, 0, 2 + 12 + 25, "tcp")).toBe(true);
    expect(looksLikeDns(t, 0, 2 + 12 + 10, "tcp")).toBe(false);
    expect(looksLikeDns(t, 0, 2, "tcp")).toBe(false);
    // Without the length prefix it is not DNS over TCP.
    expect(looksLikeDns(response, 0, response.length, "tcp")).toBe(false);
  });

  test("header sanity", () => {
    const bad = (patch: (b: Buffer) => void) => {
      const b = Buffer.from(query);
      patch(b);
      return looksLikeDns(b, 0, b.length, "udp");
    };
    expect(bad(() => {})).toBe(true);
    expect(bad((b) => b.writeUInt16BE(0, 4))).toBe(false); // no question
    expect(bad((b) => b.writeUInt16BE(5, 4))).toBe(false); // five questions
    expect(bad((b) => (b[2] = 0x30 | 0x01))).toBe(false); // opcode 6
    expect(bad((b) => (b[2] = 0x18 | 0x01))).toBe(false); // opcode 3, unassigned
    expect(bad((b) => (b[3] = 0x40))).toBe(false); // Z bit
    expect(bad((b) => (b[3] = 0x03))).toBe(false); // a query with an rcode
    expect(bad((b) => b.writeUInt16BE(1, 6))).toBe(false); // a query with an answer
    expect(bad((b) => b.writeUInt16BE(2, 10))).toBe(false); // additionals that cannot fit
    expect(bad((b) => b.writeUInt16BE(0, b.length - 4))).toBe(false); // QTYPE 0
    expect(bad((b) => b.writeUInt16BE(2, b.length - 2))).toBe(false); // class 2 (CSNET)
    expect(bad((b) => (b[13] = 0x01))).toBe(false); // a control byte in the name
  });

  test("other protocols and random bytes are not DNS", () => {
    const others = [
      Buffer.from("GET / HTTP/1.1\r\nHost: example.test\r\n\r\n"),
      Buffer.from("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"),
      hex("16 0301 00f1 01 0000ed 0303") /* TLS ClientHello start */,
      hex(`23 02 06 e8 ${"00".repeat(44)}`) /* NTP client */,
      hex("ff fe ff e7 0000 0000 0000 0000 0000 0000 0000 0000") /* Dahua P2P */,
      Buffer.from("DHGET /probe/p2psrv HTTP/1.1\r\n"),
    ];
    for (const b of others) {
      expect(looksLikeDns(b, 0, b.length, "udp")).toBe(false);
      expect(looksLikeDns(b, 0, b.length, "tcp")).toBe(false);
    }
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed >> 16;
    };
    let hits = 0;
    for (let i = 0; i < 50_000; i++) {
      const b = Buffer.alloc(20 + (rand() % 200));
      for (let j = 0; j < b.length; j++) b[j] = rand() & 255;
      if (looksLikeDns(b, 0, b.length, i % 2 ? "udp" : "tcp")) hits++;
    }
    expect(hits).toBe(0);
  });
});
