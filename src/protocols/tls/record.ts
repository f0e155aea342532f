/**
 * The TLS record types egressd keeps about a connection: what the client offered, what
 * the server chose, who the server claimed to be. Everything comes from the cleartext
 * start of the handshake; nothing here needs keys.
 *
 * Code points (versions, cipher suites, extension types, groups...) are plain numbers,
 * as on the wire. Lists keep GREASE values (RFC 8701) where the field says "raw", so what
 * a client sent can be reproduced; fingerprints and `supported_versions` drop them.
 */

/** A ClientHello (RFC 8446 4.1.2, RFC 5246 7.4.1.2). */
export interface TlsClientHello {
  /** Version in the header of the record that carried the hello (0x0301 for most clients). */
  record_version: number;
  /** `legacy_version` / `client_version` of the hello (0x0303 for TLS 1.2 and 1.3 clients). */
  legacy_version: number;
  /** Versions listed in the supported_versions extension (43), GREASE removed, in offered order. Empty when absent. */
  supported_versions: number[];
  /** Highest version offered, as text: "TLS 1.3", "TLS 1.2"... (supported_versions when present, else legacy_version). */
  version: string;
  /** First host_name of the server_name extension (0); absent when the client sent none or an empty one. */
  server_name?: string;
  /** Protocol names of the ALPN extension (16), in the client's order ("h2", "http/1.1"). Empty when absent. */
  alpn: string[];
  /** Cipher suites in the client's order, raw (GREASE kept). */
  cipher_suites: number[];
  /** Extension types in the order sent, raw (GREASE kept). */
  extensions: number[];
  /** supported_groups (10), raw, in order. Empty when absent. */
  supported_groups: number[];
  /** ec_point_formats (11), in order. Empty when absent. */
  ec_point_formats: number[];
  /** signature_algorithms (13), raw, in order. Empty when absent. */
  signature_algorithms: number[];
  /** Length of the legacy session id (0 to 32): 32 usually means TLS 1.3 middlebox compatibility or a resumption attempt. */
  session_id_length: number;
  /** Compression methods offered (normally [0]). */
  compression_methods: number[];
  /** The client put GREASE values in at least one list (typical of Chrome and BoringSSL clients). */
  grease: boolean;
  /** Salesforce JA3 string: SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats (decimal, GREASE removed). */
  ja3: string;
  /** MD5 of `ja3`, lower-case hex. */
  ja3_hash: string;
  /** FoxIO JA4 fingerprint for TLS over TCP, e.g. "t13d1516h2_8daaf6152771_e5627efa2ab1". */
  ja4: string;
  /** JA4 before hashing (JA4_r): sorted cipher and extension lists in clear. */
  ja4_r: string;
}

/** A ServerHello (or a HelloRetryRequest, which has the same layout). */
export interface TlsServerHello {
  /** Version in the header of the record that carried the hello. */
  record_version: number;
  /** `legacy_version` / `server_version` of the hello (0x0303 in TLS 1.3). */
  legacy_version: number;
  /** Version chosen in the supported_versions extension (43); absent before TLS 1.3. */
  selected_version?: number;
  /** Negotiated version as text: "TLS 1.3", "TLS 1.2"... (selected_version when present, else legacy_version). */
  version: string;
  /** Chosen cipher suite. */
  cipher_suite: number;
  /** IANA name of `cipher_suite` when it is a common one ("TLS_AES_256_GCM_SHA384"); absent otherwise. */
  cipher_suite_name?: string;
  /** Chosen compression method (0 = none; anything else is a CRIME-era server). */
  compression_method: number;
  /** Extension types in the order sent. */
  extensions: number[];
  /** Protocol chosen by ALPN, when the server says it here (TLS 1.2; TLS 1.3 hides it in EncryptedExtensions). */
  alpn?: string;
  /** Length of the echoed legacy session id. */
  session_id_length: number;
  /** This is a HelloRetryRequest (RFC 8446 4.1.3): the server asked the client for another ClientHello. */
  hello_retry_request: boolean;
  /** Salesforce JA3S string: SSLVersion,Cipher,Extensions (decimal). */
  ja3s: string;
  /** MD5 of `ja3s`, lower-case hex. */
  ja3s_hash: string;
}

