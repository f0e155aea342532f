/**
 * Both directions of one HTTP/1.x or RTSP connection: requests from the initiator,
 * responses from the responder, paired first-in first-out (HTTP/1.1 pipelining answers in
 * order; RTSP answers in order too), emitted as HttpTransaction records.
 *
 * The response parser needs the request's method (a response to HEAD has no body, a 2xx
 * to CONNECT starts a tunnel), so requests join the queue as soon as their headers are
 * read, before their bodies: a camera that refuses a 40 MB firmware upload with a 401
 * while the body is still arriving is paired correctly.
 *
 * A transaction is emitted when its response has ended and its request has ended (or
 * can no longer end); flush() emits the rest when the connection ends.
 */

import type { HttpAnomaly, HttpProtocol, HttpTransaction } from "./record.js";
import {
  type HttpMessage,
  HttpMessageStream,
  type HttpOptions,
  type ResolvedHttpOptions,
  resolveHttpOptions,
} from "./stream.js";

export interface HttpSink {
  transaction(t: HttpTransaction): void;
  /**
   * A request or response is known well enough for rules (see HttpMessageEvents.ready);
   * a response comes with the request it answers, when there was one.
   */
  message?(m: HttpMessage, request: HttpMessage | undefined): void;
  /** Every anomaly, also those not tied to a transaction (for counters). */
  anomaly?(name: HttpAnomaly): void;
}

interface Entry {
  request: HttpMessage | undefined;
  response: HttpMessage | undefined;
  requestEnded: boolean;
  responseEnded: boolean;
  incomplete: boolean;
}

export class HttpConnection {
  readonly requests: HttpMessageStream;
  readonly responses: HttpMessageStream;
  /** Transactions emitted so far. */
  transactions = 0;
  /** Requests that found the pending queue full (pairing then stops). */
  pendingOverflows = 0;

  private readonly opts: ResolvedHttpOptions;
  private readonly queue: Entry[] = [];
  private currentRequest: Entry | undefined;
  private currentResponse: Entry | undefined;
  /** Transactions started (emitted or queued): bounds the connection's work. */
  private started = 0;
  /** Parsing was given up for the whole connection (pure RTP, upgrade, transaction limit). */
  private done = false;

  constructor(
    readonly flowId: number,
    private readonly sink: HttpSink,
    options: HttpOptions = {},
  ) {
    this.opts = resolveHttpOptions(options);
    this.requests = new HttpMessageStream(
      "request",
      {
        headers: (m) => this.requestHeaders(m),
        end: (m, complete) => this.requestEnd(m, complete),
        anomaly: (a) => this.sink.anomaly?.(a),
        ready: (m) => this.sink.message?.(m, undefined),
      },
      this.opts,
    );
    this.responses = new HttpMessageStream(
      "response",
      {
        headers: (m) => this.responseHeaders(m),
        end: (m, complete) => this.responseEnd(m, complete),
        anomaly: (a) => this.sink.anomaly?.(a),
        ready: (m) => this.sink.message?.(m, this.currentResponse?.request),
        requestMethod: () => this.awaitingResponse()?.request?.request?.method,
      },
      this.opts,
    );
  }

  /** "http" or "rtsp" once a start line has said so. */
  get protocol(): HttpProtocol | undefined {
    return this.requests.protocol ?? this.responses.protocol;
  }

  /** Feeds in-order bytes of one direction (the initiator's are requests). */
  feed(
    fromInitiator: boolean,
    buf: Uint8Array,
    off: number,
    len: number,
    tsSec = 0,
    tsNsec = 0,
  ): void {
    if (this.done) return;
    (fromInitiator ? this.requests : this.responses).feed(buf, off, len, tsSec, tsNsec);
    this.checkRtspBinary();
  }

  /** The TCP stream of one direction has a hole: that direction stops. */
  gap(fromInitiator: boolean): void {
    (fromInitiator ? this.requests : this.responses).gap();
  }

  /**
   * False once nothing more can be learnt from this connection: both directions stopped
   * (bad input, gaps, upgrade to another protocol), an RTSP connection that only carries
   * interleaved RTP now, or the transaction limit. The caller can stop feeding it then.
   */
  wantsMoreData(): boolean {
    return !this.done && !(this.requests.stopped && this.responses.stopped);
  }

  /** The connection ended: bodies delimited by the close are complete, the rest is cut short; emits everything. */
  flush(): void {
    this.requests.finish();
    this.responses.finish();
    while (this.queue.length > 0) this.emit(this.queue.shift()!);
    this.currentRequest = undefined;
    this.currentResponse = undefined;
  }

