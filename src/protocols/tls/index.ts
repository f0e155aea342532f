/** The TLS parser family: what the inspector imports. */

export { TLS_ANOMALIES, type TlsAnomaly, TlsAnomalyList } from "./anomalies.js";
export { describeCertificate, parseCertificateList } from "./certificate.js";
export {
  highestOfferedVersion,
  ja3String,
  ja3sString,
  ja4AlpnChars,
  ja4Fingerprint,
} from "./fingerprint.js";
export {
  parseHandshakeMessages,
  parseHandshakeRecords,
  TlsHandshakeDecoder,
  type TlsHandshakeOptions,
  type TlsHandshakeResult,
} from "./handshake.js";
export { parseClientHello, parseServerHello } from "./hello.js";
export { alertName, cipherSuiteName, isGrease, tlsVersionName } from "./names.js";
export {
  type TlsDoneReason,
  type TlsReassemblerOptions,
  TlsReassemblyStats,
  type TlsStreamEvent,
  TlsStreamReassembler,
  type TlsStreamState,
} from "./reassembly.js";
export { looksLikeSslv2Hello, looksLikeTls, MAX_RECORD_LENGTH } from "./recognise.js";
export type {
  TlsAlertInfo,
  TlsCertificateInfo,
  TlsClientHello,
  TlsHandshakeInfo,
  TlsServerHello,
} from "./record.js";
export { TlsSession, type TlsSessionOptions } from "./session.js";
