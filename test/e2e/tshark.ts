/**
 * What tshark (Wireshark's CLI, an independent implementation) says about a capture, in a
 * form the e2e tests can compare egressd's flow records with: its `-z conv,tcp/udp`
 * conversation tables, plus per-packet fields where the tables are not enough (they count
 * frame bytes, not IP bytes, and print large byte counts rounded, e.g. "18 kB").
 */

import { execFileSync } from "node:child_process";
import { isIPv6 } from "node:net";

export type Proto = "tcp" | "udp";

export interface Endpoint {
  addr: string;
  port: number;
}

/** One direction of a `-z conv` row. `bytes` is exact when `unit` is 1, else rounded to `unit`. */
export interface ConvCount {
  packets: number;
  bytes: number;
  unit: number;
}

/** A row of `tshark -z conv,tcp` / `conv,udp`. */
export interface ConvRow {
  proto: Proto;
  a: Endpoint;
  b: Endpoint;
  aToB: ConvCount;
  bToA: ConvCount;
}

export interface StreamCount {
  packets: number;
  /** Link-layer frame bytes, what `-z conv` adds up. */
  frameBytes: number;
  /** IPv4 total length or 40 + IPv6 payload length, what egressd adds up. */
  ipBytes: number;
}

/** One tshark TCP/UDP stream (tcp.stream / udp.stream), from per-packet fields. */
export interface StreamRow {
  proto: Proto;
  /** Sender of the stream's first packet. */
  a: Endpoint;
  b: Endpoint;
  aToB: StreamCount;
  bToA: StreamCount;
  /** Community IDs tshark computed for its packets (one, normally); empty without support. */
  communityIds: Set<string>;
}

/** "a b c" -> ["a", "b", "c"]: keeps fixed argument lists readable. */
const words = (s: string) => s.split(" ");

export function tshark(args: string[]): string {
  // -n: never resolve names (no lookups leave the machine); stderr carries only the
  // "running as root" warning, so it is dropped.
  return execFileSync("tshark", ["-n", ...args], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    stdio: ["ignore", "pipe", "ignore"],
  });
}

/** IPv6 in one spelling (lowercase, zeros compressed) so tshark's and egressd's compare equal. */
export function normalizeIp(addr: string): string {
  return isIPv6(addr) ? new URL(`http://[${addr}]/`).hostname.slice(1, -1) : addr;
}

/** "192.0.2.10:53939" or "2001:db8::10:53939" (the port is after the last colon). */
function parseEndpoint(s: string): Endpoint {
  const i = s.lastIndexOf(":");
  return { addr: normalizeIp(s.slice(0, i)), port: Number(s.slice(i + 1)) };
}

const UNITS: Record<string, number> = { bytes: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };

function parseCount(frames: string, bytes: string, unit: string): ConvCount {
  const scale = UNITS[unit];
  if (scale === undefined) throw new Error(`unknown byte unit in tshark conv output: ${unit}`);
  return { packets: Number(frames), bytes: Number(bytes) * scale, unit: scale };
}

/**
 * Parses the text tables of `tshark -q -z conv,tcp -z conv,udp` (Wireshark 4.0 layout):
 *
 *                        |  <-  | |  ->  | | Total | Relative | Duration |
 *   A:port <-> B:port     F  N unit  F  N unit  F  N unit  start  duration
 *
 * where "<-" counts what B sent to A and "->" what A sent to B.
 */
export function parseConv(text: string): ConvRow[] {
  const rows: ConvRow[] = [];
  let proto: Proto | undefined;
  const count = String.raw`(\d+)\s+([\d.]+)\s+(\S+)`;
  const rowRe = new RegExp(
    String.raw`^(\S+)\s+<->\s+(\S+)\s+${count}\s+${count}\s+${count}\s+[\d.]+\s+[\d.]+\s*$`,
  );
  for (const line of text.split("\n")) {
    const section = /^(TCP|UDP) Conversations/.exec(line);
    if (section) {
      proto = section[1]!.toLowerCase() as Proto;
      continue;
    }
    const m = rowRe.exec(line);
    if (!m) continue;
    if (!proto) throw new Error(`conversation row outside a TCP/UDP table: ${line}`);
    rows.push({
      proto,
      a: parseEndpoint(m[1]!),
      b: parseEndpoint(m[2]!),
      bToA: parseCount(m[3]!, m[4]!, m[5]!),
      aToB: parseCount(m[6]!, m[7]!, m[8]!),
    });
  }
  return rows;
}

