/**
 * DHCP: a real exchange (busybox udhcpc, the client most camera firmware ships, against
 * dnsmasq, in two network namespaces: fixtures/make-udhcpc.sh), checked field for field
 * against tshark; crafted messages for what udhcpc does not send (option overload, split
 * long options, wire-format FQDNs) and for hostile bytes (lengths that lie, missing end,
 * oversize hlen), each either checked against tshark or against the RFC text.
 */

import { beforeAll, describe, expect, it } from "vitest";
import { looksLikeDhcp, parseDhcp } from "../../../src/protocols/dhcp/parse.js";
import { DHCP_ANOMALIES, type DhcpRecord } from "../../../src/protocols/dhcp/record.js";
import { ethernet, hex, ipv4, macBytes, udp } from "../../helpers/packets.js";
import { replayFile, replayFrames } from "../../inventory/pipeline.js";
import { type Datagram, readUdpPayloads, tsharkFields, writeUdpPcap } from "../ntp/udp-payloads.js";

const PCAP = "test/protocols/dhcp/fixtures/udhcpc-dnsmasq.pcap";

function record(b: Buffer): DhcpRecord {
  const r = parseDhcp(b, 0, b.length);
  if (r.record === undefined) throw new Error(`anomaly ${r.anomaly}`);
  return r.record;
}

interface Bootp {
  op?: number;
  htype?: number;
  hlen?: number;
  xid?: number;
  mac?: string;
  yiaddr?: string;
  flags?: number;
  sname?: Buffer;
  file?: Buffer;
  options: Buffer;
}

/** RFC 2131 figure 1: the 236-byte fixed part, the magic cookie, then `options`. */
function bootp(o: Bootp): Buffer {
  const h = Buffer.alloc(236);
  h[0] = o.op ?? 1;
  h[1] = o.htype ?? 1;
  h[2] = o.hlen ?? 6;
  h.writeUInt32BE(o.xid ?? 0x1234abcd, 4);
  h.writeUInt16BE(o.flags ?? 0, 10);
  if (o.yiaddr) Buffer.from(o.yiaddr.split(".").map(Number)).copy(h, 16);
  macBytes(o.mac ?? "44:19:b6:00:00:01").copy(h, 28);
  o.sname?.copy(h, 44, 0, 64);
  o.file?.copy(h, 108, 0, 128);
  return Buffer.concat([h, hex("63 82 53 63"), o.options]);
}

const text = (s: string) => Buffer.from(s, "latin1");
const opt = (code: number, value: Buffer) =>
  Buffer.concat([Buffer.from([code, value.length]), value]);
const END = Buffer.from([255]);

