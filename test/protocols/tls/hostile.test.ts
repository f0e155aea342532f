/**
 * Hostile and broken input: every lie a TLS peer (or a corrupted capture) can tell in
 * the records and messages egressd reads. Each must come back as a named anomaly with
 * whatever could still be trusted, never as an exception, and with bounded work. Ends
 * with a mutation fuzz over real handshakes.
 */

import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";
import { TLS_ANOMALIES, TlsAnomalyList } from "../../../src/protocols/tls/anomalies.js";
import {
  parseHandshakeMessages,
  parseHandshakeRecords,
} from "../../../src/protocols/tls/handshake.js";
import { parseClientHello, parseServerHello } from "../../../src/protocols/tls/hello.js";
import { TlsStreamReassembler } from "../../../src/protocols/tls/reassembly.js";
import { TlsSession } from "../../../src/protocols/tls/session.js";
import { hex } from "../../helpers/packets.js";
import { clientHelloBody, ext, handshake, record, serverHelloBody } from "./build.js";
import { directionBytes, readTcpConnections } from "./tcp-streams.js";

const RANDOM = "11".repeat(32);

/** Parses a ClientHello body given as hex; returns the hello and anomaly names. */
function client(body: Buffer) {
  const anomalies = new TlsAnomalyList();
  const hello = parseClientHello(body, 0, body.length, 0x0301, anomalies);
  return { hello, anomalies: anomalies.names };
}

function feedAll(bytes: Buffer, options = {}) {
  const r = new TlsStreamReassembler({ isn: 0, ...options });
  const events = [...r.feed(1, bytes, 0, bytes.length), ...r.finish()];
  return { r, events };
}

const SERVER_HELLO_12 = handshake(2, serverHelloBody({ cipher: 0xc02f, extensions: [] }));

describe("record layer", () => {
  test("a record length above 2^14 + 2048: gave up", () => {
    const bytes = hex(`
      16 03 01 ff ff   # handshake record claiming 65535 bytes
      01 00 00 04 03 03 00 00
    `);
    const { r, events } = feedAll(bytes);
    expect(events).toEqual([{ type: "gave_up", reason: "tls_record_length_invalid" }]);
    expect(r.bufferedBytes).toBe(0);
  });

  test("a handshake message claiming 16 MiB inside an 8-byte record: gave up at once", () => {
    const bytes = hex(`
      16 03 01 00 08   # record: 8 bytes
      01 ff ff ff      # ClientHello claiming 16 MiB
      03 03 00 00
    `);
    const r = new TlsStreamReassembler({ isn: 0 });
    expect(r.feed(1, bytes, 0, bytes.length)).toEqual([
      { type: "gave_up", reason: "tls_handshake_too_long" },
    ]);
    const oneShot = parseHandshakeRecords(bytes, 0, bytes.length);
    expect(oneShot.client_hello).toBeUndefined();
    expect(oneShot.anomalies).toEqual(["tls_handshake_truncated"]);
  });

  test("a handshake length beyond the record, and the stream ends: incomplete", () => {
    const bytes = hex(`
      16 03 01 00 08   # record: 8 bytes
      01 00 01 00      # ClientHello of 256 bytes: the rest never comes
      03 03 00 00
    `);
    const { events } = feedAll(bytes);
    expect(events).toEqual([{ type: "gave_up", reason: "tls_stream_incomplete" }]);
  });

  test("a record version of 2.x after the first record: gave up", () => {
    const bytes = Buffer.concat([
      record(22, SERVER_HELLO_12, 0x0303),
      hex("16 02 00 00 04 0b 00 00 00   # version 2.0 record"),
    ]);
    const { events } = feedAll(bytes);
    expect(events.map((e) => e.type)).toEqual(["server_hello", "gave_up"]);
    expect(events[1]).toEqual({ type: "gave_up", reason: "tls_record_version_invalid" });
  });

  test("a heartbeat (24) record in the handshake: unexpected content type", () => {
    const bytes = Buffer.concat([
      record(22, SERVER_HELLO_12, 0x0303),
      hex("18 03 03 00 03 01 00 00   # heartbeat request"),
    ]);
    const { events } = feedAll(bytes);
    expect(events[1]).toEqual({ type: "gave_up", reason: "tls_unexpected_content_type" });
  });

  test("an empty handshake record is noted and skipped", () => {
    const hello = handshake(1, clientHelloBody({ ciphers: [0x1301], extensions: [] }));
    const bytes = Buffer.concat([hex("16 03 01 00 00   # empty"), record(22, hello)]);
    const { r, events } = feedAll(bytes);
    expect(events.map((e) => e.type)).toEqual(["client_hello", "done"]);
    expect(r.anomalies.names).toEqual(["tls_record_length_invalid"]);
  });

  test("a first message that is not a hello: gave up", () => {
    const bytes = hex(`
      16 03 03 00 04   # record
      14 00 00 00      # Finished, empty
    `);
    const { events } = feedAll(bytes);
    expect(events).toEqual([{ type: "gave_up", reason: "tls_handshake_unexpected" }]);
  });
});

