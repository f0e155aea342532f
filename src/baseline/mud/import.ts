/**
 * MUD import: a validated MUD file (validate.ts) becomes the allow-list of one device group,
 * a GroupBaseline with `source: "mud: <mud-url>"`, no learning record and no volume.
 *
 * egressd's baseline is about flows (who opened it, to what, on which service port); a MUD
 * file is packet ACLs, usually in pairs: a from-device ACE for the packets the device sends
 * and a to-device ACE for the replies. Each accepting ACE becomes one entry:
 *
 * - Direction (who opened the flow): `ietf-mud:direction-initiated` when the ACE has it
 *   (from-device -> out, to-device -> in). Otherwise the port says: a from-device ACE with
 *   only a destination-port, or a to-device ACE with only a source-port, is a flow the
 *   device opened to that port (out); only a source-port in a from-device ACE, or only a
 *   destination-port in a to-device ACE, is a flow to the device's own port (in). Without
 *   either, the ACL decides: from-device-policy -> out, to-device-policy -> in. So the
 *   reply half of a pair (RFC 8520's example: to-device, src-dnsname, source-port 443,
 *   direction-initiated from-device) lands on the same entry as the request half.
 * - The other end: the remote side of the ACL (destination in from-device ACLs, source in
 *   to-device ACLs). ietf-acldns dst-dnsname/src-dnsname -> `domain` (exact name);
 *   destination/source-ipv4/ipv6-network -> `network`; ietf-mud:mud local-networks ->
 *   `scope: local`; same-manufacturer -> `same_maker: true`; controller URI -> `group`
 *   through --controller URI=GROUP ("urn:egressd:group:NAME", what `egressd mud export`
 *   writes for a peer group, maps to NAME by itself); my-controller -> `group` through
 *   --my-controller GROUP. An unmapped controller or my-controller is an error naming it.
 *   No other end at all -> network 0.0.0.0/0 and/or ::/0 (any address of the ACL's family).
 * - Ports: protocol 6/17 with the service port (eq N -> "tcp/N", range or lte/gte ->
 *   "tcp/LO-HI", neq -> the two ranges around it, none -> "tcp/*"); protocol 1 -> "icmp",
 *   58 -> "ipv6-icmp" (the names flow records use), other numbers -> their IANA keyword;
 *   no protocol -> "*".
 *
 * Not expressible, each reported as a warning naming the ACE, and the ACE skipped:
 * deny/reject ACEs (an allow-list cannot hold a deny), `manufacturer` (a maker named by its
 * MUD domain; egressd knows makers by name) and `model`, eth and interface matches, and
 * ACEs naming two kinds of other end at once. Kept but wider than the file, with a warning:
 * header fields egressd does not match on (dscp, ttl, TCP flags, ICMP type...), the
 * opener's source port, and conditions on the device's own address.
 *
 * Entries with the same direction and other end merge (ports united); the names the entries
 * allow are also put in `lookups`, so a device looking up a name it may reach is not drift.
 */
import type { ConfigProblem } from "../../config/errors.js";
import { ConfigError } from "../../config/errors.js";
import { parseCidr } from "../../config/kinds.js";
import { transportName } from "../../output/flow-record.js";
import { entryKey } from "../baseline-file.js";
import type { BaselineEntry, GroupBaseline } from "../model.js";
import {
  ACLS_ROOT,
  type Ace,
  type Acl,
  DIRECTION_INITIATED,
  DST_DNSNAME,
  type JsonPath,
  type L3Match,
  MUD_ROOT,
  type MudMatch,
  type PortMatch,
  SRC_DNSNAME,
} from "./types.js";
import { aclTypeFamily, localName, type ValidatedMud } from "./validate.js";

/** What `egressd mud export` writes as the controller of a peer group. */
export const GROUP_URN_PREFIX = "urn:egressd:group:";

export function groupControllerUri(group: string): string {
  return `${GROUP_URN_PREFIX}${group}`;
}

export interface ImportOptions {
  /** The device group the MUD file describes. */
  group: string;
  /** The group's role, from the config. */
  role?: string;
  /** Controller URI -> device group (--controller URI=GROUP). */
  controllers?: ReadonlyMap<string, string>;
  /** The device group that is "my-controller" (--my-controller GROUP). */
  myController?: string;
}

