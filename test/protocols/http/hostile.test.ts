/**
 * Hostile and malformed input: every case ends in a named anomaly (or a correct parse),
 * bounded work and memory, and never an exception.
 */

import { describe, expect, it } from "vitest";
import { HttpConnection } from "../../../src/protocols/http/connection.js";
import type { HttpAnomaly, HttpTransaction } from "../../../src/protocols/http/record.js";
import { HTTP_ANOMALIES } from "../../../src/protocols/http/record.js";
import {
  type HttpMessage,
  HttpMessageStream,
  type HttpOptions,
} from "../../../src/protocols/http/stream.js";
import { hex } from "../../helpers/packets.js";

const text = (s: string) => Buffer.from(s.replace(/\n/g, "\r\n"), "latin1");

interface Run {
  txs: HttpTransaction[];
  anomalies: HttpAnomaly[];
  conn: HttpConnection;
}

/** Feeds the initiator's bytes, then the responder's, then flushes. */
function run(requests: Buffer, responses = Buffer.alloc(0), options: HttpOptions = {}): Run {
  const txs: HttpTransaction[] = [];
  const anomalies: HttpAnomaly[] = [];
  const conn = new HttpConnection(
    1,
    { transaction: (t) => txs.push(t), anomaly: (a) => anomalies.push(a) },
    options,
  );
  if (requests.length > 0) conn.feed(true, requests, 0, requests.length);
  if (responses.length > 0) conn.feed(false, responses, 0, responses.length);
  conn.flush();
  return { txs, anomalies, conn };
}

/** One direction alone: the messages it hands out (as start line + body size + completeness). */
function messages(
  kind: "request" | "response",
  bytes: Buffer,
  chunk = bytes.length,
  options: HttpOptions = {},
) {
  const out: string[] = [];
  const anomalies: HttpAnomaly[] = [];
  const s = new HttpMessageStream(
    kind,
    {
      headers: () => {},
      end: (m: HttpMessage, complete: boolean) => {
        const line = m.request
          ? `${m.request.method} ${m.request.uri}`
          : `${m.response!.status_code}`;
        out.push(`${line} body=${m.bodyBytes}${complete ? "" : " cut"}`);
      },
      anomaly: (a) => anomalies.push(a),
    },
    options,
  );
  for (let i = 0; i < bytes.length; i += chunk) s.feed(bytes, i, Math.min(chunk, bytes.length - i));
  s.finish();
  return { out, anomalies, stream: s };
}

