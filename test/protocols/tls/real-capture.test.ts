/**
 * Real handshakes from real tools, decoded by egressd and by tshark (an independent
 * implementation), field for field:
 *
 * - test/fixtures/real/namespace-clients.pcap: curl -k and openssl s_client (TLS 1.2 and
 *   1.3, with and without SNI) against openssl s_server with a self-signed P-256 cert.
 * - fixtures/openssl-small-mtu.pcap (./make-fixture.sh): openssl on a loopback with MTU
 *   576, so ClientHellos and the server's RSA chain span several TCP segments, the chain
 *   also several TLS records (-max_send_frag 512); plus a HelloRetryRequest, a client
 *   refusing the chain with a cleartext alert, and a TLS 1.2 resumption.
 *
 * Segments go through TlsSession exactly as the inspector will feed them, in capture
 * order, with the ISNs from the SYNs.
 */

import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";
import type { TlsStreamEvent } from "../../../src/protocols/tls/reassembly.js";
import type {
  TlsCertificateInfo,
  TlsClientHello,
  TlsServerHello,
} from "../../../src/protocols/tls/record.js";
import { TlsSession } from "../../../src/protocols/tls/session.js";
import {
  directionBytes,
  hasTshark,
  readTcpConnections,
  type TcpConnection,
  tsharkRows,
} from "./tcp-streams.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const NAMESPACE_PCAP = `${ROOT}test/fixtures/real/namespace-clients.pcap`;
const SMALL_MTU_PCAP = fileURLToPath(new URL("fixtures/openssl-small-mtu.pcap", import.meta.url));

interface Observed {
  conn: TcpConnection;
  session: TlsSession;
  clientHellos: TlsClientHello[];
  serverHellos: TlsServerHello[];
  certificates: TlsCertificateInfo[][];
  events: TlsStreamEvent[];
}

async function observe(path: string, tlsPorts: number[]): Promise<Map<number, Observed>> {
  const out = new Map<number, Observed>();
  for (const conn of await readTcpConnections(path)) {
    if (!tlsPorts.includes(conn.serverPort)) continue;
    const session = new TlsSession({ clientIsn: conn.clientIsn, serverIsn: conn.serverIsn });
    const o: Observed = {
      conn,
      session,
      clientHellos: [],
      serverHellos: [],
      certificates: [],
      events: [],
    };
    for (const s of conn.segments) {
      for (const e of session.feed(s.fromClient, s.seq, s.payload, 0, s.payload.length)) {
        o.events.push(e);
        if (e.type === "client_hello") o.clientHellos.push(e.hello);
        if (e.type === "server_hello") o.serverHellos.push(e.hello);
        if (e.type === "certificate") o.certificates.push(e.certificates);
      }
    }
    out.set(conn.stream, o);
  }
  return out;
}

const num = (s: string) => (s.startsWith("0x") ? Number.parseInt(s, 16) : Number(s));
const nums = (xs: string[]) => xs.map(num);

/** tshark's "2026-11-22 04:48:33 (UTC)" as ISO 8601. */
function tsharkTime(s: string): string {
  return new Date(`${s.replace(" (UTC)", "").replace(" ", "T")}Z`).toISOString();
}

/** Attribute values of an RFC 4514 DN in DER order, without C (tshark shows it elsewhere). */
function utf8Values(dn: string | undefined): string[] {
  if (dn === undefined) return [];
  return dn
    .split(",")
    .reverse()
    .filter((rdn) => !rdn.startsWith("C="))
    .map((rdn) => rdn.slice(rdn.indexOf("=") + 1));
}

const CLIENT_HELLO_FIELDS = [
  "tcp.stream",
  "tls.handshake.extensions_server_name",
  "tls.handshake.ja3",
  "tls.handshake.ja3_full",
  "tls.handshake.extensions_alpn_str",
  "tls.handshake.ciphersuite",
  "tls.handshake.extension.type",
  "tls.handshake.extensions_supported_group",
  "tls.handshake.extensions_ec_point_format",
  "tls.handshake.sig_hash_alg",
  "tls.handshake.extensions.supported_version",
  "tls.handshake.version",
  "tls.record.version",
  "tls.handshake.session_id_length",
  "tls.handshake.comp_method",
];

const SERVER_HELLO_FIELDS = [
  "tcp.stream",
  "tls.handshake.ja3s",
  "tls.handshake.ja3s_full",
  "tls.handshake.ciphersuite",
  "tls.handshake.version",
  "tls.handshake.extensions.supported_version",
  "tls.handshake.extension.type",
  "tls.handshake.session_id_length",
];

const CERTIFICATE_FIELDS = [
  "tcp.stream",
  "tls.handshake.certificate",
  "tls.handshake.certificate_length",
  "x509sat.uTF8String",
  "x509ce.dNSName",
  "x509ce.IPAddress.ipv4",
  "x509ce.IPAddress.ipv6",
  "x509af.serialNumber",
  "x509af.utcTime",
];

