/**
 * MUD export: a group's baseline as a MUD file (RFC 8520) an admin can hand to the vendor
 * or to a firewall that enforces MUD. The inverse of import.ts for everything MUD can say,
 * so that importing the export gives back the same allow-list (mudExpressible below is that
 * part of a baseline).
 *
 * The file: mud-version 1; mud-url from --mud-url, else the one an imported group came
 * from, else https://example.invalid/mud/<group>.json (a reserved name that never
 * resolves: a placeholder to replace, and said so in a warning); last-update now;
 * cache-validity 48; is-supported true; systeminfo. Four ACLs at most, named
 * from-<group>-v4/-v6 and to-<group>-v4/-v6, referenced by from-device-policy and
 * to-device-policy.
 *
 * Each entry and port gives one ACE where the flow is opened (from-device for out entries,
 * to-device for in entries: the other end and the service port as destination), and one
 * for its replies in the other ACL (the other end and the service port as source), as
 * RFC 8520's example does. TCP ACEs carry ietf-mud:direction-initiated. A reply ACE is
 * written only where import can tell it from a flow of its own: TCP, and UDP with a port;
 * for UDP any port, ICMP and other protocols only the opening ACE is written (a stateful
 * firewall lets the replies through). The other end: domain -> ietf-acldns dst/src-dnsname
 * (in the v4 and the v6 ACL: a name resolves to either); network -> destination/source
 * network of its family; group -> ietf-mud:mud controller "urn:egressd:group:<group>"
 * (import maps it back); scope local -> local-networks; same_maker -> same-manufacturer.
 * Ports: tcp/udp -> protocol 6/17 with port eq N or lower-port..upper-port ("tcp/*": no
 * port); icmp -> protocol 1 (v4 ACL), ipv6-icmp -> 58 (v6 ACL); other IANA keywords -> their
 * number; "*" -> no protocol.
 *
 * Left out, and listed in the warnings: wildcard names ("*.example.org": ietf-acldns takes
 * exact names), ports on protocols other than TCP and UDP, what was seen there (protocols,
 * countries, ASNs), the learning record (counts, times, devices), byte volumes, and names
 * that were looked up but never reached.
 */
import { transportName } from "../../output/flow-record.js";
import type { BaselineEntry, GroupBaseline } from "../model.js";
import { parsePort } from "../model.js";
import { groupControllerUri, lookupsOf, mergeEntries, portText } from "./import.js";
import {
  ACLS_ROOT,
  type Ace,
  type Acl,
  DIRECTION_INITIATED,
  DST_DNSNAME,
  type L3Match,
  MUD_ROOT,
  type MudContainer,
  type MudFile,
  type MudMatch,
  SRC_DNSNAME,
} from "./types.js";

export interface ExportOptions {
  mudUrl?: string;
  /** At most 60 characters (RFC 8520). */
  systeminfo?: string;
  /** last-update; default the current time. */
  now?: Date;
}

export interface ExportResult {
  mud: MudFile;
  /** What the MUD file does not say, for the admin. */
  warnings: string[];
}

export const PLACEHOLDER_MUD_URL = "https://example.invalid/mud/";
const DNS_NAME =
  /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

type Family = 4 | 6;
type Side = "from" | "to";

/** IANA keyword -> protocol number, for the names flow records use ("gre" -> 47). */
const PROTOCOL_NUMBERS = new Map<string, number>();
for (let p = 0; p <= 255; p++) {
  const name = transportName(p);
  if (name !== String(p)) PROTOCOL_NUMBERS.set(name, p);
}

interface Port {
  /** Normalised text, as import gives it back. */
  text: string;
  protocol?: number;
  /** tcp/udp only; undefined for any port. */
  range?: [number, number];
  families: Family[];
}

/** A port as MUD can say it, or the reason it cannot. */
function mudPort(text: string): Port | string {
  const spec = parsePort(text);
  if (spec === null) return `"${text}" is not a port`;
  const any = spec.lo === 0 && spec.hi === 65535;
  if (spec.transport === "*") return { text: "*", families: [4, 6] };
  if (spec.transport === "tcp" || spec.transport === "udp") {
    return {
      text: portText(spec.transport, spec.lo, spec.hi),
      protocol: spec.transport === "tcp" ? 6 : 17,
      ...(any ? {} : { range: [spec.lo, spec.hi] as [number, number] }),
      families: [4, 6],
    };
  }
  const protocol = /^\d+$/.test(spec.transport)
    ? Number(spec.transport)
    : PROTOCOL_NUMBERS.get(spec.transport);
  if (protocol === undefined || protocol > 255) return `"${text}": unknown protocol`;
  if (!any) return `"${text}": MUD has ports for TCP and UDP only`;
  const families: Family[] = protocol === 1 ? [4] : protocol === 58 ? [6] : [4, 6];
  return { text: transportName(protocol), protocol, families };
}