describe("header block bounds", () => {
  it("a header line without an end: http_header_too_long, the request still reported, the direction stopped", () => {
    const req = Buffer.concat([
      text("PUT /SDK/webLanguage HTTP/1.1\nX-Long: "),
      Buffer.alloc(20_000, 0x61),
    ]);
    const r = run(req);
    expect(r.anomalies).toEqual(["http_header_too_long"]);
    expect(r.txs).toHaveLength(1);
    expect(r.txs[0]!.request!.uri).toBe("/SDK/webLanguage");
    expect(r.txs[0]!.incomplete).toBe(true);
    expect(r.txs[0]!.anomalies).toEqual(["http_header_too_long"]);
    expect(r.conn.requests.stopped).toBe(true);
  });

  it("the same, fed in 1-byte pieces: the bound holds without a line ending", () => {
    const req = Buffer.concat([text("GET / HTTP/1.1\nX: "), Buffer.alloc(17_000, 0x61)]);
    const m = messages("request", req, 1);
    expect(m.anomalies).toEqual(["http_header_too_long"]);
    expect(m.out).toEqual(["GET / body=0 cut"]);
  });

  it("a request line alone longer than the bound: no request, one anomaly", () => {
    const r = run(Buffer.concat([text("GET /"), Buffer.alloc(16_400, 0x62)]));
    expect(r.anomalies).toEqual(["http_header_too_long"]);
    expect(r.txs).toEqual([]);
  });

  it("a block of many short lines that adds up past 16 KiB", () => {
    const lines = Array.from({ length: 90 }, (_, i) => `X-${i}: ${"v".repeat(200)}\n`).join("");
    const r = run(text(`GET / HTTP/1.1\n${lines}\n`));
    expect(r.anomalies).toEqual(["http_header_too_long"]);
  });

  it("a block of exactly the bound is accepted", () => {
    const head = "GET / HTTP/1.1\r\nX: ";
    const pad = 16 * 1024 - head.length - 4;
    const req = Buffer.from(`${head}${"a".repeat(pad)}\r\n\r\n`, "latin1");
    expect(req.length).toBe(16 * 1024);
    expect(messages("request", req).out).toEqual(["GET / body=0"]);
    expect(messages("request", Buffer.concat([Buffer.from("\r\n"), req])).anomalies).toEqual([
      "http_header_too_long",
    ]);
  });

  it("10,000 headers: http_too_many_headers after the 100th", () => {
    const many = Array.from({ length: 10_000 }, () => "a:b\n").join("");
    const r = run(text(`GET /x HTTP/1.1\n${many}\n`), Buffer.alloc(0), { maxHeaderBytes: 1 << 20 });
    expect(r.anomalies).toEqual(["http_too_many_headers"]);
    expect(r.txs[0]!.request!.uri).toBe("/x");
    const ok = Array.from({ length: 100 }, () => "a:b\n").join("");
    expect(run(text(`GET /x HTTP/1.1\n${ok}\n`)).anomalies).toEqual([]);
  });

  it("malformed header lines are counted and skipped; folded lines are ignored", () => {
    const r = run(
      text(
        "GET / HTTP/1.1\nno colon here\nBad Name: x\n: empty\nHost: cam\n folded\nUser-Agent: ua\n\n",
      ),
    );
    // Counted once per line; listed once on the transaction.
    expect(r.anomalies).toEqual([
      "http_bad_header_line",
      "http_bad_header_line",
      "http_bad_header_line",
    ]);
    expect(r.txs[0]!.anomalies).toEqual(["http_bad_header_line"]);
    expect(r.txs[0]!.request!.host).toBe("cam");
    expect(r.txs[0]!.request!.user_agent).toBe("ua");
  });

  it("control bytes and non-ASCII in values are escaped, never copied raw", () => {
    const req = Buffer.concat([
      text("GET /a\x01b HTTP/1.1\nUser-Agent: x"),
      Buffer.from([0x1b, 0xff, 0x5c]),
      text("\n\n"),
    ]);
    const r = run(req);
    expect(r.txs[0]!.request!.uri).toBe("/a\\x01b");
    expect(r.txs[0]!.request!.user_agent).toBe("x\\x1b\\xff\\x5c");
  });
});

describe("start lines", () => {
  it.each([
    ["binary", hex("16 03 01 02 00 01 00 01 fc 03 03 0d 0a 0d 0a")],
    ["no version", text("GET /\n\n")],
    ["HTTP/2 preface", text("PRI * HTTP/2.0\n\nSM\n\n")],
    ["bad version", text("GET / HTTP/1.x\n\n")],
    ["lowercase version", text("GET / http/1.1\n\n")],
    ["empty target", text("GET  HTTP/1.1\n\n")],
  ])("request: %s -> http_bad_request_line", (_name, bytes) => {
    const r = run(bytes);
    expect(r.anomalies).toEqual(["http_bad_request_line"]);
    expect(r.txs).toEqual([]);
    expect(r.conn.requests.stopped).toBe(true);
  });

  it.each([
    ["two-digit status", text("HTTP/1.1 20 OK\n\n")],
    ["letters", text("HTTP/1.1 2x0 OK\n\n")],
    ["no space", text("HTTP/1.1200 OK\n\n")],
    ["status 099", text("HTTP/1.1 099 x\n\n")],
    ["SSH banner", text("SSH-2.0-OpenSSH_9.2\n")],
  ])("response: %s -> http_bad_status_line", (_name, bytes) => {
    const r = run(text("GET / HTTP/1.1\n\n"), bytes);
    expect(r.anomalies).toEqual(["http_bad_status_line"]);
    expect(r.txs).toHaveLength(1);
    expect(r.txs[0]!.response).toBeUndefined();
  });

  it("a status line without a reason phrase, and empty lines before a request, are fine", () => {
    const r = run(text("\n\nGET / HTTP/1.0\n\n"), text("HTTP/1.0 204\n\n"));
    expect(r.anomalies).toEqual([]);
    expect(r.txs[0]!.response!.status_code).toBe(204);
    expect(r.txs[0]!.response!.reason).toBe("");
  });
});

