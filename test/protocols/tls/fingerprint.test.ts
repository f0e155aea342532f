/**
 * JA3 and JA4 against their specifications: the worked example of FoxIO's JA4.md
 * (technical_details/JA4.md in FoxIO-LLC/ja4), whose cipher, extension and signature
 * algorithm lists are rebuilt here into a real ClientHello, with GREASE added everywhere
 * JA4 must ignore it; the ALPN rules of the same document; and the Salesforce JA3 rules.
 */

import { describe, expect, test } from "vitest";
import { TlsAnomalyList } from "../../../src/protocols/tls/anomalies.js";
import { ja3String, ja4AlpnChars, sha256Prefix12 } from "../../../src/protocols/tls/fingerprint.js";
import { parseClientHello } from "../../../src/protocols/tls/hello.js";
import { isGrease } from "../../../src/protocols/tls/names.js";
import { clientHelloBody, type Extension, ext } from "./build.js";

// JA4.md "Example" / "Raw Output": the lists in the order the client sent them (JA4_ro).
const SPEC_CIPHERS = [
  0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c,
  0x009d, 0x002f, 0x0035,
];
const SPEC_EXTENSION_ORDER = [
  0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b,
  0xff01, 0x000b, 0x000a, 0x0015,
];
const SPEC_SIGALGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];

function specExtension(type: number, grease: boolean): Extension {
  switch (type) {
    case 0x0000:
      return ext.sni("example.com");
    case 0x0010:
      return ext.alpn(["h2", "http/1.1"]);
    case 0x000d:
      return ext.u16List(13, grease ? [0x1a1a, ...SPEC_SIGALGS] : SPEC_SIGALGS);
    case 0x002b:
      return ext.supportedVersions(grease ? [0x5a5a, 0x0304, 0x0303] : [0x0304, 0x0303]);
    case 0x000a:
      return ext.u16List(10, grease ? [0x4a4a, 0x001d, 0x0017, 0x0018] : [0x001d, 0x0017, 0x0018]);
    case 0x000b:
      return ext.pointFormats([0]);
    default:
      return ext.empty(type);
  }
}

function specHello(grease: boolean) {
  const extensions = SPEC_EXTENSION_ORDER.map((t) => specExtension(t, grease));
  if (grease) {
    extensions.unshift(ext.empty(0x0a0a));
    extensions.push({ type: 0xfafa, data: Buffer.from([0]) });
  }
  const body = clientHelloBody({
    ciphers: grease ? [0x2a2a, ...SPEC_CIPHERS] : SPEC_CIPHERS,
    extensions,
    sessionId: Buffer.alloc(32, 7),
  });
  const anomalies = new TlsAnomalyList();
  const hello = parseClientHello(body, 0, body.length, 0x0301, anomalies);
  return { hello: hello!, anomalies };
}

