/** Pairing queries and responses into transactions: every query reported exactly once. */

import { describe, expect, test } from "vitest";
import type { DnsMessage, DnsTransaction } from "../../../src/protocols/dns/record.js";
import {
  type DnsTrackerOptions,
  DnsTransactionTracker,
} from "../../../src/protocols/dns/transactions.js";
import { type BuildMessage, message } from "./build.js";

function tracker(options: DnsTrackerOptions = { maxPending: 100, timeoutMs: 5000 }) {
  const out: DnsTransaction[] = [];
  const t = new DnsTransactionTracker(options, (tx) => out.push(tx));
  /** Feeds one message at time `ms` (milliseconds since the epoch). */
  const feed = (
    flowId: number,
    fromInitiator: boolean,
    m: DnsMessage,
    ms: number,
    kind: "dns" | "mdns" | "llmnr" = "dns",
  ) => {
    t.onMessage(
      flowId,
      fromInitiator,
      m,
      Math.floor(ms / 1000),
      (ms % 1000) * 1e6,
      ms,
      kind,
      "udp",
    );
  };
  return { t, out, feed };
}

const q = (id: number, name = "cam.example.test", type = 1, extra: Partial<BuildMessage> = {}) =>
  message({ id, question: { name, type }, ...extra });

const r = (
  id: number,
  name = "cam.example.test",
  answers: BuildMessage["answers"] = [{ name, type: 1, data: "192.0.2.1" }],
  extra: Partial<BuildMessage> = {},
) => message({ id, response: true, question: { name, type: 1 }, answers, ...extra });

