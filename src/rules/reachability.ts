/**
 * Finds rules that can never match: conditions that contradict each other or the
 * trigger (`network.transport: udp` with `tls.sni`; `destination.scope: private` with
 * `destination.country`; `flow.bytes_out` above 10MB and below 1MB). Only what can be
 * decided from the text is checked: equalities, ranges, and what fields, protocols and
 * triggers imply about the transport and the endpoints' scope. Conditions under `not`
 * are not analysed (they cannot make a rule unreachable in a way worth a guess).
 */

import type { Cond, FieldCond, Pos } from "./conditions.js";
import type { Trigger } from "./context.js";
import { DIRECTIONS } from "./fields.js";
import { intersect, type NumTest } from "./units.js";

export interface Unreachable {
  at: Pos;
  message: string;
  severity: "error" | "warning";
}

interface Allowed {
  values: ReadonlySet<string>;
  why: string;
  at: Pos;
}

interface State {
  eq: Map<string, Allowed>;
  num: Map<string, { tests: NumTest[]; why: string }>;
  absent: Map<string, string>;
  present: Map<string, string>;
}

const TRANSPORT_OF_PROTOCOL: Record<string, string[]> = {
  tls: ["tcp"],
  http: ["tcp"],
  rtsp: ["tcp"],
  dns: ["udp", "tcp"],
  mdns: ["udp", "tcp"],
  llmnr: ["udp", "tcp"],
  ntp: ["udp"],
  dhcp: ["udp"],
  sadp: ["udp"],
  dhip: ["udp"],
  dvrip: ["udp"],
  "ws-discovery": ["udp"],
  "dahua-p2p": ["udp"],
};

const TCP_ONLY_OUTCOMES = new Set(["closed", "reset", "midstream"]);

function triggerTransport(trigger: Trigger): string[] | null {
  if (trigger === "tls_client_hello" || trigger === "http_request" || trigger === "http_response") {
    return ["tcp"];
  }
  if (trigger === "dns_query" || trigger === "dns_answer") return ["udp", "tcp"];
  return null;
}

function transportWhy(field: string): string {
  if (field.startsWith("tls.")) return `${field} (TLS runs over TCP)`;
  if (field.startsWith("http.")) return `${field} (HTTP runs over TCP)`;
  if (field.startsWith("dns.")) return `${field} (DNS runs over UDP or TCP)`;
  return `${field} (only TCP, UDP and SCTP have ports)`;
}

class Contradiction {
  constructor(
    readonly at: Pos,
    readonly message: string,
  ) {}
}

function quote(values: Iterable<string>): string {
  return [...values].join(", ");
}

function restrict(s: State, key: string, values: readonly string[], why: string, at: Pos): void {
  const prev = s.eq.get(key);
  const set = new Set(values);
  if (prev === undefined) {
    s.eq.set(key, { values: set, why, at });
    return;
  }
  const both = new Set([...prev.values].filter((v) => set.has(v)));
  if (both.size === 0) {
    throw new Contradiction(
      at,
      `${why} contradicts ${prev.why} (${key}: ${quote(set)} versus ${quote(prev.values)})`,
    );
  }
  s.eq.set(key, { values: both, why: both.size === prev.values.size ? prev.why : why, at });
}

function applyField(s: State, c: FieldCond): void {
  const f = c.field;
  const name = f.name;
  for (const op of c.ops) {
    if (op.op === "exists") {
      if (!op.want) {
        const p = s.present.get(name);
        if (p !== undefined) throw new Contradiction(c.at, `${name} is not known contradicts ${p}`);
        s.absent.set(name, `${name} is not known`);
        continue;
      }
    }
    const why = `${name}${op.op === "eq" ? ` is ${op.values.map((v) => v.text).join("/")}` : ""}`;
    const gone = s.absent.get(name);
    if (gone !== undefined) throw new Contradiction(c.at, `${why} contradicts ${gone}`);
    s.present.set(name, why);
    if (op.op === "eq" && f.kind !== "domain" && f.kind !== "text") {
      restrict(
        s,
        name,
        op.values.map((v) => String(v.norm)),
        why,
        c.at,
      );
    }
    if (op.op === "num") {
      const prev = s.num.get(name);
      if (prev === undefined) {
        s.num.set(name, {
          tests: op.tests,
          why: `${name} ${op.tests.map((t) => t.text).join(" or ")}`,
        });
      } else {
        const both: NumTest[] = [];
        for (const a of prev.tests) {
          for (const b of op.tests) {
            const x = intersect(a, b);
            if (x !== null) both.push(x);
          }
        }
        const here = `${name} ${op.tests.map((t) => t.text).join(" or ")}`;
        if (both.length === 0) throw new Contradiction(c.at, `${here} contradicts ${prev.why}`);
        s.num.set(name, { tests: both, why: `${prev.why} and ${here}` });
      }
    }
  }
  // What the field implies.
  if (f.transports !== undefined) {
    restrict(s, "network.transport", f.transports, transportWhy(name), c.at);
  }
  if (f.internet !== undefined) {
    const side = f.internet === "src" ? "source" : "destination";
    restrict(s, `${side}.scope`, ["internet"], `${name} (only internet addresses have one)`, c.at);
  }
  for (const op of c.ops) {
    if (op.op !== "eq") continue;
    if (name === "network.protocol") {
      const ts = new Set<string>();
      for (const v of op.values) {
        const t = TRANSPORT_OF_PROTOCOL[String(v.norm)];
        if (t === undefined) return;
        for (const x of t) ts.add(x);
      }
      restrict(
        s,
        "network.transport",
        [...ts],
        `network.protocol is ${op.values.map((v) => v.text).join("/")} (${quote(ts)} only)`,
        c.at,
      );
    }
    if (name === "flow.outcome" && op.values.every((v) => TCP_ONLY_OUTCOMES.has(String(v.norm)))) {
      restrict(
        s,
        "network.transport",
        ["tcp"],
        `flow.outcome is ${op.values.map((v) => v.text).join("/")} (TCP only)`,
        c.at,
      );
    }
  }
}

