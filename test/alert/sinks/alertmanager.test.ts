/**
 * The Alertmanager sink against a real Alertmanager (Debian's prometheus-alertmanager) on
 * loopback: alerts pushed through the sink come back from GET /api/v2/alerts with the
 * labels and annotations egressd derives from the record, distinct alerts stay distinct,
 * a repeat updates its alert, and Alertmanager's own refusals map to DeliveryErrors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AlertmanagerSink, cleanValue } from "../../../src/alert/sinks/alertmanager.js";
import { HttpPoster } from "../../../src/alert/sinks/http-post.js";
import { DeliveryError, type QueuedAlert } from "../../../src/alert/sinks/sink.js";
import {
  ALERTMANAGER_BIN,
  type GettableAlert,
  type RunningAlertmanager,
  startAlertmanager,
  waitForAlertmanagerBinary,
} from "../../helpers/alertmanager.js";

/** A stored alert record: a camera reaching a vendor cloud, seen by sensor "lab-1". */
function alert(id: string, overrides: { domain?: string; ip?: string; ts?: string } = {}) {
  const destination: Record<string, unknown> = {
    ip: overrides.ip ?? "203.0.113.7",
    port: 443,
    geo: { country_iso_code: "CN" },
  };
  if (overrides.domain !== "") destination.domain = overrides.domain ?? "litedev.hik-connect.com";
  const record = {
    "@timestamp": overrides.ts ?? new Date().toISOString().replace("Z", "123456Z"),
    event: { kind: "alert", severity: 73, action: "tls_client_hello", id },
    rule: {
      id: "cloud-p2p-hikvision",
      name: "Hikvision cloud P2P",
      description: "Hik-Connect P2P lets the vendor's cloud reach the camera.",
      reference: "https://example.org/hik-connect",
    },
    message: "Camera in cams (Hikvision, 10.20.0.11) opened TLS to litedev.hik-connect.com",
    source: { ip: "10.20.0.11", port: 40112 },
    destination,
    egressd: {
      severity: "high",
      source_device: { id: "mac:44-19-B6-12-34-56", group: "cams", role: "camera" },
      repeat: { count: 3 },
    },
    observer: { name: "lab-1" },
  };
  return { id, json: JSON.stringify(record), severity: "high" } satisfies QueuedAlert;
}

/** Alertmanager's alerts that carry the given alert_id annotation. */
function withId(alerts: GettableAlert[], id: string): GettableAlert[] {
  return alerts.filter((a) => a.annotations.alert_id === id);
}

describe("cleanValue", () => {
  it("keeps values printable, well-formed and bounded", () => {
    expect(cleanValue("a\nb\u0000c", 50)).toBe("a b c");
    expect(cleanValue("x\uD800y", 50)).toBe("x\uFFFDy");
    expect(cleanValue("😀".repeat(10), 4)).toBe("😀😀😀…");
    expect(cleanValue(42, 10)).toBe("42");
    expect(cleanValue({ a: 1 }, 10)).toBe("");
  });
});

