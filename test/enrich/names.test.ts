import { describe, expect, it } from "vitest";
import { NameTable } from "../../src/enrich/names.js";

const opts = { maxEntries: 3, minTtlSeconds: 60, maxTtlSeconds: 3600 };

describe("passive DNS name table", () => {
  it("prefers the client's own lookup, then another client's", () => {
    const t = new NameTable(opts);
    t.learn("10.0.0.11", "198.51.100.7", "litedev.hik-connect.com", 300, 0);
    expect(t.lookup("10.0.0.11", "198.51.100.7", 1000)).toEqual({
      name: "litedev.hik-connect.com",
      source: "dns",
    });
    expect(t.lookup("10.0.0.12", "198.51.100.7", 1000)).toEqual({
      name: "litedev.hik-connect.com",
      source: "dns-other-client",
    });
    expect(t.lookup("10.0.0.11", "198.51.100.8", 1000)).toBeNull();
  });

  it("keeps answers at least minTtl and at most maxTtl, on the packet clock", () => {
    const t = new NameTable(opts);
    t.learn("c", "a1", "short.example", 5, 0);
    t.learn("c", "a2", "long.example", 999_999, 0);
    expect(t.lookup("c", "a1", 59_000)?.name).toBe("short.example");
    expect(t.lookup("c", "a1", 61_000)).toBeNull();
    expect(t.lookup("c", "a2", 3_599_000)?.name).toBe("long.example");
    expect(t.lookup("c", "a2", 3_601_000)).toBeNull();
    expect(t.stats.expired).toBe(4); // each answer expires from both maps
  });

  it("is bounded, evicting the least recently learned and counting it", () => {
    const t = new NameTable(opts);
    for (let i = 0; i < 5; i++) t.learn("c", `a${i}`, `n${i}.example`, 300, 0);
    expect(t.size).toBe(3);
    expect(t.stats.evictions).toBe(4); // two from each of the two maps
    expect(t.lookup("c", "a0", 0)).toBeNull();
    expect(t.lookup("c", "a4", 0)?.name).toBe("n4.example");
  });

  it("a newer answer for the same address replaces the name", () => {
    const t = new NameTable(opts);
    t.learn("c", "a", "old.example", 300, 0);
    t.learn("c", "a", "new.example", 300, 1);
    expect(t.lookup("c", "a", 2)?.name).toBe("new.example");
  });
});
