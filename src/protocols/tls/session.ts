/**
 * Both directions of one TLS connection and the TlsHandshakeInfo a flow record carries.
 * The inspector feeds each TCP segment with its direction; the session ends when both
 * directions are done or given up (or when finish() is called at the end of the flow).
 */

import { alertName, cipherSuiteName, hex4 } from "./names.js";
import {
  type TlsReassemblerOptions,
  type TlsStreamEvent,
  TlsStreamReassembler,
} from "./reassembly.js";
import type { TlsHandshakeInfo } from "./record.js";

export interface TlsSessionOptions extends Omit<TlsReassemblerOptions, "isn"> {
  /** Initial sequence number of the client (initiator) direction, from its SYN. */
  clientIsn?: number;
  /** Initial sequence number of the server direction, from its SYN-ACK. */
  serverIsn?: number;
}

const PRE_SHARED_KEY = 41;

export class TlsSession {
  readonly client: TlsStreamReassembler;
  readonly server: TlsStreamReassembler;

  constructor(options: TlsSessionOptions = {}) {
    const { clientIsn, serverIsn, ...common } = options;
    this.client = new TlsStreamReassembler(
      clientIsn === undefined ? common : { ...common, isn: clientIsn },
    );
    this.server = new TlsStreamReassembler(
      serverIsn === undefined ? common : { ...common, isn: serverIsn },
    );
  }

  /** One segment; `fromClient` is true for the initiator's direction. */
  feed(
    fromClient: boolean,
    seq: number,
    buf: Uint8Array,
    off: number,
    len: number,
  ): readonly TlsStreamEvent[] {
    return (fromClient ? this.client : this.server).feed(seq, buf, off, len);
  }

  /** Both directions reached a final state: nothing more to feed. */
  get finished(): boolean {
    return this.client.state !== "waiting" && this.server.state !== "waiting";
  }

  /** The flow ended: salvage what can be, stop waiting. */
  finish(): void {
    this.client.finish();
    this.server.finish();
  }

  /** Bytes held by both directions. */
  get bufferedBytes(): number {
    return this.client.bufferedBytes + this.server.bufferedBytes;
  }

  /** The record for the flow, from what both directions showed so far. */
  info(): TlsHandshakeInfo {
    const c = this.client.decoder;
    const s = this.server.decoder;
    const anomalies: string[] = [];
    for (const a of this.client.anomalies.names) anomalies.push(a);
    for (const a of this.server.anomalies.names) if (!anomalies.includes(a)) anomalies.push(a);
    const info: TlsHandshakeInfo = { anomalies };

    const ch = c.clientHello;
    if (ch !== undefined) {
      info.client_hello = ch;
      if (ch.server_name !== undefined) info.server_name = ch.server_name;
    }
    const sh = s.serverHello;
    if (sh !== undefined) {
      info.server_hello = sh;
      if (!sh.hello_retry_request) {
        info.version = sh.version;
        info.cipher = cipherSuiteName(sh.cipher_suite) ?? hex4(sh.cipher_suite);
        const resumed =
          sh.extensions.includes(PRE_SHARED_KEY) ||
          (this.server.doneReason === "change_cipher_spec" && s.certificates === undefined);
        info.resumed = resumed;
      }
    }
    if (s.helloRetryRequest) info.hello_retry_request = true;
    const certs = s.certificates;
    if (certs !== undefined) {
      info.certificate_count = certs.count;
      const [leaf, ...chain] = certs.certificates;
      if (leaf !== undefined) info.server_certificate = leaf;
      if (chain.length > 0) info.certificate_chain = chain;
    }
    const clientAlert = this.client.alert;
    const serverAlert = this.server.alert;
    // In practice only one side alerts in cleartext (the side that refused the other's
    // hello or certificate); should both, the client's (a device refusing a server) wins.
    const alert = clientAlert ?? serverAlert;
    if (alert !== undefined) {
      info.alert = {
        from: alert === clientAlert ? "client" : "server",
        level: alert.level,
        description: alert.description,
        name: alertName(alert.description),
      };
    }
    return info;
  }
}
