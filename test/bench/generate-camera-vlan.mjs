#!/usr/bin/env node
/**
 * Writes a synthetic but protocol-valid classic pcap (Ethernet, microsecond) of a CCTV
 * camera VLAN, for benchmarking egressd against tcpdump and tshark:
 *
 *   - N cameras (default 200) at 10.20.0.11.., MACs with real camera-vendor OUIs;
 *   - one NVR, 10.20.1.10, that opens RTSP (TCP 554) to every camera: handshake,
 *     OPTIONS / DESCRIBE / SETUP / PLAY, then H.264 in RTP, either interleaved in the
 *     RTSP connection ($ framing, the NVR ACKs every 2nd segment) or over UDP to even
 *     NVR ports 5000+ (those sessions send GET_PARAMETER keep-alives);
 *   - under 1% other traffic: DNS to 10.20.1.53, NTP, HTTP and TLS (ClientHello with SNI)
 *     to documentation-range "internet" hosts behind the gateway, ARP;
 *   - every 10th camera sits behind a trunk port, so its frames carry 802.1Q tag 20.
 *
 * Only private (10/8) and documentation (198.51.100/24, 203.0.113/24) addresses and
 * reserved names (*.example, example.com/net/org) appear. Everything random comes from
 * one seeded PRNG, so the same arguments give the same file byte for byte.
 *
 * Speed matters (the benchmark wants files of several GB): packets are written straight
 * into large chunks that are written to disk while the next one fills, nothing is
 * allocated per video packet, and the checksums of video bodies come from a prefix sum
 * over the payload pool.
 *
 * Usage: node test/bench/generate-camera-vlan.mjs [--packets 1200000] [--out FILE]
 *                                                 [--seed 1] [--cameras 200] [--mix camera|churn]
 */
import { mkdirSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

// ---------------------------------------------------------------------------------------
// Deterministic randomness

/** mulberry32: tiny, fast, and good enough for traffic shapes. */
function makeRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let random = makeRandom(1);
/** Integer in [lo, hi]. */
const randInt = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const rand32 = () => Math.floor(random() * 4294967296);
const pick = (list) => list[Math.floor(random() * list.length)];

/**
 * How often cameras call out, as multipliers of the gap between two conversations.
 * "churn" starts a DNS/NTP/HTTP/TLS flow every ~600 packets (a stress test of per-flow
 * costs). "camera" uses rates a camera VLAN of 200 devices plausibly has: each camera
 * re-resolves ~3 names as their 300 s TTLs run out (DNS ~2/s in all), polls NTP every
 * 64 s (~3/s), reconnects to its cloud every ~5 min (TLS ~0.7/s) and checks for firmware
 * hourly over HTTP.
 */
const MIXES = {
  churn: { dns: 1, ntp: 1, tls: 1, http: 1 },
  camera: { dns: 71, ntp: 10, tls: 13, http: 160 },
};
let mix = MIXES.camera;

// ---------------------------------------------------------------------------------------
// Output: two large chunks, written alternately. While the file system copies one (in
// libuv's thread pool), the generator fills the other, so generating and writing overlap.
//
// Both chunks live in one ArrayBuffer after the video payload pool: copying a body is then
// a copyWithin (a plain memmove, no per-packet view objects to collect), and headers go
// through a DataView, which the JIT turns into plain stores.
const POOL_BYTES = 1 << 20;
const CHUNK_BYTES = 8 << 20;
const SLACK = 64 << 10; // free room that guarantees the next frame fits in the chunk
const mem = new ArrayBuffer(POOL_BYTES + 2 * CHUNK_BYTES);
const mem8 = new Uint8Array(mem);
const pool = Buffer.from(mem, 0, POOL_BYTES);
const chunks = [0, 1].map((i) => {
  const base = POOL_BYTES + i * CHUNK_BYTES;
  return {
    base,
    buf: Buffer.from(mem, base, CHUNK_BYTES),
    dv: new DataView(mem, base, CHUNK_BYTES),
  };
});
let chunk = chunks[0];
let out = chunk.buf; // the chunk being filled; frames are written at out[pos..]
let dv = chunk.dv;
let pos = 0;
let file = null; // FileHandle
let writing = Promise.resolve(); // the write of the other chunk
let fileBytes = 0;

async function writeAll(buf, len) {
  let done = 0;
  while (done < len) done += (await file.write(buf, done, len - done)).bytesWritten;
  fileBytes += len;
}

/** Hands the filled chunk to the file system and continues in the other one. */
async function rotate() {
  await writing; // the other chunk must be on its way to disk before we refill it
  writing = writeAll(out, pos);
  chunk = chunk === chunks[0] ? chunks[1] : chunks[0];
  out = chunk.buf;
  dv = chunk.dv;
  pos = 0;
}

function writePcapHeader() {
  dv.setUint32(0, 0xa1b2c3d4, true); // microsecond timestamps
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setInt32(8, 0, true); // thiszone
  dv.setUint32(12, 0, true); // sigfigs
  dv.setUint32(16, 262144, true); // snaplen
  dv.setUint32(20, 1, true); // LINKTYPE_ETHERNET
  pos = 24;
}

// ---------------------------------------------------------------------------------------
// Frame, IPv4, TCP and UDP writers. A host is { macHi, macLo, ip, ttl, ipId }: the MAC split
// into 16 + 32 bits so it is written with two integer stores instead of a Buffer copy.

const BROADCAST = { macHi: 0xffff, macLo: 0xffffffff, ip: 0, ttl: 0, ipId: 0 };

/** Record header + Ethernet (+ 802.1Q when vlan > 0); returns where the L3 header goes. */
function beginFrame(tUs, src, dst, vlan, etherType, l3Len) {
  const frameLen = (vlan ? 18 : 14) + l3Len;
  // A switch mirror port shows runt frames padded to the 60-byte minimum; decoders must
  // trust the IP total length, not the frame length.
  const capLen = Math.max(frameLen, 60);
  const sec = Math.floor(tUs / 1e6);
  dv.setUint32(pos, sec, true);
  dv.setUint32(pos + 4, tUs - sec * 1e6, true);
  dv.setUint32(pos + 8, capLen, true);
  dv.setUint32(pos + 12, capLen, true);
  let p = pos + 16;
  dv.setUint16(p, dst.macHi);
  dv.setUint32(p + 2, dst.macLo);
  dv.setUint16(p + 6, src.macHi);
  dv.setUint32(p + 8, src.macLo);
  p += 12;
  if (vlan) {
    dv.setUint16(p, 0x8100);
    dv.setUint16(p + 2, vlan);
    p += 4;
  }
  dv.setUint16(p, etherType);
  p += 2;
  if (capLen > frameLen) out.fill(0, pos + 16 + frameLen, pos + 16 + capLen);
  pos += 16 + capLen;
  return p;
}

function writeIPv4(p, src, dst, proto, l4Len) {
  const total = 20 + l4Len;
  src.ipId = (src.ipId + 1) & 0xffff;
  const flags = 0x4000; // DF, as Linux-based cameras and NVRs send
  const ttlProto = (src.ttl << 8) | proto;
  dv.setUint16(p, 0x4500);
  dv.setUint16(p + 2, total);
  dv.setUint16(p + 4, src.ipId);
  dv.setUint16(p + 6, flags);
  dv.setUint16(p + 8, ttlProto);
  let s =
    0x4500 +
    total +
    src.ipId +
    flags +
    ttlProto +
    (src.ip >>> 16) +
    (src.ip & 0xffff) +
    (dst.ip >>> 16) +
    (dst.ip & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  dv.setUint16(p + 10, ~s & 0xffff);
  dv.setUint32(p + 12, src.ip);
  dv.setUint32(p + 16, dst.ip);
  return p + 20;
}

// The L4 checksum is written after the payload, so the writers leave its context here.
let ckStart = 0;
let ckField = 0;
let ckPseudo = 0;
let ckIsUdp = false;

function beginChecksum(l4Start, field, src, dst, proto, l4Len) {
  ckStart = l4Start;
  ckField = field;
  ckIsUdp = proto === 17;
  ckPseudo =
    (src.ip >>> 16) + (src.ip & 0xffff) + (dst.ip >>> 16) + (dst.ip & 0xffff) + proto + l4Len;
}

/** Sum of big-endian 16-bit words of out[start, end); an odd last byte is zero-padded. */
function sum16(start, end) {
  let s = 0;
  let i = start;
  for (; i + 1 < end; i += 2) s += (out[i] << 8) | out[i + 1];
  if (i < end) s += out[i] << 8;
  return s;
}

/**
 * Completes the L4 checksum over out[ckStart, summedEnd) plus `extraSum`, the pre-computed
 * sum of any bytes after summedEnd (the video body copied from the pool). summedEnd -
 * ckStart must be even when extraSum is used, so the words line up.
 */
function finishChecksum(summedEnd, extraSum) {
  let s = ckPseudo + sum16(ckStart, summedEnd) + extraSum;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  let c = ~s & 0xffff;
  if (c === 0 && ckIsUdp) c = 0xffff; // 0 means "no checksum" in UDP
  dv.setUint16(ckField, c);
}

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;
// MSS 1460, NOP, window scale 7, NOP, NOP, SACK permitted: what Linux stacks send, minus
// timestamps (which would then be needed on every segment).
const SYN_OPTIONS = Buffer.from([2, 4, 0x05, 0xb4, 1, 3, 3, 7, 1, 1, 4, 2]);

/** A TCP connection: client is the side that sent the SYN. */
function makeConn(client, server, cport, sport, vlan) {
  return {
    client,
    server,
    cport,
    sport,
    vlan,
    cNext: rand32(), // next sequence number each side will send
    sNext: rand32(),
    cWin: 502, // window field after the handshake (scaled by 2^7)
    sWin: 229,
  };
}

/**
 * Writes everything of a TCP segment but its payload; returns where the payload goes.
 * Advances the sender's sequence number.
 */
function beginTcp(tUs, conn, fromClient, flags, payloadLen) {
  const src = fromClient ? conn.client : conn.server;
  const dst = fromClient ? conn.server : conn.client;
  const syn = (flags & TCP_SYN) !== 0;
  const hdrLen = syn ? 20 + SYN_OPTIONS.length : 20;
  const l4Len = hdrLen + payloadLen;
  let p = beginFrame(tUs, src, dst, conn.vlan, 0x0800, 20 + l4Len);
  p = writeIPv4(p, src, dst, 6, l4Len);
  const seq = fromClient ? conn.cNext : conn.sNext;
  const ack = flags & TCP_ACK ? (fromClient ? conn.sNext : conn.cNext) : 0;
  let win = fromClient ? conn.cWin : conn.sWin;
  if (syn) win = fromClient ? 64240 : 65160; // SYN windows are never scaled
  dv.setUint16(p, fromClient ? conn.cport : conn.sport);
  dv.setUint16(p + 2, fromClient ? conn.sport : conn.cport);
  dv.setUint32(p + 4, seq);
  dv.setUint32(p + 8, ack);
  dv.setUint16(p + 12, ((hdrLen / 4) << 12) | flags);
  dv.setUint16(p + 14, win);
  dv.setUint32(p + 16, 0); // checksum (filled in later) and urgent pointer
  if (syn) SYN_OPTIONS.copy(out, p + 20);
  beginChecksum(p, p + 16, src, dst, 6, l4Len);
  const next = (seq + payloadLen + (syn ? 1 : 0) + (flags & TCP_FIN ? 1 : 0)) >>> 0;
  if (fromClient) conn.cNext = next;
  else conn.sNext = next;
  return p + hdrLen;
}

/** A whole TCP segment whose payload (possibly empty) is a Buffer. */
function sendTcp(tUs, conn, fromClient, flags, payload) {
  const len = payload ? payload.length : 0;
  const p = beginTcp(tUs, conn, fromClient, flags, len);
  if (len) payload.copy(out, p);
  finishChecksum(p + len, 0);
}

function beginUdp(tUs, src, dst, vlan, sport, dport, payloadLen) {
  const l4Len = 8 + payloadLen;
  let p = beginFrame(tUs, src, dst, vlan, 0x0800, 20 + l4Len);
  p = writeIPv4(p, src, dst, 17, l4Len);
  dv.setUint16(p, sport);
  dv.setUint16(p + 2, dport);
  dv.setUint16(p + 4, l4Len);
  dv.setUint16(p + 6, 0);
  beginChecksum(p, p + 6, src, dst, 17, l4Len);
  return p + 8;
}

function sendUdp(tUs, src, dst, vlan, sport, dport, payload) {
  const p = beginUdp(tUs, src, dst, vlan, sport, dport, payload.length);
  payload.copy(out, p);
  finishChecksum(p + payload.length, 0);
}

// ---------------------------------------------------------------------------------------
// Video payload pool: random bytes (incompressible, like H.264) plus a prefix sum of its
// 16-bit words, so a body's checksum costs two array reads instead of a loop.

const MAX_BODY = 1460;
const poolPrefix = new Float64Array(POOL_BYTES / 2 + 1);

function makePool() {
  for (let i = 0; i < POOL_BYTES; i += 4) pool.writeUInt32BE(rand32(), i);
  for (let w = 0; w < POOL_BYTES / 2; w++) {
    poolPrefix[w + 1] = poolPrefix[w] + ((pool[2 * w] << 8) | pool[2 * w + 1]);
  }
}

/** Copies a random pool slice of `len` bytes to out[p..] and returns its 16-bit word sum. */
function writeBody(p, len) {
  const off = 2 * randInt(0, (POOL_BYTES - MAX_BODY) / 2 - 1); // even, so words line up
  mem8.copyWithin(chunk.base + p, off, off + len);
  const words = len >> 1;
  let s = poolPrefix[(off >> 1) + words] - poolPrefix[off >> 1];
  if (len & 1) s += pool[off + len - 1] << 8;
  return s;
}

// ---------------------------------------------------------------------------------------
// The network

const T0_US = Date.UTC(2024, 2, 1, 8, 0, 0) * 1000; // fixed start: 2024-03-01 08:00:00Z

const ip4 = (a, b, c, d) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
const ipText = (ip) => `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;

function makeHost(oui, ip, ttl) {
  const nic = rand32() & 0xffffff;
  return { macHi: oui >>> 8, macLo: (((oui & 0xff) << 24) | nic) >>> 0, ip, ttl, ipId: 0 };
}

// Real OUIs (IEEE registry, as in Wireshark's manuf) and each vendor's usual RTSP path.
const VENDORS = [
  { share: 0.45, ouis: [0x4419b6, 0xbcad28], path: "/Streaming/Channels/101" }, // Hikvision
  { share: 0.3, ouis: [0x3cef8c, 0xe0508b], path: "/cam/realmonitor?channel=1&subtype=0" }, // Dahua
  { share: 0.15, ouis: [0x00408c, 0xaccc8e], path: "/axis-media/media.amp" }, // Axis
  { share: 0.1, ouis: [0x000918], path: "/profile2/media.smp" }, // Hanwha (Samsung Techwin)
];
const OUI_SUPERMICRO = 0x002590;
const OUI_CISCO = 0x00000c;

// Names cameras look up, and the documentation-range addresses they resolve to.
const INTERNET = {
  "time.example.com": ip4(203, 0, 113, 123),
  "p2p.camera-cloud.example": ip4(203, 0, 113, 20),
  "api.camera-cloud.example": ip4(203, 0, 113, 44),
  "update.example.net": ip4(198, 51, 100, 80),
  "ddns.example.org": ip4(198, 51, 100, 53),
};

let gateway;
let nvr;
let dnsServer;
let ntpServer;
let cameras;
const internetHosts = new Map();

/** An "internet" host: seen through the gateway's MAC, a few hops away. */
function internetHost(name) {
  let h = internetHosts.get(name);
  if (!h) {
    h = { macHi: gateway.macHi, macLo: gateway.macLo, ip: INTERNET[name], ttl: 52, ipId: 0 };
    h.ipId = rand32() & 0xffff;
    internetHosts.set(name, h);
  }
  return h;
}

/** A vendor, by its share of the installed base. */
function pickVendor() {
  let r = random();
  for (const v of VENDORS) {
    r -= v.share;
    if (r < 0) return v;
  }
  return VENDORS[0];
}

function buildNetwork(cameraCount) {
  gateway = makeHost(OUI_CISCO, ip4(10, 20, 0, 1), 255);
  nvr = makeHost(OUI_SUPERMICRO, ip4(10, 20, 1, 10), 64);
  dnsServer = makeHost(OUI_SUPERMICRO, ip4(10, 20, 1, 53), 64);
  ntpServer = makeHost(OUI_SUPERMICRO, ip4(10, 20, 1, 123), 64);
  cameras = [];
  for (let i = 0; i < cameraCount; i++) {
    const vendor = pickVendor();
    const host = makeHost(pick(vendor.ouis), ip4(10, 20, 0, 11 + i), 64);
    host.ipId = rand32() & 0xffff;
    cameras.push({ index: i, host, vendor, vlan: i % 10 === 9 ? 20 : 0 });
  }
}

// ---------------------------------------------------------------------------------------
// Actors. Each fire() writes exactly one packet and returns the time of its next packet;
// a binary heap keyed by those times interleaves them in timestamp order.

const FPS = 25;
const FRAME_US = 1_000_000 / FPS;
const GOP = 2 * FPS; // one I-frame every 2 seconds

const text = (s) => Buffer.from(s, "latin1");

/** A scripted TCP conversation: [fromClient, flags, payload, delay before it (µs)]. */
class TcpScript {
  constructor(conn, steps) {
    this.conn = conn;
    this.steps = steps;
    this.i = 0;
  }
  get done() {
    return this.i >= this.steps.length;
  }
  /** Writes the next step at tUs; returns the delay to the step after it (or -1). */
  fire(tUs) {
    const [fromClient, flags, payload] = this.steps[this.i++];
    sendTcp(tUs, this.conn, fromClient, flags, payload);
    return this.done ? -1 : this.steps[this.i][3];
  }
}

const handshake = (rtt, local) => [
  [true, TCP_SYN, null, 0],
  [false, TCP_SYN | TCP_ACK, null, rtt()],
  [true, TCP_ACK, null, local()],
];

/**
 * One camera and the NVR's RTSP session with it: set-up script first, then video frames
 * every 40 ms as bursts of RTP packets (interleaved in TCP, or over UDP).
 */
class Camera {
  constructor(cam, startUs) {
    this.cam = cam;
    this.udp = cam.index % 4 === 2; // a quarter of the NVR's sessions use RTP over UDP
    this.nvrPort = 5000 + 2 * cam.index;
    this.camPort = 2 * randInt(3485, 3499); // even, 6970..6998
    this.conn = makeConn(nvr, cam.host, randInt(32768, 60999), 554, cam.vlan);
    this.ssrc = rand32();
    this.rtpSeq = randInt(0, 0xffff);
    this.rtpTime = rand32();
    this.session = `${randInt(10000000, 99999999)}`;
    this.cseq = 1;
    this.url = `rtsp://${ipText(cam.host.ip)}:554${cam.vendor.path}`;
    this.script = new TcpScript(this.conn, this.setupSteps());
    // Stream state, once PLAY is answered.
    this.frame = 0; // frames sent
    this.frameStart = 0; // nominal time of the current frame
    this.left = 0; // packets of the current frame still to send
    this.dataAt = startUs; // next packet of the set-up script or of the stream
    this.ackAt = Number.POSITIVE_INFINITY; // pending NVR ACK (TCP mode)
    this.unacked = 0;
    this.ctl = null; // keep-alive script (UDP mode)
    this.ctlAt = Number.POSITIVE_INFINITY;
  }

  request(method, url, headers) {
    return text(
      `${method} ${url} RTSP/1.0\r\nCSeq: ${this.cseq}\r\n${headers}` +
        "User-Agent: NVR RTSP Client/1.0\r\n\r\n",
    );
  }

  reply(headers, body = "") {
    return text(`RTSP/1.0 200 OK\r\nCSeq: ${this.cseq++}\r\n${headers}\r\n${body}`);
  }

  setupSteps() {
    const nvrDelay = () => randInt(150, 600);
    const camDelay = () => randInt(1000, 9000); // camera CPUs answer slowly
    const track = `${this.url}/trackID=1`;
    const sdp =
      "v=0\r\n" +
      `o=- ${randInt(1e8, 9e8)} 1 IN IP4 ${ipText(this.cam.host.ip)}\r\n` +
      "s=Media Presentation\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=control:*\r\n" +
      "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n" +
      "a=fmtp:96 packetization-mode=1\r\na=control:trackID=1\r\n";
    const ssrcHex = this.ssrc.toString(16).padStart(8, "0").toUpperCase();
    const transport = this.udp
      ? `RTP/AVP;unicast;client_port=${this.nvrPort}-${this.nvrPort + 1}`
      : "RTP/AVP/TCP;unicast;interleaved=0-1";
    const serverTransport = this.udp
      ? `${transport};server_port=${this.camPort}-${this.camPort + 1};ssrc=${ssrcHex}`
      : `${transport};ssrc=${ssrcHex}`;
    const session = `Session: ${this.session}\r\n`;
    const steps = handshake(
      () => randInt(150, 600),
      () => randInt(20, 80),
    );
    const exchange = (req, res) => {
      steps.push([true, TCP_PSH | TCP_ACK, req, nvrDelay()]);
      steps.push([false, TCP_PSH | TCP_ACK, res, camDelay()]);
    };
    exchange(
      this.request("OPTIONS", this.url, ""),
      this.reply(
        "Public: OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER\r\n",
      ),
    );
    exchange(
      this.request("DESCRIBE", this.url, "Accept: application/sdp\r\n"),
      this.reply(
        `Content-Base: ${this.url}/\r\nContent-Type: application/sdp\r\n` +
          `Content-Length: ${sdp.length}\r\n`,
        sdp,
      ),
    );
    exchange(
      this.request("SETUP", track, `Transport: ${transport}\r\n`),
      this.reply(`${session.slice(0, -2)};timeout=60\r\nTransport: ${serverTransport}\r\n`),
    );
    exchange(
      this.request("PLAY", this.url, `${session}Range: npt=0.000-\r\n`),
      this.reply(
        `${session}Range: npt=0.000-\r\n` +
          `RTP-Info: url=${track};seq=${this.rtpSeq};rtptime=${this.rtpTime}\r\n`,
      ),
    );
    steps.push([true, TCP_ACK, null, randInt(20, 80)]);
    return steps;
  }

  /** GET_PARAMETER keep-alive, what NVRs send when the RTSP connection is otherwise idle. */
  keepAliveSteps() {
    const session = `Session: ${this.session}\r\n`;
    return [
      [true, TCP_PSH | TCP_ACK, this.request("GET_PARAMETER", this.url, session), 0],
      [false, TCP_PSH | TCP_ACK, this.reply(session), randInt(1000, 9000)],
      [true, TCP_ACK, null, randInt(20, 80)],
    ];
  }

  fire() {
    const t = Math.min(this.dataAt, this.ackAt, this.ctlAt);
    if (t === this.ackAt) {
      // Pure ACK from the NVR for everything received so far.
      sendTcp(t, this.conn, true, TCP_ACK, null);
      this.ackAt = Number.POSITIVE_INFINITY;
    } else if (t === this.ctlAt) {
      const next = this.ctl.fire(t);
      this.ctlAt = next < 0 ? t + 25_000_000 + randInt(0, 500_000) : t + next;
      if (next < 0) this.ctl = new TcpScript(this.conn, this.keepAliveSteps());
    } else if (this.script) {
      const next = this.script.fire(t);
      if (next >= 0) {
        this.dataAt = t + next;
      } else {
        // PLAY answered and acknowledged: the first frame follows shortly.
        this.script = null;
        this.frameStart = t + randInt(500, 3000);
        this.dataAt = this.frameStart;
        if (this.udp) {
          this.ctlAt = t + 25_000_000 + randInt(0, 500_000);
          this.ctl = new TcpScript(this.conn, this.keepAliveSteps());
        }
      }
    } else {
      this.sendVideo(t);
    }
    return Math.min(this.dataAt, this.ackAt, this.ctlAt);
  }

  sendVideo(t) {
    const iFrame = this.frame % GOP === 0;
    const first = this.left === 0;
    if (first) this.left = iFrame ? randInt(50, 70) : randInt(13, 18);
    const last = this.left === 1;
    // Full-size packets of ~1300-1450 bytes (the L4 payload), the frame's tail shorter.
    const size = last ? randInt(200, 1450) : randInt(1300, 1450);
    // RTP (12) + H.264 FU-A indicator and header (2) + body; over TCP also "$", channel,
    // length (4). Both header runs are even in length, so the body's words line up.
    let p;
    let rtpLen;
    if (this.udp) {
      rtpLen = size;
      p = beginUdp(t, this.cam.host, nvr, this.cam.vlan, this.camPort, this.nvrPort, size);
    } else {
      rtpLen = size - 4;
      p = beginTcp(t, this.conn, false, TCP_PSH | TCP_ACK, size);
      out[p] = 0x24; // '$'
      out[p + 1] = 0; // channel 0 = RTP (interleaved=0-1)
      dv.setUint16(p + 2, rtpLen);
      p += 4;
    }
    out[p] = 0x80; // RTP version 2
    out[p + 1] = (last ? 0x80 : 0) | 96; // marker on the frame's last packet; PT 96 = H264
    dv.setUint16(p + 2, this.rtpSeq);
    dv.setUint32(p + 4, this.rtpTime);
    dv.setUint32(p + 8, this.ssrc);
    out[p + 12] = iFrame ? 0x7c : 0x5c; // FU-A (28), NRI 3 for IDR slices, 2 otherwise
    out[p + 13] = (first ? 0x80 : 0) | (last ? 0x40 : 0) | (iFrame ? 5 : 1);
    finishChecksum(p + 14, writeBody(p + 14, rtpLen - 14));
    this.rtpSeq = (this.rtpSeq + 1) & 0xffff;

    if (!this.udp && ++this.unacked === 2) {
      // The NVR ACKs every 2nd segment within microseconds, before the next one arrives.
      this.unacked = 0;
      this.ackAt = t + randInt(4, 10);
    }
    if (--this.left > 0) {
      this.dataAt = t + randInt(12, 20); // back-to-back at about line rate
    } else {
      this.frame++;
      this.rtpTime = (this.rtpTime + 90000 / FPS) >>> 0;
      this.frameStart += FRAME_US;
      this.dataAt = Math.max(t + 12, this.frameStart + randInt(-300, 300));
    }
  }
}