const CAPTURES = [
  { name: "namespace-clients.pcap", path: NAMESPACE_PCAP, ports: [443] },
  { name: "openssl-small-mtu.pcap", path: SMALL_MTU_PCAP, ports: [4433, 4434] },
];

describe.skipIf(!hasTshark())("real handshakes agree with tshark", () => {
  for (const cap of CAPTURES) {
    describe(cap.name, () => {
      let observed: Map<number, Observed>;
      beforeAll(async () => {
        observed = await observe(cap.path, cap.ports);
      });

      test("ClientHello: SNI, JA3, ALPN, ciphers, extensions, groups, formats, signatures, versions", () => {
        const rows = tsharkRows(
          cap.path,
          "tls.handshake.type == 1",
          CLIENT_HELLO_FIELDS,
          cap.ports,
        );
        const seen = new Set<number>();
        let compared = 0;
        for (const row of rows) {
          const [stream, sni, ja3, ja3Full, alpn, ciphers, exts, groups, formats, sigs, versions] =
            row;
          const [handshakeVersion, recordVersions, sidLen, comp] = row.slice(11);
          const s = Number(stream![0]);
          // Only the first ClientHello of a connection is fingerprinted (a second one
          // follows a HelloRetryRequest).
          if (seen.has(s)) continue;
          seen.add(s);
          const o = observed.get(s)!;
          expect(o.clientHellos).toHaveLength(1);
          const h = o.clientHellos[0]!;
          expect(h.server_name).toBe(sni![0]);
          expect(h.ja3).toBe(ja3Full![0]);
          expect(h.ja3_hash).toBe(ja3![0]);
          expect(h.alpn).toEqual(alpn);
          expect(h.cipher_suites).toEqual(nums(ciphers!));
          expect(h.extensions).toEqual(nums(exts!));
          expect(h.supported_groups).toEqual(nums(groups!));
          expect(h.ec_point_formats).toEqual(nums(formats!));
          expect(h.signature_algorithms).toEqual(nums(sigs!));
          expect(h.supported_versions).toEqual(nums(versions!));
          expect(h.legacy_version).toBe(num(handshakeVersion![0]!));
          expect(h.record_version).toBe(num(recordVersions![0]!));
          expect(h.session_id_length).toBe(Number(sidLen![0]));
          expect(h.compression_methods).toEqual(nums(comp!));
          compared++;
        }
        expect(compared).toBe([...observed.values()].length);
      });

      test("ServerHello: JA3S, cipher, versions, extensions (HelloRetryRequest included)", () => {
        const rows = tsharkRows(
          cap.path,
          "tls.handshake.type == 2",
          SERVER_HELLO_FIELDS,
          cap.ports,
        );
        const perStream = new Map<number, string[][][]>();
        for (const row of rows) {
          const s = Number(row[0]![0]);
          perStream.set(s, [...(perStream.get(s) ?? []), row]);
        }
        for (const [s, streamRows] of perStream) {
          const o = observed.get(s)!;
          expect(o.serverHellos).toHaveLength(streamRows.length);
          streamRows.forEach((row, i) => {
            const [, ja3s, ja3sFull, cipher, version, selected, exts, sidLen] = row;
            const h = o.serverHellos[i]!;
            expect(h.ja3s).toBe(ja3sFull![0]);
            expect(h.ja3s_hash).toBe(ja3s![0]);
            expect(h.cipher_suite).toBe(num(cipher![0]!));
            expect(h.legacy_version).toBe(num(version![0]!));
            expect(h.selected_version).toBe(selected!.length > 0 ? num(selected![0]!) : undefined);
            expect(h.extensions).toEqual(nums(exts!));
            expect(h.session_id_length).toBe(Number(sidLen![0]));
          });
        }
        expect(perStream.size).toBe(observed.size);
      });

      test("Certificate: names, SANs, serials, validity, sizes and SHA-256 of every certificate", () => {
        const rows = tsharkRows(
          cap.path,
          "tls.handshake.type == 11",
          CERTIFICATE_FIELDS,
          cap.ports,
        );
        expect(rows.length).toBeGreaterThan(0);
        for (const row of rows) {
          const [stream, ders, lengths, utf8, dns, ipv4, ipv6, serials, times] = row;
          const o = observed.get(Number(stream![0]))!;
          expect(o.certificates).toHaveLength(1);
          const certs = o.certificates[0]!;
          expect(certs).toHaveLength(ders!.length);
          expect(certs.map((c) => c.sha256)).toEqual(
            ders!.map((d) =>
              createHash("sha256")
                .update(Buffer.from(d.replaceAll(":", ""), "hex"))
                .digest("hex")
                .toUpperCase(),
            ),
          );
          expect(certs.map((c) => c.der_length)).toEqual(nums(lengths!));
          expect(certs.flatMap((c) => [...utf8Values(c.issuer), ...utf8Values(c.subject)])).toEqual(
            utf8,
          );
          expect(certs.flatMap((c) => c.san_dns)).toEqual(dns);
          const ips = certs.flatMap((c) => c.san_ip);
          expect(ips.filter((ip) => !ip.includes(":"))).toEqual(ipv4);
          expect(ips.filter((ip) => ip.includes(":"))).toEqual(ipv6);
          expect(certs.map((c) => c.serial)).toEqual(serials!.map((x) => x.toUpperCase()));
          expect(certs.flatMap((c) => [c.not_before, c.not_after])).toEqual(times!.map(tsharkTime));
        }
      });
    });
  }
});

