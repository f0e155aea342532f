/**
 * Pulls DNS messages out of a real capture with egressd's own reader and decoder, and what
 * tshark says about the same frames, so the tests can compare the two field for field.
 */

import { execFileSync } from "node:child_process";
import { openCapture } from "../../../src/capture/open.js";
import { PacketParser } from "../../../src/decode/parser.js";
import { DnsTcpFramer } from "../../../src/protocols/dns/tcp-stream.js";

export interface CapturedMessage {
  /** 1-based frame number, as tshark counts (for TCP: the frame that completed the message). */
  frame: number;
  tsSec: number;
  tsNsec: number;
  transport: "udp" | "tcp";
  /** Direction-specific endpoint key, "udp 192.0.2.10:40000 > 192.0.2.53:53". */
  conversation: string;
  srcPort: number;
  dstPort: number;
  bytes: Buffer;
}

function addr(version: number, w0: number, w1: number, w2: number, w3: number): string {
  if (version === 4) return [w3 >>> 24, (w3 >>> 16) & 255, (w3 >>> 8) & 255, w3 & 255].join(".");
  return [w0, w1, w2, w3].map((w) => (w >>> 0).toString(16).padStart(8, "0")).join("");
}

/** Every DNS message on `ports` (UDP payloads, and TCP streams through DnsTcpFramer). */
export async function readDnsMessages(path: string, ports: number[]): Promise<CapturedMessage[]> {
  const out: CapturedMessage[] = [];
  const parser = new PacketParser();
  const streams = new Map<
    string,
    { frame: Omit<CapturedMessage, "bytes">; framer: DnsTcpFramer }
  >();
  const source = await openCapture(path);
  let frame = 0;
  await source.run({
    packet(raw) {
      frame++;
      if (parser.decode(raw) !== 0) return;
      const p = parser.pkt;
      if (!p.hasPorts || !(ports.includes(p.srcPort) || ports.includes(p.dstPort))) return;
      const transport = p.proto === 17 ? "udp" : "tcp";
      const conversation = `${transport} ${addr(p.ipVersion, p.src0, p.src1, p.src2, p.src3)}:${p.srcPort} > ${addr(p.ipVersion, p.dst0, p.dst1, p.dst2, p.dst3)}:${p.dstPort}`;
      const base = {
        frame,
        tsSec: raw.tsSec,
        tsNsec: raw.tsNsec,
        transport,
        conversation,
        srcPort: p.srcPort,
        dstPort: p.dstPort,
      } as const;
      if (p.payloadCaptured === 0) return;
      if (transport === "udp") {
        const bytes = Buffer.from(
          raw.buf.subarray(p.payloadOffset, p.payloadOffset + p.payloadCaptured),
        );
        out.push({ ...base, bytes });
        return;
      }
      let stream = streams.get(conversation);
      if (stream === undefined) {
        const state = { frame: base, framer: undefined as unknown as DnsTcpFramer };
        // Each message is copied out: the framer's view is valid only during the call.
        state.framer = new DnsTcpFramer({
          message: (buf, off, len) => {
            out.push({ ...state.frame, bytes: Buffer.from(buf.subarray(off, off + len)) });
          },
        });
        stream = state;
        streams.set(conversation, stream);
      }
      stream.frame = base;
      stream.framer.feed(raw.buf, p.payloadOffset, p.payloadCaptured);
    },
  });
  return out;
}

/** tshark -T fields over the DNS frames of `path`, one object per frame, multi-valued fields
 * split into arrays. `decodeAs` ports are dissected as DNS besides 53. */
export function tsharkDnsFields(
  path: string,
  fields: string[],
  decodeAs: number[] = [],
  filter = "dns",
): Map<number, Record<string, string[]>> {
  const args = ["-n", "-r", path];
  for (const port of decodeAs)
    args.push("-d", `udp.port==${port},dns`, "-d", `tcp.port==${port},dns`);
  args.push("-Y", filter, "-T", "fields", "-E", "separator=/t", "-E", "aggregator=\x1f");
  args.push("-e", "frame.number");
  for (const f of fields) args.push("-e", f);
  const text = execFileSync("tshark", args, {
    encoding: "latin1",
    maxBuffer: 64 * 1024 * 1024,
    stdio: ["ignore", "pipe", "ignore"],
  });
  const rows = new Map<number, Record<string, string[]>>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const cols = line.split("\t");
    const row: Record<string, string[]> = {};
    fields.forEach((f, i) => {
      const v = cols[i + 1] ?? "";
      row[f] = v === "" ? [] : v.split("\x1f");
    });
    rows.set(Number(cols[0]), row);
  }
  return rows;
}
