/**
 * RTSP: a real ffmpeg-to-ffmpeg publish session on 127.0.0.1 (fixtures/make-loopback-rtsp.sh),
 * OPTIONS / ANNOUNCE with an SDP body / SETUP / RECORD, then RTP interleaved in the TCP
 * connection as '$' frames (some split across segments, some two to a segment), then
 * TEARDOWN; and a crafted camera PLAY session whose server sends the '$' frames.
 */

import { beforeAll, describe, expect, it } from "vitest";
import { HttpConnection } from "../../../src/protocols/http/connection.js";
import type { HttpTransaction } from "../../../src/protocols/http/record.js";
import type { HttpOptions } from "../../../src/protocols/http/stream.js";
import { readTcpConversations, type TcpConversation } from "./tcp-conversations.js";
import { tsharkFields } from "./tshark-http.js";

const PCAP = "test/protocols/http/fixtures/loopback-rtsp.pcap";
/** The fixture's RTSP port is not 554: tell tshark. */
const DECODE_AS = ["-d", "tcp.port==18554,rtsp"];

function parse(conv: TcpConversation, options: HttpOptions = {}) {
  const out: HttpTransaction[] = [];
  const c = new HttpConnection(conv.index, { transaction: (t) => out.push(t) }, options);
  let fedAfterDone = 0;
  for (const s of conv.segments) {
    if (!c.wantsMoreData()) {
      fedAfterDone++;
      continue; // what the lead does: stop feeding a connection that is done
    }
    c.feed(s.fromInitiator, s.data, 0, s.data.length, s.tsSec, s.tsNsec);
  }
  c.flush();
  return { txs: out, conn: c, fedAfterDone };
}

describe("RTSP from a real ffmpeg publish session", () => {
  let conv: TcpConversation;
  beforeAll(async () => {
    const convs = await readTcpConversations(PCAP);
    expect(convs).toHaveLength(1);
    conv = convs[0]!;
  });

  it("pairs every request with its response like tshark, skipping the interleaved RTP", () => {
    const rows = tsharkFields(
      PCAP,
      "rtsp.request or rtsp.response",
      ["rtsp.method", "rtsp.url", "rtsp.status"],
      DECODE_AS,
    );
    const expected: string[][] = [];
    for (let i = 0; i < rows.length; i += 2)
      expected.push([rows[i]![0]!, rows[i]![1]!, rows[i + 1]![2]!]);
    const { txs, conn } = parse(conv, { rtspBinaryFrames: 1000 });
    expect(
      txs.map((t) => [t.request!.method, t.request!.uri, String(t.response!.status_code)]),
    ).toEqual(expected);
    expect(txs.every((t) => t.protocol === "rtsp")).toBe(true);
    expect(txs.map((t) => t.request!.cseq)).toEqual([1, 2, 3, 4, 5]);
    // ffmpeg's listener answers TEARDOWN with a bare "501 Not Implemented", no CSeq.
    expect(txs.map((t) => t.response!.cseq)).toEqual([1, 2, 3, 4, undefined]);
    const announce = txs[1]!;
    expect(announce.request!.content_type).toBe("application/sdp");
    expect(announce.request_body_bytes).toBe(322);
    expect(Buffer.from(announce.request!.body_prefix!, "hex").toString()).toBe(
      "v=0\r\no=- 0 0 IN ",
    );
    expect(txs.every((t) => t.anomalies.length === 0 && !t.incomplete)).toBe(true);
    const frames = tsharkFields(PCAP, "rtsp.magic", ["rtsp.channel"], DECODE_AS).flatMap((r) =>
      r[0]!.split(","),
    );
    expect(conn.requests.interleavedFrames).toBe(frames.length);
  });

  it("reports the connection done once only RTP flows (default: 16 frames), so the lead stops feeding it", () => {
    const { txs, fedAfterDone } = parse(conv);
    expect(txs.map((t) => t.request!.method)).toEqual(["OPTIONS", "ANNOUNCE", "SETUP", "RECORD"]);
    expect(fedAfterDone).toBeGreaterThan(0);
  });
});

describe("RTSP PLAY with interleaved frames from the server", () => {
  const crlf = (s: string) => Buffer.from(s.replace(/\n/g, "\r\n"), "latin1");
  const frame = (channel: number, n: number) => {
    const b = Buffer.alloc(4 + n, 0x80);
    b[0] = 0x24;
    b[1] = channel;
    b.writeUInt16BE(n, 2);
    return b;
  };
  const client = crlf(
    "DESCRIBE rtsp://192.0.2.64:554/Streaming/Channels/101 RTSP/1.0\nCSeq: 2\nUser-Agent: VLC\nAccept: application/sdp\n\n" +
      "PLAY rtsp://192.0.2.64:554/Streaming/Channels/101/ RTSP/1.0\nCSeq: 5\nSession: 1\nRange: npt=0.000-\n\n",
  );
  const server = Buffer.concat([
    crlf(
      'RTSP/1.0 401 Unauthorized\nCSeq: 2\nWWW-Authenticate: Digest realm="Hikvision", nonce="x"\nServer: Hikvision-Webs\n\n',
    ),
    crlf("RTSP/1.0 200 OK\nCSeq: 5\nSession: 1\nRTP-Info: url=trackID=1;seq=1\n\n"),
    frame(0, 1400),
    frame(1, 0),
    frame(1, 28),
    crlf("RTSP/1.0 200 OK\nCSeq: 6\n\n"),
    frame(0, 70000 % 65536),
  ]);

  it("skips the frames, reads the realm, and answers the same at every split point", () => {
    const run = (split: number) => {
      const out: HttpTransaction[] = [];
      const c = new HttpConnection(7, { transaction: (t) => out.push(t) });
      c.feed(true, client, 0, client.length);
      c.feed(false, server, 0, split);
      c.feed(false, server, split, server.length - split);
      c.flush();
      return { out, frames: c.responses.interleavedFrames };
    };
    const base = run(server.length);
    // The third response answers no request: it is reported on its own.
    expect(base.out.map((t) => [t.request?.method, t.response?.status_code])).toEqual([
      ["DESCRIBE", 401],
      ["PLAY", 200],
      [undefined, 200],
    ]);
    expect(base.out[0]!.response!.www_authenticate_realm).toBe("Hikvision");
    expect(base.out[0]!.response!.server).toBe("Hikvision-Webs");
    expect(base.out[2]!.anomalies).toEqual(["http_response_without_request"]);
    expect(base.frames).toBe(4);
    for (let split = 0; split <= server.length; split += 7) expect(run(split)).toEqual(base);
  });
});
