/**
 * NTP: real client and server datagrams (chronyd serving, chronyd -Q and ntpdig asking, on
 * 127.0.0.1: fixtures/make-loopback-ntp.sh), and crafted ones for the cases those tools
 * do not send (reference clocks, kiss codes, control and monlist packets, era 1 times),
 * each checked against tshark's decode of the same bytes.
 */

import { beforeAll, describe, expect, it } from "vitest";
import { parseNtp } from "../../../src/protocols/ntp/parse.js";
import { looksLikeNtp } from "../../../src/protocols/ntp/recognise.js";
import type { NtpRecord } from "../../../src/protocols/ntp/record.js";
import { hex } from "../../helpers/packets.js";
import { type Datagram, readUdpPayloads, tsharkFields, writeUdpPcap } from "./udp-payloads.js";

const PCAP = "test/protocols/ntp/fixtures/loopback-ntp.pcap";

function record(b: Buffer): NtpRecord {
  const r = parseNtp(b, 0, b.length);
  if (r.record === undefined) throw new Error(`anomaly ${r.anomaly}`);
  return r.record;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** tshark's "Nov 22, 2026 04:50:19.276242929 UTC" as ISO 8601. */
function tsharkTime(s: string): string | undefined {
  if (s === "" || s.startsWith("NULL")) return undefined;
  const m = /^(\w{3}) +(\d+), (\d{4}) (\d\d:\d\d:\d\d)\.(\d{9}) UTC$/.exec(s);
  if (!m) return `unparsed: ${s}`;
  const month = String(MONTHS.indexOf(m[1]!) + 1).padStart(2, "0");
  return `${m[3]}-${month}-${m[2]!.padStart(2, "0")}T${m[4]}.${m[5]}Z`;
}

/** tshark's reference id bytes as our text: ASCII for stratum 0/1/16, else dotted. */
function tsharkRefid(hexBytes: string, stratum: number): string | undefined {
  const b = Buffer.from(hexBytes, "hex");
  if (b.every((x) => x === 0)) return undefined;
  if (stratum <= 1 || stratum === 16) return b.toString("latin1").replace(/\0+$/, "");
  return [...b].join(".");
}

const TIME_FIELDS = [
  "ntp.flags.li",
  "ntp.flags.vn",
  "ntp.flags.mode",
  "ntp.stratum",
  "ntp.ppoll",
  "ntp.precision",
  "ntp.refid",
  "ntp.xmt",
];

function fromTshark(row: string[]): NtpRecord {
  const [li, vn, mode, stratum, poll, precision, refid, xmt] = row;
  const s = Number(stratum);
  const names = [
    "",
    "symmetric-active",
    "symmetric-passive",
    "client",
    "server",
    "broadcast",
  ] as const;
  const r: NtpRecord = {
    version: Number(vn),
    mode: Number(mode),
    mode_name: names[Number(mode)] as NtpRecord["mode_name"],
    leap: Number(li),
    stratum: s,
    poll: (Number(poll) << 24) >> 24,
    precision: (Number(precision) << 24) >> 24,
  };
  const id = tsharkRefid(refid!, s);
  if (id !== undefined) r.reference_id = id;
  const t = tsharkTime(xmt!);
  if (t !== undefined) r.transmit_time = t;
  return r;
}

describe("NTP from real chronyd and ntpdig traffic", () => {
  let datagrams: Datagram[];
  beforeAll(async () => {
    datagrams = await readUdpPayloads(PCAP);
  });

  it("parses every datagram as tshark does", () => {
    const rows = tsharkFields(PCAP, TIME_FIELDS);
    expect(datagrams.length).toBeGreaterThanOrEqual(4);
    expect(rows).toHaveLength(datagrams.length);
    datagrams.forEach((d, i) => {
      expect(record(d.payload)).toEqual(fromTshark(rows[i]!));
    });
  });

  it("sees client requests and stratum-8 server replies from the local clock", () => {
    const recs = datagrams.map((d) => record(d.payload));
    const clients = recs.filter((r) => r.mode_name === "client");
    const servers = recs.filter((r) => r.mode_name === "server");
    expect(clients.length).toBe(servers.length);
    for (const s of servers) {
      expect(s.stratum).toBe(8);
      expect(s.reference_id).toBe("127.127.1.1");
      expect(s.transmit_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    }
    for (const c of clients) expect(c.reference_id).toBeUndefined();
    for (const d of datagrams) expect(looksLikeNtp(d.payload, 0, d.payload.length)).toBe(true);
  });
});

/** A 48-byte NTP header. */
function ntp(o: {
  li?: number;
  vn?: number;
  mode: number;
  stratum?: number;
  poll?: number;
  precision?: number;
  refid?: Buffer;
  xmt?: [number, number];
  extra?: number;
}): Buffer {
  const b = Buffer.alloc(48 + (o.extra ?? 0));
  b[0] = ((o.li ?? 0) << 6) | ((o.vn ?? 4) << 3) | o.mode;
  b[1] = o.stratum ?? 0;
  b.writeInt8(o.poll ?? 6, 2);
  b.writeInt8(o.precision ?? -20, 3);
  (o.refid ?? Buffer.alloc(4)).copy(b, 12);
  if (o.xmt) {
    b.writeUInt32BE(o.xmt[0] >>> 0, 40);
    b.writeUInt32BE(o.xmt[1] >>> 0, 44);
  }
  return b;
}

describe("crafted NTP checked against tshark", () => {
  const time = [
    ntp({ mode: 4, stratum: 1, refid: Buffer.from("GPS\0"), xmt: [0xed003780, 0x80000000] }),
    ntp({ mode: 4, stratum: 1, refid: Buffer.from("LOCL"), precision: -29, xmt: [0xed3c5e2b, 1] }),
    ntp({ mode: 4, stratum: 0, li: 3, refid: Buffer.from("RATE"), xmt: [0, 0] }),
    ntp({ mode: 4, stratum: 16, li: 3, refid: Buffer.from("INIT") }),
    ntp({
      mode: 4,
      stratum: 2,
      refid: Buffer.from([192, 0, 2, 123]),
      xmt: [0x00001000, 0xffffffff],
    }),
    ntp({
      mode: 4,
      stratum: 3,
      refid: Buffer.from([0x9a, 0x12, 0x00, 0xff]),
      poll: 17,
      xmt: [0x7fffffff, 5],
    }),
    ntp({ mode: 3, vn: 3, poll: 10, precision: 32, xmt: [0xffffffff, 0xffffffff] }),
    ntp({ mode: 1, vn: 2, stratum: 4, refid: Buffer.from([10, 1, 2, 3]) }),
    ntp({ mode: 2, vn: 4, stratum: 4, refid: Buffer.from([10, 1, 2, 4]) }),
    ntp({
      mode: 5,
      stratum: 2,
      poll: -3,
      refid: Buffer.from([198, 51, 100, 7]),
      xmt: [0xe0000000, 0],
    }),
    // With a MAC (key id + 16-byte digest) after the header.
    ntp({ mode: 3, extra: 20, xmt: [0xed3c5e2b, 0x12345678] }),
  ];

  it("time packets (modes 1-5) read the same as tshark", () => {
    const pcap = writeUdpPcap(time.map((payload) => ({ payload, dport: 123 })));
    const rows = tsharkFields(pcap, TIME_FIELDS);
    expect(rows).toHaveLength(time.length);
    time.forEach((b, i) => {
      expect(record(b)).toEqual(fromTshark(rows[i]!));
      expect(looksLikeNtp(b, 0, b.length)).toBe(true);
    });
  });

  it("reference ids and timestamps", () => {
    expect(time.map((b) => record(b).reference_id)).toEqual([
      "GPS",
      "LOCL",
      "RATE",
      "INIT",
      "192.0.2.123",
      "154.18.0.255",
      undefined,
      "10.1.2.3",
      "10.1.2.4",
      "198.51.100.7",
      undefined,
    ]);
    expect(record(time[0]!).transmit_time).toBe("2026-01-01T00:00:00.500000000Z");
    // Top bit clear: era 1, after 2036-02-07.
    expect(record(time[4]!).transmit_time).toBe("2036-02-07T07:36:32.999999999Z");
    expect(record(time[2]!).transmit_time).toBeUndefined();
    expect(record(time[6]!).precision).toBe(32);
  });

  const control = [
    // ntpq "rv": readvar request, sequence 1, association 0, no data.
    hex("26 02 00 01 00 00 00 00 00 00 00 00"),
    // Its response: R bit, 5 bytes of data, padded.
    hex("26 82 00 01 06 15 00 00 00 00 00 05 76 65 72 73 69 00 00 00"),
    // read_mru
    hex("16 0a 00 02 00 00 00 00 00 00 00 00"),
  ];
  const priv = [
    // ntpdc monlist: version 2, mode 7, implementation 3 (xntpd), MON_GETLIST_1 (42), padded to 48.
    Buffer.concat([hex("17 00 03 2a"), Buffer.alloc(44)]),
    // A monlist reply fragment: R and M bits, 6 items of 72 bytes.
    Buffer.concat([hex("d7 00 03 2a 00 06 00 48"), Buffer.alloc(72 * 6)]),
    // MON_GETLIST (20), implementation 2.
    Buffer.concat([hex("17 00 02 14"), Buffer.alloc(4)]),
  ];

  it("control (mode 6) and private (mode 7) packets read the same as tshark", () => {
    const pcap = writeUdpPcap([...control, ...priv].map((payload) => ({ payload, dport: 123 })));
    const rows = tsharkFields(pcap, [
      "ntp.flags.vn",
      "ntp.flags.mode",
      "ntp.ctrl.flags2.r",
      "ntp.ctrl.flags2.opcode",
      "ntp.priv.flags.r",
      "ntp.priv.impl",
      "ntp.priv.reqcode",
    ]);
    [...control, ...priv].forEach((b, i) => {
      const [vn, mode, cr, opcode, pr, impl, code] = rows[i]!;
      const r = record(b);
      expect([r.version, r.mode]).toEqual([Number(vn), Number(mode)]);
      if (r.mode === 6) {
        expect([r.response, r.control_opcode]).toEqual([
          cr === "1" || cr === "True",
          Number(opcode),
        ]);
      } else {
        expect([r.response, r.implementation, r.request_code]).toEqual([
          pr === "1" || pr === "True",
          Number(impl),
          Number(code),
        ]);
      }
      expect(looksLikeNtp(b, 0, b.length)).toBe(true);
    });
    expect(record(control[0]!)).toEqual({
      version: 4,
      mode: 6,
      mode_name: "control",
      response: false,
      control_opcode: 2,
      control_opcode_name: "readvar",
    });
    expect(record(control[2]!).control_opcode_name).toBe("read_mru");
    expect(record(priv[0]!)).toEqual({
      version: 2,
      mode: 7,
      mode_name: "private",
      response: false,
      implementation: 3,
      request_code: 42,
      request_code_name: "mon_getlist_1",
      monlist: true,
    });
    expect(record(priv[1]!).monlist).toBe(true);
    expect(record(priv[1]!).response).toBe(true);
    expect(record(priv[2]!).request_code_name).toBe("mon_getlist");
  });
});

describe("anomalies and negatives", () => {
  it.each([
    ["empty", "ntp_truncated", hex("")],
    ["short client", "ntp_truncated", Buffer.alloc(47, 0x23)],
    ["short control", "ntp_truncated", hex("26 02 00 01")],
    ["short private", "ntp_truncated", hex("17 00 03")],
    ["version 0", "ntp_bad_version", ntp({ mode: 3, vn: 0 })],
    ["version 5", "ntp_bad_version", ntp({ mode: 3, vn: 5 })],
    ["mode 0", "ntp_reserved_mode", ntp({ mode: 0 })],
  ])("%s -> %s", (_n, anomaly, b) => {
    expect(parseNtp(b, 0, b.length)).toEqual({ anomaly });
    expect(looksLikeNtp(b, 0, b.length)).toBe(false);
  });

  it("parses within its view only", () => {
    const b = Buffer.concat([
      Buffer.alloc(7, 0xff),
      ntp({ mode: 3, xmt: [0xed3c5e2b, 0] }),
      Buffer.alloc(9, 0xff),
    ]);
    expect(record(b.subarray(7, 55)).mode_name).toBe("client");
    expect(parseNtp(b, 7, 48).record?.mode_name).toBe("client");
    expect(parseNtp(b, 7, 47)).toEqual({ anomaly: "ntp_truncated" });
  });

  it("DNS, SSDP, TLS and text are not NTP", () => {
    const dns = hex(
      "12 34 01 00 00 01 00 00 00 00 00 00 03 77 77 77 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01",
    );
    const ssdp = Buffer.from(
      'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\n\r\n',
    );
    for (const b of [dns, ssdp, Buffer.alloc(48), Buffer.alloc(48, 0xff)]) {
      expect(looksLikeNtp(b, 0, b.length)).toBe(false);
    }
    // A 48-byte header with a stratum above 16 or an unaligned tail is not taken either.
    expect(looksLikeNtp(ntp({ mode: 4, stratum: 200 }), 0, 48)).toBe(false);
    const odd = ntp({ mode: 3, extra: 3 });
    expect(looksLikeNtp(odd, 0, odd.length)).toBe(false);
  });

  it("random bytes never throw", () => {
    let seed = 7;
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.alloc(i % 80);
      for (let j = 0; j < b.length; j++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        b[j] = seed & 0xff;
      }
      expect(() => parseNtp(b, 0, b.length)).not.toThrow();
      expect(() => looksLikeNtp(b, 0, b.length)).not.toThrow();
    }
  });
});
