/**
 * The JSON shape of a MUD file (RFC 8520), as its YANG modules encode in JSON (RFC 7951):
 * the `ietf-mud:mud` container, and the access lists of RFC 8519
 * (`ietf-access-control-list:acls`) with the ietf-acldns names and ietf-mud matches that
 * RFC 8520 adds. Only what egressd reads or writes is typed in detail; validate.ts
 * checks a parsed file against it.
 */

export const MUD_ROOT = "ietf-mud:mud";
export const ACLS_ROOT = "ietf-access-control-list:acls";
/** The name drafts before RFC 8519 used; still found in published files (mudgee). */
export const OLD_ACLS_ROOT = "ietf-access-control-list:access-lists";

export const DST_DNSNAME = "ietf-acldns:dst-dnsname";
export const SRC_DNSNAME = "ietf-acldns:src-dnsname";
export const DIRECTION_INITIATED = "ietf-mud:direction-initiated";

export interface MudFile {
  [MUD_ROOT]: MudContainer;
  [ACLS_ROOT]?: { acl: Acl[] };
}

export interface MudContainer {
  "mud-version": 1;
  "mud-url": string;
  "last-update": string;
  "mud-signature"?: string;
  /** Hours a MUD manager may keep the file (1..168, default 48). */
  "cache-validity"?: number;
  "is-supported": boolean;
  /** At most 60 characters. */
  systeminfo?: string;
  "mfg-name"?: string;
  "model-name"?: string;
  "firmware-rev"?: string;
  "software-rev"?: string;
  documentation?: string;
  extensions?: string[];
  "from-device-policy"?: Policy;
  "to-device-policy"?: Policy;
}

export interface Policy {
  "access-lists": { "access-list": { name: string }[] };
}

export interface Acl {
  name: string;
  /** "ipv4-acl-type", "ipv6-acl-type"..., possibly module-qualified. */
  type?: string;
  aces?: { ace?: Ace[] };
}

export interface Ace {
  name: string;
  matches?: Matches;
  actions: { forwarding: string; logging?: string };
}

export interface Matches {
  eth?: Record<string, unknown>;
  ipv4?: L3Match;
  ipv6?: L3Match;
  tcp?: TcpMatch;
  udp?: UdpMatch;
  icmp?: Record<string, unknown>;
  [MUD_ROOT]?: MudMatch;
  "egress-interface"?: string;
  "ingress-interface"?: string;
}

export interface L3Match {
  protocol?: number;
  "destination-ipv4-network"?: string;
  "source-ipv4-network"?: string;
  "destination-ipv6-network"?: string;
  "source-ipv6-network"?: string;
  [DST_DNSNAME]?: string;
  [SRC_DNSNAME]?: string;
  /** dscp, ttl, length...: header fields egressd does not keep. */
  [other: string]: unknown;
}

/** `operator` is eq (the default), lte, gte or neq; or a range of lower-port..upper-port. */
export type PortMatch =
  | { operator?: "eq" | "lte" | "gte" | "neq"; port: number }
  | { "lower-port": number; "upper-port": number };

export interface UdpMatch {
  "source-port"?: PortMatch;
  "destination-port"?: PortMatch;
  length?: number;
}

export interface TcpMatch extends UdpMatch {
  /** Who sent the first packet (the SYN): the device, or the other end. */
  [DIRECTION_INITIATED]?: "from-device" | "to-device";
  [other: string]: unknown;
}

/** The MUD abstractions; the `empty` ones are `[null]` in JSON (RFC 7951). */
export interface MudMatch {
  manufacturer?: string;
  "same-manufacturer"?: [null];
  model?: string;
  "local-networks"?: [null];
  controller?: string;
  "my-controller"?: [null];
}

/** A JSON path from the file's root: keys and list indexes. */
export type JsonPath = readonly (string | number)[];