describe("Content-Length", () => {
  it.each([
    ["-1", "-1"],
    ["huge", "99999999999999999999"],
    ["2^53", "9007199254740993"],
    ["hex", "0x10"],
    ["empty", ""],
    ["trailing comma", "5,"],
  ])("%s -> http_content_length_invalid, the direction stops", (_name, value) => {
    const r = run(text(`POST /x HTTP/1.1\nContent-Length: ${value}\n\nbody`));
    expect(r.anomalies).toEqual(["http_content_length_invalid"]);
    expect(r.txs[0]!.incomplete).toBe(true);
    expect(r.conn.requests.stopped).toBe(true);
  });

  it("two different values -> http_content_length_conflict (no length reported)", () => {
    const r = run(text("POST /x HTTP/1.1\nContent-Length: 4\nContent-Length: 40\n\nbody"));
    expect(r.anomalies).toEqual(["http_content_length_conflict"]);
    expect(r.txs[0]!.request!.content_length).toBeUndefined();
    expect(run(text("POST /x HTTP/1.1\nContent-Length: 4, 5\n\nbody")).anomalies).toEqual([
      "http_content_length_conflict",
    ]);
  });

  it("repeated equal values are one length", () => {
    const r = run(
      text("POST /x HTTP/1.1\nContent-Length: 4\ncontent-length: 4, 4\n\nbodyGET /y HTTP/1.1\n\n"),
    );
    expect(r.anomalies).toEqual([]);
    expect(r.txs.map((t) => [t.request!.uri, t.request_body_bytes])).toEqual([
      ["/x", 4],
      ["/y", 0],
    ]);
  });

  it("a large valid length is skipped by counting, not buffered", () => {
    const m = new HttpMessageStream("request", {
      headers: () => {},
      end: () => {},
      anomaly: () => {},
    });
    const head = text(
      "PUT /ISAPI/System/updateFirmware HTTP/1.1\nContent-Length: 1000000000000\n\n",
    );
    m.feed(head, 0, head.length);
    const chunk = Buffer.alloc(65536, 0x41);
    for (let i = 0; i < 100; i++) m.feed(chunk, 0, chunk.length);
    expect(m.stopped).toBe(false);
  });

  it("Transfer-Encoding with Content-Length: chunked wins, flagged http_te_and_content_length", () => {
    const r = run(
      text(
        "POST /x HTTP/1.1\nContent-Length: 100\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\nGET /next HTTP/1.1\n\n",
      ),
    );
    expect(r.anomalies).toEqual(["http_te_and_content_length"]);
    expect(r.txs.map((t) => [t.request!.uri, t.request_body_bytes])).toEqual([
      ["/x", 3],
      ["/next", 0],
    ]);
  });

  it("a request Transfer-Encoding that does not end in chunked: http_transfer_encoding_invalid", () => {
    expect(run(text("POST /x HTTP/1.1\nTransfer-Encoding: chunked, gzip\n\nxx")).anomalies).toEqual(
      ["http_transfer_encoding_invalid"],
    );
    // In a response it means "read until close".
    const r = run(
      text("GET / HTTP/1.1\n\n"),
      text("HTTP/1.1 200 OK\nTransfer-Encoding: gzip\n\n\x1f\x8b\x08\x00rest"),
    );
    expect(r.anomalies).toEqual([]);
    expect(r.txs[0]!.response_body_bytes).toBe(8);
    expect(r.txs[0]!.response!.body_magic).toBe("gzip");
  });
});

describe("chunked bodies", () => {
  const ok = text(
    "POST /c HTTP/1.1\nTransfer-Encoding: chunked\n\n4;ext=1\nWiki\n5\npedia\nE\n in\n\nchunks.\n0\nX-Trailer: 1\n\n",
  );

  it("parses sizes, extensions, data and trailers", () => {
    expect(messages("request", ok).out).toEqual(["POST /c body=23"]);
  });

  it.each([
    ["garbage", "zz\nabc\n"],
    ["negative", "-5\nabc\n"],
    ["leading space", " 5\nabc\n"],
    ["too many digits", "100000000000000\n"],
    ["size line over 1 KiB", `5;${"e".repeat(2000)}\n`],
  ])("chunk size %s -> http_chunk_size_invalid", (_name, body) => {
    const r = run(text(`POST /c HTTP/1.1\nTransfer-Encoding: chunked\n\n${body}`));
    expect(r.anomalies).toEqual(["http_chunk_size_invalid"]);
    expect(r.conn.requests.stopped).toBe(true);
  });

  it("chunk data not followed by CRLF -> http_chunk_missing_crlf", () => {
    const r = run(text("POST /c HTTP/1.1\nTransfer-Encoding: chunked\n\n3\nabcdef\n0\n\n"));
    expect(r.anomalies).toEqual(["http_chunk_missing_crlf"]);
  });

  it("a huge chunk size is counted down, not allocated", () => {
    const m = messages(
      "request",
      text("POST /c HTTP/1.1\nTransfer-Encoding: chunked\n\nfffffffffffff\nabc"),
    );
    expect(m.anomalies).toEqual([]);
    expect(m.out).toEqual(["POST /c body=3 cut"]);
  });
});