/** Cameras resolving cloud and update names at the local DNS server. */
class DnsTraffic {
  constructor(startUs) {
    this.t = startUs;
    this.answer = null;
  }
  fire() {
    const t = this.t;
    if (this.answer) {
      sendUdp(t, dnsServer, this.cam.host, this.cam.vlan, 53, this.port, this.answer);
      this.answer = null;
      this.t = t + randInt(2000, 40000) * mix.dns;
      return this.t;
    }
    this.cam = pick(cameras);
    this.port = randInt(40000, 60999); // clear of traceroute's 33434+
    const name = pick(Object.keys(INTERNET));
    const id = randInt(0, 0xffff);
    const qname = Buffer.concat([
      ...name.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), text(l)])),
      Buffer.from([0]),
    ]);
    const question = Buffer.concat([qname, Buffer.from([0, 1, 0, 1])]); // A, IN
    const header = (flags, answers) => {
      const h = Buffer.alloc(12);
      h.writeUInt16BE(id, 0);
      h.writeUInt16BE(flags, 2);
      h.writeUInt16BE(1, 4);
      h.writeUInt16BE(answers, 6);
      return h;
    };
    const rr = Buffer.alloc(16); // name pointer to the question, A, IN, TTL, address
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(1, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(300, 6);
    rr.writeUInt16BE(4, 10);
    rr.writeUInt32BE(INTERNET[name], 12);
    sendUdp(
      t,
      this.cam.host,
      dnsServer,
      this.cam.vlan,
      this.port,
      53,
      Buffer.concat([header(0x0100, 0), question]),
    );
    this.answer = Buffer.concat([header(0x8180, 1), question, rr]);
    this.t = t + randInt(200, 2500);
    return this.t;
  }
}

