/**
 * Named DNS anomalies (Zeek "weird" style). The parser, the TCP framer and the recogniser
 * never throw on packet bytes: damage becomes one of these names, which the pipeline counts.
 */
export const DNS_ANOMALIES = [
  /** Fewer than the 12 bytes of the fixed header. */
  "dns_truncated_header",
  /** The header announces more questions/records than the message can possibly hold
   * (a question needs at least 5 bytes, a resource record 11). Parsing goes on with what is there. */
  "dns_counts_exceed_message",
  /** A question's name or its type/class runs past the end of the message. */
  "dns_truncated_question",
  /** A resource record's name or its 10 fixed bytes run past the end of the message. */
  "dns_truncated_record",
  /** A record's RDLENGTH reaches past the end of the message. */
  "dns_rdata_overflow",
  /** A record's data does not fit its type inside a valid RDLENGTH (an A record of 5 bytes,
   * a CNAME target running past RDLENGTH, a TXT string longer than what is left...). */
  "dns_bad_rdata",
  /** A name's labels run past the end of the message. */
  "dns_truncated_name",
  /** A label length byte of 64..191: longer than the 63 allowed (the 01/10 top bits are the
   * obsolete extended and the reserved label types). */
  "dns_label_too_long",
  /** A name longer than 255 bytes in wire form. */
  "dns_name_too_long",
  /** A compression pointer into the 12-byte header or past the end of the message. */
  "dns_bad_pointer",
  /** A name's first compression pointer points ahead of itself (names can only point back to
   * names written before them). */
  "dns_compression_forward_pointer",
  /** A compression pointer to itself or back into bytes this name already used: following it
   * would loop. */
  "dns_compression_loop",
  /** More compression jumps in one name than the cap (64): bounded work on crafted chains. */
  "dns_compression_too_many_jumps",
  /** DNS over TCP: a 2-byte length prefix of 0. */
  "dns_tcp_zero_length",
  /** DNS over TCP: a message cut short by a hole in the stream or by its end. */
  "dns_tcp_truncated_message",
  /** DNS over TCP: bytes after a hole that do not start a plausible message were skipped. */
  "dns_tcp_desync",
] as const;

export type DnsAnomaly = (typeof DNS_ANOMALIES)[number];
