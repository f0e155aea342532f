/**
 * The global alert rate limit (AlertRateLimit): a token bucket in packet time, what it
 * holds back counted per rule with the worst severity, and the held-back summary handed
 * out only when a token is free (or at the end, forced).
 */
import { describe, expect, it } from "vitest";
import { AlertRateLimit } from "../../src/alert/rate-limit.js";

const T0 = 1_700_000_000_000;

describe("AlertRateLimit", () => {
  it("lets a burst through, then refills per second of packet time", () => {
    const limit = new AlertRateLimit(2, 3);
    expect([1, 2, 3, 4].map(() => limit.take(T0, "R1", "low"))).toEqual([true, true, true, false]);
    // Half a token after 250 ms, one after 500 ms.
    expect(limit.take(T0 + 250, "R1", "low")).toBe(false);
    expect(limit.take(T0 + 500, "R1", "low")).toBe(true);
    expect(limit.take(T0 + 500, "R1", "low")).toBe(false);
    // A long quiet spell refills up to the burst, no more.
    const later = T0 + 3_600_000;
    expect([1, 2, 3, 4].map(() => limit.take(later, "R1", "low"))).toEqual([
      true,
      true,
      true,
      false,
    ]);
    // Packet time going back gives no tokens.
    expect(limit.take(T0, "R1", "low")).toBe(false);
    expect(limit.heldTotal).toBe(5);
  });

  it("counts what it holds back by rule, with the worst severity and the time span", () => {
    const limit = new AlertRateLimit(1, 1);
    expect(limit.take(T0, "R1", "info")).toBe(true);
    expect(limit.take(T0 + 100, "R1", "low")).toBe(false);
    expect(limit.take(T0 + 200, "R2", "critical")).toBe(false);
    expect(limit.take(T0 + 300, "R1", "medium")).toBe(false);
    expect(limit.takeHeld(T0 + 999)).toBeNull(); // no token free yet
    const held = limit.takeHeld(T0 + 1000);
    expect(held).not.toBeNull();
    expect(held!.total).toBe(3);
    expect([...held!.byRule]).toEqual([
      ["R1", 2],
      ["R2", 1],
    ]);
    expect(held!.severity).toBe("critical");
    expect(held!.firstMs).toBe(T0 + 100);
    expect(held!.lastMs).toBe(T0 + 300);
    // Handed out once; the summary took the free token.
    expect(limit.takeHeld(T0 + 1000)).toBeNull();
    expect(limit.take(T0 + 1000, "R1", "low")).toBe(false);
    expect(limit.heldTotal).toBe(4);
  });

  it("hands the held back out at the end without a token, and nothing when none was held", () => {
    const limit = new AlertRateLimit(1, 1);
    expect(limit.takeHeld(T0, true)).toBeNull();
    limit.take(T0, "R1", "high");
    limit.take(T0, "R1", "high");
    expect(limit.takeHeld(T0)).toBeNull();
    expect(limit.takeHeld(T0, true)).toMatchObject({ total: 1, severity: "high" });
    expect(limit.takeHeld(T0, true)).toBeNull();
    // Forcing took no token: the one that returns a second later is there for an alert.
    expect(limit.take(T0 + 1000, "R1", "high")).toBe(true);
  });

  it("starts a new count after a summary", () => {
    const limit = new AlertRateLimit(1, 1);
    limit.take(T0, "R1", "critical");
    limit.take(T0, "R1", "critical");
    expect(limit.takeHeld(T0 + 1000)).toMatchObject({ total: 1, severity: "critical" });
    limit.take(T0 + 1000, "R3", "low");
    const next = limit.takeHeld(T0 + 2000);
    expect(next).toMatchObject({ total: 1, severity: "low", firstMs: T0 + 1000 });
    expect([...next!.byRule]).toEqual([["R3", 1]]);
  });
});