describe("ClientHello", () => {
  test("an extension longer than the extensions block", () => {
    const { hello, anomalies } = client(
      hex(`
        03 03 ${RANDOM}   # legacy_version TLS 1.2, random
        00                # session id: none
        00 02 13 01       # one cipher suite
        01 00             # one compression method: null
        00 0a             # extensions block: 10 bytes
        00 00 00 09       # server_name claiming 9 bytes...
        00 07 00 00 04 61 # ...of which 6 are in the block
      `),
    );
    expect(anomalies).toEqual(["tls_extension_length_overflow"]);
    expect(hello!.cipher_suites).toEqual([0x1301]);
    expect(hello!.extensions).toEqual([]);
    expect(hello!.server_name).toBeUndefined();
  });

  test("an extensions block longer than the hello: the extensions that fit are kept", () => {
    const { hello, anomalies } = client(
      hex(`
        03 03 ${RANDOM} 00 00 02 13 01 01 00
        00 40             # extensions block claiming 64 bytes
        00 17 00 00       # extended_master_secret, the only 4 present
      `),
    );
    expect(anomalies).toEqual(["tls_extensions_length_overflow"]);
    expect(hello!.extensions).toEqual([0x0017]);
  });

  test("an odd cipher suite list length", () => {
    const { hello, anomalies } = client(
      hex(`
        03 03 ${RANDOM} 00
        00 03 13 01 13    # 3 bytes of cipher suites
        01 00
      `),
    );
    expect(anomalies).toEqual(["tls_cipher_list_odd"]);
    expect(hello!.cipher_suites).toEqual([0x1301]);
    expect(hello!.extensions).toEqual([]);
  });

  test("a cipher suite list running past the hello: no hello", () => {
    const { hello, anomalies } = client(hex(`03 03 ${RANDOM} 00 00 ff 13 01 13 02`));
    expect(hello).toBeUndefined();
    expect(anomalies).toEqual(["tls_cipher_list_overflow"]);
  });

  test("the reassembler gives up with the reason the hello did not parse", () => {
    const body = hex(`03 03 ${RANDOM} 00 00 ff 13 01 13 02`);
    const { events } = feedAll(record(22, handshake(1, body)));
    expect(events).toEqual([{ type: "gave_up", reason: "tls_cipher_list_overflow" }]);
  });

  test("a hello cut before its random ends", () => {
    expect(client(hex("03 03 00 01 02")).anomalies).toEqual(["tls_hello_truncated"]);
    expect(client(hex("")).anomalies).toEqual(["tls_hello_truncated"]);
  });

  test("a session id of 33 bytes", () => {
    const { hello, anomalies } = client(
      hex(`03 03 ${RANDOM} 21 ${"00".repeat(33)} 00 02 13 01 01 00`),
    );
    expect(anomalies).toEqual(["tls_session_id_too_long"]);
    expect(hello!.session_id_length).toBe(33);
  });

  test("a 0-length SNI host name: no name, but JA4 still says 'd'", () => {
    const { hello, anomalies } = client(
      hex(`
        03 03 ${RANDOM} 00 00 02 13 01 01 00
        00 09             # extensions: 9 bytes
        00 00 00 05       # server_name: 5 bytes
        00 03             #   list: 3 bytes
        00 00 00          #   host_name of length 0
      `),
    );
    expect(anomalies).toEqual(["tls_sni_empty"]);
    expect(hello!.server_name).toBeUndefined();
    expect(hello!.ja4.slice(3, 4)).toBe("d");
  });

  test("an SNI list whose length lies", () => {
    const { hello, anomalies } = client(
      hex(`
        03 03 ${RANDOM} 00 00 02 13 01 01 00
        00 0a 00 00 00 06
        00 20             # list claiming 32 bytes
        00 00 01 61       # host_name "a"
      `),
    );
    expect(anomalies).toEqual(["tls_sni_malformed"]);
    expect(hello!.server_name).toBeUndefined();
    expect(hello!.extensions).toEqual([0]);
  });

  test("an SNI with control bytes and a backslash is escaped, not trusted", () => {
    const { hello, anomalies } = client(
      clientHelloBody({ ciphers: [0x1301], extensions: [ext.sni("a\u0000b\n\\.test")] }),
    );
    expect(anomalies).toEqual(["tls_sni_invalid"]);
    expect(hello!.server_name).toBe("a\\x00b\\x0a\\x5c.test");
  });

  test("an ALPN list longer than its extension", () => {
    const { hello, anomalies } = client(
      hex(`
        03 03 ${RANDOM} 00 00 02 13 01 01 00
        00 09 00 10 00 05
        00 10             # protocol list claiming 16 bytes
        02 68 32          # "h2"
      `),
    );
    expect(anomalies).toEqual(["tls_alpn_malformed"]);
    expect(hello!.alpn).toEqual([]);
    expect(hello!.ja4.slice(8, 10)).toBe("00");
  });

  test("an ALPN entry longer than the list, and an empty protocol name", () => {
    const overflow = client(
      hex(`
        03 03 ${RANDOM} 00 00 02 13 01 01 00
        00 0a 00 10 00 06
        00 04             # protocol list: 4 bytes
        02 68 32          # "h2"
        09                # a name of 9 bytes, none left
      `),
    );
    expect(overflow.anomalies).toEqual(["tls_alpn_malformed"]);
    expect(overflow.hello!.alpn).toEqual(["h2"]);
    const empty = client(
      clientHelloBody({ ciphers: [0x1301], extensions: [ext.alpn([Buffer.alloc(0), "h2"])] }),
    );
    expect(empty.anomalies).toEqual(["tls_alpn_malformed"]);
  });

  test("malformed supported_versions, groups, point formats and signature algorithms", () => {
    const { hello, anomalies } = client(
      clientHelloBody({
        ciphers: [0x1301],
        extensions: [
          { type: 43, data: hex("05 03 04 03 03") }, // list of 5 bytes: odd
          { type: 10, data: hex("00 08 00 1d") }, // claims 8, has 2
          { type: 11, data: hex("03 00") }, // claims 3, has 1
          { type: 13, data: hex("") }, // nothing at all
        ],
      }),
    );
    expect(anomalies).toEqual(["tls_extension_malformed"]);
    expect(hello).toMatchObject({
      supported_versions: [],
      supported_groups: [],
      ec_point_formats: [],
      signature_algorithms: [],
      version: "TLS 1.2",
      extensions: [43, 10, 11, 13],
    });
  });

  test("the same extension twice", () => {
    const { anomalies } = client(
      clientHelloBody({ ciphers: [0x1301], extensions: [ext.empty(23), ext.empty(23)] }),
    );
    expect(anomalies).toEqual(["tls_extension_duplicate"]);
  });

  test("bytes after the extensions block, and no cipher suites at all", () => {
    const body = Buffer.concat([
      clientHelloBody({ ciphers: [], compression: [], extensions: [] }),
      hex("de ad"),
    ]);
    expect(client(body).anomalies).toEqual(["tls_cipher_list_empty", "tls_hello_trailing_bytes"]);
  });
});