export interface ImportResult {
  baseline: GroupBaseline;
  /** What was skipped or widened, at file:line:col. */
  warnings: ConfigProblem[];
}

type Side = "from" | "to";
type Family = 4 | 6;

interface Context {
  v: ValidatedMud;
  options: ImportOptions;
  warnings: ConfigProblem[];
  errors: ConfigProblem[];
  /** Unmapped controllers are reported once each. */
  reported: Set<string>;
}

/** Turns the MUD file into the group's baseline; a ConfigError names unmapped controllers. */
export function importMud(v: ValidatedMud, options: ImportOptions): ImportResult {
  const mud = v.mud[MUD_ROOT];
  const ctx: Context = { v, options, warnings: [], errors: [], reported: new Set() };
  const acls = v.mud[ACLS_ROOT]?.acl ?? [];
  const entries: BaselineEntry[] = [];
  for (const side of ["from", "to"] as const) {
    const policy = mud[side === "from" ? "from-device-policy" : "to-device-policy"];
    for (const ref of policy?.["access-lists"]["access-list"] ?? []) {
      const index = acls.findIndex((a) => a.name === ref.name);
      const acl = acls[index]!;
      for (const [j, ace] of (acl.aces?.ace ?? []).entries()) {
        const path = [ACLS_ROOT, "acl", index, "aces", "ace", j];
        entries.push(...aceEntries(ctx, ace, acl, side, path));
      }
    }
  }
  if (ctx.errors.length > 0) throw new ConfigError(ctx.errors);
  const destinations = mergeEntries(entries);
  const baseline: GroupBaseline = {
    group: options.group,
    ...(options.role !== undefined ? { role: options.role } : {}),
    source: `mud: ${mud["mud-url"]}`,
    destinations,
    lookups: lookupsOf(destinations),
  };
  return { baseline, warnings: [...v.warnings, ...ctx.warnings] };
}

/** Entries with the same direction and other end become one, ports united; sorted like learn. */
export function mergeEntries(entries: readonly BaselineEntry[]): BaselineEntry[] {
  const byKey = new Map<string, BaselineEntry>();
  for (const e of entries) {
    const key = entryKey(e);
    const have = byKey.get(key);
    if (have === undefined) byKey.set(key, { ...e, ports: [...new Set(e.ports)].sort() });
    else have.ports = [...new Set([...have.ports, ...e.ports])].sort();
  }
  return [...byKey.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, e]) => e);
}

/** The names the entries allow, as lookups. */
export function lookupsOf(entries: readonly BaselineEntry[]): { name: string }[] {
  const names = new Set(entries.flatMap((e) => (e.domain !== undefined ? [e.domain] : [])));
  return [...names].sort().map((name) => ({ name }));
}

function warn(ctx: Context, path: JsonPath, message: string): void {
  ctx.warnings.push(ctx.v.problemAt(path, message));
}