/** NTPv4 client/server exchanges, mostly with the local server, some with an outside one. */
class NtpTraffic {
  constructor(startUs) {
    this.t = startUs;
    this.reply = null;
  }
  fire() {
    const t = this.t;
    const ntpTime = (buf, at, us) => {
      const sec = Math.floor(us / 1e6);
      buf.writeUInt32BE(sec + 2208988800, at); // NTP era starts in 1900
      buf.writeUInt32BE(Math.floor(((us - sec * 1e6) * 4294967296) / 1e6), at + 4);
    };
    if (this.reply) {
      const r = this.reply;
      r.writeUInt8(0x24, 0); // LI 0, version 4, mode 4 (server)
      r.writeUInt8(2, 1); // stratum
      r.writeUInt8(6, 2); // poll
      r.writeInt8(-23, 3); // precision
      r.writeUInt32BE(0x00000120, 4); // root delay
      r.writeUInt32BE(0x00000340, 8); // root dispersion
      r.writeUInt32BE(INTERNET["time.example.com"], 12); // reference id: upstream server
      ntpTime(r, 16, t - 60_000_000); // reference time
      ntpTime(r, 32, t - 400); // receive time
      ntpTime(r, 40, t - 300); // transmit time
      sendUdp(t, this.server, this.cam.host, this.cam.vlan, 123, 123, r);
      this.reply = null;
      this.t = t + randInt(5000, 60000) * mix.ntp;
      return this.t;
    }
    this.cam = pick(cameras);
    this.server = random() < 0.7 ? ntpServer : internetHost("time.example.com");
    const q = Buffer.alloc(48);
    q.writeUInt8(0x23, 0); // LI 0, version 4, mode 3 (client)
    q.writeUInt8(6, 2);
    q.writeInt8(-20, 3);
    ntpTime(q, 40, t);
    sendUdp(t, this.cam.host, this.server, this.cam.vlan, 123, 123, q);
    this.reply = Buffer.alloc(48);
    q.copy(this.reply, 24, 40, 48); // origin time = the client's transmit time
    this.t = t + (this.server === ntpServer ? randInt(300, 1500) : randInt(15000, 40000));
    return this.t;
  }
}

