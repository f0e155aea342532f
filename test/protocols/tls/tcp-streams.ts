/**
 * TCP connections of a capture, read with egressd's own capture reader and decoder:
 * each segment's direction, sequence number and payload, in capture order. Connections
 * are numbered in order of their first packet, like tshark's tcp.stream.
 */

import { execFileSync } from "node:child_process";
import { openCapture } from "../../../src/capture/open.js";
import type { RawPacket } from "../../../src/capture/source.js";
import { IpProto, TcpFlag } from "../../../src/decode/packet.js";
import { DECODE_OK, PacketParser } from "../../../src/decode/parser.js";

export interface Segment {
  fromClient: boolean;
  seq: number;
  flags: number;
  payload: Buffer;
}

export interface TcpConnection {
  /** tshark's tcp.stream number. */
  stream: number;
  clientPort: number;
  serverPort: number;
  ipVersion: number;
  /** ISNs from the SYN and SYN-ACK, when seen. */
  clientIsn?: number;
  serverIsn?: number;
  segments: Segment[];
}

function endpointKey(p: PacketParser["pkt"], src: boolean): string {
  return src
    ? `${p.src0},${p.src1},${p.src2},${p.src3},${p.srcPort}`
    : `${p.dst0},${p.dst1},${p.dst2},${p.dst3},${p.dstPort}`;
}

export async function readTcpConnections(path: string): Promise<TcpConnection[]> {
  const source = await openCapture(path);
  const parser = new PacketParser();
  const byKey = new Map<string, { conn: TcpConnection; clientKey: string }>();
  const conns: TcpConnection[] = [];
  await source.run({
    packet(raw: RawPacket) {
      if (parser.decode(raw) !== DECODE_OK) return;
      const p = parser.pkt;
      if (p.proto !== IpProto.TCP || !p.hasPorts) return;
      const a = endpointKey(p, true);
      const b = endpointKey(p, false);
      const key = a < b ? `${a}|${b}` : `${b}|${a}`;
      let entry = byKey.get(key);
      if (entry === undefined) {
        // The first packet's sender is the client (true for every capture these tests use).
        const conn: TcpConnection = {
          stream: conns.length,
          clientPort: p.srcPort,
          serverPort: p.dstPort,
          ipVersion: p.ipVersion,
          segments: [],
        };
        entry = { conn, clientKey: a };
        byKey.set(key, entry);
        conns.push(conn);
      }
      const fromClient = a === entry.clientKey;
      const syn = (p.tcpFlags & TcpFlag.SYN) !== 0;
      if (syn && fromClient) entry.conn.clientIsn = p.tcpSeq;
      if (syn && !fromClient) entry.conn.serverIsn = p.tcpSeq;
      entry.conn.segments.push({
        fromClient,
        seq: p.tcpSeq,
        flags: p.tcpFlags,
        payload: Buffer.from(
          raw.buf.subarray(p.payloadOffset, p.payloadOffset + p.payloadCaptured),
        ),
      });
    },
  });
  return conns;
}

/** Payload bytes of one direction in sequence order (the captures here have no loss). */
export function directionBytes(conn: TcpConnection, fromClient: boolean): Buffer {
  return Buffer.concat(
    conn.segments
      .filter((s) => s.fromClient === fromClient && s.payload.length > 0)
      .map((s) => s.payload),
  );
}

/** Runs tshark with -n (no name lookups) and returns stdout. */
export function tshark(args: string[]): string {
  return execFileSync("tshark", ["-n", ...args], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    stdio: ["ignore", "pipe", "ignore"],
  });
}

export function hasTshark(): boolean {
  try {
    tshark(["-v"]);
    return true;
  } catch {
    return false;
  }
}

/**
 * One row per frame matching `filter`, fields split on tabs, each field split on "|"
 * (tshark's occurrence separator). `-d` decodes `ports` as TLS.
 */
export function tsharkRows(
  path: string,
  filter: string,
  fields: string[],
  tlsPorts: number[] = [],
): string[][][] {
  const decodeAs = tlsPorts.flatMap((p) => ["-d", `tcp.port==${p},tls`]);
  const out = tshark([
    "-r",
    path,
    ...decodeAs,
    "-Y",
    filter,
    "-T",
    "fields",
    "-E",
    "occurrence=a",
    "-E",
    "aggregator=|",
    ...fields.flatMap((f) => ["-e", f]),
  ]);
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((line) => line.split("\t").map((f) => (f === "" ? [] : f.split("|"))));
}
