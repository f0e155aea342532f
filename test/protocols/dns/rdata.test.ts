/** Record data text: addresses (RFC 5952), TXT escaping and its cap, malformed data. */

import { describe, expect, test } from "vitest";
import { dnsRcodeName, dnsTypeName } from "../../../src/protocols/dns/mnemonics.js";
import { parseDnsMessage } from "../../../src/protocols/dns/parse.js";
import { ipv6Text } from "../../../src/protocols/dns/rdata.js";
import { ipv6Bytes } from "../../helpers/packets.js";
import { encodeMessage } from "./build.js";

/** Parses a response whose only answer is `type` with raw `data`. */
function answer(type: number, data: Buffer) {
  const msg = encodeMessage({
    id: 7,
    response: true,
    question: { name: "q.test", type },
    answers: [{ name: "q.test", type, data }],
  });
  const r = parseDnsMessage(msg, 0, msg.length);
  return { data: r.message!.answers[0]!.data, anomaly: r.anomaly };
}

const txt = (...strings: Buffer[]) =>
  Buffer.concat(strings.flatMap((s) => [Buffer.from([s.length]), s]));

describe("IPv6 text (RFC 5952)", () => {
  test.each([
    ["::", "::"],
    ["::1", "::1"],
    ["2001:db8::", "2001:db8::"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // one zero group is not compressed
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // the longest run
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // the first of equal runs
    ["fe80:0:0:0:0a:b:c:d", "fe80::a:b:c:d"],
    ["::ffff:c000:201", "::ffff:192.0.2.1"], // IPv4-mapped
    ["ff02::fb", "ff02::fb"],
  ])("%s -> %s", (input, expected) => {
    expect(ipv6Text(ipv6Bytes(input), 0)).toBe(expected);
  });

  test("agrees with the WHATWG URL serialiser on 5000 zero-heavy addresses", () => {
    let seed = 99;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed >> 8;
    };
    for (let i = 0; i < 5000; i++) {
      const b = Buffer.alloc(16);
      for (let g = 0; g < 8; g++) if (rand() % 3 === 0) b.writeUInt16BE(rand() & 0xffff, 2 * g);
      // URL prints IPv4-mapped addresses in hex; RFC 5952 section 5 prefers dotted.
      if (b.subarray(0, 10).every((x) => x === 0) && b.readUInt16BE(10) === 0xffff) continue;
      const ours = ipv6Text(b, 0);
      const groups = [...Array(8).keys()].map((g) => b.readUInt16BE(2 * g).toString(16)).join(":");
      expect(ours).toBe(new URL(`http://[${groups}]/`).hostname.slice(1, -1));
    }
  });
});

describe("record data", () => {
  test("A and AAAA of the wrong length are bad data", () => {
    expect(answer(1, Buffer.from([192, 0, 2]))).toEqual({
      data: undefined,
      anomaly: "dns_bad_rdata",
    });
    expect(answer(28, Buffer.alloc(4))).toEqual({ data: undefined, anomaly: "dns_bad_rdata" });
  });

  test("MX, SRV, SVCB, SOA too short or with trailing bytes are bad data", () => {
    expect(answer(15, Buffer.from([0, 10])).anomaly).toBe("dns_bad_rdata");
    expect(answer(33, Buffer.from([0, 1, 0, 2, 0, 3])).anomaly).toBe("dns_bad_rdata");
    expect(answer(65, Buffer.from([0, 1])).anomaly).toBe("dns_bad_rdata");
    // A CNAME target with a byte after it.
    expect(answer(5, Buffer.from([1, 0x62, 0, 0xff])).anomaly).toBe("dns_bad_rdata");
    // SOA: two root names and 19 instead of 20 bytes.
    expect(answer(6, Buffer.concat([Buffer.from([0, 0]), Buffer.alloc(19)])).anomaly).toBe(
      "dns_bad_rdata",
    );
    expect(answer(6, Buffer.concat([Buffer.from([0, 0]), Buffer.alloc(20, 1)])).data).toBe(
      ". . 16843009",
    );
  });

  test("HTTPS ServiceMode with the owner as target, and SvcParams ignored", () => {
    const alpn = Buffer.from([0, 1, 0, 3, 2, 0x68, 0x32]);
    expect(answer(65, Buffer.concat([Buffer.from([0, 1, 0]), alpn])).data).toBe("1 .");
  });

  test("TXT: a string longer than what is left is bad data", () => {
    expect(answer(16, Buffer.from([5, 0x61, 0x62]))).toEqual({
      data: undefined,
      anomaly: "dns_bad_rdata",
    });
  });

  test("TXT: the 255-character cap never cuts an escape in half", () => {
    const data = answer(16, txt(Buffer.alloc(253, 0x61), Buffer.from([1, 2]))).data!;
    // 253 + the separator = 254: no room for "\001" (4), so the text stops there.
    expect(data).toBe(`${"a".repeat(253)} `);
    const escaped = answer(16, txt(Buffer.alloc(200, 0x01))).data!;
    expect(escaped).toBe("\\001".repeat(63));
  });

  test("TXT: no separator without room for what follows it", () => {
    const data = answer(16, txt(Buffer.alloc(254, 0x61), Buffer.from("b"))).data!;
    expect(data).toBe("a".repeat(254));
  });

  test("unknown types have no text and no anomaly", () => {
    expect(answer(257, Buffer.from([0, 5, 0x69]))).toEqual({ data: undefined, anomaly: undefined });
  });
});

describe("mnemonics", () => {
  test("types and rcodes, RFC 3597 spelling for unknown numbers", () => {
    expect([1, 28, 65, 255, 41, 1234].map(dnsTypeName)).toEqual([
      "A",
      "AAAA",
      "HTTPS",
      "ANY",
      "OPT",
      "TYPE1234",
    ]);
    expect([0, 2, 3, 5, 12].map(dnsRcodeName)).toEqual([
      "NOERROR",
      "SERVFAIL",
      "NXDOMAIN",
      "REFUSED",
      "RCODE12",
    ]);
  });
});
