/**
 * Test helper: the TCP conversations of a capture as in-order byte segments per direction,
 * read with egressd's own capture reader and decoder, and put in order with the lead's
 * TcpDirectionStream, the way the inspector will feed HttpConnection.
 */

import { openCapture } from "../../../src/capture/open.js";
import type { RawPacket } from "../../../src/capture/source.js";
import { IpProto, TcpFlag } from "../../../src/decode/packet.js";
import { DECODE_OK, PacketParser } from "../../../src/decode/parser.js";
import { TcpDirectionStream } from "../../../src/protocols/tcp-stream.js";

export interface Segment {
  fromInitiator: boolean;
  data: Buffer;
  tsSec: number;
  tsNsec: number;
}

export interface TcpConversation {
  /** Capture order of the conversation's first packet, from 0 (tshark's tcp.stream for simple captures). */
  index: number;
  clientPort: number;
  serverPort: number;
  segments: Segment[];
  gaps: number;
}

export async function readTcpConversations(path: string): Promise<TcpConversation[]> {
  const source = await openCapture(path);
  const parser = new PacketParser();
  const convs = new Map<
    string,
    TcpConversation & { dirs: [TcpDirectionStream, TcpDirectionStream]; client: string }
  >();
  const list: TcpConversation[] = [];
  await source.run({
    packet(raw: RawPacket) {
      if (parser.decode(raw) !== DECODE_OK) return;
      const p = parser.pkt;
      if (p.proto !== IpProto.TCP || !p.hasPorts) return;
      const src = `${p.src0}.${p.src1}.${p.src2}.${p.src3}:${p.srcPort}`;
      const dst = `${p.dst0}.${p.dst1}.${p.dst2}.${p.dst3}:${p.dstPort}`;
      const key = src < dst ? `${src}|${dst}` : `${dst}|${src}`;
      let c = convs.get(key);
      const syn = (p.tcpFlags & TcpFlag.SYN) !== 0;
      const ack = (p.tcpFlags & TcpFlag.ACK) !== 0;
      if (c === undefined) {
        // The SYN sender is the client; without a SYN, the first sender.
        const client = syn && ack ? dst : src;
        c = {
          index: convs.size,
          clientPort: client === src ? p.srcPort : p.dstPort,
          serverPort: client === src ? p.dstPort : p.srcPort,
          segments: [],
          gaps: 0,
          dirs: [new TcpDirectionStream(1 << 20), new TcpDirectionStream(1 << 20)],
          client,
        };
        convs.set(key, c);
        list.push(c);
      }
      const conv = c;
      const fromInitiator = src === c.client;
      const dir = c.dirs[fromInitiator ? 0 : 1];
      if (syn) dir.syn(p.tcpSeq);
      const len = Math.min(p.payloadLength, p.payloadCaptured);
      dir.push(
        p.tcpSeq,
        raw.buf,
        p.payloadOffset,
        len,
        (buf, off, n) => {
          conv.segments.push({
            fromInitiator,
            data: Buffer.from(buf.subarray(off, off + n)),
            tsSec: raw.tsSec,
            tsNsec: raw.tsNsec,
          });
        },
        () => {
          conv.gaps++;
        },
      );
    },
  });
  return list;
}
