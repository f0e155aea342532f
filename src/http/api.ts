/**
 * The daemon's read-only HTTP API, answered from its DaemonView at request time:
 *
 *   /readyz        ready (200) or the failing checks (503)
 *   /api/alerts    stored alerts, newest first (since, until, severity, device, rule, limit)
 *   /api/devices   the device inventory
 *   /api/flows     active flows as flow records, most recently active first (limit, device)
 *   /api/status    captures, reloads, rules, GeoIP databases, alert sinks, versions
 *
 * Everything here reads; nothing changes the daemon. Bad parameters are a 400 naming the
 * parameter and what it accepts.
 */
import { isIP } from "node:net";
import type { StoredAlert } from "../alert/store.js";
import { parseWhen } from "../cli/alerts.js";
import { parseMac } from "../config/kinds.js";
import type { DaemonView, ReadyCheck } from "../daemon/view.js";
import type { Flow } from "../flow/flow.js";
import { addEnrichmentFields } from "../output/enrichment-fields.js";
import { flowRecord } from "../output/flow-record.js";
import { addProtocolFields } from "../output/protocol-fields.js";
import type { FlowApp } from "../protocols/flow-app.js";
import { SEVERITIES, type Severity } from "../rules/index.js";

type Json = Record<string, unknown>;

export interface ApiResponse {
  status: number;
  body: unknown;
}

/** Alerts and flows per response when the request does not say, and at most. */
export const DEFAULT_LIMIT = 1000;
export const MAX_LIMIT = 10_000;

/** A parameter the request got wrong: answered 400 with this message. */
class BadRequest extends Error {}

/** The ready checks that fail; empty when the daemon is ready. */
export function failingChecks(view: DaemonView): Record<string, ReadyCheck> {
  return Object.fromEntries(Object.entries(view.ready()).filter(([, c]) => !c.ok));
}

/** The answer to an /api/ path; null when there is no such endpoint. */
export function apiResponse(
  view: DaemonView,
  path: string,
  params: URLSearchParams,
  version: string,
  nowMs: number = Date.now(),
): ApiResponse | null {
  const endpoint = ENDPOINTS[path];
  if (endpoint === undefined) return null;
  try {
    const unknown = [...params.keys()].filter((k) => !endpoint.params.includes(k));
    if (unknown.length > 0) {
      const accepted = endpoint.params.length > 0 ? endpoint.params.join(", ") : "none";
      throw new BadRequest(`unknown parameter "${unknown[0]}" (accepted: ${accepted})`);
    }
    return endpoint.answer(view, params, { version, nowMs });
  } catch (err) {
    if (err instanceof BadRequest) return { status: 400, body: { error: err.message } };
    throw err;
  }
}

interface Context {
  version: string;
  nowMs: number;
}

interface Endpoint {
  params: string[];
  answer(view: DaemonView, params: URLSearchParams, ctx: Context): ApiResponse;
}

const ENDPOINTS: Record<string, Endpoint> = {
  "/api/alerts": {
    params: ["since", "until", "severity", "device", "rule", "limit"],
    answer: alerts,
  },
  "/api/devices": { params: [], answer: devices },
  "/api/flows": { params: ["active", "limit", "device"], answer: flows },
  "/api/status": { params: [], answer: status },
};

// --- /api/alerts ----------------------------------------------------------------

function alerts(view: DaemonView, params: URLSearchParams, ctx: Context): ApiResponse {
  const store = view.alerts().store;
  if (store === null)
    return { status: 404, body: { error: "no alert store: this egressd keeps no alerts" } };
  const when = (name: string): number | undefined => {
    const text = params.get(name);
    if (text === null) return undefined;
    try {
      return parseWhen(name, text, ctx.nowMs);
    } catch (err) {
      throw new BadRequest((err as Error).message.replace(/^--/, ""));
    }
  };
  const sinceMs = when("since");
  const untilMs = when("until");
  if (sinceMs !== undefined && untilMs !== undefined && sinceMs > untilMs)
    throw new BadRequest("since is after until");
  const severity = params.get("severity")?.toLowerCase();
  if (severity !== undefined && !(SEVERITIES as readonly string[]).includes(severity))
    throw new BadRequest(
      `severity: unknown level "${severity}"; one of ${SEVERITIES.join(", ")} (that level and above)`,
    );
  const limit = limitParam(params);
  const query = {
    sinceMs,
    untilMs,
    minSeverity: severity as Severity | undefined,
    ruleId: params.get("rule") ?? undefined,
    // One more than the limit, to know whether the limit cut anything off.
    limit: limit + 1,
  };
  const device = params.get("device");
  let found: StoredAlert[];
  if (device === null) {
    found = store.query(query);
  } else {
    const values = deviceValues(view, device);
    found = values.flatMap((d) => store.query({ ...query, device: d }));
    if (values.length > 1) found.sort((a, b) => b.tsMs - a.tsMs);
  }
  const more = found.length > limit;
  const records = found.slice(0, limit).map(storedRecord);
  return { status: 200, body: { count: records.length, more, alerts: records } };
}

/**
 * What ?device= matches in the store's device column, as `egressd alerts --device` does:
 * an inventory id as given, a MAC as its id, an address in both of its forms and as the
 * inventory devices (not routers) that used it.
 */
function deviceValues(view: DaemonView, text: string): string[] {
  const mac = parseMac(text);
  if (typeof mac === "string") return [`mac:${mac.replace(/:/g, "-")}`];
  if (isIP(text) === 0) return [text];
  const values = new Set([text, `ip:${text}`]);
  for (const d of view.inventory().devices()) {
    if (!d.router && d.ips.some((a) => a.ip === text)) values.add(d.id);
  }
  return [...values];
}

