/**
 * A small script language for inventory tests: frames between named hosts with packet
 * times that advance, so each test reads as what the devices did. Addresses are
 * documentation ranges: 192.0.2.0/24 and 2001:db8::/32 stand for the camera LAN (local),
 * 198.51.100.0/24 and 203.0.113.0/24 for the internet.
 */

import { parseAddress } from "../../src/enrich/geoip/address.js";
import { isPrivateAddress } from "../../src/inventory/addresses.js";
import { ethernet, ipv4, ipv6, tcp, udp } from "../helpers/packets.js";
import type { TimedFrame } from "../helpers/run-pipeline.js";

export interface Host {
  ip: string;
  mac: string;
}

/** RFC 1918 etc. plus the LAN documentation ranges: what the GeoIP scope would call local. */
export function testIsLocal(v: number, w0: number, w1: number, w2: number, w3: number): boolean {
  if (isPrivateAddress(v, w0, w1, w2, w3)) return true;
  return v === 4 ? w3 >>> 8 === 0xc00002 : w0 === 0x20010db8;
}

export function isLocalText(ip: string): boolean {
  const a = parseAddress(ip)!;
  return testIsLocal(a.version, a.w0, a.w1, a.w2, a.w3);
}

export class Script {
  readonly frames: TimedFrame[] = [];
  t: number;

  constructor(start = 1_700_000_000) {
    this.t = start;
  }

  /** One frame from `a` to `b` (a MAC of "" leaves the frame without Ethernet: raw IP). */
  send(a: Host, b: Host, l4: { proto: number; bytes: Buffer }, vlan?: number): void {
    const ends = { src: a.ip, dst: b.ip };
    const ip = a.ip.includes(":") ? ipv6(ends, l4) : ipv4(ends, l4);
    this.t += 0.001;
    if (a.mac === "") {
      this.frames.push({ t: this.t, frame: ip, linkType: 101 });
      return;
    }
    const tags: [number, number][] = vlan === undefined ? [] : [[0x8100, vlan]];
    this.frames.push({ t: this.t, frame: ethernet(ip, { src: a.mac, dst: b.mac, tags }) });
  }

  udp(
    a: Host,
    b: Host,
    sport: number,
    dport: number,
    payload: Buffer = Buffer.alloc(0),
    vlan?: number,
  ): void {
    this.send(a, b, udp(sport, dport, payload), vlan);
  }

  /** A TCP connection: SYN, then per outcome nothing, RST, or a handshake with data both ways and FINs. */
  tcp(
    a: Host,
    b: Host,
    sport: number,
    dport: number,
    outcome: "unanswered" | "reset" | { request: Buffer; response: Buffer } | "open",
    vlan?: number,
  ): void {
    this.send(a, b, tcp({ sport, dport, flags: "S", seq: 100 }), vlan);
    if (outcome === "unanswered") return;
    if (outcome === "reset") {
      this.send(b, a, tcp({ sport: dport, dport: sport, flags: "RA", seq: 0, ack: 101 }), vlan);
      return;
    }
    this.send(b, a, tcp({ sport: dport, dport: sport, flags: "SA", seq: 500, ack: 101 }), vlan);
    this.send(a, b, tcp({ sport, dport, flags: "A", seq: 101, ack: 501 }), vlan);
    if (outcome === "open") return;
    const { request, response } = outcome;
    this.send(a, b, tcp({ sport, dport, flags: "PA", seq: 101, ack: 501, payload: request }), vlan);
    this.send(
      b,
      a,
      tcp({
        sport: dport,
        dport: sport,
        flags: "PA",
        seq: 501,
        ack: 101 + request.length,
        payload: response,
      }),
      vlan,
    );
    const aEnd = 101 + request.length;
    const bEnd = 501 + response.length;
    this.send(a, b, tcp({ sport, dport, flags: "FA", seq: aEnd, ack: bEnd }), vlan);
    this.send(
      b,
      a,
      tcp({ sport: dport, dport: sport, flags: "FA", seq: bEnd, ack: aEnd + 1 }),
      vlan,
    );
    this.send(a, b, tcp({ sport, dport, flags: "A", seq: aEnd + 1, ack: bEnd + 1 }), vlan);
  }

  /** Lets packet time pass (flows time out on packet time, at the next packet). */
  wait(seconds: number): void {
    this.t += seconds;
  }
}

export const BROADCAST: Host = { ip: "255.255.255.255", mac: "ff:ff:ff:ff:ff:ff" };
export const SADP_GROUP: Host = { ip: "239.255.255.250", mac: "01:00:5e:7f:ff:fa" };
export const DHIP_GROUP: Host = { ip: "239.255.255.251", mac: "01:00:5e:7f:ff:fb" };

export const http = (s: string) => Buffer.from(s.replace(/\n/g, "\r\n"), "latin1");
