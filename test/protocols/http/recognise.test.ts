import { beforeAll, describe, expect, it } from "vitest";
import { bodyMagic } from "../../../src/protocols/http/magic.js";
import {
  looksLikeHttpRequest,
  looksLikeHttpResponse,
} from "../../../src/protocols/http/recognise.js";
import { hex } from "../../helpers/packets.js";
import { readTcpConversations, type TcpConversation } from "./tcp-conversations.js";

const b = (s: string) => Buffer.from(s, "latin1");
const req = (s: string) => looksLikeHttpRequest(b(s), 0, s.length);
const resp = (s: string) => looksLikeHttpResponse(b(s), 0, s.length);

describe("looksLikeHttpRequest", () => {
  it.each([
    ["GET / HTTP/1.1\r\n", "http"],
    ["PUT /ISAPI/System/updateFirmware HTTP/1.1\r\nHost: x\r\n", "http"],
    ["POST /RPC2_Login HTTP/1.0\r\n", "http"],
    ["OPTIONS * HTTP/1.1\r\n", "http"],
    ["OPTIONS rtsp://192.0.2.64:554/ RTSP/1.0\r\n", "rtsp"],
    ["DESCRIBE rtsp://192.0.2.64/Streaming/Channels/101 RTSP/1.0\r\n", "rtsp"],
    ["GET_PARAMETER rtsp://x/ RTSP/1.0\r\n", "rtsp"],
    ["CONNECT dev.ys7.com:443 HTTP/1.1\r\n", "http"],
    // First line not complete yet: the method (and for OPTIONS the target) decides.
    ["GET /very/long/path", "http"],
    ["SETUP rtsp://x/track", "rtsp"],
    ["OPTIONS rtsp://x", "rtsp"],
    ["OPTIONS /", "http"],
    ["GET ", "http"],
    ["GET / HTTP/1", "http"],
  ])("%j -> %s", (s, want) => {
    expect(req(s)).toBe(want);
  });

  it.each([
    "get / HTTP/1.1\r\n", // methods are case-sensitive
    "FOO / HTTP/1.1\r\n",
    "GET / HTTP/2.0\r\n",
    "GET / SIP/2.0\r\n",
    "PLAY rtsp://x HTTP/1.1\r\n", // RTSP method with an HTTP version
    "GET / RTSP/1.0\r\n", // and the reverse
    "GET  / HTTP/1.1\r\n",
    "GET /a\x01b HTTP/1.1\r\n",
    "GET",
    "GETX / HTTP/1.1",
    "SSH-2.0-OpenSSH_9.2\r\n",
    "\x16\x03\x01\x02\x00",
    "",
  ])("%j -> null", (s) => {
    expect(req(s)).toBeNull();
  });

  it("reads only within its view and its scan bound", () => {
    const buf = b("xxGET / HTTP/1.1\r\nyy");
    expect(looksLikeHttpRequest(buf, 2, 16)).toBe("http");
    expect(looksLikeHttpRequest(buf, 2, 3)).toBeNull();
    const long = b(`GET /${"a".repeat(100_000)} HTTP/1.1\r\n`);
    expect(looksLikeHttpRequest(long, 0, long.length)).toBe("http");
  });
});

describe("looksLikeHttpResponse", () => {
  it.each([
    ["HTTP/1.1 200 OK\r\n", "http"],
    ["HTTP/1.0 404 Not Found\r\n", "http"],
    ["HTTP/1.1 204\r\n", "http"],
    ["RTSP/1.0 401 Unauthorized\r\n", "rtsp"],
    ["HTTP/1.1 2", "http"],
    ["HTTP/", "http"],
    ["RTSP/1", "rtsp"],
  ])("%j -> %s", (s, want) => {
    expect(resp(s)).toBe(want);
  });

  it.each([
    "HTTP/2 200\r\n",
    "HTTP/1.1 2x0 OK",
    "HTTP/1.1200 OK",
    "HTTP",
    "SSH-2.0-x",
    "RTSP/2.0 200 OK",
    "",
  ])("%j -> null", (s) => {
    expect(resp(s)).toBeNull();
  });
});

describe("recognition on the first payload of real flows", () => {
  let convs: TcpConversation[];
  beforeAll(async () => {
    convs = [
      ...(await readTcpConversations("test/fixtures/real/namespace-clients.pcap")),
      ...(await readTcpConversations("test/protocols/http/fixtures/loopback-rtsp.pcap")),
    ];
  });

  it("HTTP on 80/8000 and RTSP are recognised from both sides; DNS over TCP and TLS are not", () => {
    const seen: string[] = [];
    for (const c of convs) {
      const first = c.segments.find((s) => s.fromInitiator);
      const answer = c.segments.find((s) => !s.fromInitiator);
      if (first === undefined) continue;
      const q = looksLikeHttpRequest(first.data, 0, first.data.length);
      const r = answer ? looksLikeHttpResponse(answer.data, 0, answer.data.length) : null;
      seen.push(`${c.serverPort}:${q}:${r}`);
    }
    const byPort = (port: number) => [...new Set(seen.filter((s) => s.startsWith(`${port}:`)))];
    expect(byPort(80)).toEqual(["80:http:http"]);
    expect(byPort(8000)).toEqual(["8000:http:http"]);
    expect(byPort(18554)).toEqual(["18554:rtsp:rtsp"]);
    expect(byPort(443)).toEqual(["443:null:null"]);
    expect(byPort(53)).toEqual(["53:null:null"]);
  });
});

describe("bodyMagic", () => {
  it.each([
    ["e9 9a f7 b6 00 00", "hikvision-digicap"],
    ["44 48 03 04 14 00", "dahua-firmware-zip"],
    ["50 4b 03 04 14 00", "zip"],
    ["1f 8b 08 00", "gzip"],
    ["27 05 19 56 00", "uimage"],
    ["68 73 71 73 00", "squashfs"],
    ["73 71 73 68 00", "squashfs"],
    ["7f 45 4c 46 02 01", "elf"],
  ])("%s -> %s", (h, want) => {
    const bytes = hex(h);
    expect(bodyMagic(bytes, 0, bytes.length)).toBe(want);
  });

  it.each(["50 4b 05 06", "1f 8b 07", "7f 45 4c", "3c 3f 78 6d 6c", "", "e9 9a f7"])(
    "%j -> undefined",
    (h) => {
      const bytes = hex(h);
      expect(bodyMagic(bytes, 0, bytes.length)).toBeUndefined();
    },
  );
});