function aceEntries(ctx: Context, ace: Ace, acl: Acl, side: Side, path: JsonPath): BaselineEntry[] {
  const what = `ACE "${ace.name}"`;
  const forwarding = localName(ace.actions.forwarding);
  if (forwarding !== "accept") {
    warn(
      ctx,
      [...path, "actions", "forwarding"],
      `${what} is "${forwarding}": a deny cannot be part of an allow-list; skipped`,
    );
    return [];
  }
  const m = ace.matches ?? {};
  const mp = [...path, "matches"];
  for (const k of ["eth", "egress-interface", "ingress-interface"] as const) {
    if (m[k] !== undefined) {
      warn(
        ctx,
        [...mp, k],
        `${what} matches on ${k}, which egressd entries cannot express; skipped`,
      );
      return [];
    }
  }
  const family: Family | undefined =
    m.ipv4 !== undefined
      ? 4
      : m.ipv6 !== undefined
        ? 6
        : acl.type
          ? aclTypeFamily(acl.type)
          : undefined;
  const l3: L3Match = m.ipv4 ?? m.ipv6 ?? {};
  const l3Path = [...mp, m.ipv4 !== undefined ? "ipv4" : "ipv6"];

  // The other end.
  const targets = remoteTargets(ctx, l3, m[MUD_ROOT], side, { l3: l3Path, mud: [...mp, MUD_ROOT] });
  if (targets === null) return [];
  if (targets.length > 1) {
    warn(
      ctx,
      mp,
      `${what} names ${targets.length} other ends at once (${targets.map(describeTarget).join(" and ")}); egressd entries name one; skipped`,
    );
    return [];
  }
  for (const k of Object.keys(l3)) {
    if (!["protocol", DST_DNSNAME, SRC_DNSNAME].includes(k) && !k.endsWith("-network")) {
      warn(ctx, [...l3Path, k], `${what}: ${k} is not kept; the entry allows any`);
    }
  }
  const ends: Omit<BaselineEntry, "ports">[] =
    targets.length === 1
      ? targets
      : (family === undefined ? [4, 6] : [family]).map((f) => ({
          network: f === 4 ? "0.0.0.0/0" : "::/0",
        }));

  // How: the protocol, and the flow's direction and service port.
  const l4Key = m.tcp !== undefined ? "tcp" : m.udp !== undefined ? "udp" : undefined;
  const l4 = l4Key === "tcp" ? m.tcp : l4Key === "udp" ? m.udp : undefined;
  const protocol = l3.protocol ?? (l4Key === "tcp" ? 6 : l4Key === "udp" ? 17 : undefined);
  let direction: "out" | "in" = side === "from" ? "out" : "in";
  let ports: string[];
  if (protocol === 6 || protocol === 17) {
    const t = protocol === 6 ? "tcp" : "udp";
    const src = l4?.["source-port"];
    const dst = l4?.["destination-port"];
    const initiated = m.tcp?.[DIRECTION_INITIATED];
    if (initiated !== undefined) direction = initiated === "from-device" ? "out" : "in";
    else if (dst !== undefined && src === undefined) direction = side === "from" ? "out" : "in";
    else if (src !== undefined && dst === undefined) direction = side === "from" ? "in" : "out";
    // The service port is the remote's in a flow the device opened, the device's otherwise.
    const remoteIs = side === "from" ? "destination-port" : "source-port";
    const deviceIs = side === "from" ? "source-port" : "destination-port";
    const serviceKey = direction === "out" ? remoteIs : deviceIs;
    const openerKey = serviceKey === "source-port" ? "destination-port" : "source-port";
    const service = l4?.[serviceKey];
    ports =
      service === undefined
        ? [`${t}/*`]
        : portRanges(service).map(([lo, hi]) => portText(t, lo, hi));
    if (l4?.[openerKey] !== undefined) {
      warn(
        ctx,
        [...mp, l4Key ?? t, openerKey],
        `${what}: the ${openerKey} of the flow's opener is not kept; any is allowed`,
      );
    }
    for (const k of Object.keys(l4 ?? {})) {
      if (!["source-port", "destination-port", DIRECTION_INITIATED].includes(k)) {
        warn(ctx, [...mp, l4Key ?? t, k], `${what}: ${k} is not kept; the entry allows any`);
      }
    }
  } else if (m.icmp !== undefined || protocol === 1 || protocol === 58) {
    const names =
      protocol === 1
        ? ["icmp"]
        : protocol === 58
          ? ["ipv6-icmp"]
          : family === 4
            ? ["icmp"]
            : family === 6
              ? ["ipv6-icmp"]
              : ["icmp", "ipv6-icmp"];
    ports = names;
    if (m.icmp !== undefined && Object.keys(m.icmp).length > 0) {
      warn(
        ctx,
        [...mp, "icmp"],
        `${what}: ICMP ${Object.keys(m.icmp).join(", ")} not kept; any ICMP is allowed`,
      );
    }
  } else {
    ports = [protocol === undefined ? "*" : transportName(protocol)];
  }
  return ends.map((end) => ({ ...end, ...(direction === "in" ? { direction } : {}), ports }));
}

/**
 * The other ends an ACE names (one is usable), or null when the ACE is skipped. Conditions
 * on the device's own side are warned about and dropped.
 */
