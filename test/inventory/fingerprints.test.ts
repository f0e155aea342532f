/**
 * Maker claims and identity facts from discovery replies, banners and DHCP, and how the
 * device's maker is chosen among competing claims.
 */

import { describe, expect, it } from "vitest";
import {
  chooseMaker,
  dhcpFindings,
  discoveryFindings,
  httpClaims,
  isDeviceAnnouncement,
  type MakerClaim,
} from "../../src/inventory/fingerprints.js";
import type { DhcpRecord } from "../../src/protocols/dhcp/index.js";
import { recogniseDiscovery } from "../../src/protocols/discovery/index.js";
import type { HttpTransaction } from "../../src/protocols/http/index.js";
import {
  dhipReply,
  dhipSearch,
  sadpProbe,
  sadpProbeMatch,
  wsdHello,
} from "./discovery-datagrams.js";

const discovery = (b: Buffer, sport = 0, dport = 0) =>
  recogniseDiscovery(b, 0, b.length, sport, dport)!;

const CAM = {
  mac: "44:19:b6:12:34:56",
  ipv4: "192.0.2.64",
  model: "DS-2CD2043G2-I",
  serial: "DS-2CD2043G2-I20240101AAWRK12345678",
  firmware: "V5.7.3 build 220112",
};

describe("discovery", () => {
  it("an SADP probe-match is Hikvision, with model, serial and firmware", () => {
    const d = discovery(sadpProbeMatch(CAM), 37020, 37020);
    expect(isDeviceAnnouncement(d)).toBe(true);
    expect(discoveryFindings(d)).toEqual({
      claim: {
        maker: "Hikvision",
        source: "sadp",
        evidence: `SADP probe-match: model "${CAM.model}", serial "${CAM.serial}", firmware "${CAM.firmware}"`,
      },
      facts: {
        model: CAM.model,
        serial: CAM.serial,
        firmware: CAM.firmware,
        device_class: "142378",
      },
    });
  });

  it("searches are not announcements: the VMS that probes is not a camera", () => {
    expect(isDeviceAnnouncement(discovery(sadpProbe(), 50000, 37020))).toBe(false);
    expect(isDeviceAnnouncement(discovery(dhipSearch(), 50000, 37810))).toBe(false);
  });

  it("a DHIP reply from an OEM brand is still Dahua-made, and says which brand", () => {
    const d = discovery(
      dhipReply({ ...CAM, mac: "00:1f:54:a9:2e:58", model: "W461ASC", vendor: "Lorex" }),
    );
    const f = discoveryFindings(d);
    expect(f.claim).toMatchObject({ maker: "Dahua", source: "dhip" });
    expect(f.claim!.evidence).toContain('DHIP reply, Vendor "Lorex": model "W461ASC"');
    expect(f.facts).toMatchObject({ model: "W461ASC", device_class: "IPC" });
  });

  it("ONVIF: the manufacturer scope names the maker, shortened when known", () => {
    const hello = discovery(
      wsdHello({ manufacturer: "UNIVIEW", model: "IPC2124SR3", name: "lobby", ipv4: "192.0.2.77" }),
    );
    expect(discoveryFindings(hello)).toEqual({
      claim: {
        maker: "Uniview",
        source: "ws-discovery",
        evidence: 'WS-Discovery hello: MfrName "UNIVIEW": model "IPC2124SR3"',
      },
      facts: { model: "IPC2124SR3", name: "lobby" },
    });
    const other = discovery(
      wsdHello({ manufacturer: "Acme Optics", model: "X1", name: "x", ipv4: "192.0.2.78" }),
    );
    expect(discoveryFindings(other).claim?.maker).toBe("Acme Optics");
  });
});

function http(protocol: "http" | "rtsp", server?: string, realm?: string): HttpTransaction {
  return {
    protocol,
    response: { server, www_authenticate_realm: realm },
  } as unknown as HttpTransaction;
}