function networkFamily(network: string): Family {
  return network.includes(":") ? 6 : 4;
}

/** The other end of an entry as MUD can say it (no ports), or the reason it cannot. */
function mudTarget(e: BaselineEntry): Omit<BaselineEntry, "ports"> | string {
  const direction = e.direction === "in" ? { direction: "in" as const } : {};
  if (e.group !== undefined) return { group: e.group, ...direction };
  if (e.domain !== undefined) {
    const name = e.domain.toLowerCase().replace(/\.$/, "");
    if (name.startsWith("*.")) return `"${e.domain}": a wildcard; MUD names are exact`;
    if (!DNS_NAME.test(name)) return `"${e.domain}" is not a DNS name`;
    return { domain: name, ...direction };
  }
  if (e.network !== undefined) return { network: e.network, ...direction };
  if (e.scope !== undefined) return { scope: e.scope, ...direction };
  return { same_maker: true, ...direction };
}

function families(e: Omit<BaselineEntry, "ports">, port: Port): Family[] {
  if (e.network === undefined) return port.families;
  const f = networkFamily(e.network);
  return port.families.includes(f) ? [f] : [];
}

/**
 * The part of a group's baseline a MUD file can carry, as import.ts gives it back: each
 * entry's direction, other end and ports (normalised, merged), and lookups of the names.
 */
export function mudExpressible(g: GroupBaseline): GroupBaseline {
  return { group: g.group, ...expressible(g).kept };
}

function expressible(g: GroupBaseline): {
  kept: { destinations: BaselineEntry[]; lookups: { name: string }[] };
  dropped: string[];
} {
  const dropped: string[] = [];
  const entries: BaselineEntry[] = [];
  for (const e of g.destinations) {
    const target = mudTarget(e);
    if (typeof target === "string") {
      dropped.push(target);
      continue;
    }
    const ports: string[] = [];
    for (const p of e.ports) {
      const port = mudPort(p);
      if (typeof port === "string") dropped.push(port);
      else if (families(target, port).length === 0) {
        dropped.push(`"${p}" to ${e.network}: another address family`);
      } else ports.push(port.text);
    }
    if (ports.length > 0) entries.push({ ...target, ports });
  }
  const destinations = mergeEntries(entries);
  return { kept: { destinations, lookups: lookupsOf(destinations) }, dropped };
}

/** Writes the group's baseline as a MUD file; see the file comment. */
export function exportMud(g: GroupBaseline, options: ExportOptions = {}): ExportResult {
  const warnings: string[] = [];
  const { kept, dropped } = expressible(g);
  if (dropped.length > 0) warnings.push(`left out, not expressible in MUD: ${dropped.join("; ")}`);
  warnings.push(...unsaid(g, kept.lookups));

  const imported = g.source?.startsWith("mud: ") ? g.source.slice(5).trim() : undefined;
  const mudUrl = options.mudUrl ?? imported ?? `${PLACEHOLDER_MUD_URL}${g.group}.json`;
  if (mudUrl.startsWith(PLACEHOLDER_MUD_URL)) {
    warnings.push(
      `mud-url is a placeholder (${mudUrl}); give --mud-url with where the file will be served`,
    );
  }
  const short = g.group.slice(0, 50);
  const aclNames: Record<`${Side}${Family}`, string> = {
    from4: `from-${short}-v4`,
    from6: `from-${short}-v6`,
    to4: `to-${short}-v4`,
    to6: `to-${short}-v6`,
  };
  const aces: Record<`${Side}${Family}`, Ace[]> = { from4: [], from6: [], to4: [], to6: [] };
  for (const [i, e] of kept.destinations.entries()) {
    const out = e.direction !== "in";
    const opener: Side = out ? "from" : "to";
    const replier: Side = out ? "to" : "from";
    for (const [j, text] of e.ports.entries()) {
      const port = mudPort(text) as Port;
      const name = `${out ? "out" : "in"}${i}-${j}`;
      // Only where import can tell the reply from a flow of its own (see the file comment).
      const reply = port.protocol === 6 || (port.protocol === 17 && port.range !== undefined);
      for (const f of families(e, port)) {
        aces[`${opener}${f}`].push(ace(name, e, port, f, opener, "destination-port", out));
        if (reply) {
          aces[`${replier}${f}`].push(
            ace(`${name}-reply`, e, port, f, replier, "source-port", out),
          );
        }
      }
    }
  }
  const acls: Acl[] = [];
  const policy = (side: Side) => {
    const names = ([4, 6] as const)
      .filter((f) => aces[`${side}${f}`].length > 0)
      .map((f) => {
        acls.push({
          name: aclNames[`${side}${f}`],
          type: f === 4 ? "ipv4-acl-type" : "ipv6-acl-type",
          aces: { ace: aces[`${side}${f}`] },
        });
        return { name: aclNames[`${side}${f}`] };
      });
    return names.length === 0 ? undefined : { "access-lists": { "access-list": names } };
  };
  const from = policy("from");
  const to = policy("to");
  if (from === undefined && to === undefined)
    warnings.push("no entry MUD can express: the file allows nothing");
  const container: MudContainer = {
    "mud-version": 1,
    "mud-url": mudUrl,
    "last-update": (options.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, "Z"),
    "cache-validity": 48,
    "is-supported": true,
    systeminfo: (options.systeminfo ?? `egressd baseline of device group ${g.group}`).slice(0, 60),
    ...(from !== undefined ? { "from-device-policy": from } : {}),
    ...(to !== undefined ? { "to-device-policy": to } : {}),
  };
  return { mud: { [MUD_ROOT]: container, [ACLS_ROOT]: { acl: acls } }, warnings };
}