describe("what each real connection tells", () => {
  test("namespace-clients.pcap: versions, SNI, ALPN, the self-signed certificate, JA4", async () => {
    const observed = await observe(NAMESPACE_PCAP, [443]);
    const summary = [...observed.values()].map((o) => {
      const i = o.session.info();
      return {
        stream: o.conn.stream,
        version: i.version,
        sni: i.server_name ?? null,
        alpn: i.client_hello?.alpn.join(","),
        cn: i.server_certificate?.subject_cn ?? null,
        selfSigned: i.server_certificate?.self_signed ?? null,
        client: o.session.client.doneReason,
        server: o.session.server.doneReason,
        ja4: i.client_hello?.ja4,
      };
    });
    // JA4 expected values were computed independently from tshark's fields with the
    // JA4.md rules (a dozen lines of Python over tls.handshake.* fields), not by egressd.
    expect(summary).toEqual([
      // curl -k https://192.0.2.53/ (an IP: no SNI)
      {
        stream: 5,
        version: "TLS 1.3",
        sni: null,
        alpn: "h2,http/1.1",
        cn: null,
        selfSigned: null,
        client: "client_hello",
        server: "server_hello",
        ja4: "t13i3111h2_e8f1e7e78f70_b26ce05bbdd6",
      },
      {
        stream: 6,
        version: "TLS 1.2",
        sni: "cam.example.test",
        alpn: "",
        cn: "cam.example.test",
        selfSigned: true,
        client: "client_hello",
        server: "certificate",
        ja4: "t12d280700_d943125447b4_e7e480e5a997",
      },
      {
        stream: 7,
        version: "TLS 1.2",
        sni: null,
        alpn: "",
        cn: "cam.example.test",
        selfSigned: true,
        client: "client_hello",
        server: "certificate",
        ja4: "t12i280600_d943125447b4_e7e480e5a997",
      },
      {
        stream: 8,
        version: "TLS 1.3",
        sni: "cam.example.test",
        alpn: "",
        cn: null,
        selfSigned: null,
        client: "client_hello",
        server: "server_hello",
        ja4: "t13d041000_16476d049b0b_78f1d400d464",
      },
      {
        stream: 9,
        version: "TLS 1.3",
        sni: null,
        alpn: "",
        cn: null,
        selfSigned: null,
        client: "client_hello",
        server: "server_hello",
        ja4: "t13i040900_16476d049b0b_78f1d400d464",
      },
      // The same five against the IPv6 address.
      {
        stream: 16,
        version: "TLS 1.3",
        sni: null,
        alpn: "h2,http/1.1",
        cn: null,
        selfSigned: null,
        client: "client_hello",
        server: "server_hello",
        ja4: "t13i3111h2_e8f1e7e78f70_b26ce05bbdd6",
      },
      {
        stream: 17,
        version: "TLS 1.2",
        sni: "cam.example.test",
        alpn: "",
        cn: "cam.example.test",
        selfSigned: true,
        client: "client_hello",
        server: "certificate",
        ja4: "t12d280700_d943125447b4_e7e480e5a997",
      },
      {
        stream: 18,
        version: "TLS 1.2",
        sni: null,
        alpn: "",
        cn: "cam.example.test",
        selfSigned: true,
        client: "client_hello",
        server: "certificate",
        ja4: "t12i280600_d943125447b4_e7e480e5a997",
      },
      {
        stream: 19,
        version: "TLS 1.3",
        sni: "cam.example.test",
        alpn: "",
        cn: null,
        selfSigned: null,
        client: "client_hello",
        server: "server_hello",
        ja4: "t13d041000_16476d049b0b_78f1d400d464",
      },
      {
        stream: 20,
        version: "TLS 1.3",
        sni: null,
        alpn: "",
        cn: null,
        selfSigned: null,
        client: "client_hello",
        server: "server_hello",
        ja4: "t13i040900_16476d049b0b_78f1d400d464",
      },
    ]);
    for (const o of observed.values()) {
      expect(o.session.info().anomalies).toEqual([]);
      expect(o.session.finished).toBe(true);
      expect(o.session.bufferedBytes).toBe(0);
    }
  });

  test("openssl-small-mtu.pcap: split hellos, a chain over records, HRR, an alert, resumption", async () => {
    const observed = await observe(SMALL_MTU_PCAP, [4433, 4434]);
    const [full12, full13, hrr, refused, resumed] = [...observed.values()];

    // 1: TLS 1.2 with a CA-signed leaf and its CA: not self-signed, SANs of both kinds.
    const i1 = full12!.session.info();
    expect(i1.version).toBe("TLS 1.2");
    expect(i1.server_name).toMatch(/^a{60}\.b{60}\.c{60}\.devices\.example\.test$/);
    expect(i1.client_hello!.alpn).toHaveLength(13);
    expect(i1.certificate_count).toBe(2);
    expect(i1.server_certificate).toMatchObject({
      subject: "CN=devices.example.test,O=Example Camera Cloud,C=US",
      issuer: "CN=Example Test CA,O=Example Camera Cloud,C=US",
      subject_cn: "devices.example.test",
      issuer_cn: "Example Test CA",
      san_dns: ["devices.example.test", "*.devices.example.test"],
      san_ip: ["127.0.0.1", "2001:db8::1"],
      self_signed: false,
      is_ca: false,
      key_type: "rsa",
      key_bits: 2048,
    });
    expect(i1.certificate_chain).toHaveLength(1);
    expect(i1.certificate_chain![0]).toMatchObject({
      subject_cn: "Example Test CA",
      self_signed: true,
      is_ca: true,
    });
    expect(i1.resumed).toBe(false);

    // 2: TLS 1.3, ClientHello in two segments.
    const hello13Segments = full13!.conn.segments.filter(
      (s) => s.fromClient && s.payload.length > 0,
    );
    expect(hello13Segments[0]!.payload.length + hello13Segments[1]!.payload.length).toBeGreaterThan(
      524,
    );
    expect(full13!.session.info()).toMatchObject({ version: "TLS 1.3", resumed: false });
    expect(full13!.session.server.doneReason).toBe("server_hello");

    // 3: HelloRetryRequest, then the real ServerHello.
    const i3 = hrr!.session.info();
    expect(hrr!.serverHellos.map((h) => h.hello_retry_request)).toEqual([true, false]);
    expect(i3.hello_retry_request).toBe(true);
    expect(i3.version).toBe("TLS 1.3");
    expect(i3.server_hello!.hello_retry_request).toBe(false);

    // 4: the client does not trust the chain's CA: fatal unknown_ca in cleartext.
    expect(refused!.session.info().alert).toEqual({
      from: "client",
      level: 2,
      description: 48,
      name: "unknown_ca",
    });

    // 5: abbreviated handshake: ServerHello then ChangeCipherSpec, no certificate.
    const i5 = resumed!.session.info();
    expect(i5.resumed).toBe(true);
    expect(i5.server_certificate).toBeUndefined();
    expect(resumed!.session.server.doneReason).toBe("change_cipher_spec");

    for (const o of observed.values()) expect(o.session.info().anomalies).toEqual([]);
  });
});

