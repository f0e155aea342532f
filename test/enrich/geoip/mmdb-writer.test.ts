import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Reader, type Response } from "maxmind";
import { afterAll, describe, expect, it } from "vitest";
import {
  double,
  float,
  int32,
  type MmdbNetwork,
  uint16,
  uint32,
  uint64,
  uint128,
  writeMmdb,
} from "../../helpers/mmdb-writer.js";

const HAVE_MMDBLOOKUP = spawnSync("mmdblookup", ["--version"]).status === 0;
const dir = mkdtempSync(join(tmpdir(), "egressd-mmdb-writer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function read(buf: Buffer): Reader<Response> {
  return new Reader<Response>(buf);
}

/** mmdblookup's answer for one path in the record, e.g. ["country", "iso_code"]. */
function mmdblookup(buf: Buffer, ip: string, path: string[] = []): string {
  const file = join(dir, `db-${Math.random().toString(36).slice(2)}.mmdb`);
  writeFileSync(file, buf);
  const r = spawnSync("mmdblookup", ["--file", file, "--ip", ip, ...path], { encoding: "utf8" });
  // It exits 1 for an address with no entry, saying so on stderr.
  return r.stdout + r.stderr;
}

describe("test MaxMind DB writer", () => {
  it("writes every data type so that the maxmind reader reads it back", () => {
    const record = {
      text: "héllo, wörld",
      empty: "",
      long29: "x".repeat(29),
      long300: "y".repeat(300),
      long70k: "z".repeat(70_000),
      u16: uint16(65535),
      u32: uint32(4_000_000_000),
      u64: uint64(2n ** 63n + 5n),
      u128: uint128(2n ** 100n + 7n),
      i32: int32(-123456),
      i32small: int32(7),
      zero: uint32(0),
      d: double(-122.0775),
      f: float(1.5),
      yes: true,
      no: false,
      bytes: new Uint8Array([0, 1, 254, 255]),
      list: ["a", uint32(1), { nested: ["deep"] }],
      map: { inner: { innermost: "x" } },
    };
    const db = read(
      writeMmdb([{ network: "192.0.2.0/24", data: record }], { databaseType: "Test-Types" }),
    );
    expect(db.get("192.0.2.77")).toEqual({
      ...record,
      u16: 65535,
      u32: 4_000_000_000,
      u64: 2n ** 63n + 5n,
      u128: 2n ** 100n + 7n,
      i32: -123456,
      i32small: 7,
      zero: 0,
      d: -122.0775,
      f: 1.5,
      bytes: Buffer.from([0, 1, 254, 255]),
      list: ["a", 1, { nested: ["deep"] }],
    });
    expect(db.metadata.databaseType).toBe("Test-Types");
    expect(db.metadata.buildEpoch.toISOString()).toBe("2026-06-01T00:00:00.000Z");
  });

  for (const recordSize of [24, 28, 32] as const) {
    for (const ipVersion of [4, 6] as const) {
      it(`builds a search tree with ${recordSize}-bit records for IPv${ipVersion}`, () => {
        const networks: MmdbNetwork[] = [
          { network: "0.0.0.0/1", data: { n: "low half" } },
          { network: "10.0.0.0/8", data: { n: "ten" } },
          { network: "10.1.0.0/16", data: { n: "ten-one" } }, // inside the /8: more specific wins
          { network: "192.0.2.128/25", data: { n: "doc upper" } },
          { network: "255.255.255.255/32", data: { n: "last" } },
        ];
        if (ipVersion === 6) {
          networks.push({ network: "2001:db8::/32", data: { n: "v6 doc" } });
          networks.push({ network: "2001:db8:1::/48", data: { n: "v6 doc one" } });
          networks.push({ network: "ffff::/16", data: { n: "v6 top" } });
        }
        const buf = writeMmdb(networks, { databaseType: "Test-Tree", recordSize, ipVersion });
        const db = read(buf);
        expect(db.metadata).toMatchObject({ recordSize, ipVersion });
        const expected: [string, string | null][] = [
          ["1.2.3.4", "low half"],
          ["10.200.0.1", "ten"],
          ["10.1.9.9", "ten-one"],
          ["192.0.2.127", null],
          ["192.0.2.128", "doc upper"],
          ["192.0.2.255", "doc upper"],
          ["255.255.255.254", null],
          ["255.255.255.255", "last"],
        ];
        if (ipVersion === 6) {
          expected.push(
            ["2001:db8::1", "v6 doc"],
            ["2001:db8:1::1", "v6 doc one"],
            ["2001:db9::", null],
            ["ffff::1", "v6 top"],
          );
        }
        for (const [ip, n] of expected) {
          expect((db.get(ip) as { n: string } | null)?.n ?? null, ip).toBe(n);
          if (HAVE_MMDBLOOKUP) {
            const out = mmdblookup(buf, ip, ["n"]);
            if (n === null) expect(out, ip).toMatch(/Could not find an entry/);
            else expect(out, ip).toContain(`"${n}" <utf8_string>`);
          }
        }
      });
    }
  }

  it("uses pointers of every size for repeated strings and records", () => {
    // Unique filler pushes later records past the 2 KiB and 512 KiB pointer boundaries.
    const networks: MmdbNetwork[] = [];
    for (let i = 0; i < 40; i++) {
      networks.push({
        network: `10.0.${i}.0/24`,
        data: { shared_key: "shared value", filler: `${i}-${"f".repeat(i < 20 ? 200 : 30_000)}` },
      });
    }
    const plain = writeMmdb(networks, { databaseType: "Test-Pointers", pointers: false });
    const pointed = writeMmdb(networks, { databaseType: "Test-Pointers" });
    expect(pointed.length).toBeGreaterThan(526_336);
    expect(pointed.length).toBeLessThan(plain.length);
    const db = read(pointed);
    for (let i = 0; i < 40; i++) {
      const r = db.get(`10.0.${i}.9`) as { shared_key: string; filler: string };
      expect(r.shared_key).toBe("shared value");
      expect(r.filler.startsWith(`${i}-`)).toBe(true);
    }
    if (HAVE_MMDBLOOKUP)
      expect(mmdblookup(pointed, "10.0.39.1", ["shared_key"])).toContain('"shared value"');
  });

  it("writes the same bytes for the same input", () => {
    const n: MmdbNetwork[] = [{ network: "2001:db8::/32", data: { a: "b" } }];
    expect(writeMmdb(n, { databaseType: "X" }).equals(writeMmdb(n, { databaseType: "X" }))).toBe(
      true,
    );
  });
});