/** Short TCP conversations from cameras to outside hosts, one after another. */
class OutboundTcp {
  constructor(startUs, makeSteps, gapScale) {
    this.t = startUs;
    this.makeSteps = makeSteps;
    this.gapScale = gapScale;
    this.script = null;
  }
  fire() {
    const t = this.t;
    if (!this.script) {
      const cam = pick(cameras);
      const { server, port, steps } = this.makeSteps(cam);
      const conn = makeConn(cam.host, server, randInt(32768, 60999), port, cam.vlan);
      this.script = new TcpScript(conn, steps);
    }
    const next = this.script.fire(t);
    if (next < 0) {
      this.script = null;
      this.t = t + randInt(50_000, 400_000) * this.gapScale;
    } else {
      this.t = t + next;
    }
    return this.t;
  }
}

const rttOf = () => {
  const base = randInt(15_000, 40_000); // one internet round trip per conversation
  return () => base + randInt(0, 2000);
};
const localDelay = () => randInt(50, 400);

/** A firmware update check over plain HTTP; the server closes (Connection: close). */
function httpSteps(cam) {
  const rtt = rttOf();
  const body = `{"model":"IPC-${cam.index}","latest":"V5.7.${randInt(1, 9)}","upgrade":false}`;
  const request = text(
    `GET /api/v1/firmware/check?device=${cam.index}&version=V5.7.1 HTTP/1.1\r\n` +
      "Host: update.example.net\r\nUser-Agent: IPCamera/5.7\r\nAccept: */*\r\n" +
      "Connection: close\r\n\r\n",
  );
  const response = text(
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
  return {
    server: internetHost("update.example.net"),
    port: 80,
    steps: [
      ...handshake(rtt, localDelay),
      [true, TCP_PSH | TCP_ACK, request, localDelay()],
      [false, TCP_ACK, null, rtt()],
      [false, TCP_PSH | TCP_ACK, response, randInt(500, 3000)],
      [false, TCP_FIN | TCP_ACK, null, randInt(20, 200)],
      [true, TCP_ACK, null, localDelay()],
      [true, TCP_FIN | TCP_ACK, null, localDelay()],
      [false, TCP_ACK, null, rtt()],
    ],
  };
}

const randomBytes = (n) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = randInt(0, 255);
  return b;
};
const u8 = (n) => Buffer.from([n]);
const u16 = (n) => Buffer.from([n >> 8, n & 255]);
const u24 = (n) => Buffer.from([n >> 16, (n >> 8) & 255, n & 255]);
const vec8 = (b) => Buffer.concat([u8(b.length), b]);
const vec16 = (b) => Buffer.concat([u16(b.length), b]);
const ext = (type, data) => Buffer.concat([u16(type), vec16(data)]);
const tlsRecord = (type, body) => Buffer.concat([u8(type), u16(0x0303), vec16(body)]);
const handshakeMsg = (type, body) => Buffer.concat([u8(type), u24(body.length), body]);
const hex = (s) => Buffer.from(s.replace(/ /g, ""), "hex");

