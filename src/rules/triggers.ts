import type { Flow } from "../flow/flow.js";
import type { DeviceSummary } from "../inventory/index.js";
import type { DnsMessage } from "../protocols/dns/index.js";
import type { FlowApp } from "../protocols/flow-app.js";
import type { HttpMessage } from "../protocols/http/stream.js";
import {
  type ChangeFacts,
  type DnsFacts,
  type DriftFacts,
  type RuleContext,
  TRIGGERS,
  type Trigger,
} from "./context.js";

/**
 * Something that watches flows and DNS questions beside the rules: a baseline (drift) or
 * a learner. What it returns is evaluated as a baseline_drift context.
 */
export interface FlowWatch {
  /** A DNS question asked by the flow's initiator. */
  lookup?(flow: Flow, name: string, tsSec: number): DriftFacts | null;
  /** A new flow, enriched and named. */
  flowStarted?(flow: Flow): DriftFacts | null | undefined;
  /** The flow got a name from its ClientHello or its Host header. */
  flowNamed?(flow: Flow): DriftFacts | null | undefined;
  /** A flow record: the flow ended (ending) or an active-timeout report. */
  flowRecord?(flow: Flow, ending: boolean): DriftFacts[];
}

/** What the trigger builder needs to know of the loaded rules. */
export interface TriggerDemand {
  wants(trigger: Trigger): boolean;
  thresholds(): { bytesOut: number[]; bytesIn: number[]; durationSeconds: number[] };
}

/** The smallest threshold above `current`, or Infinity. Thresholds are sorted ascending. */
function nextAbove(sorted: readonly number[], current: number): number {
  for (const t of sorted) if (t > current) return t;
  return Number.POSITIVE_INFINITY;
}

const sortedUnique = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b);

/**
 * Turns what the pipeline sees into rule contexts at the moment the evidence exists
 * (context.ts lists the triggers), and nothing when no loaded rule wants that trigger:
 * building a context costs an object per event, so it happens only on demand.
 *
 * Flow-level watches live on the flow as numbers the flow table compares per packet
 * (watchBytesOut/In, watchAtMs, watchOutcome); this class sets them when a flow starts
 * and moves them on when one is reached.
 */
export class RuleTriggers {
  private bytesOut: number[] = [];
  private bytesIn: number[] = [];
  private durationsMs: number[] = [];
  private readonly wanted = new Set<Trigger>();
  /** Baselines and learners (src/baseline/). */
  watches: FlowWatch[] = [];

  constructor(
    demand: TriggerDemand,
    private readonly evaluate: (ctx: RuleContext) => void,
  ) {
    this.setDemand(demand);
  }

  /** New rules (a reload): the triggers and thresholds they need from now on. */
  setDemand(demand: TriggerDemand): void {
    const t = demand.thresholds();
    this.bytesOut = sortedUnique(t.bytesOut);
    this.bytesIn = sortedUnique(t.bytesIn);
    this.durationsMs = sortedUnique(t.durationSeconds.map((s) => s * 1000));
    this.wanted.clear();
    for (const trigger of TRIGGERS) {
      if (demand.wants(trigger)) this.wanted.add(trigger);
    }
  }

  /**
   * A flow that started under the old rules: its watches set for the new ones (the next
   * threshold above what it has already sent, an outcome watch only if still unanswered).
   */
  rearm(flow: Flow): void {
    this.watchNext(flow, flow.touchedMs - flow.openedMs);
    flow.watchOutcome = this.wanted.has("flow_outcome") && flow.dstPackets === 0;
  }

  /**
   * The next thresholds above what the flow has sent and how old it is (Infinity when no
   * rule has one: the lists are then empty).
   */
  private watchNext(flow: Flow, ageMs: number): void {
    flow.watchBytesOut = nextAbove(this.bytesOut, flow.totalBytesOut) - flow.reportedBytesOut;
    flow.watchBytesIn = nextAbove(this.bytesIn, flow.totalBytesIn) - flow.reportedBytesIn;
    flow.watchAtMs = flow.openedMs + nextAbove(this.durationsMs, ageMs);
  }