describe("DHCP from a real udhcpc / dnsmasq exchange", () => {
  let real: Datagram[];
  let theirs: string[][];
  beforeAll(async () => {
    real = await readUdpPayloads(PCAP);
    theirs = tsharkFields(PCAP, [
      "dhcp.type",
      "dhcp.id",
      "dhcp.hw.mac_addr",
      "dhcp.ip.your",
      "dhcp.option.dhcp",
      "dhcp.option.hostname",
      "dhcp.option.vendor_class_id",
      "dhcp.option.request_list_item",
      "dhcp.option.requested_ip_address",
      "dhcp.option.dhcp_server_id",
      "dhcp.option.ip_address_lease_time",
      "dhcp.fqdn.name",
      "dhcp.option.domain_name",
    ]);
  });

  it("is the full DORA exchange", () => {
    expect(real.map((d) => record(d.payload).message_type_name)).toEqual([
      "DISCOVER",
      "OFFER",
      "REQUEST",
      "ACK",
    ]);
    expect(real.every((d) => looksLikeDhcp(d.payload, 0, d.payload.length))).toBe(true);
  });

  it("agrees with tshark on every message", () => {
    expect(theirs.length).toBe(real.length);
    real.forEach((d, i) => {
      const r = record(d.payload);
      const [
        op,
        xid,
        mac,
        yiaddr,
        type,
        host,
        vendor,
        params,
        requested,
        server,
        lease,
        fqdn,
        domain,
      ] = theirs[i]!;
      const ours = [
        String(r.op),
        `0x${r.xid.toString(16).padStart(8, "0")}`,
        r.chaddr,
        r.yiaddr ?? "0.0.0.0",
        String(r.message_type),
        r.host_name ?? "",
        r.vendor_class ?? "",
        r.param_list ?? "",
        r.requested_addr ?? "",
        r.server_id ?? "",
        r.lease_time === undefined ? "" : String(r.lease_time),
        r.client_fqdn ?? "",
        r.domain ?? "",
      ];
      // tshark lists the client-id's MAC after chaddr's.
      expect(ours).toEqual([
        op,
        xid,
        mac!.split(",")[0],
        yiaddr,
        type,
        host,
        vendor,
        params,
        requested,
        server,
        lease,
        fqdn,
        domain,
      ]);
      expect(r.anomalies).toBeUndefined();
    });
  });

  it("what a camera's first DHCP message gives away", () => {
    expect(record(real[0]!.payload)).toEqual({
      op: 1,
      htype: 1,
      hlen: 6,
      hops: 0,
      xid: record(real[0]!.payload).xid,
      secs: 0,
      broadcast: false,
      chaddr: "44:19:b6:0d:0c:01",
      mac: "44-19-B6-0D-0C-01",
      message_type: 1,
      message_type_name: "DISCOVER",
      requested_addr: "192.0.2.120",
      param_list: "1,3,6,12,15,28,42",
      host_name: "HIKVISION-DS-2CD2043",
      vendor_class: "udhcp 1.35.0",
      client_id: "01:44:19:b6:0d:0c:01",
      client_fqdn: "cam-lobby.cams.example.test",
    });
  });

  it("flow records and --events dhcp through the pipeline", async () => {
    const { records, events } = await replayFile(PCAP, { events: ["dhcp"] });
    const broadcast = records.find((r) => r.destination.ip === "255.255.255.255")!;
    expect(broadcast.source.ip).toBe("0.0.0.0");
    expect(broadcast.network.protocol).toBe("dhcp");
    expect(broadcast.egressd.dhcp.msg_types).toEqual(["DISCOVER", "REQUEST"]);
    expect(broadcast.egressd.dhcp.clients).toEqual(["44-19-B6-0D-0C-01"]);
    expect(broadcast.egressd.dhcp.client).toMatchObject({
      message_type: "DISCOVER",
      mac: "44-19-B6-0D-0C-01",
      host_name: "HIKVISION-DS-2CD2043",
      vendor_class: "udhcp 1.35.0",
      param_list: "1,3,6,12,15,28,42",
    });
    expect(broadcast.egressd.dhcp.server).toBeUndefined();
    const replies = records.find((r) => r.source.ip === "192.0.2.1")!;
    expect(replies.egressd.dhcp.msg_types).toEqual(["OFFER", "ACK"]);
    expect(replies.egressd.dhcp.server).toMatchObject({
      message_type: "OFFER",
      yiaddr: "192.0.2.120",
      server_id: "192.0.2.1",
      lease_time: 3600,
      domain: "cams.example.test",
    });
    expect(events.map((e) => e.event.dataset)).toEqual(Array(4).fill("egressd.dhcp"));
    expect(events.map((e) => Object.keys(e.egressd.dhcp)[0])).toEqual([
      "client",
      "server",
      "client",
      "server",
    ]);
    expect(events[3]!.egressd.dhcp.server.message_type).toBe("ACK");
    expect(events[0]!.network.protocol).toBe("dhcp");
  });
});