/** TLS 1.3 to a camera cloud: ClientHello with SNI, ServerHello, then encrypted records. */
function tlsSteps() {
  const rtt = rttOf();
  const sni = pick(["p2p.camera-cloud.example", "api.camera-cloud.example"]);
  const sessionId = randomBytes(32);
  const clientHello = handshakeMsg(
    1,
    Buffer.concat([
      u16(0x0303),
      randomBytes(32),
      vec8(sessionId),
      vec16(hex("1301 1302 1303 c02b c02f c02c c030 cca9 cca8 c013 c014 009c 009d 002f 0035")),
      vec8(u8(0)), // null compression
      vec16(
        Buffer.concat([
          ext(0x0000, vec16(Buffer.concat([u8(0), vec16(text(sni))]))), // server_name
          ext(0x000a, vec16(hex("001d 0017 0018"))), // supported_groups
          ext(0x000b, vec8(u8(0))), // ec_point_formats
          ext(0x000d, vec16(hex("0403 0804 0401 0503 0805 0501 0806 0601"))), // signature_algs
          ext(0x002b, vec8(hex("0304 0303"))), // supported_versions
          ext(0x002d, vec8(u8(1))), // psk_key_exchange_modes: psk_dhe_ke
          ext(0x0033, vec16(Buffer.concat([u16(0x001d), vec16(randomBytes(32))]))), // key_share
        ]),
      ),
    ]),
  );
  const serverHello = handshakeMsg(
    2,
    Buffer.concat([
      u16(0x0303),
      randomBytes(32),
      vec8(sessionId),
      u16(0x1301),
      u8(0),
      vec16(
        Buffer.concat([
          ext(0x002b, u16(0x0304)),
          ext(0x0033, Buffer.concat([u16(0x001d), vec16(randomBytes(32))])),
        ]),
      ),
    ]),
  );
  const changeCipherSpec = tlsRecord(20, u8(1));
  // Encrypted records are opaque, so random bytes of plausible sizes stand in for them.
  const appData = (n) => tlsRecord(23, randomBytes(n));
  // The first record goes out as TLS 1.0, as clients do for compatibility.
  const hello = Buffer.concat([u8(22), u16(0x0301), vec16(clientHello)]);
  return {
    server: internetHost(sni),
    port: 443,
    steps: [
      ...handshake(rtt, localDelay),
      [true, TCP_PSH | TCP_ACK, hello, localDelay()],
      [
        false,
        TCP_PSH | TCP_ACK,
        Buffer.concat([tlsRecord(22, serverHello), changeCipherSpec, appData(randInt(900, 1200))]),
        rtt(),
      ],
      [
        true,
        TCP_PSH | TCP_ACK,
        Buffer.concat([changeCipherSpec, appData(53), appData(randInt(150, 400))]),
        randInt(2000, 8000), // camera CPUs are slow at the key exchange
      ],
      [false, TCP_PSH | TCP_ACK, appData(randInt(200, 800)), rtt()],
      [true, TCP_FIN | TCP_ACK, null, randInt(1000, 20000)],
      [false, TCP_FIN | TCP_ACK, null, rtt()],
      [true, TCP_ACK, null, localDelay()],
    ],
  };
}

