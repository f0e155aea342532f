/**
 * Builds frames for tests: Ethernet (with optional VLAN tags) / IPv4 or IPv6 / TCP, UDP
 * or ICMP, with correct lengths. Checksums are left zero: egressd does not verify them
 * (offloading makes captured checksums unreliable).
 */

export interface Endpoints {
  src: string;
  dst: string;
}

export function ipv4Bytes(addr: string): Buffer {
  return Buffer.from(addr.split(".").map((p) => Number(p)));
}

export function ipv6Bytes(addr: string): Buffer {
  const [head, tail] = addr.includes("::") ? addr.split("::") : [addr, undefined];
  const h = head ? head.split(":").filter((g) => g !== "") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const groups =
    tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill("0"), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  });
  return out;
}

export function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(/[:-]/).map((p) => Number.parseInt(p, 16)));
}

export interface TcpOptions {
  sport: number;
  dport: number;
  flags: string; // letters from "SAFRPU"
  seq?: number;
  ack?: number;
  payload?: Uint8Array;
  /** Extra header bytes (options), a multiple of 4. */
  options?: Buffer;
}

const FLAG_BITS: Record<string, number> = { F: 1, S: 2, R: 4, P: 8, A: 16, U: 32, E: 64, C: 128 };

export function tcp(o: TcpOptions): { proto: number; bytes: Buffer } {
  const opts = o.options ?? Buffer.alloc(0);
  const payload = o.payload ?? Buffer.alloc(0);
  const h = Buffer.alloc(20 + opts.length);
  h.writeUInt16BE(o.sport, 0);
  h.writeUInt16BE(o.dport, 2);
  h.writeUInt32BE((o.seq ?? 1000) >>> 0, 4);
  h.writeUInt32BE((o.ack ?? 0) >>> 0, 8);
  h[12] = ((20 + opts.length) / 4) << 4;
  let flags = 0;
  for (const ch of o.flags) flags |= FLAG_BITS[ch] ?? 0;
  h[13] = flags;
  h.writeUInt16BE(65535, 14);
  opts.copy(h, 20);
  return { proto: 6, bytes: Buffer.concat([h, payload]) };
}

export function udp(sport: number, dport: number, payload: Uint8Array = Buffer.alloc(0)) {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return { proto: 17, bytes: Buffer.concat([h, payload]) };
}

export function icmp(type: number, code: number, rest = Buffer.alloc(4), v6 = false) {
  const h = Buffer.alloc(4);
  h[0] = type;
  h[1] = code;
  return { proto: v6 ? 58 : 1, bytes: Buffer.concat([h, rest]) };
}

export interface Ipv4Options {
  id?: number;
  ttl?: number;
  /** Fragment offset in bytes (multiple of 8) and more-fragments flag. */
  fragmentOffset?: number;
  moreFragments?: boolean;
  /** IP options, a multiple of 4 bytes. */
  options?: Buffer;
}

export function ipv4(
  ends: Endpoints,
  l4: { proto: number; bytes: Buffer },
  o: Ipv4Options = {},
): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const h = Buffer.alloc(20 + opts.length);
  h[0] = 0x40 | ((20 + opts.length) / 4);
  h.writeUInt16BE(h.length + l4.bytes.length, 2);
  h.writeUInt16BE(o.id ?? 1, 4);
  const frag = ((o.fragmentOffset ?? 0) / 8) | (o.moreFragments ? 0x2000 : 0);
  h.writeUInt16BE(frag, 6);
  h[8] = o.ttl ?? 64;
  h[9] = l4.proto;
  ipv4Bytes(ends.src).copy(h, 12);
  ipv4Bytes(ends.dst).copy(h, 16);
  opts.copy(h, 20);
  return Buffer.concat([h, l4.bytes]);
}

/** An IPv6 extension header: [next header, length, ...body], sized to a multiple of 8. */
export interface Ipv6Extension {
  type: number;
  body?: Buffer;
}

export function ipv6(
  ends: Endpoints,
  l4: { proto: number; bytes: Buffer },
  extensions: Ipv6Extension[] = [],
): Buffer {
  const parts: Buffer[] = [];
  const types = [...extensions.map((e) => e.type), l4.proto];
  extensions.forEach((e, i) => {
    const next = types[i + 1]!;
    if (e.type === 44) {
      const body = e.body ?? Buffer.alloc(6);
      const x = Buffer.alloc(8);
      x[0] = next;
      body.copy(x, 2, 0, 6);
      parts.push(x);
    } else {
      const body = e.body ?? Buffer.alloc(6);
      const len = Math.ceil((body.length + 2) / 8) * 8;
      const x = Buffer.alloc(len);
      x[0] = next;
      x[1] = len / 8 - 1;
      body.copy(x, 2);
      parts.push(x);
    }
  });
  parts.push(l4.bytes);
  const payload = Buffer.concat(parts);
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(payload.length, 4);
  h[6] = types[0]!;
  h[7] = 64;
  ipv6Bytes(ends.src).copy(h, 8);
  ipv6Bytes(ends.dst).copy(h, 24);
  return Buffer.concat([h, payload]);
}

export interface EthernetOptions {
  src?: string;
  dst?: string;
  /** VLAN tags, outer first: [tpid, vid]. */
  tags?: [number, number][];
}

export function ethernet(ip: Buffer, o: EthernetOptions = {}): Buffer {
  const etherType = ip[0]! >> 4 === 6 ? 0x86dd : 0x0800;
  const tags = o.tags ?? [];
  const h = Buffer.alloc(14 + tags.length * 4);
  macBytes(o.dst ?? "02:00:00:00:00:02").copy(h, 0);
  macBytes(o.src ?? "02:00:00:00:00:01").copy(h, 6);
  let off = 12;
  for (const [tpid, vid] of tags) {
    h.writeUInt16BE(tpid, off);
    h.writeUInt16BE(vid & 0x0fff, off + 2);
    off += 4;
  }
  h.writeUInt16BE(etherType, off);
  return Buffer.concat([h, ip]);
}

/** Hex string (spaces and newlines allowed, `#` comments to end of line) to bytes. */
export function hex(s: string): Buffer {
  const clean = s
    .split("\n")
    .map((line) => line.replace(/#.*$/, ""))
    .join("")
    .replace(/[^0-9a-fA-F]/g, "");
  return Buffer.from(clean, "hex");
}
