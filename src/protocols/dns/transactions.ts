/**
 * Pairs DNS queries with their responses into DnsTransactions (dns.log lines).
 *
 * A query waits in a bounded pending table keyed by (flow, side of the flow that asked,
 * DNS ID). Every query is reported exactly once: with its response, or unanswered when it
 * times out, is evicted by a newer query, is superseded by another query with the same
 * key, or is flushed. A response with no waiting query is reported on its own.
 *
 * Deterministic: the table is a Map (insertion order), time is packet time given by the
 * caller, so the emission order depends only on the inputs.
 *
 * Multicast mDNS and LLMNR queries are answered from other hosts, hence on other flows:
 * those queries end unanswered and their responses are reported without a query, by design.
 */

import { DnsType, dnsTypeName } from "./mnemonics.js";
import type {
  DnsKind,
  DnsMessage,
  DnsQuestion,
  DnsTransaction,
  DnsTransactionEnd,
  DnsTransport,
} from "./record.js";
import { dnsNameKey } from "./wire-name.js";

export interface DnsTrackerOptions {
  /** Queries waiting for a response at most; the oldest is reported unanswered to make room. */
  maxPending: number;
  /** A query unanswered this long (packet time) is reported unanswered by expire(). */
  timeoutMs: number;
}

export interface DnsTrackerStats {
  queries: number;
  responses: number;
  /** Responses matched to a waiting query. */
  paired: number;
  /** Responses reported without a query. */
  responsesWithoutQuery: number;
  timeouts: number;
  /** Queries pushed out of the full table (each reported unanswered). */
  evictions: number;
  /** Queries replaced by a different query with the same flow, side and ID. */
  superseded: number;
  /** Copies of a waiting query (same key and question): client retries, kept as one. */
  retransmissions: number;
  flushed: number;
}

interface Pending {
  query: DnsMessage;
  flowId: number;
  tsSec: number;
  tsNsec: number;
  nowMs: number;
  kind: DnsKind;
  transport: DnsTransport;
}

export class DnsTransactionTracker {
  readonly stats: DnsTrackerStats = {
    queries: 0,
    responses: 0,
    paired: 0,
    responsesWithoutQuery: 0,
    timeouts: 0,
    evictions: 0,
    superseded: 0,
    retransmissions: 0,
    flushed: 0,
  };
  private readonly pending = new Map<number, Pending>();
  private readonly maxPending: number;
  private readonly timeoutMs: number;

