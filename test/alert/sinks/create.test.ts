/**
 * Sinks built from the config's alerts.sinks: option names, durations and files (bearer
 * token, CA) reach the sink, each delivering to a real receiver on loopback.
 */
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createSink, SinkConfigError } from "../../../src/alert/sinks/create.js";
import { parseConfig } from "../../../src/config/load.js";
import { writeTree } from "../../rules/helpers.js";

const dir = writeTree({ "token.txt": "s3cret-token\nignored\n" });
const alert = {
  id: "a1",
  severity: "high" as const,
  json: JSON.stringify({
    "@timestamp": "2026-11-22T04:00:00.000000000Z",
    event: { id: "a1" },
    rule: { id: "R-1", name: "n" },
    message: "m",
    egressd: { severity: "high" },
  }),
};
const closers: (() => void)[] = [];
afterAll(() => {
  for (const c of closers) c();
});

describe("createSink", () => {
  it("builds each type from the config and delivers to a real receiver", async () => {
    const headers: Record<string, string | undefined>[] = [];
    const http = createServer((req, res) => {
      headers.push({ auth: req.headers.authorization, tenant: req.headers["x-tenant"] as string });
      req.resume();
      req.on("end", () => res.writeHead(200).end());
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    closers.push(() => http.close());
    const udp = createSocket("udp4");
    const datagrams: string[] = [];
    udp.on("message", (m) => datagrams.push(m.toString()));
    await new Promise<void>((r) => udp.bind(0, "127.0.0.1", r));
    closers.push(() => udp.close());
    const httpPort = (http.address() as AddressInfo).port;
    const udpPort = udp.address().port;
    const logFile = join(dir, "alerts.json");
    const config = parseConfig(
      `alerts:
  sinks:
    - { name: file, type: log, file: ${logFile} }
    - name: hook
      type: webhook
      url: http://127.0.0.1:${httpPort}/x
      headers: { X-Tenant: cctv }
      bearer_token_file: ${join(dir, "token.txt")}
      timeout: 2s
    - { name: siem, type: syslog, host: 127.0.0.1, port: ${udpPort}, format: cef, facility: local3 }
`,
      join(dir, "c.yaml"),
    );
    const sinks = config.alerts.sinks.map(createSink);
    expect(sinks.map((s) => [s.name, s.type])).toEqual([
      ["file", "log"],
      ["hook", "webhook"],
      ["siem", "syslog"],
    ]);
    for (const s of sinks) await s.deliver([alert]);
    for (const s of sinks) await s.close();
    expect(JSON.parse(readFileSync(logFile, "utf8").trim())).toMatchObject({ event: { id: "a1" } });
    expect(headers).toEqual([{ auth: "Bearer s3cret-token", tenant: "cctv" }]);
    await new Promise((r) => setTimeout(r, 100));
    // local3 (19) * 8 + err (3) = 155; a CEF body.
    expect(datagrams[0]).toMatch(
      /^<155>1 2026-11-22T04:00:00\.000000Z \S+ egressd \d+ R-1 \[egressd@32473 .*\] CEF:0\|/,
    );
  });

  it("names the sink and the file it cannot read", () => {
    const config = parseConfig(
      `alerts:\n  sinks:\n    - { name: hook, type: webhook, url: https://x, ca_file: ${join(dir, "nope.pem")} }\n`,
      join(dir, "c.yaml"),
    );
    expect(() => createSink(config.alerts.sinks[0]!)).toThrow(SinkConfigError);
    expect(() => createSink(config.alerts.sinks[0]!)).toThrow(
      /alert sink hook: ca_file .*nope\.pem: ENOENT/,
    );
  });
});