describe("split at every byte boundary", () => {
  const stream = Buffer.concat([
    text(
      "POST /cgi-bin/upgrader.cgi?action=uploadFirmware HTTP/1.1\nHost: 192.0.2.64\nContent-Length: 10\n\n",
    ),
    hex("44 48 03 04 00 01 02 03 04 05"),
    text("GET /ISAPI/System/upgradeStatus HTTP/1.1\nHost: 192.0.2.64\n\n"),
    text("PUT /x HTTP/1.1\nTransfer-Encoding: chunked\n\n2\nab\n0\n\n"),
  ]);
  const responses = Buffer.concat([
    text("HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nServer: DNVRS-Webs\nContent-Length: 2\n\nok"),
    text("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n1\nx\n0\n\n"),
    text("HTTP/1.1 200 OK\nContent-Length: 0\n\n"),
  ]);

  it("every two-piece split of both directions gives the same transactions as one piece", () => {
    const whole = run(stream, responses);
    expect(whole.anomalies).toEqual([]);
    expect(
      whole.txs.map((t) => [
        t.request!.uri,
        t.response!.status_code,
        t.request_body_bytes,
        t.response_body_bytes,
      ]),
    ).toEqual([
      ["/cgi-bin/upgrader.cgi?action=uploadFirmware", 200, 10, 2],
      ["/ISAPI/System/upgradeStatus", 200, 0, 1],
      ["/x", 200, 2, 0],
    ]);
    expect(whole.txs[0]!.request!.body_magic).toBe("dahua-firmware-zip");
    for (let k = 0; k <= stream.length; k++) {
      const txs: HttpTransaction[] = [];
      const c = new HttpConnection(1, { transaction: (t) => txs.push(t) });
      c.feed(true, stream, 0, k);
      c.feed(true, stream, k, stream.length - k);
      const j = k % (responses.length + 1);
      c.feed(false, responses, 0, j);
      c.feed(false, responses, j, responses.length - j);
      c.flush();
      expect(txs).toEqual(whole.txs);
    }
  });

  it("one byte at a time gives the same transactions", () => {
    const whole = run(stream, responses);
    const txs: HttpTransaction[] = [];
    const c = new HttpConnection(1, { transaction: (t) => txs.push(t) });
    for (let i = 0; i < stream.length; i++) c.feed(true, stream, i, 1);
    for (let i = 0; i < responses.length; i++) c.feed(false, responses, i, 1);
    c.flush();
    expect(txs).toEqual(whole.txs);
  });
});

