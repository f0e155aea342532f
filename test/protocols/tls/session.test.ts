/**
 * TlsSession: both directions of a connection to one TlsHandshakeInfo, on handshakes
 * built to the RFCs for the cases the real captures do not hold (TLS 1.3 resumption,
 * a server alert, anonymous suites, a HelloRetryRequest built by hand), and the watch
 * for a cleartext alert after a direction is done.
 */

import { describe, expect, test } from "vitest";
import { TlsSession } from "../../../src/protocols/tls/session.js";
import { hex } from "../../helpers/packets.js";
import { clientHelloBody, ext, handshake, record, serverHelloBody } from "./build.js";

const HRR_RANDOM = hex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c");

const CLIENT_HELLO = record(
  22,
  handshake(
    1,
    clientHelloBody({
      ciphers: [0x1301, 0x1302, 0xc02f],
      extensions: [ext.sni("cam.example.test"), ext.supportedVersions([0x0304, 0x0303])],
    }),
  ),
);

function serverHello(
  cipher: number,
  extensions = [ext.supportedVersions([0x0304])],
  random?: Buffer,
) {
  // A ServerHello's supported_versions holds one bare version, not a list.
  const exts = extensions.map((e) => (e.type === 43 ? { type: 43, data: e.data.subarray(1) } : e));
  return handshake(2, serverHelloBody({ cipher, extensions: exts, random }));
}

function session(client: Buffer[], server: Buffer[]) {
  const s = new TlsSession({ clientIsn: 100, serverIsn: 5000 });
  let c = 101;
  let v = 5001;
  for (const b of client) {
    s.feed(true, c, b, 0, b.length);
    c += b.length;
  }
  for (const b of server) {
    s.feed(false, v, b, 0, b.length);
    v += b.length;
  }
  return s;
}

describe("TlsHandshakeInfo", () => {
  test("nothing seen: only an empty anomaly list", () => {
    expect(new TlsSession().info()).toEqual({ anomalies: [] });
  });

  test("TLS 1.3 with pre_shared_key in the ServerHello: resumed", () => {
    const psk = { type: 41, data: hex("00 00") };
    const s = session(
      [CLIENT_HELLO],
      [record(22, serverHello(0x1301, [ext.supportedVersions([0x0304]), psk]), 0x0303)],
    );
    expect(s.info()).toMatchObject({
      version: "TLS 1.3",
      cipher: "TLS_AES_128_GCM_SHA256",
      server_name: "cam.example.test",
      resumed: true,
    });
    expect(s.finished).toBe(true);
  });

  test("a server refusing the hello with a fatal alert", () => {
    const s = session([CLIENT_HELLO], [hex("15 03 03 00 02 02 28   # fatal handshake_failure")]);
    expect(s.server.doneReason).toBe("alert");
    expect(s.info().alert).toEqual({
      from: "server",
      level: 2,
      description: 40,
      name: "handshake_failure",
    });
    expect(s.info().version).toBeUndefined();
  });

  test("an anonymous TLS 1.2 suite: ServerHelloDone ends the server's cleartext", () => {
    const flight = Buffer.concat([
      serverHello(0x0034, []),
      handshake(12, Buffer.alloc(40, 1)),
      handshake(14, Buffer.alloc(0)),
    ]);
    const s = session([CLIENT_HELLO], [record(22, flight, 0x0303)]);
    expect(s.server.doneReason).toBe("server_hello_done");
    expect(s.info()).toMatchObject({
      version: "TLS 1.2",
      cipher: "TLS_DH_anon_WITH_AES_128_CBC_SHA",
      resumed: false,
    });
    expect(s.info().server_certificate).toBeUndefined();
  });

  test("a HelloRetryRequest, a compatibility ChangeCipherSpec, then the ServerHello", () => {
    const hrr = serverHello(
      0x1302,
      [ext.supportedVersions([0x0304]), { type: 51, data: hex("00 1d") }],
      HRR_RANDOM,
    );
    const s = session(
      [CLIENT_HELLO],
      [
        record(22, hrr, 0x0303),
        hex("14 03 03 00 01 01   # ChangeCipherSpec"),
        record(22, serverHello(0x1302), 0x0303),
        hex("17 03 03 00 05 00 00 00 00 00"),
      ],
    );
    const info = s.info();
    expect(info.hello_retry_request).toBe(true);
    expect(info.server_hello!.hello_retry_request).toBe(false);
    expect(info.version).toBe("TLS 1.3");
    expect(info.cipher).toBe("TLS_AES_256_GCM_SHA384");
  });

  test("a cipher outside the name table is shown in hex", () => {
    const s = session([CLIENT_HELLO], [record(22, serverHello(0x1234), 0x0303)]);
    expect(s.info().cipher).toBe("0x1234");
    expect(s.info().server_hello!.cipher_suite_name).toBeUndefined();
  });

  test("application data before the certificate ends the server's direction", () => {
    const s = session(
      [CLIENT_HELLO],
      [record(22, serverHello(0xc02f, []), 0x0303), hex("17 03 03 00 02 00 00")],
    );
    expect(s.server.doneReason).toBe("application_data");
  });
});

describe("watching for a cleartext alert after done", () => {
  test("the client's alert in a later segment is reported", () => {
    const s = new TlsSession({ clientIsn: 0, serverIsn: 0 });
    s.feed(true, 1, CLIENT_HELLO, 0, CLIENT_HELLO.length);
    expect(s.client.state).toBe("done");
    const alert = hex("15 03 03 00 02 02 30   # fatal unknown_ca");
    const events = s.feed(true, 1 + CLIENT_HELLO.length, alert, 0, alert.length);
    expect(events).toEqual([{ type: "alert", level: 2, description: 48, name: "unknown_ca" }]);
    expect(s.info().alert).toMatchObject({ from: "client", name: "unknown_ca" });
    expect(s.client.bufferedBytes).toBe(0);
  });

  test("handshake records before the alert are skipped; ChangeCipherSpec ends the watch", () => {
    const s = new TlsSession({ clientIsn: 0, serverIsn: 0 });
    const kx = record(22, handshake(16, Buffer.alloc(66, 4)), 0x0303);
    const ccs = hex("14 03 03 00 01 01");
    const alert = hex("15 03 03 00 02 02 14");
    const all = Buffer.concat([CLIENT_HELLO, kx, ccs, alert]);
    expect(s.feed(true, 1, all, 0, all.length).map((e) => e.type)).toEqual([
      "client_hello",
      "done",
    ]);
    expect(s.info().alert).toBeUndefined();
  });

  test("a retransmitted or unrelated segment does not confuse the watch", () => {
    const s = new TlsSession({ clientIsn: 0, serverIsn: 0 });
    s.feed(true, 1, CLIENT_HELLO, 0, CLIENT_HELLO.length);
    expect(s.feed(true, 1, CLIENT_HELLO, 0, CLIENT_HELLO.length)).toEqual([]);
    const junk = Buffer.alloc(3, 0x15);
    expect(s.feed(true, 1 + CLIENT_HELLO.length + 100, junk, 0, junk.length)).toEqual([]);
    expect(s.info().alert).toBeUndefined();
  });
});