export function readConv(pcap: string): ConvRow[] {
  return parseConv(tshark(["-r", pcap, "-q", "-z", "conv,tcp", "-z", "conv,udp"]));
}

/** The Community ID post-dissector is off by default. */
const COMMUNITY_ID = ["--enable-protocol", "communityid"];

/** Whether this tshark can compute Community IDs (Wireshark 3.4+: the "communityid" post-dissector). */
export function tsharkHasCommunityId(pcap: string): boolean {
  try {
    tshark(["-r", pcap, "-c", "1", ...COMMUNITY_ID, ...words("-T fields -e communityid")]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `tshark -T fields` with one column per field (first occurrence: the outer header
 * when an ICMP error quotes another) and returns each packet as field name -> value ("" if absent).
 */
function readFields(pcap: string, filter: string, fields: string[], extra: string[] = []) {
  const out = tshark([
    ...["-r", pcap, "-Y", filter, ...extra],
    ...words("-T fields -E separator=/t -E occurrence=f"),
    ...fields.flatMap((f) => ["-e", f]),
  ]);
  return out
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const cols = line.split("\t");
      return (name: string) => cols[fields.indexOf(name)] ?? "";
    });
}

/**
 * Per-stream packet and byte counts from per-packet fields. ICMP errors are left out: they
 * quote a TCP/UDP header (so tshark shows tcp/udp fields for them) but `-z conv` does not
 * count them in the conversation, and egressd counts them as icmp_errors, not packets.
 */
export function readStreams(pcap: string, withCommunityId: boolean): StreamRow[] {
  const fields = words(
    "frame.len ip.len ipv6.plen ip.src ip.dst ipv6.src ipv6.dst " +
      "tcp.stream tcp.srcport tcp.dstport udp.stream udp.srcport udp.dstport",
  );
  if (withCommunityId) fields.push("communityid");
  const packets = readFields(
    pcap,
    "(tcp or udp) and not icmp and not icmpv6",
    fields,
    withCommunityId ? COMMUNITY_ID : [],
  );
  const streams = new Map<string, StreamRow>();
  for (const f of packets) {
    const proto: Proto = f("tcp.stream") ? "tcp" : "udp";
    const src = {
      addr: normalizeIp(f("ip.src") || f("ipv6.src")),
      port: Number(f(`${proto}.srcport`)),
    };
    const dst = {
      addr: normalizeIp(f("ip.dst") || f("ipv6.dst")),
      port: Number(f(`${proto}.dstport`)),
    };
    const id = `${proto} ${f(`${proto}.stream`)}`;
    let s = streams.get(id);
    if (!s) {
      const zero = () => ({ packets: 0, frameBytes: 0, ipBytes: 0 });
      s = { proto, a: src, b: dst, aToB: zero(), bToA: zero(), communityIds: new Set() };
      streams.set(id, s);
    }
    const dir = src.addr === s.a.addr && src.port === s.a.port ? s.aToB : s.bToA;
    dir.packets += 1;
    dir.frameBytes += Number(f("frame.len"));
    // IPv4 total length, or the IPv6 fixed header plus payload length.
    dir.ipBytes += f("ip.len") ? Number(f("ip.len")) : 40 + Number(f("ipv6.plen"));
    if (f("communityid")) s.communityIds.add(f("communityid"));
  }
  return [...streams.values()];
}

/** Community IDs tshark gives ICMP/ICMPv6 packets, by unordered address pair (see addrPair). */
export function readIcmpCommunityIds(pcap: string): Map<string, Set<string>> {
  const fields = words("ip.src ip.dst ipv6.src ipv6.dst communityid");
  const ids = new Map<string, Set<string>>();
  for (const f of readFields(pcap, "icmp or icmpv6", fields, COMMUNITY_ID)) {
    const key = addrPair(f("ip.src") || f("ipv6.src"), f("ip.dst") || f("ipv6.dst"));
    if (!ids.has(key)) ids.set(key, new Set());
    if (f("communityid")) ids.get(key)!.add(f("communityid"));
  }
  return ids;
}

export function addrPair(x: string, y: string): string {
  return [normalizeIp(x), normalizeIp(y)].sort().join(" ");
}

/** Every IPv4/IPv6 address in the capture, outer and quoted (inside ICMP errors) alike. */
export function readAddresses(pcap: string): Set<string> {
  const out = tshark([
    ...["-r", pcap, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"],
    ...words("-E separator=, -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst"),
  ]);
  return new Set(
    out
      .split(/[,\n]/)
      .filter((a) => a !== "")
      .map(normalizeIp),
  );
}
