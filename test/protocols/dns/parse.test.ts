/**
 * Hostile and malformed messages, hand-written in hex: the parser must return a named
 * anomaly and whatever it could trust, never throw, never loop.
 */

import { describe, expect, test } from "vitest";
import { DNS_ANOMALIES } from "../../../src/protocols/dns/anomalies.js";
import { parseDnsMessage } from "../../../src/protocols/dns/parse.js";
import { hex } from "../../helpers/packets.js";
import { encodeMessage } from "./build.js";

const parse = (b: Buffer, maxRecords?: number) => parseDnsMessage(b, 0, b.length, maxRecords);

/** A standard query header: id 0x1234, RD, the given section counts. */
function header(qd: number, an = 0, ns = 0, ar = 0, flags = "0100"): string {
  const h = (n: number) => n.toString(16).padStart(4, "0");
  return `1234 ${flags} ${h(qd)} ${h(an)} ${h(ns)} ${h(ar)}`;
}

describe("names", () => {
  test("a compression pointer to itself is a loop", () => {
    const r = parse(
      hex(`${header(1)}
        c0 0c       # offset 12: pointer to offset 12
        0001 0001`),
    );
    expect(r.anomaly).toBe("dns_compression_loop");
    expect(r.message!.questions).toEqual([]);
    expect(r.message!.partial).toBe(true);
  });

  test("two pointers to each other are a loop", () => {
    const r = parse(
      hex(`${header(0, 2, 0, 0, "8180")}
        00 000a 0001 00000000 0002   # offset 12: root, NULL record, 2 bytes of data:
        c0 19                        # offset 23: pointer to offset 25
        c0 17                        # offset 25: owner name, pointer to offset 23
        0001 0001 00000000 0004 c0000201`),
    );
    expect(r.anomaly).toBe("dns_compression_loop");
    expect(r.message!.answers).toHaveLength(1);
    expect(r.message!.answers[0]!.typeName).toBe("NULL");
  });

  test("a pointer forward is refused", () => {
    const r = parse(
      hex(`${header(1)}
        c0 12       # offset 12: pointer to offset 18, after itself
        0001 0001
        01 61 00    # offset 18: "a"`),
    );
    expect(r.anomaly).toBe("dns_compression_forward_pointer");
  });

  test("pointers into the header or past the end are refused", () => {
    expect(parse(hex(`${header(1)} c0 05 0001 0001`)).anomaly).toBe("dns_bad_pointer");
    expect(parse(hex(`${header(1)} c0 ff 0001 0001`)).anomaly).toBe("dns_bad_pointer");
  });

  test("a label of 64 bytes is too long", () => {
    const r = parse(hex(`${header(1)} 40 ${"61".repeat(64)} 00 0001 0001`));
    expect(r.anomaly).toBe("dns_label_too_long");
    expect(r.message!.questions).toEqual([]);
  });

  test("a name of 256 bytes is too long; 255 is the limit", () => {
    const label63 = `3f ${"61".repeat(63)}`;
    // 4 x 64 + the root byte = 257 bytes.
    const tooLong = parse(hex(`${header(1)} ${label63.repeat(4)} 00 0001 0001`));
    expect(tooLong.anomaly).toBe("dns_name_too_long");
    // 3 x 64 + 62 + the root byte = 255 bytes.
    const longest = parse(
      hex(`${header(1)} ${label63.repeat(3)} 3d ${"62".repeat(61)} 00 0001 0001`),
    );
    expect(longest.anomaly).toBeUndefined();
    expect(longest.message!.questions[0]!.name).toHaveLength(255 - 2);
  });

  test("a long chain of pointers is cut at 64 jumps", () => {
    // Offset 23 holds the name "a"; then a chain of pointers, each to the one before it; the
    // second record's owner points at the end of the chain.
    function chain(pointers: number): Buffer {
      let rd = "01 61 00";
      for (let i = 0; i < pointers; i++) {
        const target = i === 0 ? 23 : 26 + 2 * (i - 1);
        rd += ` c0 ${target.toString(16).padStart(2, "0")}`;
      }
      const rdLength = 3 + 2 * pointers;
      const last = 26 + 2 * (pointers - 1);
      return hex(`${header(0, 2, 0, 0, "8180")}
        00 000a 0001 00000000 ${rdLength.toString(16).padStart(4, "0")} ${rd}
        ${(0xc000 + last).toString(16)} 0001 0001 00000000 0004 c0000201`);
    }
    const ok = parse(chain(63));
    expect(ok.anomaly).toBeUndefined();
    expect(ok.message!.answers[1]!.name).toBe("a");
    expect(parse(chain(64)).anomaly).toBe("dns_compression_too_many_jumps");
  });

  test("label bytes are escaped as dig does", () => {
    const r = parse(
      hex(`${header(1)}
        07 61 2e 62 5c 20 00 ff   # a . b \\ space NUL 0xff
        00 0001 0001`),
    );
    expect(r.message!.questions[0]!.name).toBe("a\\.b\\\\\\032\\000\\255");
  });

  test("the root is '.'", () => {
    const r = parse(hex(`${header(1)} 00 0002 0001`));
    expect(r.message!.questions[0]).toMatchObject({ name: ".", nameLower: ".", typeName: "NS" });
  });
});