describe("ServerHello", () => {
  test("a supported_versions of 3 bytes, and a cut-off hello", () => {
    const anomalies = new TlsAnomalyList();
    const body = serverHelloBody({
      cipher: 0x1301,
      extensions: [{ type: 43, data: hex("03 04 00") }],
    });
    const sh = parseServerHello(body, 0, body.length, 0x0303, anomalies)!;
    expect(anomalies.names).toEqual(["tls_extension_malformed"]);
    expect(sh.selected_version).toBeUndefined();
    expect(sh.version).toBe("TLS 1.2");
    const cut = new TlsAnomalyList();
    expect(parseServerHello(body, 0, 36, 0x0303, cut)).toBeUndefined();
    expect(cut.names).toEqual(["tls_hello_truncated"]);
  });

  test("a ClientHello in a server's direction is not trusted", () => {
    const hello = handshake(1, clientHelloBody({ ciphers: [0x1301], extensions: [] }));
    const bytes = Buffer.concat([SERVER_HELLO_12, hello]);
    const r = parseHandshakeMessages(bytes, 0, bytes.length);
    expect(r.server_hello).toBeDefined();
    expect(r.client_hello).toBeUndefined();
    expect(r.anomalies).toEqual(["tls_handshake_unexpected"]);
  });
});