describe("banners and realms", () => {
  it.each([
    ["App-webs/", "Hikvision"],
    ["Hikvision-Webs", "Hikvision"],
    ["DNVRS-Webs", "Hikvision"],
    ["DVRDVS-Webs", "Hikvision"],
  ])("HTTP Server: %s", (server, maker) => {
    expect(httpClaims(http("http", server))).toEqual([
      { maker, source: "http-server", evidence: `HTTP Server: ${server}` },
    ]);
  });

  it("RTSP Server and realm", () => {
    expect(httpClaims(http("rtsp", "Dahua Rtsp Server"))).toEqual([
      { maker: "Dahua", source: "rtsp-server", evidence: "RTSP Server: Dahua Rtsp Server" },
    ]);
    expect(httpClaims(http("rtsp", undefined, "Hikvision"))).toEqual([
      { maker: "Hikvision", source: "rtsp-realm", evidence: 'RTSP realm="Hikvision"' },
    ]);
  });

  it("generic servers claim nothing", () => {
    expect(httpClaims(http("http", "nginx/1.22.1", "Restricted"))).toEqual([]);
    expect(httpClaims({ protocol: "http" } as HttpTransaction)).toEqual([]);
  });
});

describe("DHCP", () => {
  it("host name and vendor class claim only when they name a maker; facts always", () => {
    const r = {
      host_name: "HIKVISION-DS-2CD2043",
      vendor_class: "udhcp 1.35.0",
      param_list: "1,3,6,12,15,28,42",
    } as DhcpRecord;
    expect(dhcpFindings(r)).toEqual({
      claims: [
        {
          maker: "Hikvision",
          source: "dhcp-hostname",
          evidence: 'DHCP host name "HIKVISION-DS-2CD2043"',
        },
      ],
      facts: {
        host_name: "HIKVISION-DS-2CD2043",
        vendor_class: "udhcp 1.35.0",
        dhcp_fingerprint: "1,3,6,12,15,28,42",
      },
    });
    expect(dhcpFindings({ vendor_class: "dahua" } as DhcpRecord).claims[0]).toMatchObject({
      maker: "Dahua",
      source: "dhcp-vendor-class",
    });
  });
});

describe("choosing the maker", () => {
  const claim = (
    maker: string,
    source: MakerClaim["source"],
    t = "2026-01-01T00:00:00.000000000Z",
  ): MakerClaim => ({
    maker,
    source,
    evidence: "",
    firstSeen: t,
  });

  it("a vendor protocol outweighs the OUI (OEM boards)", () => {
    expect(chooseMaker([claim("Lorex", "oui"), claim("Dahua", "dhip")])).toEqual({
      maker: "Dahua",
      sources: ["dhip"],
      score: 4,
    });
  });

  it("sources add up; each source counts once per maker", () => {
    const c = chooseMaker([
      claim("Hikvision", "oui"),
      claim("Hikvision", "dhcp-hostname"),
      claim("Hikvision", "oui", "2026-01-03T00:00:00.000000000Z"),
      claim("Acme", "dhcp-vendor-class"),
    ]);
    expect(c).toEqual({ maker: "Hikvision", sources: ["oui", "dhcp-hostname"], score: 3 });
  });

  it("ties go to the strongest single source, then the earliest claim, then the name", () => {
    // 3 each: Hikvision by oui + hostname, Acme by a banner.
    expect(
      chooseMaker([
        claim("Hikvision", "oui"),
        claim("Hikvision", "dhcp-hostname"),
        claim("Acme", "http-server"),
      ])?.maker,
    ).toBe("Acme");
    const early = "2026-01-01T00:00:00.000000000Z";
    const late = "2026-01-02T00:00:00.000000000Z";
    expect(chooseMaker([claim("B", "oui", late), claim("A", "oui", early)])?.maker).toBe("A");
    expect(chooseMaker([claim("B", "oui", early), claim("A", "oui", early)])?.maker).toBe("A");
    expect(chooseMaker([])).toBeNull();
  });
});