describe("DHCP messages udhcpc does not send", () => {
  it("option overload: options in file, then sname, as tshark reads them", () => {
    const msg = bootp({
      op: 2,
      yiaddr: "192.0.2.50",
      options: Buffer.concat([opt(53, Buffer.from([5])), opt(52, Buffer.from([3])), END]),
      file: Buffer.concat([opt(12, text("cam-file")), opt(51, hex("00000e10")), END]),
      sname: Buffer.concat([opt(15, text("example.test")), END]),
    });
    const r = record(msg);
    expect(r).toMatchObject({
      message_type_name: "ACK",
      host_name: "cam-file",
      lease_time: 3600,
      domain: "example.test",
      yiaddr: "192.0.2.50",
    });
    expect(r.file).toBeUndefined();
    expect(r.sname).toBeUndefined();
    expect(r.anomalies).toBeUndefined();
    const [row] = tsharkFields(writeUdpPcap([{ payload: msg, sport: 67, dport: 68 }]), [
      "dhcp.option.dhcp",
      "dhcp.option.hostname",
      "dhcp.option.ip_address_lease_time",
      "dhcp.option.domain_name",
    ]);
    expect(row).toEqual(["5", "cam-file", "3600", "example.test"]);
  });

  it("without overload, sname and file are text", () => {
    const r = record(
      bootp({
        op: 2,
        sname: text("tftp.example.test"),
        file: text("digicap.dav"),
        options: Buffer.concat([opt(53, Buffer.from([2])), END]),
      }),
    );
    expect([r.sname, r.file]).toEqual(["tftp.example.test", "digicap.dav"]);
  });

  it("a long option split over several instances is joined (RFC 3396)", () => {
    const r = record(
      bootp({
        options: Buffer.concat([
          opt(12, text("cam-")),
          opt(53, Buffer.from([1])),
          opt(12, text("lobby")),
          END,
        ]),
      }),
    );
    expect(r.host_name).toBe("cam-lobby");
  });

  it("client FQDN in DNS wire format (E flag), and one in ASCII", () => {
    const wire = opt(
      81,
      Buffer.concat([
        hex("05 00 00"),
        hex("03"),
        text("cam"),
        hex("05"),
        text("lobby"),
        hex("04"),
        text("test"),
        hex("00"),
      ]),
    );
    expect(record(bootp({ options: Buffer.concat([wire, END]) })).client_fqdn).toBe(
      "cam.lobby.test",
    );
    const ascii = opt(81, Buffer.concat([hex("00 00 00"), text("cam.lobby.test")]));
    expect(record(bootp({ options: Buffer.concat([ascii, END]) })).client_fqdn).toBe(
      "cam.lobby.test",
    );
    // A compression pointer is not allowed there: the name stops before it.
    const pointer = opt(81, Buffer.concat([hex("04 00 00 03"), text("cam"), hex("c0 0c")]));
    expect(record(bootp({ options: Buffer.concat([pointer, END]) })).client_fqdn).toBe("cam");
  });

  it("trailing NULs are dropped from text, control bytes escaped", () => {
    const r = record(
      bootp({
        options: Buffer.concat([
          opt(12, Buffer.from("cam\x1b[2J\0\0", "latin1")),
          opt(60, text("MSFT 5.0\0")),
          END,
        ]),
      }),
    );
    expect(r.host_name).toBe("cam\\x1b[2J");
    expect(r.vendor_class).toBe("MSFT 5.0");
  });

  it("pads anywhere, the broadcast flag, relay hops, a non-Ethernet chaddr", () => {
    const r = record(
      bootp({
        htype: 6,
        hlen: 6,
        flags: 0x8000,
        options: Buffer.concat([hex("00 00"), opt(53, Buffer.from([8])), hex("00"), END]),
      }),
    );
    expect(r).toMatchObject({ message_type_name: "INFORM", broadcast: true, htype: 6 });
    expect(r.mac).toBeUndefined();
    expect(r.chaddr).toBe("44:19:b6:00:00:01");
  });
});