describe("JA3 and JA4 against an independent implementation", () => {
  // read-tls-client-hello (httptoolkit) computes both from a client's byte stream; the
  // Wireshark in Debian 12 (4.0) has JA3 but not JA4, so this is JA4's second opinion.
  test("every real ClientHello gives the same fingerprints as read-tls-client-hello", async () => {
    const { calculateJa3, calculateJa4, readTlsClientHello } = await import(
      "read-tls-client-hello"
    );
    const { PassThrough } = await import("node:stream");
    // It reads from a live socket: a stream that is written to and left open.
    const readHello = async (bytes: Buffer) => {
      const socket = new PassThrough();
      socket.write(bytes);
      try {
        return await readTlsClientHello(socket);
      } finally {
        socket.destroy();
      }
    };
    let compared = 0;
    for (const [path, ports] of [
      [NAMESPACE_PCAP, [443]],
      [SMALL_MTU_PCAP, [4433, 4434]],
    ] as const) {
      const observed = await observe(path, [...ports]);
      for (const o of observed.values()) {
        const ours = o.clientHellos[0];
        if (ours === undefined) continue;
        const theirs = await readHello(directionBytes(o.conn, true));
        expect({ stream: o.conn.stream, ja4: ours.ja4 }).toEqual({
          stream: o.conn.stream,
          ja4: calculateJa4(theirs),
        });
        expect(ours.ja3_hash).toBe(calculateJa3(theirs));
        compared++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(8);
  });
});