/** The gateway refreshing its ARP cache entries for cameras. */
class ArpTraffic {
  constructor(startUs) {
    this.t = startUs;
    this.cam = null;
  }
  fire() {
    const t = this.t;
    const request = this.cam === null;
    if (request) this.cam = pick(cameras);
    const cam = this.cam;
    const [src, dst] = request ? [gateway, BROADCAST] : [cam.host, gateway];
    const p = beginFrame(t, src, dst, cam.vlan, 0x0806, 28);
    dv.setUint32(p, 0x00010800); // Ethernet, IPv4
    dv.setUint16(p + 4, 0x0604); // address lengths
    dv.setUint16(p + 6, request ? 1 : 2);
    dv.setUint16(p + 8, src.macHi);
    dv.setUint32(p + 10, src.macLo);
    dv.setUint32(p + 14, src.ip);
    dv.setUint16(p + 18, request ? 0 : dst.macHi);
    dv.setUint32(p + 20, request ? 0 : dst.macLo);
    dv.setUint32(p + 24, request ? cam.host.ip : dst.ip);
    if (request) {
      this.t = t + randInt(100, 900);
    } else {
      this.cam = null;
      this.t = t + randInt(10_000, 90_000);
    }
    return this.t;
  }
}

// ---------------------------------------------------------------------------------------
// Main loop

