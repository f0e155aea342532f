/**
 * Who made a device, from what it says on the wire: maker claims, each with its evidence,
 * from the IEEE OUI registry, camera discovery replies (Hikvision SADP, Dahua DHIP/DVRIP and
 * P2P, ONVIF WS-Discovery), DHCP host name and vendor class, HTTP/RTSP Server banners and
 * authentication realms (camera-indicators.md section 4). Plus the identity facts
 * discovery and DHCP give away: model, serial, firmware, names.
 *
 * The device's maker is the best-supported claim (chooseMaker): each maker scores the sum
 * of the weights of the distinct sources that name it. A vendor's own discovery protocol
 * answered by the device weighs most (only that vendor's firmware speaks it), then what
 * the firmware writes about itself (ONVIF manufacturer, Server banner, realm), then the
 * OUI (the network chip's registrant: OEM boards make it differ from the brand), then
 * names a user can set (DHCP host name, vendor class). So a Lorex camera that answers
 * DHIP is "Dahua" even though its OUI says Lorex, which is what a phase-out needs.
 */

import type { DhcpRecord } from "../protocols/dhcp/index.js";
import type { DiscoveryRecord } from "../protocols/discovery/index.js";
import type { HttpTransaction } from "../protocols/http/index.js";
import { makerFromText } from "./makers.js";
import { formatPrefix, type OuiInfo } from "./oui.js";

export type ClaimSource =
  | "oui"
  | "sadp"
  | "dhip"
  | "dvrip"
  | "dahua-p2p"
  | "ws-discovery"
  | "dhcp-vendor-class"
  | "dhcp-hostname"
  | "http-server"
  | "http-realm"
  | "rtsp-server"
  | "rtsp-realm";

export const CLAIM_WEIGHTS: Record<ClaimSource, number> = {
  sadp: 4,
  dhip: 4,
  dvrip: 4,
  "dahua-p2p": 4,
  "ws-discovery": 3,
  "http-server": 3,
  "rtsp-server": 3,
  "http-realm": 3,
  "rtsp-realm": 3,
  oui: 2,
  "dhcp-vendor-class": 1,
  "dhcp-hostname": 1,
};

export interface MakerClaim {
  maker: string;
  source: ClaimSource;
  /** What was seen, quoted: "SADP probe-match: model DS-2CD2320D-I". */
  evidence: string;
  /** Packet time of the flow that carried it (ISO 8601, nanoseconds). */
  firstSeen: string;
}

export type ClaimFinding = Omit<MakerClaim, "firstSeen">;

/** Identity facts a device gave away; each replaces the previous value when seen again. */
export interface IdentityFacts {
  model?: string;
  serial?: string;
  firmware?: string;
  /** Device name (DVRIP host name, ONVIF name scope). */
  name?: string;
  /** SADP DeviceType code or DHIP DeviceClass ("IPC", "NVR"). */
  device_class?: string;
  host_name?: string;
  vendor_class?: string;
  /** DHCP option 55 request list, "1,3,6,12,15,28,42": identifies the DHCP client software. */
  dhcp_fingerprint?: string;
  client_fqdn?: string;
}

/** Evidence text is quoted from the wire: kept short. */
const MAX_EVIDENCE = 200;

function cut(s: string): string {
  return s.length > MAX_EVIDENCE ? `${s.slice(0, MAX_EVIDENCE - 3)}...` : s;
}

