/**
 * Encodes small DNS messages for the tracker and framer tests (names uncompressed). The
 * parser itself is tested on real tool output and on hand-written hex; this only saves
 * writing hex for messages whose bytes do not matter.
 */

import { parseDnsMessage } from "../../../src/protocols/dns/parse.js";
import type { DnsMessage } from "../../../src/protocols/dns/record.js";

export interface BuildRecord {
  name: string;
  type: number;
  class?: number;
  ttl?: number;
  /** Raw RDATA, or for A/AAAA/CNAME the text form. */
  data: Buffer | string;
}

export interface BuildMessage {
  id: number;
  response?: boolean;
  rcode?: number;
  rd?: boolean;
  aa?: boolean;
  question?: { name: string; type: number; class?: number };
  answers?: BuildRecord[];
}

export function encodeName(name: string): Buffer {
  if (name === ".") return Buffer.from([0]);
  const parts = name
    .split(".")
    .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

function rdata(r: BuildRecord): Buffer {
  if (Buffer.isBuffer(r.data)) return r.data;
  if (r.type === 1) return Buffer.from(r.data.split(".").map(Number));
  if (r.type === 5) return encodeName(r.data);
  if (r.type === 28) {
    const [head, tail] = r.data.split("::");
    const h = head ? head.split(":") : [];
    const t = tail ? tail.split(":") : [];
    const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
    const out = Buffer.alloc(16);
    groups.forEach((g, i) => {
      out.writeUInt16BE(Number.parseInt(g, 16), 2 * i);
    });
    return out;
  }
  throw new Error(`give raw data for type ${r.type}`);
}

export function encodeMessage(m: BuildMessage): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(m.id, 0);
  h[2] = (m.response ? 0x80 : 0) | (m.aa ? 0x04 : 0) | (m.rd === false ? 0 : 0x01);
  h[3] = (m.response ? 0x80 : 0) | (m.rcode ?? 0);
  h.writeUInt16BE(m.question ? 1 : 0, 4);
  h.writeUInt16BE(m.answers?.length ?? 0, 6);
  const parts: Buffer[] = [h];
  if (m.question) {
    const qt = Buffer.alloc(4);
    qt.writeUInt16BE(m.question.type, 0);
    qt.writeUInt16BE(m.question.class ?? 1, 2);
    parts.push(encodeName(m.question.name), qt);
  }
  for (const r of m.answers ?? []) {
    const data = rdata(r);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(r.type, 0);
    fixed.writeUInt16BE(r.class ?? 1, 2);
    fixed.writeUInt32BE(r.ttl ?? 60, 4);
    fixed.writeUInt16BE(data.length, 8);
    parts.push(encodeName(r.name), fixed, data);
  }
  return Buffer.concat(parts);
}

/** Encodes and parses; fails the test if our own encoding does not parse cleanly. */
export function message(m: BuildMessage): DnsMessage {
  const bytes = encodeMessage(m);
  const r = parseDnsMessage(bytes, 0, bytes.length);
  if (r.anomaly !== undefined || r.message === undefined)
    throw new Error(`bad build: ${r.anomaly}`);
  return r.message;
}

/** The 2-byte TCP length prefix and the message. */
export function framed(msg: Buffer): Buffer {
  const p = Buffer.alloc(2);
  p.writeUInt16BE(msg.length, 0);
  return Buffer.concat([p, msg]);
}