  wants(trigger: Trigger): boolean {
    return this.wanted.has(trigger);
  }

  /** A new flow, enriched and named: flow_attempt, and the watches its rules need. */
  flowStarted(flow: Flow): void {
    if (this.wanted.has("flow_outcome")) flow.watchOutcome = true;
    if (this.wanted.has("flow_threshold")) {
      flow.watchBytesOut = nextAbove(this.bytesOut, 0);
      flow.watchBytesIn = nextAbove(this.bytesIn, 0);
      flow.watchAtMs = flow.openedMs + nextAbove(this.durationsMs, 0);
    }
    if (this.wanted.has("flow_attempt")) this.flowContext("flow_attempt", flow);
    for (const w of this.watches) this.drift(flow, w.flowStarted?.(flow));
  }

  /** The responder's first packet: the attempt was answered (accepted or refused). */
  outcome(flow: Flow): void {
    flow.watchOutcome = false;
    this.flowContext("flow_outcome", flow);
  }

  /** A byte or duration watch was reached: one flow_threshold context per threshold crossed. */
  threshold(flow: Flow, nowMs: number): void {
    const out = flow.totalBytesOut;
    const inb = flow.totalBytesIn;
    for (const t of this.bytesOut) {
      if (t > out) break;
      if (t >= flow.reportedBytesOut + flow.watchBytesOut)
        this.thresholdContext(flow, "bytes_out", t);
    }
    for (const t of this.bytesIn) {
      if (t > inb) break;
      if (t >= flow.reportedBytesIn + flow.watchBytesIn) this.thresholdContext(flow, "bytes_in", t);
    }
    const age = nowMs - flow.openedMs;
    for (const t of this.durationsMs) {
      if (t > age) break;
      if (t >= flow.watchAtMs - flow.openedMs) this.thresholdContext(flow, "duration", t / 1000);
    }
    this.watchNext(flow, age);
  }

  /** The flow is over: flow_end, and flow_outcome for an attempt nobody answered. */
  flowEnded(flow: Flow): void {
    if (flow.watchOutcome) this.outcome(flow);
    if (this.wanted.has("flow_end")) this.flowContext("flow_end", flow);
    this.flowRecord(flow, true);
  }

  /** Every flow record (ends and active-timeout reports), for the watches. */
  flowRecord(flow: Flow, ending: boolean): void {
    for (const w of this.watches) {
      for (const d of w.flowRecord?.(flow, ending) ?? []) this.drift(flow, d);
    }
  }

  /** A baseline says the flow (or its device) left the baseline. */
  private drift(flow: Flow, facts: DriftFacts | null | undefined, dns?: DnsFacts): void {
    if (facts == null || !this.wanted.has("baseline_drift")) return;
    const ctx: RuleContext = {
      trigger: "baseline_drift",
      tsSec: flow.lastSec,
      tsNsec: flow.lastNsec,
      flow,
      drift: facts,
    };
    if (dns !== undefined) ctx.dns = dns;
    this.evaluate(ctx);
  }

  /** A device came back from silence with different fingerprints after an update. */
  deviceChanged(device: DeviceSummary, change: ChangeFacts, tsSec: number, tsNsec: number): void {
    if (!this.wanted.has("device_changed_after_update")) return;
    this.evaluate({
      trigger: "device_changed_after_update",
      tsSec,
      tsNsec,
      flow: null,
      device,
      change,
    });
  }

