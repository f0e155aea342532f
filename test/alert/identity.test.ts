/**
 * What makes two alerts "the same" (the dedup key: rule | device | destination, with its
 * fallbacks) and the alert id (a deterministic hash that changes with time, trigger and salt).
 */
import { describe, expect, it } from "vitest";
import { alertDestination, alertDevice, alertId, dedupKey } from "../../src/alert/identity.js";

const base = {
  "@timestamp": "2024-05-01T10:00:00.123456789Z",
  rule: { id: "EGR-VC-001" },
  source: { ip: "10.20.0.11" },
  destination: { ip: "203.0.113.7", domain: "litedev.hik-connect.com", as: { number: 37963 } },
  dns: { question: { name: "dns.hik-connect.com" } },
  network: { community_id: "1:abc=" },
  egressd: {
    trigger: "tls_client_hello",
    source_device: { id: "mac:44-19-B6-12-34-56" },
    device: { id: "mac:00-00-00-00-00-01" },
  },
};

/** A deep copy of `base` with some paths removed. */
function without(...paths: string[]): Record<string, unknown> {
  const r = structuredClone(base) as Record<string, unknown>;
  for (const p of paths) {
    const parts = p.split(".");
    let o = r as Record<string, unknown>;
    for (const k of parts.slice(0, -1)) o = o[k] as Record<string, unknown>;
    delete o[parts.at(-1)!];
  }
  return r;
}

describe("dedup key", () => {
  it("is rule|device|destination", () => {
    expect(dedupKey(base)).toBe("EGR-VC-001|mac:44-19-B6-12-34-56|dns.hik-connect.com");
  });

  it("takes the source device id, else the device id, else the source address", () => {
    expect(alertDevice(base)).toBe("mac:44-19-B6-12-34-56");
    expect(alertDevice(without("egressd.source_device"))).toBe("mac:00-00-00-00-00-01");
    expect(alertDevice(without("egressd.source_device", "egressd.device"))).toBe("10.20.0.11");
    expect(alertDevice(without("egressd.source_device", "egressd.device", "source"))).toBe("-");
    // An empty id is no id.
    const empty = without();
    (empty.egressd as { source_device: { id: string } }).source_device.id = "";
    expect(alertDevice(empty)).toBe("mac:00-00-00-00-00-01");
  });

  it("takes the DNS name, else destination.domain, else AS<n>, else the address", () => {
    expect(alertDestination(base)).toBe("dns.hik-connect.com");
    expect(alertDestination(without("dns"))).toBe("litedev.hik-connect.com");
    expect(alertDestination(without("dns", "destination.domain"))).toBe("AS37963");
    expect(alertDestination(without("dns", "destination.domain", "destination.as"))).toBe(
      "203.0.113.7",
    );
    expect(alertDestination(without("dns", "destination"))).toBe("-");
  });

  it("tells rules, devices and destinations apart and tolerates an empty record", () => {
    const other = without("dns");
    expect(dedupKey(other)).toBe("EGR-VC-001|mac:44-19-B6-12-34-56|litedev.hik-connect.com");
    const otherRule = structuredClone(base);
    otherRule.rule.id = "EGR-VC-002";
    expect(dedupKey(otherRule)).toBe("EGR-VC-002|mac:44-19-B6-12-34-56|dns.hik-connect.com");
    expect(dedupKey({})).toBe("-|-|-");
  });
});

describe("alert id", () => {
  const key = dedupKey(base);
  const id = alertId(base, "sensor-1", key);

  it("is 24 hex digits, the same for the same alert", () => {
    expect(id).toMatch(/^[0-9a-f]{24}$/);
    expect(alertId(structuredClone(base), "sensor-1", key)).toBe(id);
  });

  it("differs by time, trigger, flow, sensor, key and salt", () => {
    const later = without();
    later["@timestamp"] = "2024-05-01T10:00:00.123456790Z";
    const trigger = without();
    (trigger.egressd as { trigger: string }).trigger = "dns_query";
    const flow = without();
    (flow.network as { community_id: string }).community_id = "1:xyz=";
    const threshold = without();
    (threshold.egressd as Record<string, unknown>).threshold = { kind: "bytes_out", value: 1 };
    const ids = [
      id,
      alertId(later, "sensor-1", key),
      alertId(trigger, "sensor-1", key),
      alertId(flow, "sensor-1", key),
      alertId(threshold, "sensor-1", key),
      alertId(base, "sensor-2", key),
      alertId(base, "sensor-1", `${key}x`),
      alertId(base, "sensor-1", key, "summary@1"),
      alertId(base, "sensor-1", key, "summary@2"),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });
});
