/**
 * Test helpers for UDP protocols: read a capture's UDP payloads with egressd's own reader
 * and decoder, write datagrams into a pcap (so tshark can decode the very same bytes), and
 * ask tshark for fields.
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCapture } from "../../../src/capture/open.js";
import type { RawPacket } from "../../../src/capture/source.js";
import { IpProto } from "../../../src/decode/packet.js";
import { DECODE_OK, PacketParser } from "../../../src/decode/parser.js";
import { pcapFile } from "../../helpers/capture-writer.js";
import { ethernet, ipv4, ipv6, udp } from "../../helpers/packets.js";

export interface Datagram {
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

export async function readUdpPayloads(path: string): Promise<Datagram[]> {
  const source = await openCapture(path);
  const parser = new PacketParser();
  const out: Datagram[] = [];
  await source.run({
    packet(raw: RawPacket) {
      if (parser.decode(raw) !== DECODE_OK) return;
      const p = parser.pkt;
      if (p.proto !== IpProto.UDP || !p.hasPorts) return;
      const n = Math.min(p.payloadLength, p.payloadCaptured);
      out.push({
        srcPort: p.srcPort,
        dstPort: p.dstPort,
        payload: Buffer.from(raw.buf.subarray(p.payloadOffset, p.payloadOffset + n)),
      });
    },
  });
  return out;
}

export interface OutDatagram {
  payload: Buffer;
  sport?: number;
  dport: number;
  /** Destination address: IPv4 by default, IPv6 when it contains a colon. */
  dst?: string;
}

/** Writes the datagrams into a pcap (Ethernet, documentation addresses) and returns its path. */
export function writeUdpPcap(datagrams: OutDatagram[]): string {
  const records = datagrams.map((d, i) => {
    const l4 = udp(d.sport ?? 40000 + i, d.dport, Buffer.from(d.payload));
    const dst = d.dst ?? "192.0.2.1";
    const ip = dst.includes(":")
      ? ipv6({ src: "2001:db8::10", dst }, l4)
      : ipv4({ src: "192.0.2.10", dst }, l4);
    return { tsSec: 1_700_000_000 + i, tsFrac: 0, data: ethernet(ip) };
  });
  const path = join(mkdtempSync(join(tmpdir(), "egressd-udp-")), "datagrams.pcap");
  writeFileSync(path, pcapFile({}, records));
  return path;
}

/** tshark -T fields: one row per packet (an empty filter selects all), fields tab-separated. */
export function tsharkFields(pcap: string, fields: string[], extra: string[] = []): string[][] {
  const out = execFileSync(
    "tshark",
    ["-n", "-r", pcap, ...extra, "-T", "fields", ...fields.flatMap((f) => ["-e", f])],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
  );
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\t"));
}
