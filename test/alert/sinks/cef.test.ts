/**
 * CEF lines for alerts: the ECS fields land on their CEF dictionary keys, and hostile
 * values (pipes, equals signs, backslashes, newlines) survive a round trip through a small
 * CEF parser written here from the spec's rules, independent of the formatter.
 */
import { describe, expect, it } from "vitest";
import { cefMessage, epochMillis } from "../../../src/alert/sinks/cef.js";

const PRODUCT = { vendor: "egressd", product: "egressd", version: "0.1.0" };

interface ParsedCef {
  version: string;
  header: string[];
  extension: Map<string, string>;
}

/**
 * The spec's reading rules: the header is split on unescaped pipes (only \\ and \| are
 * escapes there); in the extension a key is the word before an unescaped '=', and a value
 * runs up to the space before the next key. Anything the spec does not allow throws.
 */
function parseCef(line: string): ParsedCef {
  if (!line.startsWith("CEF:")) throw new Error("no CEF: prefix");
  if (/[\r\n]/.test(line)) throw new Error("raw line break in a CEF line");
  const fields: string[] = [];
  let current = "";
  let i = 4;
  while (fields.length < 7) {
    const c = line[i];
    if (c === undefined) throw new Error(`header has ${fields.length} fields`);
    if (c === "\\") {
      const next = line[i + 1];
      if (next !== "\\" && next !== "|") throw new Error(`bad header escape \\${next}`);
      current += next;
      i += 2;
    } else if (c === "|") {
      fields.push(current);
      current = "";
      i++;
    } else {
      current += c;
      i++;
    }
  }
  const ext = line.slice(i);
  const equals: number[] = [];
  for (let j = 0; j < ext.length; j++) {
    if (ext[j] === "\\") j++;
    else if (ext[j] === "=") equals.push(j);
  }
  const keyStart = (eq: number) => ext.lastIndexOf(" ", eq) + 1;
  const extension = new Map<string, string>();
  equals.forEach((eq, n) => {
    const key = ext.slice(keyStart(eq), eq);
    if (!/^[A-Za-z0-9]+$/.test(key)) throw new Error(`bad key "${key}"`);
    const next = equals[n + 1];
    const raw = ext.slice(eq + 1, next === undefined ? ext.length : keyStart(next) - 1);
    if (extension.has(key)) throw new Error(`key ${key} twice`);
    extension.set(key, unescapeValue(raw));
  });
  if (equals.length === 0 && ext !== "") throw new Error(`extension without keys: ${ext}`);
  return { version: fields[0]!, header: fields.slice(1), extension };
}

function unescapeValue(raw: string): string {
  return raw.replace(/\\(.)/g, (_, c: string) => {
    if (c === "n") return "\n";
    if (c === "r") return "\r";
    if (c === "\\" || c === "=") return c;
    throw new Error(`bad extension escape \\${c}`);
  });
}

/** An alert record as alertRecord() and the dedup stage build it. */
function fullRecord(): Record<string, unknown> {
  return {
    "@timestamp": "2024-05-01T12:00:00.123456789Z",
    event: {
      kind: "alert",
      category: ["network"],
      severity: 73,
      action: "tls_client_hello",
      dataset: "egressd.alert",
      id: "0f6c1a52-6f0c-4f59-9d0e-3b1f0d1c2a11",
    },
    rule: {
      id: "CAM-CALLHOME-1",
      name: "Camera calls a vendor cloud",
      description: "A camera opened TLS to a P2P relay.",
    },
    message: "Camera in lab-cameras (Hikvision, 192.0.2.10) opened TLS to relay.example.test",
    source: { ip: "192.0.2.10", port: 50123, mac: "44-19-B6-12-34-56", scope: "private" },
    destination: {
      ip: "198.51.100.7",
      port: 443,
      mac: "00-11-22-33-44-55",
      domain: "relay.example.test",
      scope: "internet",
      geo: { country_iso_code: "CN" },
      as: { number: 37963, organization: { name: "Hangzhou Alibaba" } },
    },
    network: {
      transport: "tcp",
      community_id: "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
      vlan: { id: "20" },
      protocol: "tls",
    },
    http: { request: { method: "GET" } },
    url: { original: "/upgrade?fw=5.7.3&model=DS-2CD" },
    egressd: {
      trigger: "tls_client_hello",
      severity: "high",
      tags: ["call-home", "p2p"],
      source_device: { id: "mac:44-19-B6-12-34-56", group: "lab-cameras", role: "camera" },
      flow: { outcome: "established", source_bytes: 517, destination_bytes: 4096 },
      repeat: { count: 3, first: "2024-05-01T11:00:00Z", last: "2024-05-01T12:00:00.5Z" },
    },
    observer: { name: "sensor-1", interface: "eth1" },
  };
}