/** One ACE: the other end on `side`'s remote side, the service port as `portAs`. */
function ace(
  name: string,
  e: BaselineEntry,
  port: Port,
  family: Family,
  side: Side,
  portAs: "destination-port" | "source-port",
  out: boolean,
): Ace {
  const remote = side === "from" ? "destination" : "source";
  const l3: L3Match = {};
  if (port.protocol !== undefined) l3.protocol = port.protocol;
  if (e.domain !== undefined) l3[side === "from" ? DST_DNSNAME : SRC_DNSNAME] = e.domain;
  if (e.network !== undefined) l3[`${remote}-ipv${family}-network`] = e.network;
  const mm: MudMatch = {};
  if (e.group !== undefined) mm.controller = groupControllerUri(e.group);
  if (e.scope === "local") mm["local-networks"] = [null];
  if (e.same_maker) mm["same-manufacturer"] = [null];
  const matches: Ace["matches"] = {};
  if (Object.keys(mm).length > 0) matches[MUD_ROOT] = mm;
  if (Object.keys(l3).length > 0) matches[family === 4 ? "ipv4" : "ipv6"] = l3;
  if (port.protocol === 6 || port.protocol === 17) {
    const l4: Record<string, unknown> = {};
    if (port.range !== undefined) {
      const [lo, hi] = port.range;
      l4[portAs] =
        lo === hi ? { operator: "eq", port: lo } : { "lower-port": lo, "upper-port": hi };
    }
    if (port.protocol === 6) {
      l4[DIRECTION_INITIATED] = out ? "from-device" : "to-device";
      matches.tcp = l4;
    } else if (Object.keys(l4).length > 0) matches.udp = l4;
  }
  return { name, matches, actions: { forwarding: "accept" } };
}

/** What the baseline knows that no MUD file says. */
function unsaid(g: GroupBaseline, names: { name: string }[]): string[] {
  const notes: string[] = [];
  const count = (k: "protocols" | "countries" | "asns") =>
    g.destinations.filter((e) => (e[k]?.length ?? 0) > 0).length;
  const seen = (["protocols", "countries", "asns"] as const)
    .map((k) => [k, count(k)] as const)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} (on ${n} entr${n === 1 ? "y" : "ies"})`);
  if (seen.length > 0) notes.push(`not in MUD: what was seen there: ${seen.join(", ")}`);
  const learned =
    g.learned !== undefined ||
    g.destinations.some((e) => e.flows !== undefined || e.devices !== undefined);
  if (learned)
    notes.push("not in MUD: the learning record (flow counts, first/last seen, devices)");
  if (g.volume !== undefined) notes.push("not in MUD: bytes per device per day (volume)");
  const reached = new Set(names.map((n) => n.name));
  const lookedUp = g.lookups.map((l) => l.name).filter((n) => !reached.has(n.toLowerCase()));
  if (lookedUp.length > 0) {
    const shown = lookedUp.slice(0, 10).join(", ");
    notes.push(
      `not in MUD: names looked up but never reached (${lookedUp.length}): ${shown}${lookedUp.length > 10 ? ", ..." : ""}`,
    );
  }
  return notes;
}