/** The stored ECS record; one that is not JSON (a damaged store) still shows its id. */
function storedRecord(a: StoredAlert): Json {
  try {
    const v: unknown = JSON.parse(a.json);
    if (v !== null && typeof v === "object" && !Array.isArray(v)) return v as Json;
  } catch {
    // Falls through to the stand-in below.
  }
  return {
    event: { id: a.id, kind: "alert" },
    rule: { id: a.ruleId },
    message: "(stored record is not JSON)",
  };
}

function limitParam(params: URLSearchParams): number {
  const text = params.get("limit");
  if (text === null) return DEFAULT_LIMIT;
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < 1 || n > MAX_LIMIT)
    throw new BadRequest(`limit: a whole number from 1 to ${MAX_LIMIT}, got "${text}"`);
  return n;
}

// --- /api/devices ---------------------------------------------------------------

function devices(view: DaemonView): ApiResponse {
  const inventory = view.inventory();
  return { status: 200, body: { stats: inventory.stats, devices: inventory.devices() } };
}

// --- /api/flows -----------------------------------------------------------------

function flows(view: DaemonView, params: URLSearchParams): ApiResponse {
  const active = params.get("active");
  if (active !== null && !["", "1", "true"].includes(active))
    throw new BadRequest(
      "active: only active flows are kept in memory; ended flows are in the flow log",
    );
  const limit = limitParam(params);
  const device = params.get("device");
  const pipeline = view.pipeline();
  if (pipeline === null)
    return { status: 200, body: { active: 0, count: 0, more: false, flows: [] } };
  const table = pipeline.flows;
  const chosen: Flow[] = [];
  table.forEachActive((f) => {
    if (device === null || f.srcDevice?.id === device || f.dstDevice?.id === device) chosen.push(f);
  });
  chosen.sort((a, b) => b.touchedMs - a.touchedMs || b.id - a.id);
  const records = chosen.slice(0, limit).map(activeFlowRecord);
  return {
    status: 200,
    body: {
      active: table.size,
      count: records.length,
      more: chosen.length > limit,
      flows: records,
    },
  };
}

/** A flow that goes on, as its record so far: like a record at an active timeout, not an end. */
function activeFlowRecord(flow: Flow): Json {
  const record = flowRecord(flow, "active_timeout");
  addProtocolFields(record, flow.app as FlowApp | null, flow.domain, flow.nameSource);
  addEnrichmentFields(record, flow);
  const event = record.event as Json;
  event.type = ["connection"];
  delete event.reason;
  (record.egressd as Json).active = true;
  return record;
}

// --- /api/status ----------------------------------------------------------------

function status(view: DaemonView, _params: URLSearchParams, ctx: Context): ApiResponse {
  const reloads = view.configReloads();
  const engine = view.rules();
  const pipeline = view.pipeline();
  const geoip = view.geoip();
  const router = view.alerts();
  const stale = new Set(geoip?.stale(new Date(ctx.nowMs)).map((d) => d.path) ?? []);
  const sinkStatus = router.dispatcher?.status() ?? {};
  const checks = view.ready();
  return {
    status: 200,
    body: {
      sensor: view.sensor,
      version: ctx.version,
      nodejs: process.version,
      started: iso(view.startedMs),
      uptime_seconds: Math.max(0, (ctx.nowMs - view.startedMs) / 1000),
      ready: Object.values(checks).every((c) => c.ok),
      checks,
      captures: view.captures(),
      config_reloads: {
        success: reloads.success,
        failure: reloads.failure,
        last: reloads.lastMs > 0 ? iso(reloads.lastMs) : null,
        last_ok: reloads.lastOk,
        ...(reloads.lastError !== undefined ? { last_error: reloads.lastError } : {}),
      },
      rules: {
        loaded: engine.current.rules.filter((r) => r.enabled).length,
        loaded_at: iso(engine.lastSuccessMs),
        reloads: engine.reloads,
        last_reload:
          engine.lastReload === null
            ? null
            : {
                ok: engine.lastReload.ok,
                cause: engine.lastReload.cause,
                at: iso(engine.lastReload.atMs),
              },
      },
      pipeline:
        pipeline === null
          ? null
          : {
              counters: pipeline.counters,
              flows: { ...pipeline.flows.stats, active: pipeline.flows.size },
              anomalies: pipeline.anomalies.toObject(),
            },
      geoip:
        geoip === null
          ? null
          : geoip.databases().map((d) => ({
              name: d.name,
              kind: d.kind,
              path: d.path,
              bundled: d.bundled,
              built: d.buildTime.toISOString(),
              stale: stale.has(d.path),
            })),
      inventory: view.inventory().stats,
      alerts: {
        ...router.stats,
        stored: router.store?.count() ?? null,
        sinks: router.sinks.map((s) => {
          const st = sinkStatus[s.name];
          const q = router.queues?.stats(s.name);
          return {
            name: s.name,
            type: s.type,
            queued: q?.depth ?? 0,
            dropped: { overflow: q?.overflow ?? 0, expired: q?.expired ?? 0 },
            consecutive_failures: st?.consecutiveFailures ?? 0,
            last_error: st?.lastError ?? null,
            last_success:
              st?.lastSuccessMs !== null && st?.lastSuccessMs !== undefined
                ? iso(st.lastSuccessMs)
                : null,
          };
        }),
      },
    },
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
