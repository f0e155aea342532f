/**
 * Named TLS anomalies (Zeek "weird" style). Parsers never throw on packet bytes: they
 * record one of these names and carry on with what they could trust, or stop.
 */
export const TLS_ANOMALIES = [
  /** The stream does not start with a TLS handshake or alert record. */
  "tls_not_tls",
  /** An SSLv2-compatible ClientHello (first byte has the high bit set): recognised, not parsed. */
  "tls_sslv2_hello",
  /** A record header with a major version other than 3. */
  "tls_record_version_invalid",
  /** A record longer than TLS allows (2^14 + 2048), or an empty handshake record. */
  "tls_record_length_invalid",
  /** A content type other than handshake, change cipher spec, alert or application data. */
  "tls_unexpected_content_type",
  /** A handshake message that declares more bytes than the reassembly window can ever hold. */
  "tls_handshake_too_long",
  /** A handshake message whose declared length runs past the end of the input. */
  "tls_handshake_truncated",
  /** A handshake message that makes no sense where it is (a ServerHello after a ClientHello in one direction...). */
  "tls_handshake_unexpected",
  /** A hello that ends before one of its fixed fields (version, random, lengths). */
  "tls_hello_truncated",
  /** A session id longer than 32 bytes. */
  "tls_session_id_too_long",
  /** The cipher suite list length is odd. */
  "tls_cipher_list_odd",
  /** The cipher suite list (or the compression method list) runs past the end of the hello. */
  "tls_cipher_list_overflow",
  /** A hello with no cipher suites or no compression methods. */
  "tls_cipher_list_empty",
  /** The extensions block length runs past the end of the hello. */
  "tls_extensions_length_overflow",
  /** One extension's length runs past the end of the extensions block. */
  "tls_extension_length_overflow",
  /** The same extension type twice in one hello (RFC 8446 4.2 forbids it). */
  "tls_extension_duplicate",
  /** Bytes left over after the extensions block, inside the hello. */
  "tls_hello_trailing_bytes",
  /** supported_versions, supported_groups, ec_point_formats or signature_algorithms with a lying length. */
  "tls_extension_malformed",
  /** A server_name extension whose lengths lie. */
  "tls_sni_malformed",
  /** A server_name extension with an empty host name. */
  "tls_sni_empty",
  /** A host name with bytes outside printable ASCII, or longer than 255 bytes. */
  "tls_sni_invalid",
  /** An ALPN extension whose list lies, or holds an empty protocol name. */
  "tls_alpn_malformed",
  /** A Certificate message whose list or entry lengths lie. */
  "tls_certificate_list_malformed",
  /** A certificate that is not parsable DER X.509. */
  "tls_certificate_unparsable",
  /** The Certificate message did not fit in the reassembly window or the stream ended inside it. */
  "tls_certificate_truncated",
  /** The stream filled the reassembly window before the handshake messages we need were complete. */
  "tls_buffer_overflow",
  /** More holes between out-of-order segments than the reassembler keeps track of. */
  "tls_too_many_gaps",
  /** The stream ended (or the flow was finished) before the messages we need were complete. */
  "tls_stream_incomplete",
] as const;

export type TlsAnomaly = (typeof TLS_ANOMALIES)[number];

/** At most this many distinct anomalies are kept per handshake: enough to explain it, bounded. */
const MAX_ANOMALIES = 16;

/** A small, bounded, de-duplicated list of anomaly names in the order first seen. */
export class TlsAnomalyList {
  readonly names: TlsAnomaly[] = [];
  /** Anomalies not kept because the list was full. */
  dropped = 0;

  add(name: TlsAnomaly): void {
    if (this.names.includes(name)) return;
    if (this.names.length >= MAX_ANOMALIES) {
      this.dropped++;
      return;
    }
    this.names.push(name);
  }

  has(name: TlsAnomaly): boolean {
    return this.names.includes(name);
  }
}