  dnsMessage(flow: Flow, msg: DnsMessage, tsSec: number, tsNsec: number): void {
    const trigger = msg.response ? "dns_answer" : "dns_query";
    const q = msg.questions[0];
    if (q === undefined) return;
    if (!msg.response) {
      for (const w of this.watches) {
        const facts = w.lookup?.(flow, q.nameLower, tsSec) ?? null;
        // The question goes with it, so the alert carries dns.question.* like a dns_query one.
        this.drift(flow, facts, { queryName: q.nameLower, queryType: q.typeName, answers: [] });
      }
    }
    if (!this.wanted.has(trigger)) return;
    const answers: string[] = [];
    if (msg.response) {
      for (const a of msg.answers) {
        if ((a.type === 1 || a.type === 28) && a.data !== undefined) answers.push(a.data);
      }
    }
    this.evaluate({
      trigger,
      tsSec,
      tsNsec,
      flow,
      dns: {
        queryName: q.nameLower,
        queryType: q.typeName,
        ...(msg.response ? { rcode: msg.rcodeName } : {}),
        answers,
      },
    });
  }

  tlsClientHello(flow: Flow, app: FlowApp, tsSec: number, tsNsec: number): void {
    for (const w of this.watches) this.drift(flow, w.flowNamed?.(flow));
    if (!this.wanted.has("tls_client_hello")) return;
    const hello = app.tls?.client.decoder.clientHello;
    if (hello === undefined || hello === null) return;
    const tls: RuleContext["tls"] = { alpn: hello.alpn, ja3: hello.ja3_hash, ja4: hello.ja4 };
    if (hello.server_name !== undefined) tls.sni = hello.server_name;
    this.evaluate({ trigger: "tls_client_hello", tsSec, tsNsec, flow, tls });
  }

  /** A request, or a response with the request it answers (so rules see method and path). */
  httpMessage(flow: Flow, m: HttpMessage, answered?: HttpMessage): void {
    const trigger = m.kind === "request" ? "http_request" : "http_response";
    if (m.kind === "request") for (const w of this.watches) this.drift(flow, w.flowNamed?.(flow));
    if (!this.wanted.has(trigger)) return;
    const http: NonNullable<RuleContext["http"]> = {};
    const req = m.request ?? answered?.request;
    const res = m.response;
    if (req !== undefined) {
      http.method = req.method;
      http.uri = req.uri;
      const q = req.uri.indexOf("?");
      http.path = q >= 0 ? req.uri.slice(0, q) : req.uri;
      if (req.host !== undefined) http.host = req.host;
      if (req.user_agent !== undefined) http.userAgent = req.user_agent;
    }
    // The body facts are the message's own: a response does not inherit the upload's.
    if (req !== undefined && m.kind === "request") {
      if (req.content_type !== undefined) http.contentType = req.content_type;
      if (req.content_length !== undefined) http.contentLength = req.content_length;
      if (req.body_magic !== undefined) http.bodyMagic = req.body_magic;
      if (req.filename !== undefined) http.filename = req.filename;
    }
    if (res !== undefined) {
      http.status = res.status_code;
      if (res.server !== undefined) http.server = res.server;
      if (res.content_type !== undefined) http.contentType = res.content_type;
      if (res.content_length !== undefined) http.contentLength = res.content_length;
      if (res.body_magic !== undefined) http.bodyMagic = res.body_magic;
      if (res.filename !== undefined) http.filename = res.filename;
    }
    if (m.headers !== undefined) http.headers = m.headers;
    if (m.body !== undefined) http.body = m.body;
    this.evaluate({ trigger, tsSec: m.tsSec, tsNsec: m.tsNsec, flow, http });
  }

  deviceFirstSeen(device: DeviceSummary, tsSec: number, tsNsec: number): void {
    if (!this.wanted.has("device_first_seen")) return;
    this.evaluate({ trigger: "device_first_seen", tsSec, tsNsec, flow: null, device });
  }

  private flowContext(trigger: Trigger, flow: Flow): void {
    this.evaluate({ trigger, tsSec: flow.lastSec, tsNsec: flow.lastNsec, flow });
  }

  private thresholdContext(flow: Flow, kind: "bytes_out" | "bytes_in" | "duration", value: number) {
    this.evaluate({
      trigger: "flow_threshold",
      tsSec: flow.lastSec,
      tsNsec: flow.lastNsec,
      flow,
      threshold: { kind, value },
    });
  }
}
