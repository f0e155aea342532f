/**
 * The global alert rate limit: a token bucket in packet time (perSecond, burst). During a
 * storm (a compromised camera scanning the internet: a new destination, so a new alert,
 * every packet) what is over the limit is held back: counted per rule, with the time
 * span, and handed out as one summary when tokens return, so nothing disappears without
 * a trace.
 */
import type { Severity } from "../rules/index.js";
import { SEVERITIES } from "../rules/index.js";

/** A step back in packet time larger than this restarts the bucket's clock. */
const CLOCK_STEP_MS = 60_000;

export interface HeldBack {
  total: number;
  /** Rule id -> alerts held back. */
  byRule: Map<string, number>;
  /** The most severe alert held back. */
  severity: Severity;
  firstMs: number;
  lastMs: number;
}

export class AlertRateLimit {
  private tokens: number;
  private lastMs = Number.NaN;
  private held: HeldBack | null = null;
  /** Alerts held back since start. */
  heldTotal = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** True when the alert may go out now; false when it was counted as held back. */
  take(nowMs: number, ruleId: string, severity: Severity): boolean {
    this.refill(nowMs);
    if (this.tokens >= 1) {
      this.tokens--;
      return true;
    }
    if (this.held === null) {
      this.held = { total: 0, byRule: new Map(), severity, firstMs: nowMs, lastMs: nowMs };
    }
    const h = this.held;
    h.total++;
    h.byRule.set(ruleId, (h.byRule.get(ruleId) ?? 0) + 1);
    if (SEVERITIES.indexOf(severity) > SEVERITIES.indexOf(h.severity)) h.severity = severity;
    h.lastMs = Math.max(h.lastMs, nowMs);
    this.heldTotal++;
    return false;
  }

  /**
   * What was held back, once a token is free for its summary (which takes it), or at the
   * end (`force`): null when nothing is owed or the bucket is still empty.
   */
  takeHeld(nowMs: number, force = false): HeldBack | null {
    if (this.held === null) return null;
    this.refill(nowMs);
    if (!force) {
      if (this.tokens < 1) return null;
      this.tokens--;
    }
    const h = this.held;
    this.held = null;
    return h;
  }

  private refill(nowMs: number): void {
    // The packet clock stepped back a lot (an NTP step on the sensor, a replay restarted):
    // start counting from here rather than waiting for time to pass the old maximum.
    if (!Number.isNaN(this.lastMs) && nowMs < this.lastMs - CLOCK_STEP_MS) this.lastMs = nowMs;
    if (!Number.isNaN(this.lastMs) && nowMs > this.lastMs) {
      this.tokens = Math.min(
        this.burst,
        this.tokens + ((nowMs - this.lastMs) / 1000) * this.perSecond,
      );
    }
    if (Number.isNaN(this.lastMs) || nowMs > this.lastMs) this.lastMs = nowMs;
  }
}
