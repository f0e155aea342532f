import { describe, expect, it } from "vitest";
import { formatMac, formatTimestamp } from "../../src/output/format.js";
import { formatIPv6 } from "../../src/util/ip-text.js";
import { ipv6Bytes } from "../helpers/packets.js";

function words(addr: string): [number, number, number, number] {
  const b = ipv6Bytes(addr);
  return [b.readUInt32BE(0), b.readUInt32BE(4), b.readUInt32BE(8), b.readUInt32BE(12)];
}

describe("record formatting", () => {
  it.each([
    ["2001:db8::1", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["fe80::", "fe80::"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["::ffff:c000:20b", "::ffff:192.0.2.11"],
  ])("writes %s as %s (RFC 5952)", (input, expected) => {
    expect(formatIPv6(...words(input))).toBe(expected);
  });

  it("writes MACs in ECS form", () => {
    expect(formatMac(0x4419b6_0a0b0c)).toBe("44-19-B6-0A-0B-0C");
  });

  it("keeps nanoseconds from packet time", () => {
    expect(formatTimestamp(1_700_000_000, 5)).toBe("2023-11-14T22:13:20.000000005Z");
  });
});