/** One X.509 certificate from a Certificate message (TLS 1.2 and below only: TLS 1.3 encrypts it). */
export interface TlsCertificateInfo {
  /** Subject distinguished name, RFC 4514 order and escaping: "CN=cam.example.test,O=Example,C=US". Absent when unparsable. */
  subject?: string;
  /** Issuer distinguished name, same form as `subject`. */
  issuer?: string;
  /** Common name of the subject (the last CN when there are several). */
  subject_cn?: string;
  /** Common name of the issuer. */
  issuer_cn?: string;
  /** DNS names of the subjectAltName extension (at most 64 are kept). */
  san_dns: string[];
  /** IP addresses of the subjectAltName extension, in text form (IPv6 compressed, lower case). */
  san_ip: string[];
  /** Start of validity, ISO 8601 UTC. */
  not_before?: string;
  /** End of validity, ISO 8601 UTC. */
  not_after?: string;
  /** Serial number, upper-case hex without colons (ECS x509.serial_number). */
  serial?: string;
  /** Subject equals issuer and the signature verifies with the certificate's own key (when the key type allows checking). */
  self_signed: boolean;
  /** The basicConstraints CA flag is set. */
  is_ca?: boolean;
  /** Public key type: "rsa", "ec", "ed25519", "dsa"... */
  key_type?: string;
  /** RSA/DSA modulus size in bits (1024-bit keys on cameras are worth noticing). */
  key_bits?: number;
  /** EC named curve ("prime256v1"). */
  key_curve?: string;
  /** SHA-256 of the DER bytes, upper-case hex without colons (ECS tls.server.hash.sha256). */
  sha256: string;
  /** Length of the DER encoding in bytes. */
  der_length: number;
}

/** A cleartext alert seen during the handshake. */
export interface TlsAlertInfo {
  /** Which side sent it. */
  from: "client" | "server";
  /** 1 warning, 2 fatal. */
  level: number;
  /** Alert description number. */
  description: number;
  /** Alert description name ("unknown_ca", "handshake_failure"...). */
  name: string;
}

/** What a flow record carries about a TLS connection: one object per flow, Zeek ssl.log style. */
export interface TlsHandshakeInfo {
  /** Negotiated version as text, from the ServerHello ("TLS 1.3"); absent when no ServerHello was seen. */
  version?: string;
  /** Chosen cipher suite name (or "0x1234" when not in the name table). */
  cipher?: string;
  /** SNI of the ClientHello. */
  server_name?: string;
  /** The server accepted a resumption: a TLS 1.3 pre_shared_key in the ServerHello, or a TLS 1.2 abbreviated handshake. */
  resumed?: boolean;
  /** The ClientHello, as offered. */
  client_hello?: TlsClientHello;
  /** The ServerHello (the real one when a HelloRetryRequest came first). */
  server_hello?: TlsServerHello;
  /** The server sent a HelloRetryRequest before its ServerHello. */
  hello_retry_request?: boolean;
  /** The server's (leaf) certificate; TLS 1.2 and below only. */
  server_certificate?: TlsCertificateInfo;
  /** The rest of the chain, in the order sent, up to the configured limit. */
  certificate_chain?: TlsCertificateInfo[];
  /** Number of certificates in the Certificate message (may exceed the chain kept). */
  certificate_count?: number;
  /** First cleartext alert of the handshake (a camera refusing a server certificate sends "unknown_ca"). */
  alert?: TlsAlertInfo;
  /** Anomaly names from both directions (see TLS_ANOMALIES). */
  anomalies: string[];
}