/** Directions and scopes must leave at least one way for the flow to run. */
function checkDirection(s: State): void {
  const d = s.eq.get("network.direction");
  const src = s.eq.get("source.scope");
  const dst = s.eq.get("destination.scope");
  if (d === undefined || (src === undefined && dst === undefined)) return;
  const local = (a: Allowed | undefined) =>
    a === undefined || [...a.values].some((v) => v !== "internet");
  const inet = (a: Allowed | undefined) => a === undefined || a.values.has("internet");
  const ok = (dir: string) =>
    dir === "outbound"
      ? local(src) && inet(dst)
      : dir === "inbound"
        ? inet(src) && local(dst)
        : dir === "internal"
          ? local(src) && local(dst)
          : inet(src) && inet(dst);
  if ([...d.values].some((v) => (DIRECTIONS as readonly string[]).includes(v) && ok(v))) return;
  const scopes = [src, dst].filter((x) => x !== undefined) as Allowed[];
  const last = [d, ...scopes].reduce((a, b) =>
    b.at.line > a.at.line || (b.at.line === a.at.line && b.at.col > a.at.col) ? b : a,
  );
  throw new Contradiction(
    last.at,
    `${d.why} contradicts ${scopes.map((x) => x.why).join(" and ")} (outbound: local to internet, inbound: internet to local, internal: local to local, external: internet to internet)`,
  );
}

function clone(s: State): State {
  return {
    eq: new Map(s.eq),
    num: new Map(s.num),
    absent: new Map(s.absent),
    present: new Map(s.present),
  };
}

/** Applies a conjunction; `any` parts after the plain conditions, so order does not matter. */
function applyConj(s: State, items: Cond[], out: Unreachable[]): void {
  const anys: (Cond & { t: "any" })[] = [];
  const walk = (c: Cond) => {
    if (c.t === "field") applyField(s, c);
    else if (c.t === "all") for (const i of c.items) walk(i);
    else if (c.t === "any") anys.push(c);
  };
  for (const c of items) walk(c);
  checkDirection(s);
  for (const a of anys) {
    const dead: Contradiction[] = [];
    let live: State | null = null;
    for (const branch of a.items) {
      const b = clone(s);
      try {
        applyConj(b, [branch], out);
        live ??= b;
      } catch (e) {
        if (!(e instanceof Contradiction)) throw e;
        dead.push(e);
      }
    }
    if (live === null) {
      throw new Contradiction(a.at, `no alternative under any: can hold: ${dead[0]!.message}`);
    }
    for (const d of dead) {
      out.push({
        at: d.at,
        severity: "warning",
        message: `this alternative can never hold: ${d.message}`,
      });
    }
  }
}

/** Problems of a rule whose conditions cannot all hold; empty when it can match. */
export function unreachable(trigger: Trigger, when: Cond | null, at: Pos): Unreachable[] {
  const s: State = { eq: new Map(), num: new Map(), absent: new Map(), present: new Map() };
  const out: Unreachable[] = [];
  try {
    const t = triggerTransport(trigger);
    if (t !== null) {
      const why = `trigger ${trigger} (${trigger.startsWith("dns") ? "DNS runs over UDP or TCP" : trigger.startsWith("tls") ? "TLS runs over TCP" : "HTTP runs over TCP"})`;
      restrict(s, "network.transport", t, why, at);
    }
    if (when !== null) applyConj(s, [when], out);
  } catch (e) {
    if (!(e instanceof Contradiction)) throw e;
    return [{ at: e.at, severity: "error", message: `this rule can never match: ${e.message}` }];
  }
  return out;
}