describe("pairing", () => {
  it("pipelined requests beyond maxPendingRequests: counted, pairing stops, all reported unanswered", () => {
    const reqs = Buffer.concat(Array.from({ length: 5 }, (_, i) => text(`GET /${i} HTTP/1.1\n\n`)));
    const r = run(reqs, text("HTTP/1.1 200 OK\nContent-Length: 0\n\n"), { maxPendingRequests: 3 });
    expect(r.anomalies).toEqual(["http_pending_overflow"]);
    expect(r.conn.pendingOverflows).toBe(1);
    expect(r.txs.map((t) => [t.request!.uri, t.response?.status_code])).toEqual([
      ["/0", undefined],
      ["/1", undefined],
      ["/2", undefined],
      ["/3", undefined],
      ["/4", undefined],
    ]);
    expect(r.txs[3]!.anomalies).toEqual(["http_pending_overflow"]);
  });

  it("32 pipelined requests pair with 32 responses", () => {
    const reqs = Buffer.concat(
      Array.from({ length: 32 }, (_, i) => text(`GET /${i} HTTP/1.1\n\n`)),
    );
    const resps = Buffer.concat(
      Array.from({ length: 32 }, (_, i) =>
        text(`HTTP/1.1 200 OK\nContent-Length: ${i}\n\n${"x".repeat(i)}`),
      ),
    );
    const r = run(reqs, resps);
    expect(r.anomalies).toEqual([]);
    expect(r.txs.map((t) => t.response_body_bytes)).toEqual(
      Array.from({ length: 32 }, (_, i) => i),
    );
  });

  it("a request whose response never comes is emitted on flush", () => {
    const txs: HttpTransaction[] = [];
    const c = new HttpConnection(3, { transaction: (t) => txs.push(t) });
    const req = text(
      'GET /ISAPI/System/deviceInfo HTTP/1.1\nAuthorization: Digest username="admin", response="abc"\n\n',
    );
    c.feed(true, req, 0, req.length, 100, 5);
    expect(txs).toEqual([]);
    c.flush();
    expect(txs).toEqual([
      {
        ts_sec: 100,
        ts_nsec: 5,
        flow_id: 3,
        depth: 1,
        protocol: "http",
        request: {
          method: "GET",
          uri: "/ISAPI/System/deviceInfo",
          version: "HTTP/1.1",
          chunked: false,
          authorization_scheme: "Digest",
        },
        response: undefined,
        request_body_bytes: 0,
        response_body_bytes: 0,
        incomplete: false,
        anomalies: [],
      },
    ]);
  });

  it("an early response to an upload still in progress pairs with it", () => {
    const txs: HttpTransaction[] = [];
    const c = new HttpConnection(1, { transaction: (t) => txs.push(t) });
    const head = text("PUT /ISAPI/System/updateFirmware HTTP/1.1\nContent-Length: 100000\n\n");
    c.feed(true, head, 0, head.length);
    const body = hex("e9 9a f7 b6 00 00 00 00");
    c.feed(true, body, 0, body.length);
    const resp = text("HTTP/1.1 401 Unauthorized\nContent-Length: 0\n\n");
    c.feed(false, resp, 0, resp.length);
    expect(txs).toEqual([]); // waits for the request to end
    c.flush();
    expect(txs).toHaveLength(1);
    expect(txs[0]!.response!.status_code).toBe(401);
    expect(txs[0]!.request!.body_magic).toBe("hikvision-digicap");
    expect(txs[0]!.request_body_bytes).toBe(8);
    expect(txs[0]!.incomplete).toBe(true);
  });

  it("a response without a request is reported on its own", () => {
    const r = run(
      Buffer.alloc(0),
      text("HTTP/1.1 200 OK\nServer: Hikvision-Webs\nContent-Length: 2\n\nok"),
    );
    expect(r.anomalies).toEqual(["http_response_without_request"]);
    expect(r.txs).toHaveLength(1);
    expect(r.txs[0]!.request).toBeUndefined();
    expect(r.txs[0]!.response!.server).toBe("Hikvision-Webs");
    expect(r.txs[0]!.response_body_bytes).toBe(2);
  });

  it("101 Switching Protocols: the connection is done, WebSocket frames are not parsed", () => {
    const txs: HttpTransaction[] = [];
    const anomalies: string[] = [];
    const c = new HttpConnection(1, {
      transaction: (t) => txs.push(t),
      anomaly: (a) => anomalies.push(a),
    });
    const req = text("GET /ws HTTP/1.1\nUpgrade: websocket\nConnection: Upgrade\n\n");
    c.feed(true, req, 0, req.length);
    const resp = Buffer.concat([
      text("HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n\n"),
      hex("81 05 68 65 6c 6c 6f"),
    ]);
    c.feed(false, resp, 0, resp.length);
    expect(c.wantsMoreData()).toBe(false);
    const frame = hex("81 85 00 00 00 00 68 65 6c 6c 6f");
    c.feed(true, frame, 0, frame.length);
    c.flush();
    expect(anomalies).toEqual([]);
    expect(txs.map((t) => t.response!.status_code)).toEqual([101]);
  });

  it("CONNECT answered 200: a tunnel, not parsed further; answered 407: parsing goes on", () => {
    const r = run(
      Buffer.concat([
        text("CONNECT dev.ys7.com:443 HTTP/1.1\nHost: dev.ys7.com:443\n\n"),
        hex("16 03 01 00 05 01 00 00 01 00"),
      ]),
      text("HTTP/1.1 200 Connection established\n\n"),
    );
    expect(r.txs.map((t) => [t.request!.uri, t.response!.status_code])).toEqual([
      ["dev.ys7.com:443", 200],
    ]);
    // The ClientHello was fed before the 200 here: having no line end, it waited as a
    // partial line and was dropped when the 200 halted the connection.
    expect(r.anomalies).toEqual([]);
    const txs: HttpTransaction[] = [];
    const anomalies: string[] = [];
    const c = new HttpConnection(1, {
      transaction: (t) => txs.push(t),
      anomaly: (a) => anomalies.push(a),
    });
    const connect = text("CONNECT dev.ys7.com:443 HTTP/1.1\n\n");
    c.feed(true, connect, 0, connect.length);
    const ok = text("HTTP/1.1 200 Connection established\n\n");
    c.feed(false, ok, 0, ok.length);
    const hello = hex("16 03 01 00 05 01 00 00 01 00");
    c.feed(true, hello, 0, hello.length);
    c.flush();
    expect(anomalies).toEqual([]);
    const auth = run(
      text("CONNECT a:443 HTTP/1.1\n\nCONNECT a:443 HTTP/1.1\nProxy-Authorization: Basic eDp5\n\n"),
      text("HTTP/1.1 407 Proxy Authentication Required\nContent-Length: 0\n\nHTTP/1.1 200 OK\n\n"),
    );
    expect(auth.txs.map((t) => t.response!.status_code)).toEqual([407, 200]);
  });

  it("a gap stops that direction: the message in progress is cut, later bytes ignored", () => {
    const txs: HttpTransaction[] = [];
    const anomalies: string[] = [];
    const c = new HttpConnection(1, {
      transaction: (t) => txs.push(t),
      anomaly: (a) => anomalies.push(a),
    });
    const req = text("GET /a HTTP/1.1\n\n");
    c.feed(true, req, 0, req.length);
    const resp = text("HTTP/1.1 200 OK\nContent-Length: 1000\n\nabc");
    c.feed(false, resp, 0, resp.length);
    c.gap(false);
    const more = text("HTTP/1.1 200 OK\n\n");
    c.feed(false, more, 0, more.length);
    expect(c.wantsMoreData()).toBe(true);
    c.gap(true);
    expect(c.wantsMoreData()).toBe(false);
    c.flush();
    expect(anomalies).toEqual(["http_stream_gap", "http_stream_gap"]);
    expect(txs).toHaveLength(1);
    expect(txs[0]!.response_body_bytes).toBe(3);
    expect(txs[0]!.incomplete).toBe(true);
  });

  it("maxTransactions bounds a connection", () => {
    const reqs = Buffer.concat(
      Array.from({ length: 10 }, (_, i) => text(`GET /${i} HTTP/1.1\n\n`)),
    );
    const r = run(reqs, Buffer.alloc(0), { maxTransactions: 4 });
    expect(r.txs).toHaveLength(4);
    expect(r.anomalies).toEqual(["http_transaction_limit"]);
    expect(r.conn.wantsMoreData()).toBe(false);
  });
});

describe("random bytes", () => {
  it("never throw, whatever the state", () => {
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const prefixes = [
      text("GET / HTTP/1.1\n"),
      text("POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n"),
      text("DESCRIBE rtsp://x RTSP/1.0\nCSeq: 1\n\n"),
      Buffer.alloc(0),
    ];
    for (let i = 0; i < 400; i++) {
      const junk = Buffer.alloc(rnd() % 3000);
      for (let j = 0; j < junk.length; j++) junk[j] = rnd() & 0xff;
      // Sprinkle line ends and '$' so the line and interleaved paths are taken.
      for (let j = 0; j < junk.length; j += 1 + (rnd() % 40))
        junk[j] = [0x0a, 0x0d, 0x24, 0x3a][rnd() % 4]!;
      const req = Buffer.concat([prefixes[i % prefixes.length]!, junk]);
      expect(() => run(req, junk)).not.toThrow();
    }
  });

  it("every anomaly name is listed in HTTP_ANOMALIES", () => {
    for (const a of ["http_header_too_long", "http_stream_gap", "http_chunk_missing_crlf"]) {
      expect(HTTP_ANOMALIES).toContain(a);
    }
  });
});