describe("Alertmanager sink against a real Alertmanager", () => {
  let am: RunningAlertmanager | undefined;
  const sinks: AlertmanagerSink[] = [];
  const sink = (options: Partial<ConstructorParameters<typeof AlertmanagerSink>[0]> = {}) => {
    const s = new AlertmanagerSink({ name: "am", url: am!.url, ...options });
    sinks.push(s);
    return s;
  };

  beforeAll(async () => {
    // The package may still be being installed when the suite starts.
    if (!(await waitForAlertmanagerBinary(300_000))) {
      throw new Error(`${ALERTMANAGER_BIN} is missing: install prometheus-alertmanager`);
    }
    am = await startAlertmanager();
  }, 330_000);

  afterAll(async () => {
    for (const s of sinks) await s.close();
    await am?.stop();
  });

  it("pushes alerts that come back with egressd's labels and annotations", async () => {
    const s = sink({
      generatorURL: "https://siem.example/alerts/{alert_id}",
      extraLabels: { site: "plant 4" },
    });
    expect(s.maxBatch).toBe(100);
    await s.deliver([alert("evt-0001")]);
    const [got] = withId(await am!.alerts(), "evt-0001");
    expect(got).toBeDefined();
    expect(got!.labels).toEqual({
      alertname: "cloud-p2p-hikvision",
      severity: "high",
      rule_name: "Hikvision cloud P2P",
      source_ip: "10.20.0.11",
      source_device_group: "cams",
      source_device_role: "camera",
      destination: "litedev.hik-connect.com",
      destination_country: "CN",
      sensor: "lab-1",
      site: "plant 4",
    });
    expect(got!.annotations).toEqual({
      summary: "Camera in cams (Hikvision, 10.20.0.11) opened TLS to litedev.hik-connect.com",
      description: "Hik-Connect P2P lets the vendor's cloud reach the camera.",
      alert_id: "evt-0001",
      reference: "https://example.org/hik-connect",
      repeat_count: "3",
    });
    expect(got!.generatorURL).toBe("https://siem.example/alerts/evt-0001");
    expect(got!.status.state).toBe("active");
    // Firing for about resolveAfterMs (one hour) from now.
    const endsIn = Date.parse(got!.endsAt) - Date.now();
    expect(endsIn).toBeGreaterThan(55 * 60_000);
    expect(endsIn).toBeLessThan(61 * 60_000);
  });

  it("keeps alerts to different destinations apart; a repeat updates its alert", async () => {
    const s = sink();
    await s.deliver([
      alert("evt-0101", { domain: "a.vendor-cloud.example", ip: "198.51.100.1" }),
      alert("evt-0102", { domain: "", ip: "198.51.100.2" }),
    ]);
    let all = await am!.alerts();
    const a = withId(all, "evt-0101");
    const b = withId(all, "evt-0102");
    expect(a).toHaveLength(1);
    expect(b).toHaveLength(1);
    expect(a[0]!.labels.destination).toBe("a.vendor-cloud.example");
    expect(b[0]!.labels.destination).toBe("198.51.100.2"); // no name: the address
    expect(a[0]!.fingerprint).not.toBe(b[0]!.fingerprint);

    // Same identity, new event: Alertmanager keeps one alert, now naming the new event.
    await s.deliver([alert("evt-0103", { domain: "a.vendor-cloud.example", ip: "198.51.100.1" })]);
    all = await am!.alerts();
    expect(withId(all, "evt-0101")).toHaveLength(0);
    expect(withId(all, "evt-0103")[0]!.fingerprint).toBe(a[0]!.fingerprint);
  });

  it("an alert from an old capture still fires", async () => {
    const s = sink({ resolveAfterMs: 10 * 60_000 });
    const old = alert("evt-0201", { domain: "old.example", ts: "2021-06-01T08:00:00.5Z" });
    await s.deliver([old]);
    const [got] = withId(await am!.alerts(), "evt-0201");
    expect(got!.status.state).toBe("active");
    expect(Date.parse(got!.startsAt)).toBe(Date.parse("2021-06-01T08:00:00.5Z"));
    expect(Date.parse(got!.endsAt)).toBeGreaterThan(Date.now() + 9 * 60_000);
  });

  it("sanitises hostile values so Alertmanager accepts them", async () => {
    const s = sink();
    const nasty = alert("evt-0301", { domain: `evil\n${"x".repeat(1000)}\u0007.example` });
    await s.deliver([nasty]);
    const [got] = withId(await am!.alerts(), "evt-0301");
    expect(got!.labels.destination).toMatch(/^evil x+…$/);
    expect(Array.from(got!.labels.destination!)).toHaveLength(256);
  });

  it("a wrong path is a retryable 404 that names the fix", async () => {
    const s = sink({ url: `${am!.url}/no-such-prefix` });
    const err = await s.deliver([alert("evt-0401")]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).retryable).toBe(true);
    expect((err as DeliveryError).message).toContain("HTTP 404");
  });

  it("Alertmanager's own refusal of a malformed body is not retryable", async () => {
    const poster = new HttpPoster({ url: `${am!.url}/api/v2/alerts`, timeoutMs: 5000 });
    try {
      const err = await poster.post('[{"labels":{}}]').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeliveryError);
      expect((err as DeliveryError).retryable).toBe(false);
      expect((err as DeliveryError).message).toContain("HTTP 400");
    } finally {
      poster.close();
    }
  });

  it("refuses extra labels that are invalid or would replace egressd's", () => {
    expect(() => sink({ extraLabels: { "bad-name": "x" } })).toThrow(/label name/);
    expect(() => sink({ extraLabels: { alertname: "x" } })).toThrow(/label name/);
  });
});