describe("hostile DHCP", () => {
  const discover = opt(53, Buffer.from([1]));

  it("too short, no cookie, bad op: recognised as nothing, parsed as an anomaly", () => {
    const ok = bootp({ options: Buffer.concat([discover, END]) });
    const short = ok.subarray(0, 239);
    const noCookie = Buffer.from(ok);
    noCookie[236] = 0;
    const badOp = Buffer.from(ok);
    badOp[0] = 3;
    expect(parseDhcp(short, 0, short.length)).toEqual({ anomaly: "dhcp_truncated" });
    expect(parseDhcp(noCookie, 0, noCookie.length)).toEqual({ anomaly: "dhcp_bad_cookie" });
    expect(parseDhcp(badOp, 0, badOp.length)).toEqual({ anomaly: "dhcp_bad_op" });
    for (const b of [short, noCookie, badOp]) expect(looksLikeDhcp(b, 0, b.length)).toBe(false);
  });

  it("an option whose length runs past the datagram: what came before is kept", () => {
    const r = record(bootp({ options: Buffer.concat([discover, hex("0c 40"), text("cam")]) }));
    expect(r.message_type_name).toBe("DISCOVER");
    expect(r.host_name).toBeUndefined();
    expect(r.anomalies).toEqual(["dhcp_option_overrun"]);
    // tshark, too, reads the message type and stops at the lying length.
    const pcap = writeUdpPcap([
      {
        payload: bootp({ options: Buffer.concat([discover, hex("0c 40"), text("cam")]) }),
        sport: 68,
        dport: 67,
      },
    ]);
    expect(tsharkFields(pcap, ["dhcp.option.dhcp", "dhcp.option.hostname"])[0]).toEqual(["1", ""]);
  });

  it("a code in the last byte with no length byte", () => {
    expect(record(bootp({ options: Buffer.concat([discover, hex("0c")]) })).anomalies).toEqual([
      "dhcp_option_overrun",
    ]);
  });

  it("no end option", () => {
    expect(record(bootp({ options: discover })).anomalies).toEqual(["dhcp_no_end"]);
  });

  it("wrong lengths for fixed-size options, bad overload values, overload inside file", () => {
    const r = record(
      bootp({
        options: Buffer.concat([
          opt(53, hex("01 01")),
          opt(50, hex("c0 00 02")),
          opt(51, hex("00")),
          opt(81, hex("00")),
          END,
        ]),
      }),
    );
    expect(r.message_type).toBeUndefined();
    expect(r.requested_addr).toBeUndefined();
    expect(r.anomalies).toEqual(["dhcp_bad_option_length"]);
    expect(
      record(bootp({ options: Buffer.concat([opt(52, Buffer.from([4])), END]) })).anomalies,
    ).toEqual(["dhcp_bad_overload"]);
    const nested = record(
      bootp({
        options: Buffer.concat([opt(52, Buffer.from([1])), END]),
        file: Buffer.concat([opt(52, Buffer.from([2])), opt(12, text("x")), END]),
      }),
    );
    expect(nested.anomalies).toEqual(["dhcp_bad_overload"]);
    expect(nested.host_name).toBe("x");
  });

  it("an hlen beyond chaddr's 16 bytes reads 16", () => {
    const r = record(bootp({ hlen: 200, options: Buffer.concat([discover, END]) }));
    expect(r.chaddr.split(":")).toHaveLength(16);
    expect(r.anomalies).toEqual(["dhcp_bad_hlen"]);
    expect(looksLikeDhcp(bootp({ hlen: 200, options: END }), 0, 241)).toBe(false);
  });

  it("never throws on damaged datagrams, and only names known anomalies", async () => {
    const real = await readUdpPayloads(PCAP);
    let seed = 0x2545f491;
    const rand = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 4294967296;
    };
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const base = Buffer.from(real[i % real.length]!.payload);
      // Damage the options area mostly: that is where lengths can lie.
      for (let k = 0; k < 1 + Math.floor(rand() * 8); k++) {
        base[240 + Math.floor(rand() * (base.length - 240))] = Math.floor(rand() * 256);
      }
      const cut = 200 + Math.floor(rand() * (base.length - 199));
      const r = parseDhcp(base, 0, cut);
      for (const a of r.anomaly !== undefined ? [r.anomaly] : (r.record.anomalies ?? []))
        seen.add(a);
    }
    expect([...seen].every((a) => (DHCP_ANOMALIES as readonly string[]).includes(a))).toBe(true);
    expect(seen.has("dhcp_truncated")).toBe(true);
    expect(seen.has("dhcp_option_overrun")).toBe(true);
  });

  it("through the pipeline: anomalies are counted, the flow is still DHCP", () => {
    const lying = bootp({ options: Buffer.concat([discover, hex("0c 40"), text("cam")]) });
    const frame = ethernet(ipv4({ src: "0.0.0.0", dst: "255.255.255.255" }, udp(68, 67, lying)), {
      src: "44:19:b6:00:00:01",
      dst: "ff:ff:ff:ff:ff:ff",
    });
    const { records, pipeline } = replayFrames([{ t: 1_700_000_000, frame }]);
    expect(records[0]!.network.protocol).toBe("dhcp");
    expect(records[0]!.egressd.dhcp.client.anomalies).toEqual(["dhcp_option_overrun"]);
    expect(pipeline.anomalies.toObject()).toMatchObject({ dhcp_option_overrun: 1 });
  });
});