  private requestHeaders(m: HttpMessage): void {
    if (this.responses.protocol === undefined) this.responses.protocol = m.protocol;
    if (this.started >= this.opts.maxTransactions) {
      this.sink.anomaly?.("http_transaction_limit");
      this.giveUp();
      return;
    }
    this.started++;
    const entry: Entry = {
      request: m,
      response: undefined,
      requestEnded: false,
      responseEnded: false,
      incomplete: false,
    };
    if (!this.responses.stopped && this.waitingCount() >= this.opts.maxPendingRequests) {
      // Without the responses of the queued requests, later responses cannot be paired:
      // report the queue as unanswered from here on rather than pair wrongly.
      this.pendingOverflows++;
      m.anomalies.push("http_pending_overflow");
      this.sink.anomaly?.("http_pending_overflow");
      this.responses.halt("http_pending_overflow");
    }
    this.queue.push(entry);
    this.currentRequest = entry;
    this.drain();
  }

  private requestEnd(m: HttpMessage, complete: boolean): void {
    const entry = this.currentRequest;
    if (entry === undefined || entry.request !== m) return;
    entry.requestEnded = true;
    if (!complete) entry.incomplete = true;
    this.currentRequest = undefined;
    this.drain();
  }

  private responseHeaders(m: HttpMessage): void {
    const status = m.response?.status_code ?? 0;
    // Interim responses (100 Continue...) precede the real one and answer nothing themselves.
    if (status >= 100 && status < 200 && status !== 101) return;
    let entry = this.awaitingResponse();
    if (entry === undefined) {
      m.anomalies.push("http_response_without_request");
      this.sink.anomaly?.("http_response_without_request");
      if (this.started >= this.opts.maxTransactions) {
        this.sink.anomaly?.("http_transaction_limit");
        this.giveUp();
        return;
      }
      this.started++;
      entry = {
        request: undefined,
        response: undefined,
        requestEnded: true,
        responseEnded: false,
        incomplete: false,
      };
      this.queue.push(entry);
    }
    entry.response = m;
    this.currentResponse = entry;
  }

  private responseEnd(m: HttpMessage, complete: boolean): void {
    const entry = this.currentResponse;
    if (entry === undefined || entry.response !== m) return;
    entry.responseEnded = true;
    if (!complete) entry.incomplete = true;
    this.currentResponse = undefined;
    const status = m.response?.status_code ?? 0;
    const method = entry.request?.request?.method;
    if (status === 101 || (method === "CONNECT" && status >= 200 && status < 300)) {
      // The connection now carries another protocol (WebSocket, a TLS tunnel).
      this.requests.halt(status === 101 ? "upgrade" : "tunnel");
      this.responses.halt(status === 101 ? "upgrade" : "tunnel");
      this.done = true;
    }
    this.drain();
  }

  /** The oldest request that has no response yet. */
  private awaitingResponse(): Entry | undefined {
    for (const e of this.queue) if (e.response === undefined && e.request !== undefined) return e;
    return undefined;
  }

  private waitingCount(): number {
    let n = 0;
    for (const e of this.queue) if (e.response === undefined) n++;
    return n;
  }

  /** Emits finished transactions from the head of the queue, in order. */
  private drain(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const requestDone = head.requestEnded || this.requests.stopped;
      const responseDone =
        head.responseEnded || (head.response === undefined && this.responses.stopped);
      if (!requestDone || !responseDone) return;
      this.queue.shift();
      this.emit(head);
    }
  }

  private emit(e: Entry): void {
    const req = e.request;
    const resp = e.response;
    const first = req ?? resp!;
    const anomalies: HttpAnomaly[] = [];
    for (const a of req?.anomalies ?? []) if (!anomalies.includes(a)) anomalies.push(a);
    for (const a of resp?.anomalies ?? []) if (!anomalies.includes(a)) anomalies.push(a);
    this.transactions++;
    this.sink.transaction({
      ts_sec: first.tsSec,
      ts_nsec: first.tsNsec,
      flow_id: this.flowId,
      depth: this.transactions,
      protocol: first.protocol,
      request: req?.request,
      response: resp?.response,
      request_body_bytes: req?.bodyBytes ?? 0,
      response_body_bytes: resp?.bodyBytes ?? 0,
      incomplete:
        e.incomplete ||
        (req !== undefined && !e.requestEnded) ||
        (resp !== undefined && !e.responseEnded),
      anomalies,
    });
  }

  /** RTSP after PLAY (or RECORD): once only interleaved RTP/RTCP flows, there is nothing left to parse. */
  private checkRtspBinary(): void {
    if (this.protocol !== "rtsp") return;
    const limit = this.opts.rtspBinaryFrames;
    if (this.requests.framesSinceMessage < limit && this.responses.framesSinceMessage < limit)
      return;
    if (this.awaitingResponse() !== undefined) return;
    this.done = true;
  }

  private giveUp(): void {
    this.requests.halt("http_transaction_limit");
    this.responses.halt("http_transaction_limit");
    this.done = true;
  }
}