function describe(parts: [string, string | undefined][]): string {
  return parts
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${k} ${JSON.stringify(v)}`)
    .join(", ");
}

export function ouiClaim(info: OuiInfo): ClaimFinding {
  return {
    maker: info.maker ?? info.organisation,
    source: "oui",
    evidence: cut(
      `OUI ${formatPrefix(info.prefix)} registered to ${JSON.stringify(info.organisation)}`,
    ),
  };
}

/** Messages a device sends about itself; probes and searches come from whoever is looking. */
const DEVICE_MESSAGES = new Set([
  "probe-match",
  "probe-matches",
  "reply",
  "hello",
  "resolve-matches",
]);

/** Is this discovery record something the sending device says about itself? */
export function isDeviceAnnouncement(d: DiscoveryRecord): boolean {
  if (d.protocol === "dahua-p2p") return d.message === "http-request" && d.fields.uri !== undefined;
  return DEVICE_MESSAGES.has(d.message);
}

/** The maker claim and facts in a discovery record the device itself sent. */
export function discoveryFindings(d: DiscoveryRecord): {
  claim: ClaimFinding | null;
  facts: IdentityFacts;
} {
  const f = d.fields;
  const facts: IdentityFacts = {};
  if (f.model !== undefined) facts.model = f.model;
  if (f.serial !== undefined) facts.serial = f.serial;
  if (f.firmware_version !== undefined) facts.firmware = f.firmware_version;
  if (f.name !== undefined) facts.name = f.name;
  if (f.device_class !== undefined) facts.device_class = f.device_class;
  const what = describe([
    ["model", f.model],
    ["serial", f.serial],
    ["firmware", f.firmware_version],
  ]);
  let claim: ClaimFinding | null = null;
  switch (d.protocol) {
    case "sadp":
      claim = { maker: "Hikvision", source: "sadp", evidence: `SADP ${d.message}` };
      break;
    case "dhip": {
      const brand = f.brand !== undefined ? `, Vendor ${JSON.stringify(f.brand)}` : "";
      claim = { maker: "Dahua", source: "dhip", evidence: `DHIP ${d.message}${brand}` };
      break;
    }
    case "dvrip":
      claim = { maker: "Dahua", source: "dvrip", evidence: `DVRIP discovery ${d.message}` };
      break;
    case "dahua-p2p":
      claim = {
        maker: "Dahua",
        source: "dahua-p2p",
        evidence: `Dahua P2P ${f.method ?? "request"} ${f.uri ?? ""}`.trim(),
      };
      break;
    case "ws-discovery": {
      // The manufacturer scope is the firmware's own word; a name scope counts only when
      // it is a known maker ("HIKVISION"), since users rename devices.
      const maker =
        (f.manufacturer !== undefined ? (makerFromText(f.manufacturer) ?? f.manufacturer) : null) ??
        (f.name !== undefined ? makerFromText(f.name) : null);
      if (maker !== null && maker.trim() !== "") {
        const scope =
          f.manufacturer !== undefined
            ? `MfrName ${JSON.stringify(f.manufacturer)}`
            : `name ${JSON.stringify(f.name)}`;
        claim = {
          maker: maker.trim(),
          source: "ws-discovery",
          evidence: `WS-Discovery ${d.message}: ${scope}`,
        };
      }
      break;
    }
  }
  if (claim !== null && what !== "") claim.evidence += `: ${what}`;
  if (claim !== null) claim.evidence = cut(claim.evidence);
  return { claim, facts };
}

/** Server banners of camera firmware (nmap nmap-service-probes, camera-indicators.md s4). */
const BANNERS: [RegExp, string][] = [
  [/^App-webs\//i, "Hikvision"],
  [/^Hikvision-Webs\b/i, "Hikvision"],
  [/^DNVRS-Webs\b/i, "Hikvision"],
  [/^DVRDVS-Webs\b/i, "Hikvision"],
  [/^Dahua Rtsp Server\b/i, "Dahua"],
];

/** Claims from the server side of an HTTP or RTSP exchange: its Server banner and realm. */
export function httpClaims(t: HttpTransaction): ClaimFinding[] {
  const r = t.response;
  if (r === undefined) return [];
  const rtsp = t.protocol === "rtsp";
  const out: ClaimFinding[] = [];
  if (r.server !== undefined) {
    const maker = BANNERS.find(([re]) => re.test(r.server!))?.[1] ?? makerFromText(r.server);
    if (maker !== null) {
      out.push({
        maker,
        source: rtsp ? "rtsp-server" : "http-server",
        evidence: cut(`${rtsp ? "RTSP" : "HTTP"} Server: ${r.server}`),
      });
    }
  }
  const realm = r.www_authenticate_realm;
  if (realm !== undefined) {
    const maker = makerFromText(realm);
    if (maker !== null) {
      out.push({
        maker,
        source: rtsp ? "rtsp-realm" : "http-realm",
        evidence: cut(`${rtsp ? "RTSP" : "HTTP"} realm="${realm}"`),
      });
    }
  }
  return out;
}

/** Claims and facts from a DHCP message the client (chaddr) sent. */
export function dhcpFindings(r: DhcpRecord): { claims: ClaimFinding[]; facts: IdentityFacts } {
  const facts: IdentityFacts = {};
  const claims: ClaimFinding[] = [];
  if (r.host_name !== undefined && r.host_name !== "") {
    facts.host_name = r.host_name;
    const maker = makerFromText(r.host_name);
    if (maker !== null)
      claims.push({
        maker,
        source: "dhcp-hostname",
        evidence: cut(`DHCP host name ${JSON.stringify(r.host_name)}`),
      });
  }
  if (r.vendor_class !== undefined && r.vendor_class !== "") {
    facts.vendor_class = r.vendor_class;
    const maker = makerFromText(r.vendor_class);
    if (maker !== null)
      claims.push({
        maker,
        source: "dhcp-vendor-class",
        evidence: cut(`DHCP vendor class ${JSON.stringify(r.vendor_class)}`),
      });
  }
  if (r.param_list !== undefined) facts.dhcp_fingerprint = r.param_list;
  if (r.client_fqdn !== undefined && r.client_fqdn !== "") facts.client_fqdn = r.client_fqdn;
  return { claims, facts };
}

export interface MakerChoice {
  maker: string;
  /** The sources that name it, strongest first. */
  sources: ClaimSource[];
  score: number;
}

/**
 * The best-supported maker: highest sum of distinct source weights; ties go to the maker
 * with the strongest single source, then the earliest claim, then the name (so the choice
 * never depends on the order claims arrived in beyond their packet time).
 */
export function chooseMaker(claims: readonly MakerClaim[]): MakerChoice | null {
  const byMaker = new Map<string, { sources: Set<ClaimSource>; first: string }>();
  for (const c of claims) {
    let m = byMaker.get(c.maker);
    if (m === undefined) {
      m = { sources: new Set(), first: c.firstSeen };
      byMaker.set(c.maker, m);
    }
    m.sources.add(c.source);
    if (c.firstSeen < m.first) m.first = c.firstSeen;
  }
  let best: (MakerChoice & { strongest: number; first: string }) | null = null;
  for (const [maker, m] of byMaker) {
    const sources = [...m.sources].sort(
      (a, b) => CLAIM_WEIGHTS[b] - CLAIM_WEIGHTS[a] || a.localeCompare(b),
    );
    const score = sources.reduce((s, x) => s + CLAIM_WEIGHTS[x], 0);
    const strongest = CLAIM_WEIGHTS[sources[0]!];
    const better =
      best === null ||
      score > best.score ||
      (score === best.score &&
        (strongest > best.strongest ||
          (strongest === best.strongest &&
            (m.first < best.first || (m.first === best.first && maker < best.maker)))));
    if (better) best = { maker, sources, score, strongest, first: m.first };
  }
  return best === null ? null : { maker: best.maker, sources: best.sources, score: best.score };
}