describe("JA4 (FoxIO JA4.md)", () => {
  test("the worked example: t13d1516h2_8daaf6152771_e5627efa2ab1", () => {
    const { hello, anomalies } = specHello(false);
    expect(anomalies.names).toEqual([]);
    expect(hello.ja4).toBe("t13d1516h2_8daaf6152771_e5627efa2ab1");
    expect(hello.ja4_r).toBe(
      "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_" +
        "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_" +
        "0403,0804,0401,0503,0805,0501,0806,0601",
    );
  });

  test("GREASE in ciphers, extensions, versions, groups and signature algorithms changes nothing", () => {
    const plain = specHello(false).hello;
    const greased = specHello(true).hello;
    expect(greased.ja4).toBe(plain.ja4);
    expect(greased.ja4_r).toBe(plain.ja4_r);
    expect(greased.ja3).toBe(plain.ja3);
    expect(greased.grease).toBe(true);
    expect(plain.grease).toBe(false);
    // Raw lists keep GREASE; supported_versions does not.
    expect(greased.cipher_suites[0]).toBe(0x2a2a);
    expect(greased.extensions[0]).toBe(0x0a0a);
    expect(greased.supported_versions).toEqual([0x0304, 0x0303]);
    expect(greased.version).toBe("TLS 1.3");
  });

  test("the hashing rules of the spec's text", () => {
    expect(
      sha256Prefix12("002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9"),
    ).toBe("8daaf6152771");
    // "If there are no signature algorithms ... the string ends without an underscore."
    expect(
      sha256Prefix12("0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01"),
    ).toBe("6d807ffa2a79");
    expect(sha256Prefix12("")).toBe("000000000000");
  });

  test("ALPN characters: the spec's examples", () => {
    const b = (...x: number[]) => Uint8Array.from(x);
    expect(ja4AlpnChars(Buffer.from("h2"))).toBe("h2");
    expect(ja4AlpnChars(Buffer.from("http/1.1"))).toBe("h1");
    expect(ja4AlpnChars(b(0xab))).toBe("ab");
    expect(ja4AlpnChars(b(0xab, 0xcd))).toBe("ad");
    expect(ja4AlpnChars(b(0x30, 0xab))).toBe("3b");
    expect(ja4AlpnChars(b(0x30, 0x31, 0xab, 0xcd))).toBe("3d");
    expect(ja4AlpnChars(b(0x30, 0xab, 0xcd, 0x31))).toBe("01");
    // A single character is both first and last; no ALPN or an empty name is "00".
    expect(ja4AlpnChars(Buffer.from("x"))).toBe("xx");
    expect(ja4AlpnChars(undefined)).toBe("00");
    expect(ja4AlpnChars(b())).toBe("00");
  });

  test("no SNI, no ALPN, TLS 1.2 without supported_versions, counts capped at 99", () => {
    const ciphers = Array.from({ length: 120 }, (_, i) => 0x0100 + i);
    const body = clientHelloBody({
      version: 0x0303,
      ciphers,
      extensions: [ext.u16List(13, [0x0401]), ext.empty(0x0017)],
    });
    const hello = parseClientHello(body, 0, body.length, 0x0301, new TlsAnomalyList())!;
    expect(hello.ja4.slice(0, 10)).toBe("t12i990200");
    expect(hello.server_name).toBeUndefined();
  });

  test("version codes: SSL 3.0 is s3, an unknown version 00, TLS 1.0 10", () => {
    const ja4Version = (version: number, sv?: number[]) => {
      const body = clientHelloBody({
        version,
        ciphers: [0x002f],
        extensions: sv ? [ext.supportedVersions(sv)] : [],
      });
      return parseClientHello(body, 0, body.length, 0x0300, new TlsAnomalyList())!.ja4.slice(1, 3);
    };
    expect(ja4Version(0x0300)).toBe("s3");
    expect(ja4Version(0x0301)).toBe("10");
    expect(ja4Version(0x0302)).toBe("11");
    expect(ja4Version(0x1234)).toBe("00");
    // supported_versions wins over the legacy version, GREASE ignored.
    expect(ja4Version(0x0303, [0xeaea, 0x0303, 0x0304])).toBe("13");
  });

  test("a hello without extensions: JA4_c is twelve zeros", () => {
    const body = clientHelloBody({ version: 0x0301, ciphers: [0x002f, 0x0035], extensions: [] });
    // Drop the (empty) extensions block entirely: legal before TLS 1.2.
    const hello = parseClientHello(body, 0, body.length - 2, 0x0301, new TlsAnomalyList())!;
    expect(hello.ja4).toBe(`t10i020000_${sha256Prefix12("002f,0035")}_000000000000`);
    expect(hello.ja3).toBe("769,47-53,,,");
  });
});

describe("JA3 (Salesforce)", () => {
  test("decimal values, '-' joined, GREASE removed from every list", () => {
    const s = ja3String({
      legacyVersion: 0x0303,
      supportedVersions: [],
      ciphers: [0x0a0a, 0x1301, 0xc02b],
      extensions: [0x2a2a, 0, 10, 11, 0xfafa],
      groups: [0x3a3a, 29, 23],
      pointFormats: [0],
      signatureAlgorithms: [],
      firstAlpn: undefined,
      hasSni: true,
    });
    expect(s).toBe("771,4865-49195,0-10-11,29-23,0");
  });

  test("isGrease knows exactly the 16 RFC 8701 values", () => {
    let n = 0;
    for (let v = 0; v < 0x10000; v++) if (isGrease(v)) n++;
    expect(n).toBe(16);
    expect(isGrease(0x0a0a)).toBe(true);
    expect(isGrease(0xfafa)).toBe(true);
    expect(isGrease(0x0a1a)).toBe(false);
  });
});
