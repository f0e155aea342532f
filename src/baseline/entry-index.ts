/**
 * A group's baseline entries indexed by what they target, so checking a new flow looks
 * at the few entries that can match it (its peer group, its name and the names above it,
 * its exact address) plus the entries no key can index (wider networks, scope local,
 * same maker), not at every entry: a learned baseline can hold thousands.
 */
import type { Cidr } from "../enrich/geoip/address.js";
import type { Flow } from "../flow/flow.js";
import type { BaselineEntry, PortSpec } from "./model.js";

export interface CompiledEntry {
  entry: BaselineEntry;
  direction: "out" | "in";
  network: Cidr | null;
  ports: PortSpec[];
  text: string;
}

function push<K>(map: Map<K, CompiledEntry[]>, key: K, e: CompiledEntry): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [e]);
  else list.push(e);
}

/** "4:<w3>" or "6:<w0>:<w1>:<w2>:<w3>": an address as a map key. */
function hostKey(version: number, w0: number, w1: number, w2: number, w3: number): string {
  return version === 4 ? `4:${w3 >>> 0}` : `6:${w0 >>> 0}:${w1 >>> 0}:${w2 >>> 0}:${w3 >>> 0}`;
}

export class EntryIndex {
  readonly all: CompiledEntry[] = [];
  private readonly byGroup = new Map<string, CompiledEntry[]>();
  private readonly exactDomain = new Map<string, CompiledEntry[]>();
  /** "example.org" for "*.example.org". */
  private readonly suffixDomain = new Map<string, CompiledEntry[]>();
  private readonly hosts = new Map<string, CompiledEntry[]>();
  private readonly rest: CompiledEntry[] = [];
  /** Entries that target a name. */
  domains = 0;

  add(e: CompiledEntry): void {
    this.all.push(e);
    const x = e.entry;
    if (x.group !== undefined) push(this.byGroup, x.group, e);
    else if (x.domain !== undefined) {
      this.domains++;
      const d = x.domain.toLowerCase();
      if (d.startsWith("*.")) push(this.suffixDomain, d.slice(2), e);
      else push(this.exactDomain, d, e);
    } else if (e.network !== null && e.network.prefix === (e.network.version === 4 ? 32 : 128)) {
      const n = e.network;
      push(this.hosts, hostKey(n.version, n.w0, n.w1, n.w2, n.w3), e);
    } else this.rest.push(e);
  }

  /** Does an entry name `name` (exactly, or a "*." entry above it)? */
  hasDomain(name: string): boolean {
    if (this.exactDomain.has(name)) return true;
    for (let i = name.indexOf("."); i >= 0; i = name.indexOf(".", i + 1)) {
      if (this.suffixDomain.has(name.slice(i + 1))) return true;
    }
    return false;
  }

  /** Entries that may target the flow's other end; the caller still checks each one. */
  candidates(flow: Flow, direction: "out" | "in"): CompiledEntry[] {
    const out: CompiledEntry[] = [];
    const peer = direction === "out" ? flow.dstDevice : flow.srcDevice;
    if (peer?.group !== undefined) out.push(...(this.byGroup.get(peer.group) ?? []));
    if (direction === "out" && flow.domain !== "") {
      const name = flow.domain;
      out.push(...(this.exactDomain.get(name) ?? []));
      for (let i = name.indexOf("."); i >= 0; i = name.indexOf(".", i + 1)) {
        out.push(...(this.suffixDomain.get(name.slice(i + 1)) ?? []));
      }
    }
    const key =
      direction === "out"
        ? hostKey(flow.ipVersion, flow.dst0, flow.dst1, flow.dst2, flow.dst3)
        : hostKey(flow.ipVersion, flow.src0, flow.src1, flow.src2, flow.src3);
    out.push(...(this.hosts.get(key) ?? []));
    out.push(...this.rest);
    return out;
  }
}