describe("Certificate", () => {
  test("a certificate list holding garbage DER: described by hash, not parsed", () => {
    const messages = Buffer.concat([
      SERVER_HELLO_12,
      hex(`
        0b 00 00 0d            # Certificate, 13 bytes
        00 00 0a               # certificate list: 10 bytes
        00 00 07               # one certificate of 7 bytes:
        30 05 de ad be ef 00   # a SEQUENCE header over garbage
      `),
    ]);
    const r = parseHandshakeMessages(messages, 0, messages.length);
    expect(r.anomalies).toEqual(["tls_certificate_unparsable"]);
    expect(r.certificate_count).toBe(1);
    expect(r.certificates).toEqual([
      {
        san_dns: [],
        san_ip: [],
        self_signed: false,
        sha256: createHash("sha256")
          .update(hex("30 05 de ad be ef 00"))
          .digest("hex")
          .toUpperCase(),
        der_length: 7,
      },
    ]);
  });

  test("PEM text where DER belongs is not handed to the X.509 parser", () => {
    const pem = Buffer.from("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    const list = Buffer.concat([
      hex("00 00"),
      Buffer.from([pem.length + 3]),
      hex("00 00"),
      Buffer.from([pem.length]),
      pem,
    ]);
    const messages = Buffer.concat([SERVER_HELLO_12, handshake(11, list)]);
    const r = parseHandshakeMessages(messages, 0, messages.length);
    expect(r.anomalies).toEqual(["tls_certificate_unparsable"]);
    expect(r.certificates[0]!.subject).toBeUndefined();
  });

  test("a certificate list whose lengths lie", () => {
    const lying = Buffer.concat([
      SERVER_HELLO_12,
      hex(`
        0b 00 00 06   # Certificate, 6 bytes
        00 00 10      # list claiming 16 bytes
        00 00 01      # an entry claiming 1 byte, none left
      `),
    ]);
    const r = parseHandshakeMessages(lying, 0, lying.length);
    expect(r.anomalies).toEqual(["tls_certificate_list_malformed"]);
    expect(r.certificate_count).toBe(0);
    const zero = Buffer.concat([SERVER_HELLO_12, hex("0b 00 00 06 00 00 03 00 00 00")]);
    expect(parseHandshakeMessages(zero, 0, zero.length).anomalies).toEqual([
      "tls_certificate_list_malformed",
    ]);
  });

  test("a Certificate before any ServerHello is not trusted", () => {
    const bytes = hex("0b 00 00 03 00 00 00");
    const r = parseHandshakeMessages(bytes, 0, bytes.length);
    expect(r.anomalies).toEqual(["tls_handshake_unexpected"]);
    expect(r.certificate_count).toBeUndefined();
  });
});

describe("mutation fuzz over real handshakes", () => {
  let inputs: Buffer[];
  beforeAll(async () => {
    const pcaps = [
      fileURLToPath(new URL("../../fixtures/real/namespace-clients.pcap", import.meta.url)),
      fileURLToPath(new URL("fixtures/openssl-small-mtu.pcap", import.meta.url)),
    ];
    inputs = [];
    for (const p of pcaps) {
      for (const c of await readTcpConnections(p)) {
        if (![443, 4433, 4434].includes(c.serverPort)) continue;
        inputs.push(
          directionBytes(c, true).subarray(0, 4000),
          directionBytes(c, false).subarray(0, 4000),
        );
      }
    }
  });

  test("4000 mutants: no exception, only known anomalies, nothing kept after finish", () => {
    let seed = 12345;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const known = new Set<string>(TLS_ANOMALIES);
    for (let i = 0; i < 4000; i++) {
      const m = Buffer.from(inputs[i % inputs.length]!);
      const edits = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < edits; k++) {
        const at = Math.floor(rnd() * m.length);
        const op = rnd();
        if (op < 0.5) m[at] = Math.floor(rnd() * 256);
        else if (op < 0.8) m[at] = m[at]! ^ (1 << Math.floor(rnd() * 8));
        else m.writeUInt16BE(Math.floor(rnd() * 65536), Math.min(at, m.length - 2));
      }
      const cutAt = rnd() < 0.3 ? Math.floor(rnd() * m.length) : m.length;
      const bytes = m.subarray(0, cutAt);

      const oneShot = parseHandshakeRecords(bytes, 0, bytes.length);
      for (const a of oneShot.anomalies) expect(known.has(a)).toBe(true);

      const session = new TlsSession({ clientIsn: 0, serverIsn: 0, maxBytes: 4096 });
      const mid = Math.floor(rnd() * bytes.length);
      session.feed(true, 1 + mid, bytes, mid, bytes.length - mid);
      session.feed(true, 1, bytes, 0, mid);
      session.feed(false, 1, bytes, 0, bytes.length);
      session.finish();
      const info = session.info();
      for (const a of info.anomalies) expect(known.has(a)).toBe(true);
      expect(session.finished).toBe(true);
      expect(session.bufferedBytes).toBe(0);
      JSON.stringify(info);
    }
  });
});