function remoteTargets(
  ctx: Context,
  l3: L3Match,
  mm: MudMatch | undefined,
  side: Side,
  paths: { l3: JsonPath; mud: JsonPath },
): Omit<BaselineEntry, "ports">[] | null {
  const remote = side === "from" ? "destination" : "source";
  const local = side === "from" ? "source" : "destination";
  const remoteName = side === "from" ? DST_DNSNAME : SRC_DNSNAME;
  const localNameKey = side === "from" ? SRC_DNSNAME : DST_DNSNAME;
  const out: Omit<BaselineEntry, "ports">[] = [];
  const name = l3[remoteName];
  if (typeof name === "string") out.push({ domain: name.toLowerCase().replace(/\.$/, "") });
  for (const f of [4, 6] as const) {
    const net = l3[`${remote}-ipv${f}-network`];
    if (typeof net === "string") out.push({ network: String(parseCidr(net)) });
    if (l3[`${local}-ipv${f}-network`] !== undefined) {
      warn(
        ctx,
        [...paths.l3, `${local}-ipv${f}-network`],
        `the device's own address (${local} in a ${side}-device ACL) is not kept; the group decides which devices`,
      );
    }
  }
  if (l3[localNameKey] !== undefined) {
    warn(
      ctx,
      [...paths.l3, localNameKey],
      `the device's own name (${localNameKey} in a ${side}-device ACL) is not kept; the group decides which devices`,
    );
  }
  if (mm !== undefined) {
    if (mm.manufacturer !== undefined) {
      warn(
        ctx,
        [...paths.mud, "manufacturer"],
        `manufacturer "${mm.manufacturer}" (devices whose MUD URL is under that name) cannot be expressed: egressd knows makers by name; the ACE is skipped`,
      );
      return null;
    }
    if (mm.model !== undefined) {
      warn(
        ctx,
        [...paths.mud, "model"],
        `model "${mm.model}" cannot be expressed: egressd groups devices by config, not MUD URL; the ACE is skipped`,
      );
      return null;
    }
    if (mm["local-networks"] !== undefined) out.push({ scope: "local" });
    if (mm["same-manufacturer"] !== undefined) out.push({ same_maker: true });
    if (mm.controller !== undefined) {
      const group = controllerGroup(ctx, mm.controller);
      if (group === undefined) {
        if (!ctx.reported.has(mm.controller)) {
          ctx.reported.add(mm.controller);
          ctx.errors.push(
            ctx.v.problemAt(
              [...paths.mud, "controller"],
              `controller "${mm.controller}" is not mapped to a device group; give --controller ${mm.controller}=GROUP`,
            ),
          );
        }
        return null;
      }
      out.push({ group });
    }
    if (mm["my-controller"] !== undefined) {
      const group = ctx.options.myController;
      if (group === undefined) {
        if (!ctx.reported.has("my-controller")) {
          ctx.reported.add("my-controller");
          ctx.errors.push(
            ctx.v.problemAt(
              [...paths.mud, "my-controller"],
              "my-controller: which device group controls these devices? give --my-controller GROUP",
            ),
          );
        }
        return null;
      }
      out.push({ group });
    }
  }
  return out;
}

function controllerGroup(ctx: Context, uri: string): string | undefined {
  const mapped = ctx.options.controllers?.get(uri);
  if (mapped !== undefined) return mapped;
  if (uri.startsWith(GROUP_URN_PREFIX) && uri.length > GROUP_URN_PREFIX.length) {
    return uri.slice(GROUP_URN_PREFIX.length);
  }
  return undefined;
}

function describeTarget(t: Omit<BaselineEntry, "ports">): string {
  return entryKey({ ...t, ports: [] });
}

/** A port match as ranges: eq N, lte N (0..N), gte N (N..65535), neq N (both sides), range. */
export function portRanges(m: PortMatch): [number, number][] {
  if ("lower-port" in m) return [[m["lower-port"], m["upper-port"]]];
  const p = m.port;
  switch (localName(m.operator ?? "eq")) {
    case "lte":
      return [[0, p]];
    case "gte":
      return [[p, 65535]];
    case "neq":
      return [
        ...(p > 0 ? [[0, p - 1] as [number, number]] : []),
        ...(p < 65535 ? [[p + 1, 65535] as [number, number]] : []),
      ];
    default:
      return [[p, p]];
  }
}

/** "tcp/443", "tcp/8000-8100", "tcp/*". */
export function portText(transport: string, lo: number, hi: number): string {
  if (lo === 0 && hi === 65535) return `${transport}/*`;
  return lo === hi ? `${transport}/${lo}` : `${transport}/${lo}-${hi}`;
}