describe("DnsTransactionTracker", () => {
  test("a query and its response", () => {
    const { t, out, feed } = tracker();
    feed(1, true, q(0x10), 1_000_000);
    expect(out).toEqual([]);
    feed(1, false, r(0x10, "cam.example.test", undefined, { aa: true }), 1_000_025);
    expect(out).toHaveLength(1);
    expect(out[0]).toEqual({
      tsSec: 1000,
      tsNsec: 0,
      flowId: 1,
      transport: "udp",
      kind: "dns",
      id: 0x10,
      opcode: 0,
      query: "cam.example.test",
      queryLower: "cam.example.test",
      qtype: 1,
      qtypeName: "A",
      qclass: 1,
      rcode: 0,
      rcodeName: "NOERROR",
      answers: [
        { name: "cam.example.test", type: 1, typeName: "A", class: 1, ttl: 60, data: "192.0.2.1" },
      ],
      addresses: ["192.0.2.1"],
      ttls: [60],
      cnames: [],
      answered: true,
      sawQuery: true,
      rtt: 0.025,
      aa: true,
      tc: false,
      rd: true,
      ra: true,
      closedBy: "response",
    });
    expect(t.pendingCount).toBe(0);
    expect(t.stats).toMatchObject({ queries: 1, responses: 1, paired: 1 });
  });

  test("a response without a query is reported on its own", () => {
    const { t, out, feed } = tracker();
    feed(2, false, r(0x20, "Cam.Example.Test"), 5000);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      tsSec: 5,
      answered: true,
      sawQuery: false,
      query: "Cam.Example.Test",
      queryLower: "cam.example.test",
      addresses: ["192.0.2.1"],
      rtt: undefined,
      closedBy: "response",
    });
    expect(t.stats.responsesWithoutQuery).toBe(1);
  });

  test("an unanswered query is reported when it times out, on packet time", () => {
    const { t, out, feed } = tracker({ maxPending: 10, timeoutMs: 5000 });
    feed(1, true, q(1), 10_000);
    feed(1, true, q(2, "b.example.test"), 12_000);
    t.expire(14_999);
    expect(out).toEqual([]);
    t.expire(15_000);
    expect(out.map((x) => [x.id, x.answered, x.closedBy, x.rcodeName, x.rtt])).toEqual([
      [1, false, "timeout", undefined, undefined],
    ]);
    // A late response: the query has been reported; the response stands alone.
    feed(1, false, r(1), 15_500);
    expect(out[1]).toMatchObject({ id: 1, sawQuery: false, answered: true });
    t.flush();
    expect(out.map((x) => [x.id, x.closedBy])).toEqual([
      [1, "timeout"],
      [1, "response"],
      [2, "flush"],
    ]);
    expect(t.stats).toMatchObject({ timeouts: 1, flushed: 1 });
  });

  test("at the bound the oldest query is evicted and reported, never dropped", () => {
    const { t, out, feed } = tracker({ maxPending: 2, timeoutMs: 60_000 });
    feed(1, true, q(1), 1000);
    feed(2, true, q(2), 1001);
    feed(3, true, q(3), 1002);
    expect(out.map((x) => [x.flowId, x.answered, x.closedBy])).toEqual([[1, false, "eviction"]]);
    expect(t.stats.evictions).toBe(1);
    expect(t.pendingCount).toBe(2);
    feed(3, false, r(3), 1010);
    t.flush();
    expect(out.map((x) => [x.flowId, x.closedBy])).toEqual([
      [1, "eviction"],
      [3, "response"],
      [2, "flush"],
    ]);
  });

  test("a retry of the same query is one transaction; a new question with the same ID supersedes", () => {
    const { t, out, feed } = tracker();
    feed(1, true, q(7), 1000);
    feed(1, true, q(7, "CAM.example.test"), 2000);
    expect(t.stats.retransmissions).toBe(1);
    feed(1, true, q(7, "other.example.test"), 3000);
    expect(out.map((x) => [x.query, x.closedBy])).toEqual([["cam.example.test", "superseded"]]);
    feed(1, false, r(7, "other.example.test"), 3100);
    expect(out[1]).toMatchObject({ query: "other.example.test", rtt: 0.1, closedBy: "response" });
  });

  test("a response for another question does not take the query", () => {
    const { t, out, feed } = tracker();
    feed(1, true, q(9, "a.example.test"), 1000);
    feed(1, false, r(9, "b.example.test"), 1010);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ query: "b.example.test", sawQuery: false });
    expect(t.pendingCount).toBe(1);
  });

  test("matching uses flow, direction and ID", () => {
    const { out, feed } = tracker();
    feed(1, true, q(5), 1000);
    feed(2, false, r(5), 1001); // another flow
    feed(1, true, r(5), 1002); // from the side that asked
    feed(1, false, r(5), 1003);
    expect(out.map((x) => [x.flowId, x.sawQuery])).toEqual([
      [2, false],
      [1, false],
      [1, true],
    ]);
    // The responder may ask too (mDNS peers, DNS on a shared port).
    feed(4, false, q(6), 2000);
    feed(4, true, r(6), 2001);
    expect(out.at(-1)).toMatchObject({ flowId: 4, sawQuery: true });
  });

  test("a response without a question pairs by ID", () => {
    const { out, feed } = tracker();
    feed(1, true, q(3), 1000);
    feed(1, false, message({ id: 3, response: true, rcode: 2 }), 1001);
    expect(out[0]).toMatchObject({
      query: "cam.example.test",
      rcodeName: "SERVFAIL",
      sawQuery: true,
    });
  });

  test("the CNAME chain is followed case-insensitively; other owners' addresses are left out", () => {
    const { out, feed } = tracker();
    feed(1, true, q(1, "Update.Example.Test"), 1000);
    feed(
      1,
      false,
      r(1, "Update.Example.Test", [
        { name: "update.example.test", type: 5, data: "Cam.Example.Test" },
        { name: "cam.example.test", type: 5, data: "cdn.example.test" },
        { name: "CDN.example.test", type: 1, ttl: 30, data: "192.0.2.53" },
        { name: "cdn.example.test", type: 28, ttl: 40, data: "2001:db8::53" },
        { name: "unrelated.example.test", type: 1, data: "192.0.2.99" },
      ]),
      1001,
    );
    expect(out[0]).toMatchObject({
      cnames: ["Cam.Example.Test", "cdn.example.test"],
      addresses: ["192.0.2.53", "2001:db8::53"],
      ttls: [30, 40],
    });
  });

  test("a CNAME loop in the answers ends", () => {
    const { out, feed } = tracker();
    feed(1, true, q(1, "a.test"), 1000);
    feed(
      1,
      false,
      r(1, "a.test", [
        { name: "a.test", type: 5, data: "b.test" },
        { name: "b.test", type: 5, data: "a.test" },
      ]),
      1001,
    );
    expect(out[0]).toMatchObject({ cnames: ["b.test", "a.test"], addresses: [] });
  });

  test("mDNS: the QU bit is not part of the query class", () => {
    const { out, feed } = tracker();
    feed(
      1,
      true,
      message({ id: 0, question: { name: "cam.local", type: 1, class: 0x8001 } }),
      1000,
      "mdns",
    );
    feed(
      1,
      false,
      message({ id: 0, response: true, question: { name: "cam.local", type: 1, class: 1 } }),
      1001,
      "mdns",
    );
    expect(out[0]).toMatchObject({ kind: "mdns", qclass: 1, sawQuery: true });
  });

  test("deterministic: the same inputs give the same output", () => {
    const run = () => {
      const { t, out, feed } = tracker({ maxPending: 3, timeoutMs: 100 });
      for (let i = 0; i < 50; i++) {
        feed(i % 7, true, q(i % 5, `n${i % 4}.test`), 1000 + i * 10);
        if (i % 3 === 0) feed(i % 7, false, r(i % 5, `n${i % 4}.test`), 1000 + i * 10 + 5);
        t.expire(1000 + i * 10);
      }
      t.flush();
      return JSON.stringify(out);
    };
    expect(run()).toBe(run());
  });
});