  constructor(
    options: DnsTrackerOptions,
    private readonly emit: (tx: DnsTransaction) => void,
  ) {
    this.maxPending = Math.max(1, Math.floor(options.maxPending));
    this.timeoutMs = Math.max(0, options.timeoutMs);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * One parsed message of flow `flowId`, sent by the flow's initiator when `fromInitiator`.
   * `tsSec`/`tsNsec` is the packet time, `nowMs` the same clock in milliseconds for timeouts.
   */
  onMessage(
    flowId: number,
    fromInitiator: boolean,
    msg: DnsMessage,
    tsSec: number,
    tsNsec: number,
    nowMs: number,
    kind: DnsKind,
    transport: DnsTransport,
  ): void {
    if (!msg.response) {
      this.onQuery(flowId, fromInitiator, msg, tsSec, tsNsec, nowMs, kind, transport);
      return;
    }
    this.stats.responses++;
    // A response answers a query from the other side of the flow.
    const key = pendingKey(flowId, !fromInitiator, msg.id);
    const p = this.pending.get(key);
    if (p !== undefined && sameQuestion(p.query, msg, kind)) {
      this.pending.delete(key);
      this.stats.paired++;
      this.emit(transaction(p, msg, tsSec, tsNsec, "response"));
      return;
    }
    this.stats.responsesWithoutQuery++;
    const alone: Pending = { query: msg, flowId, tsSec, tsNsec, nowMs, kind, transport };
    this.emit(transaction(alone, msg, tsSec, tsNsec, "response"));
  }

  /** Reports the queries that have waited `timeoutMs` or longer at packet time `nowMs`. */
  expire(nowMs: number): void {
    // Insertion order is time order unless capture time steps back; an entry behind a
    // younger one then waits for it, which only delays it.
    for (const [key, p] of this.pending) {
      if (nowMs - p.nowMs < this.timeoutMs) break;
      this.pending.delete(key);
      this.stats.timeouts++;
      this.emit(transaction(p, undefined, 0, 0, "timeout"));
    }
  }

  /** Reports every waiting query unanswered (end of input). */
  flush(): void {
    for (const p of this.pending.values()) {
      this.stats.flushed++;
      this.emit(transaction(p, undefined, 0, 0, "flush"));
    }
    this.pending.clear();
  }

  private onQuery(
    flowId: number,
    fromInitiator: boolean,
    msg: DnsMessage,
    tsSec: number,
    tsNsec: number,
    nowMs: number,
    kind: DnsKind,
    transport: DnsTransport,
  ): void {
    this.stats.queries++;
    const key = pendingKey(flowId, fromInitiator, msg.id);
    const old = this.pending.get(key);
    if (old !== undefined) {
      if (sameQuestion(old.query, msg, kind)) {
        // A retry: the transaction started with the first copy.
        this.stats.retransmissions++;
        return;
      }
      this.pending.delete(key);
      this.stats.superseded++;
      this.emit(transaction(old, undefined, 0, 0, "superseded"));
    } else if (this.pending.size >= this.maxPending) {
      const oldest = this.pending.entries().next().value;
      if (oldest !== undefined) {
        this.pending.delete(oldest[0]);
        this.stats.evictions++;
        this.emit(transaction(oldest[1], undefined, 0, 0, "eviction"));
      }
    }
    this.pending.set(key, { query: msg, flowId, tsSec, tsNsec, nowMs, kind, transport });
  }
}

/** Flow ids stay far below 2^35, so the key is exact in a double. */
function pendingKey(flowId: number, queryFromInitiator: boolean, id: number): number {
  return flowId * 131072 + (queryFromInitiator ? 65536 : 0) + id;
}

function qclassOf(q: DnsQuestion, kind: DnsKind): number {
  return kind === "mdns" ? q.class & 0x7fff : q.class;
}

/** A response answers a query when it repeats its first question, or carries none. */
function sameQuestion(query: DnsMessage, other: DnsMessage, kind: DnsKind): boolean {
  const a = query.questions[0];
  const b = other.questions[0];
  if (a === undefined || b === undefined) return a === b || other.response;
  return (
    a.type === b.type && qclassOf(a, kind) === qclassOf(b, kind) && a.nameLower === b.nameLower
  );
}

/**
 * Builds the record. `p.query` is the query, or the response itself when no query was seen
 * (the caller passes the response as both).
 */
function transaction(
  p: Pending,
  response: DnsMessage | undefined,
  rsSec: number,
  rsNsec: number,
  closedBy: DnsTransactionEnd,
): DnsTransaction {
  const q = p.query;
  const sawQuery = !q.response;
  const question = q.questions[0] ?? response?.questions[0];
  const answers = response?.answers ?? [];
  const addresses: string[] = [];
  const ttls: number[] = [];
  const cnames: string[] = [];
  if (response !== undefined) {
    followChain(question?.nameLower, response, addresses, ttls, cnames);
  }
  const rtt =
    sawQuery && response !== undefined ? rsSec - p.tsSec + (rsNsec - p.tsNsec) / 1e9 : undefined;
  return {
    tsSec: p.tsSec,
    tsNsec: p.tsNsec,
    flowId: p.flowId,
    transport: p.transport,
    kind: p.kind,
    id: q.id,
    opcode: q.opcode,
    query: question?.name,
    queryLower: question?.nameLower,
    qtype: question?.type,
    qtypeName: question === undefined ? undefined : dnsTypeName(question.type),
    qclass: question === undefined ? undefined : qclassOf(question, p.kind),
    rcode: response?.rcode,
    rcodeName: response?.rcodeName,
    answers,
    addresses,
    ttls,
    cnames,
    answered: response !== undefined,
    sawQuery,
    rtt,
    aa: response?.aa ?? false,
    tc: response?.tc ?? false,
    rd: q.rd,
    ra: response?.ra ?? false,
    closedBy,
  };
}

/**
 * Follows CNAMEs from `start` through the answer section and collects the A/AAAA data owned
 * by any name of the chain. Each answer is used at most once, so a CNAME loop ends. Without
 * a start name every address is taken.
 */
function followChain(
  start: string | undefined,
  response: DnsMessage,
  addresses: string[],
  ttls: number[],
  cnames: string[],
): void {
  const answers = response.answers;
  const chain: string[] = [];
  if (start !== undefined) {
    chain.push(start);
    let current = start;
    const used = new Uint8Array(answers.length);
    for (let step = 0; step < answers.length; step++) {
      let found = -1;
      for (let i = 0; i < answers.length; i++) {
        const rr = answers[i]!;
        if (used[i] === 0 && rr.type === DnsType.CNAME && rr.data !== undefined) {
          if (dnsNameKey(rr.name) === current) {
            found = i;
            break;
          }
        }
      }
      if (found < 0) break;
      used[found] = 1;
      const target = answers[found]!.data!;
      cnames.push(target);
      current = dnsNameKey(target);
      chain.push(current);
    }
  }
  for (const rr of answers) {
    if ((rr.type !== DnsType.A && rr.type !== DnsType.AAAA) || rr.data === undefined) continue;
    if (start !== undefined && !chain.includes(dnsNameKey(rr.name))) continue;
    addresses.push(rr.data);
    ttls.push(rr.ttl);
  }
}
