/**
 * Folding repeats (AlertDedup) in packet time: the first alert goes out, repeats within the
 * cooldown are counted, the next alert after it carries the count, due() hands out one
 * summary per cooldown, eviction past maxKeys hands back what is owed, takeDirty() feeds
 * the store.
 */
import { describe, expect, it } from "vitest";
import { AlertDedup, type DedupEntry } from "../../src/alert/dedup.js";

const K = "R1|cam|cloud";
const COOLDOWN = 60_000;

/** An alert for `key` goes out at `t` (as the router does it); returns what it carries. */
function send(
  d: AlertDedup,
  key: string,
  t: number,
  cooldown = COOLDOWN,
  evicted: DedupEntry[] = [],
) {
  return d.sent(key, "R1", cooldown, t, evicted);
}

describe("AlertDedup", () => {
  it("sends the first, folds repeats within the cooldown, reports them on the next", () => {
    const d = new AlertDedup({ maxKeys: 10 });
    expect(d.isRepeat(K, 1000)).toBe(false);
    expect(send(d, K, 1000)).toBeNull();

    for (const t of [2000, 5000, 60_999]) {
      expect(d.isRepeat(K, t)).toBe(true);
      d.fold(K, t, JSON.stringify({ t }));
    }
    expect(d.folded).toBe(3);
    // The cooldown ends exactly cooldown ms after the alert went out.
    expect(d.isRepeat(K, 61_000)).toBe(false);
    expect(send(d, K, 61_000)).toEqual({ count: 3, firstMs: 2000, lastMs: 60_999 });
    // A new cooldown started: the next repeat folds again, and the count starts over.
    expect(d.isRepeat(K, 61_001)).toBe(true);
    expect(send(d, K, 200_000)).toBeNull();
  });

  it("keeps keys apart", () => {
    const d = new AlertDedup({ maxKeys: 10 });
    send(d, K, 1000);
    expect(d.isRepeat("R1|cam|other", 1500)).toBe(false);
    expect(d.isRepeat("R2|cam|cloud", 1500)).toBe(false);
  });

  it("never folds with a cooldown of 0", () => {
    const d = new AlertDedup({ maxKeys: 10 });
    send(d, K, 1000, 0);
    expect(d.isRepeat(K, 1000)).toBe(false);
    expect(send(d, K, 1000, 0)).toBeNull();
    expect(d.due(1_000_000)).toEqual([]);
  });

  it("hands out a summary once per cooldown when no alert comes", () => {
    const d = new AlertDedup({ maxKeys: 10 });
    send(d, K, 0);
    d.fold(K, 1000, '{"n":1}');
    d.fold(K, 2000, '{"n":2}');
    expect(d.due(59_999)).toEqual([]);
    const [due, ...rest] = d.due(60_000);
    expect(rest).toEqual([]);
    expect(due).toMatchObject({ key: K, folded: 2, firstFoldedMs: 1000, lastFoldedMs: 2000 });
    expect(due!.pending).toBe('{"n":2}');
    // Handed out once: the summary started a new cooldown at 60 000.
    expect(d.due(60_000)).toEqual([]);
    expect(d.isRepeat(K, 119_999)).toBe(true);
    d.fold(K, 70_000, '{"n":3}');
    expect(d.due(119_999)).toEqual([]);
    expect(d.due(120_000)).toMatchObject([{ key: K, folded: 1, firstFoldedMs: 70_000 }]);
    // Nothing owed, nothing handed out, however late.
    expect(d.due(10_000_000)).toEqual([]);
    // The alert after a summary carries only what was folded since.
    expect(send(d, K, 10_000_000)).toBeNull();
  });

  it("hands out every key with repeats owed at the end, starting a cooldown then", () => {
    const d = new AlertDedup({ maxKeys: 10 });
    send(d, "a", 0);
    send(d, "b", 0);
    send(d, "c", 0);
    d.fold("a", 1000, "{}");
    d.fold("b", 2000, "{}");
    expect(d.due(2000)).toEqual([]); // cooldowns still running
    const owed = d.due(2000, true);
    expect(owed.map((e) => [e.key, e.folded])).toEqual([
      ["a", 1],
      ["b", 1],
    ]);
    expect(d.due(2000, true)).toEqual([]);
    // The new cooldown runs from that time, like any summary's (and is saved as such).
    expect(d.isRepeat("a", 2000 + COOLDOWN - 1)).toBe(true);
    expect(d.isRepeat("a", 2000 + COOLDOWN)).toBe(false);
    const saved = d.takeDirty().find((c) => c.key === "a")!.entry!;
    expect(saved.sentMs).toBe(2000);
  });

  it("evicts the least recently seen key past maxKeys, handing back owed repeats", () => {
    const d = new AlertDedup({ maxKeys: 2 });
    const evicted: DedupEntry[] = [];
    send(d, "a", 0, COOLDOWN, evicted);
    send(d, "b", 10, COOLDOWN, evicted);
    d.fold("a", 20, '{"k":"a"}'); // a is now the most recently seen
    send(d, "c", 30, COOLDOWN, evicted); // b goes: nothing owed
    expect(d.size).toBe(2);
    expect(d.evictions).toBe(1);
    expect(evicted).toEqual([]);
    expect(d.isRepeat("b", 40)).toBe(false);
    expect(d.isRepeat("a", 40)).toBe(true);

    send(d, "d", 50, COOLDOWN, evicted); // a goes, with its repeat
    expect(d.evictions).toBe(2);
    expect(evicted).toHaveLength(1);
    expect(evicted[0]).toMatchObject({
      key: "a",
      folded: 1,
      firstFoldedMs: 20,
      pending: '{"k":"a"}',
    });
    expect(d.isRepeat("a", 60)).toBe(false);
  });

  it("marks what changed for the store, evicted keys as null", () => {
    const d = new AlertDedup({ maxKeys: 1 });
    send(d, "a", 0);
    d.fold("a", 5, "{}");
    const first = d.takeDirty();
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ key: "a", entry: { folded: 1, sentMs: 0 } });
    expect(d.takeDirty()).toEqual([]);

    send(d, "b", 10, COOLDOWN, []);
    const changes = d.takeDirty();
    expect(changes.map((c) => [c.key, c.entry?.key ?? null]).sort()).toEqual([
      ["a", null],
      ["b", "b"],
    ]);
    expect(d.due(COOLDOWN + 10)).toEqual([]);
    expect(d.takeDirty()).toEqual([]);
  });

  it("folds against restored state", () => {
    const d = new AlertDedup({ maxKeys: 10 });
    d.restore([
      {
        key: K,
        ruleId: "R1",
        cooldownMs: COOLDOWN,
        sentMs: 1000,
        folded: 4,
        firstFoldedMs: 2000,
        lastFoldedMs: 3000,
        pending: "{}",
      },
    ]);
    expect(d.isRepeat(K, 4000)).toBe(true);
    d.fold(K, 4000, "{}");
    expect(send(d, K, 61_000)).toEqual({ count: 5, firstMs: 2000, lastMs: 4000 });
  });
});