describe("cefMessage", () => {
  it("maps the ECS fields to the CEF dictionary", () => {
    const line = cefMessage(fullRecord(), PRODUCT);
    const cef = parseCef(line);
    expect(cef.version).toBe("0");
    expect(cef.header).toEqual([
      "egressd",
      "egressd",
      "0.1.0",
      "CAM-CALLHOME-1",
      "Camera calls a vendor cloud",
      "8",
    ]);
    expect(Object.fromEntries(cef.extension)).toEqual({
      rt: String(Date.UTC(2024, 4, 1, 12, 0, 0, 123)),
      externalId: "0f6c1a52-6f0c-4f59-9d0e-3b1f0d1c2a11",
      act: "tls_client_hello",
      cat: "call-home,p2p",
      msg: "Camera in lab-cameras (Hikvision, 192.0.2.10) opened TLS to relay.example.test",
      src: "192.0.2.10",
      spt: "50123",
      smac: "44:19:B6:12:34:56",
      dst: "198.51.100.7",
      dpt: "443",
      dmac: "00:11:22:33:44:55",
      dhost: "relay.example.test",
      proto: "TCP",
      app: "tls",
      deviceDirection: "1",
      out: "517",
      in: "4096",
      outcome: "established",
      request: "/upgrade?fw=5.7.3&model=DS-2CD",
      requestMethod: "GET",
      cnt: "3",
      start: String(Date.UTC(2024, 4, 1, 11, 0, 0)),
      end: String(Date.UTC(2024, 4, 1, 12, 0, 0, 500)),
      dvchost: "sensor-1",
      deviceInboundInterface: "eth1",
      cs1: "CAM-CALLHOME-1",
      cs1Label: "Rule ID",
      cs2: "CN",
      cs2Label: "Destination Country",
      cs3: "Hangzhou Alibaba",
      cs3Label: "Destination AS Organization",
      cs4: "lab-cameras",
      cs4Label: "Device Group",
      cs5: "camera",
      cs5Label: "Device Role",
      cs6: "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
      cs6Label: "Community ID",
      cn1: "37963",
      cn1Label: "Destination ASN",
      cn2: "20",
      cn2Label: "VLAN ID",
    });
    // The '=' of the Community ID's base64 is escaped on the wire.
    expect(line).toContain("cs6=1:LQU9qZlK+B5F3KDmev6m5PMibrg\\= ");
  });

  it("escapes hostile values per the spec and they round-trip", () => {
    const record = fullRecord();
    const nasty = "a|b=c\\d\ne\rf g=h \\= \\n end\\";
    (record.rule as Record<string, unknown>).id = "R|1\\x";
    (record.rule as Record<string, unknown>).name = "name | with = and \\ and\nnewline";
    record.message = nasty;
    (record.url as Record<string, unknown>).original = "/a?b=c|d\\e";
    (record.destination as Record<string, unknown>).domain = "x=y.example.test";
    const dev = (record.egressd as Record<string, unknown>).source_device as Record<string, string>;
    dev.group = "cams=1|2\r\n";
    const line = cefMessage(record, PRODUCT);

    // Byte-exact escapes: pipes and backslashes in the header, not '='; in the extension
    // backslash, '=', LF and CR, and no escaped pipes.
    expect(line).toContain("|R\\|1\\\\x|name \\| with = and \\\\ and newline|8|");
    expect(line).toContain("msg=a|b\\=c\\\\d\\ne\\rf g\\=h \\\\\\= \\\\n end\\\\ ");
    expect(line).toContain("request=/a?b\\=c|d\\\\e ");
    expect(line).toContain("cs4=cams\\=1|2\\r\\n ");

    const cef = parseCef(line);
    expect(cef.header[3]).toBe("R|1\\x");
    expect(cef.header[4]).toBe("name | with = and \\ and newline");
    expect(cef.extension.get("msg")).toBe(nasty);
    expect(cef.extension.get("request")).toBe("/a?b=c|d\\e");
    expect(cef.extension.get("dhost")).toBe("x=y.example.test");
    expect(cef.extension.get("cs4")).toBe("cams=1|2\r\n");
    expect(cef.extension.get("cs1")).toBe("R|1\\x");
    // The keys after the hostile values are still found.
    expect(cef.extension.get("dvchost")).toBe("sensor-1");
  });

  it("writes a valid line for an alert missing most fields", () => {
    const bare = parseCef(cefMessage({}, PRODUCT));
    expect(bare.header).toEqual([
      "egressd",
      "egressd",
      "0.1.0",
      "egressd-alert",
      "egressd-alert",
      "5",
    ]);
    expect(bare.extension.size).toBe(0);

    const sparse = cefMessage(
      {
        "@timestamp": "not a time",
        rule: { id: "R-2" },
        event: { severity: 99 },
        source: { ip: "192.0.2.1", port: "x", mac: "bad" },
        destination: { domain: "" },
        egressd: { tags: [], device: { group: "lab" } },
      },
      PRODUCT,
    );
    const cef = parseCef(sparse);
    expect(cef.header.slice(3)).toEqual(["R-2", "R-2", "10"]);
    expect(Object.fromEntries(cef.extension)).toEqual({
      src: "192.0.2.1",
      cs1: "R-2",
      cs1Label: "Rule ID",
      cs4: "lab",
      cs4Label: "Device Group",
    });
  });

  it("puts IPv6 endpoints on the IPv6 address keys, not src/dst", () => {
    const record = fullRecord();
    (record.source as Record<string, unknown>).ip = "2001:db8:0:1::10";
    (record.destination as Record<string, unknown>).ip = "2001:db8::53";
    const cef = parseCef(cefMessage(record, PRODUCT));
    expect(cef.extension.has("src")).toBe(false);
    expect(cef.extension.has("dst")).toBe(false);
    expect(cef.extension.get("c6a2")).toBe("2001:db8:0:1::10");
    expect(cef.extension.get("c6a2Label")).toBe("Source IPv6 Address");
    expect(cef.extension.get("c6a3")).toBe("2001:db8::53");
    expect(cef.extension.get("c6a3Label")).toBe("Destination IPv6 Address");
  });

  it("maps each severity and each direction", () => {
    const sev = (s: string) => {
      const record = fullRecord();
      (record.egressd as Record<string, unknown>).severity = s;
      return parseCef(cefMessage(record, PRODUCT)).header[5];
    };
    expect(["info", "low", "medium", "high", "critical"].map(sev)).toEqual([
      "1",
      "3",
      "5",
      "8",
      "10",
    ]);
    const inbound = fullRecord();
    (inbound.source as Record<string, unknown>).scope = "internet";
    (inbound.destination as Record<string, unknown>).scope = "private";
    expect(parseCef(cefMessage(inbound, PRODUCT)).extension.get("deviceDirection")).toBe("0");
    (inbound.destination as Record<string, unknown>).scope = "internet";
    expect(parseCef(cefMessage(inbound, PRODUCT)).extension.has("deviceDirection")).toBe(false);
  });

  it("reads nanosecond and offset timestamps as epoch milliseconds", () => {
    expect(epochMillis("2024-05-01T12:00:00.999999999Z")).toBe(
      String(Date.UTC(2024, 4, 1, 12, 0, 0, 999)),
    );
    expect(epochMillis("2024-05-01T14:00:00.5+02:00")).toBe(
      String(Date.UTC(2024, 4, 1, 12, 0, 0, 500)),
    );
    expect(epochMillis("2024-05-01 12:00:00")).toBeUndefined();
    expect(epochMillis(1714564800000)).toBeUndefined();
  });
});
