/**
 * looksLikeTls on the first payload of real connections (the committed capture: TLS to
 * 443, DNS over TCP, HTTP) and on near misses.
 */

import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { looksLikeSslv2Hello, looksLikeTls } from "../../../src/protocols/tls/recognise.js";
import { hex } from "../../helpers/packets.js";
import { directionBytes, readTcpConnections } from "./tcp-streams.js";

const NAMESPACE_PCAP = fileURLToPath(
  new URL("../../fixtures/real/namespace-clients.pcap", import.meta.url),
);

test("every first client payload of the real capture: TLS exactly on port 443", async () => {
  let tls = 0;
  let other = 0;
  for (const c of await readTcpConnections(NAMESPACE_PCAP)) {
    for (const fromClient of [true, false]) {
      const first = c.segments.find((s) => s.fromClient === fromClient && s.payload.length > 0);
      if (first === undefined) continue;
      const yes = looksLikeTls(first.payload, 0, first.payload.length);
      expect(yes).toBe(c.serverPort === 443);
      if (yes) tls++;
      else other++;
    }
    // Also when only the first 5 or 3 bytes have arrived.
    const bytes = directionBytes(c, true);
    if (bytes.length > 0) {
      expect(looksLikeTls(bytes, 0, 5)).toBe(c.serverPort === 443);
      expect(looksLikeTls(bytes, 0, 3)).toBe(c.serverPort === 443);
    }
  }
  expect(tls).toBe(20);
  expect(other).toBeGreaterThan(10);
});

test("near misses", () => {
  const t = (h: string, o = {}) => {
    const b = hex(h);
    return looksLikeTls(b, 0, b.length, o);
  };
  expect(t("16 03 01 02 00 01")).toBe(true);
  expect(t("16 03 03 00 5a 02")).toBe(true); // a ServerHello
  expect(t("16 03")).toBe(false); // too little evidence
  expect(t("16 03 05 02 00 01")).toBe(false); // version 3.5
  expect(t("16 02 00 02 00 01")).toBe(false);
  expect(t("16 03 01 ff ff 01")).toBe(false); // record too long
  expect(t("16 03 01 00 02 01")).toBe(false); // too short for a handshake header
  expect(t("16 03 01 02 00 0b")).toBe(false); // a Certificate cannot come first
  expect(t("17 03 03 00 20 00")).toBe(false); // application data
  expect(t("47 45 54 20 2f 20")).toBe(false); // "GET / "
  // An offset into a bigger buffer.
  const b = hex("ff ff 16 03 01 00 c8 01");
  expect(looksLikeTls(b, 2, 6)).toBe(true);
});

test("SSLv2-compatible ClientHello only when asked for", () => {
  const v2 = hex("80 2e 01 03 01 00 15 00 00 00 10");
  expect(looksLikeTls(v2, 0, v2.length)).toBe(false);
  expect(looksLikeTls(v2, 0, v2.length, { sslv2: true })).toBe(true);
  expect(looksLikeSslv2Hello(hex("80 2e 02 03 01"), 0, 5)).toBe(false);
  expect(looksLikeSslv2Hello(hex("80 2e 01 04 00"), 0, 5)).toBe(false);
});
