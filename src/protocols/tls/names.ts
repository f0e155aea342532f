/**
 * IANA names for the TLS numbers a person reads in a record: protocol versions, common
 * cipher suites and alert descriptions. Unknown numbers are shown in hex, never dropped.
 */

/**
 * GREASE values (RFC 8701): 0x0a0a, 0x1a1a ... 0xfafa. Clients put them in cipher,
 * extension, group, version and signature lists at random; fingerprints ignore them.
 */
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && (v & 0xff) === v >> 8;
}

/** "TLS 1.3", "SSL 3.0", "TLS 1.3 draft 23", or "unknown (0x1234)". */
export function tlsVersionName(v: number): string {
  switch (v) {
    case 0x0304:
      return "TLS 1.3";
    case 0x0303:
      return "TLS 1.2";
    case 0x0302:
      return "TLS 1.1";
    case 0x0301:
      return "TLS 1.0";
    case 0x0300:
      return "SSL 3.0";
    case 0x0002:
    case 0x0200:
      return "SSL 2.0";
  }
  // Pre-standard TLS 1.3 drafts were negotiated as 0x7fNN (draft NN).
  if (v >> 8 === 0x7f) return `TLS 1.3 draft ${v & 0xff}`;
  return `unknown (${hex4(v)})`;
}

/** "0x00ff": the form Wireshark and IANA use for 16-bit code points. */
export function hex4(v: number): string {
  return `0x${v.toString(16).padStart(4, "0")}`;
}

// Suites a camera, an NVR, a phone app or a browser offers or selects in practice,
// including the weak ones worth noticing (RC4, 3DES, NULL, EXPORT, anon).
const CIPHER_SUITES: ReadonlyMap<number, string> = new Map([
  [0x0000, "TLS_NULL_WITH_NULL_NULL"],
  [0x0001, "TLS_RSA_WITH_NULL_MD5"],
  [0x0002, "TLS_RSA_WITH_NULL_SHA"],
  [0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"],
  [0x0004, "TLS_RSA_WITH_RC4_128_MD5"],
  [0x0005, "TLS_RSA_WITH_RC4_128_SHA"],
  [0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"],
  [0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"],
  [0x0009, "TLS_RSA_WITH_DES_CBC_SHA"],
  [0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"],
  [0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA"],
  [0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA"],
  [0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA"],
  [0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"],
  [0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA"],
  [0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"],
  [0x0018, "TLS_DH_anon_WITH_RC4_128_MD5"],
  [0x001b, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA"],
  [0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"],
  [0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA"],
  [0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"],
  [0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA"],
  [0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"],
  [0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA"],
  [0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"],
  [0x003a, "TLS_DH_anon_WITH_AES_256_CBC_SHA"],
  [0x003b, "TLS_RSA_WITH_NULL_SHA256"],
  [0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256"],
  [0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256"],
  [0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256"],
  [0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA"],
  [0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA"],
  [0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"],
  [0x006a, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256"],
  [0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"],
  [0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA"],
  [0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA"],
  [0x008c, "TLS_PSK_WITH_AES_128_CBC_SHA"],
  [0x008d, "TLS_PSK_WITH_AES_256_CBC_SHA"],
  [0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"],
  [0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"],
  [0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"],
  [0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"],
  [0x00a2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"],
  [0x00a3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384"],
  [0x00a8, "TLS_PSK_WITH_AES_128_GCM_SHA256"],
  [0x00a9, "TLS_PSK_WITH_AES_256_GCM_SHA384"],
  [0x00ae, "TLS_PSK_WITH_AES_128_CBC_SHA256"],
  [0x00af, "TLS_PSK_WITH_AES_256_CBC_SHA384"],
  [0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"],
  [0x1301, "TLS_AES_128_GCM_SHA256"],
  [0x1302, "TLS_AES_256_GCM_SHA384"],
  [0x1303, "TLS_CHACHA20_POLY1305_SHA256"],
  [0x1304, "TLS_AES_128_CCM_SHA256"],
  [0x1305, "TLS_AES_128_CCM_8_SHA256"],
  [0x5600, "TLS_FALLBACK_SCSV"],
  [0xc002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA"],
  [0xc003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA"],
  [0xc004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA"],
  [0xc005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA"],
  [0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"],
  [0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"],
  [0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"],
  [0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"],
  [0xc00c, "TLS_ECDH_RSA_WITH_RC4_128_SHA"],
  [0xc00d, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA"],
  [0xc00e, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA"],
  [0xc00f, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA"],
  [0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"],
  [0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"],
  [0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"],
  [0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"],
  [0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"],
  [0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"],
  [0xc025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256"],
  [0xc026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384"],
  [0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"],
  [0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"],
  [0xc029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256"],
  [0xc02a, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384"],
  [0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"],
  [0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"],
  [0xc02d, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256"],
  [0xc02e, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384"],
  [0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
  [0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"],
  [0xc031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256"],
  [0xc032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384"],
  [0xc035, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA"],
  [0xc036, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA"],
  [0xc09c, "TLS_RSA_WITH_AES_128_CCM"],
  [0xc09d, "TLS_RSA_WITH_AES_256_CCM"],
  [0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"],
  [0xc0ad, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"],
  [0xc0ae, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"],
  [0xc0af, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"],
  [0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"],
  [0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"],
  [0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"],
  [0xccab, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256"],
  [0xccac, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256"],
  [0xccad, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256"],
]);

/** IANA name of a cipher suite in the table above, else undefined (callers show the number). */
export function cipherSuiteName(v: number): string | undefined {
  return CIPHER_SUITES.get(v);
}

const ALERTS: ReadonlyMap<number, string> = new Map([
  [0, "close_notify"],
  [10, "unexpected_message"],
  [20, "bad_record_mac"],
  [22, "record_overflow"],
  [40, "handshake_failure"],
  [42, "bad_certificate"],
  [43, "unsupported_certificate"],
  [44, "certificate_revoked"],
  [45, "certificate_expired"],
  [46, "certificate_unknown"],
  [47, "illegal_parameter"],
  [48, "unknown_ca"],
  [49, "access_denied"],
  [50, "decode_error"],
  [51, "decrypt_error"],
  [70, "protocol_version"],
  [71, "insufficient_security"],
  [80, "internal_error"],
  [86, "inappropriate_fallback"],
  [90, "user_canceled"],
  [100, "no_renegotiation"],
  [109, "missing_extension"],
  [110, "unsupported_extension"],
  [112, "unrecognized_name"],
  [113, "bad_certificate_status_response"],
  [115, "unknown_psk_identity"],
  [116, "certificate_required"],
  [120, "no_application_protocol"],
]);

/** RFC 8446 / RFC 5246 alert description name, or "unknown (N)". */
export function alertName(description: number): string {
  return ALERTS.get(description) ?? `unknown (${description})`;
}