describe("counts and lengths", () => {
  test("a header of 11 bytes", () => {
    expect(parse(hex("1234 0100 0001 0000 0000 00"))).toEqual({
      message: undefined,
      anomaly: "dns_truncated_header",
    });
  });

  test("qdcount 65535 in a 12-byte message: nothing to parse, no work", () => {
    const r = parse(hex("1234 0100 ffff 0000 0000 0000"));
    expect(r.anomaly).toBe("dns_counts_exceed_message");
    expect(r.message).toMatchObject({ qdcount: 65535, questions: [], partial: true, length: 12 });
  });

  test("every count at 65535 in a small message", () => {
    const r = parse(hex(`1234 8180 ffff ffff ffff ffff 01 61 00 0001 0001`));
    expect(r.anomaly).toBe("dns_counts_exceed_message");
    expect(r.message!.questions).toHaveLength(1);
    expect(r.message!.partial).toBe(true);
  });

  test("RDLENGTH beyond the end: header and question kept", () => {
    const r = parse(
      hex(`${header(1, 1, 0, 0, "8180")}
        01 61 00 0001 0001             # question a. A IN
        c0 0c 0001 0001 0000003c 0100  # answer: RDLENGTH 256
        c0000201                       # but 4 bytes left`),
    );
    expect(r.anomaly).toBe("dns_rdata_overflow");
    expect(r.message!.questions[0]!.name).toBe("a");
    expect(r.message!.answers).toEqual([]);
    expect(r.message!.partial).toBe(true);
  });

  test("a record cut inside its fixed fields", () => {
    const r = parse(
      hex(`${header(1, 1, 0, 0, "8180")} 01 61 00 0001 0001 c0 0c 0001 0001 0000003c 00`),
    );
    expect(r.anomaly).toBe("dns_truncated_record");
  });

  test("a question cut inside its name or its type", () => {
    expect(parse(hex(`${header(1)} 05 61 62`)).anomaly).toBe("dns_counts_exceed_message");
    expect(parse(hex(`${header(1)} 03 61 62 63 00 00 01`)).anomaly).toBe("dns_truncated_question");
  });

  test("bad data inside a valid RDLENGTH spoils one record, not the message", () => {
    const r = parse(
      hex(`${header(1, 3, 0, 0, "8180")}
        01 61 00 0001 0001
        c0 0c 0001 0001 0000003c 0005 c000020101   # A record of 5 bytes
        c0 0c 0005 0001 0000003c 0002 c0 30        # CNAME pointing at itself (offset 48)
        c0 0c 0001 0001 0000003c 0004 c0000202     # a good A record`),
    );
    expect(r.anomaly).toBe("dns_bad_rdata");
    expect(r.message!.partial).toBe(false);
    expect(r.message!.answers.map((a) => a.data)).toEqual([undefined, undefined, "192.0.2.2"]);
  });

  test("the record cap stops parsing without an anomaly", () => {
    const msg = encodeMessage({
      id: 1,
      response: true,
      question: { name: "a", type: 1 },
      answers: [1, 2, 3].map((i) => ({ name: "a", type: 1, data: `192.0.2.${i}` })),
    });
    const r = parse(msg, 3);
    expect(r.anomaly).toBeUndefined();
    expect(r.message!.answers).toHaveLength(2);
    expect(r.message!.partial).toBe(true);
  });

  test("a view into a larger buffer: offsets and compression are relative to the message", () => {
    const msg = hex(
      `${header(1, 1, 0, 0, "8180")} 01 61 00 0001 0001 c0 0c 0005 0001 0000003c 0004 01 62 c0 0c`,
    );
    const buf = Buffer.concat([Buffer.alloc(7, 0xee), msg, Buffer.alloc(5, 0xee)]);
    const r = parseDnsMessage(buf, 7, msg.length);
    expect(r.anomaly).toBeUndefined();
    expect(r.message!.answers[0]).toMatchObject({ name: "a", typeName: "CNAME", data: "b.a" });
  });

  test("a length past the end of the buffer is clamped, not read", () => {
    const msg = hex(`${header(1)} 01 61 00 0001 0001`);
    const r = parseDnsMessage(msg, 0, 10_000);
    expect(r.message!.length).toBe(msg.length);
    expect(r.anomaly).toBeUndefined();
  });

  test("every anomaly name is declared and protocol-prefixed", () => {
    for (const a of DNS_ANOMALIES) expect(a).toMatch(/^dns_[a-z0-9_]+$/);
  });

  test("random bytes never throw and always come back bounded", () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed >> 16;
    };
    for (let i = 0; i < 20_000; i++) {
      const len = rand() % 120;
      const b = Buffer.alloc(len);
      for (let j = 0; j < len; j++) b[j] = rand() & 255;
      // Bias towards compression pointers and small counts, where the bugs live.
      if (len > 12 && i % 2 === 0) {
        b[4] = 0;
        b[5] = 1 + (rand() % 3);
        b[6] = 0;
        for (let j = 12; j < len; j += 5) b[j] = 0xc0;
      }
      const r = parse(b);
      if (r.message) {
        const m = r.message;
        expect(
          m.questions.length + m.answers.length + m.authorities.length + m.additionals.length,
        ).toBeLessThanOrEqual(256);
      } else expect(r.anomaly).toBe("dns_truncated_header");
    }
  });
});