/** Generates `packets` packets into `file`; returns { packets, bytes, captureSeconds }. */
export async function generate({
  packets,
  file: path,
  seed = 1,
  cameraCount = 200,
  mixName = "camera",
}) {
  mix = MIXES[mixName];
  if (mix === undefined) throw new Error(`--mix: one of ${Object.keys(MIXES).join(", ")}`);
  random = makeRandom(seed);
  makePool();
  buildNetwork(cameraCount);

  const actors = [];
  for (const cam of cameras) {
    // The NVR starts its sessions one after another over the first ~1.6 s.
    actors.push(new Camera(cam, T0_US + cam.index * 8000 + randInt(0, 2000)));
  }
  for (let i = 0; i < 3; i++) actors.push(new DnsTraffic(T0_US + randInt(0, 20000)));
  actors.push(new NtpTraffic(T0_US + randInt(0, 20000)));
  for (let i = 0; i < 2; i++) {
    actors.push(new OutboundTcp(T0_US + randInt(0, 200_000), httpSteps, mix.http));
    actors.push(new OutboundTcp(T0_US + randInt(0, 200_000), tlsSteps, mix.tls));
  }
  actors.push(new ArpTraffic(T0_US + randInt(0, 20000)));

  // Min-heap of actor indices keyed by their next packet time. Keys live in a typed array
  // so comparisons never touch the (differently shaped) actor objects.
  const n = actors.length;
  const next = new Float64Array(n);
  for (let i = 0; i < n; i++) next[i] = actors[i].dataAt ?? actors[i].t;
  const heap = Int32Array.from(actors.keys()).sort((a, b) => next[a] - next[b] || a - b);

  mkdirSync(dirname(path), { recursive: true });
  file = await open(path, "w");
  fileBytes = 0;
  chunk = chunks[0];
  out = chunk.buf;
  dv = chunk.dv;
  writing = Promise.resolve();
  writePcapHeader();
  let lastT = 0;
  for (let k = 0; k < packets; k++) {
    const id = heap[0];
    lastT = next[id];
    const t = actors[id].fire();
    // Sift the root down to its new place.
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && next[heap[c + 1]] < next[heap[c]]) c++;
      if (next[heap[c]] >= t) break;
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = id;
    next[id] = t;
    if (pos > CHUNK_BYTES - SLACK) await rotate();
  }
  await rotate();
  await writing;
  await file.close();
  return { packets, bytes: fileBytes, captureSeconds: (lastT - T0_US) / 1e6 };
}

async function main() {
  const { values } = parseArgs({
    options: {
      packets: { type: "string", default: "1200000" },
      out: { type: "string", default: "test/fixtures/generated/camera-vlan.pcap" },
      seed: { type: "string", default: "1" },
      cameras: { type: "string", default: "200" },
      mix: { type: "string", default: "camera" },
    },
  });
  const num = (s) => Number(String(s).replaceAll("_", ""));
  const packets = num(values.packets);
  const cameraCount = num(values.cameras);
  const seed = num(values.seed);
  if (!Number.isInteger(packets) || packets < 0) throw new Error("--packets: whole number");
  if (!Number.isInteger(cameraCount) || cameraCount < 1 || cameraCount > 240) {
    throw new Error("--cameras: 1..240 (they live in 10.20.0.11-250)");
  }
  const start = process.hrtime.bigint();
  const r = await generate({ packets, file: values.out, seed, cameraCount, mixName: values.mix });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const size = statSync(values.out).size;
  console.log(
    `${values.out}: ${r.packets} packets, ${size} bytes (${(size / 1e6).toFixed(1)} MB), ` +
      `${r.captureSeconds.toFixed(2)} s of traffic; generated in ${seconds.toFixed(2)} s ` +
      `(${Math.round(r.packets / seconds).toLocaleString("en-US")} packets/s, ` +
      `${(size / 1e6 / seconds).toFixed(0)} MB/s)`,
  );
}

// Run as a script (not when imported, e.g. by a test that wants generate()).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
