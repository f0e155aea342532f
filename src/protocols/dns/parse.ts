/**
 * Parses one DNS message (RFC 1035 section 4; the same wire format serves mDNS and LLMNR)
 * into a DnsMessage. Never throws; work and memory are bounded by the message length and
 * the record cap whatever the header claims.
 */

import { u16be as u16, u32be as u32 } from "../../util/bytes.js";
import type { DnsAnomaly } from "./anomalies.js";
import { dnsRcodeName, dnsTypeName } from "./mnemonics.js";
import { RdataDecoder } from "./rdata.js";
import type { DnsMessage, DnsParseResult, DnsQuestion, DnsResourceRecord } from "./record.js";
import { DnsNameReader, dnsNameKey } from "./wire-name.js";

export const DNS_HEADER_LENGTH = 12;
/** Questions and records parsed per message at most; the rest is skipped (message.partial). */
export const DEFAULT_MAX_RECORDS = 256;
/** Smallest possible question: the root name (1 byte), QTYPE, QCLASS. */
const MIN_QUESTION_LENGTH = 5;
/** Smallest possible resource record: the root name, TYPE, CLASS, TTL, RDLENGTH. */
const MIN_RECORD_LENGTH = 11;

// Parsing is synchronous and never re-entered, so one set of scratch readers serves all calls.
const names = new DnsNameReader();
const rdata = new RdataDecoder(new DnsNameReader());

/**
 * Parses the message in buf[off, off + len). See DnsParseResult (record.ts) for what comes
 * back on damage. At most `maxRecords` questions and records are parsed.
 */
export function parseDnsMessage(
  buf: Uint8Array,
  off: number,
  len: number,
  maxRecords = DEFAULT_MAX_RECORDS,
): DnsParseResult {
  const end = Math.min(off + len, buf.length);
  if (off < 0 || end - off < DNS_HEADER_LENGTH) {
    return { message: undefined, anomaly: "dns_truncated_header" };
  }
  const flags1 = buf[off + 2]!;
  const flags2 = buf[off + 3]!;
  const rcode = flags2 & 0x0f;
  const qdcount = u16(buf, off + 4);
  const ancount = u16(buf, off + 6);
  const nscount = u16(buf, off + 8);
  const arcount = u16(buf, off + 10);
  const msg: DnsMessage = {
    id: u16(buf, off),
    response: (flags1 & 0x80) !== 0,
    opcode: (flags1 >> 3) & 0x0f,
    rcode,
    rcodeName: dnsRcodeName(rcode),
    aa: (flags1 & 0x04) !== 0,
    tc: (flags1 & 0x02) !== 0,
    rd: (flags1 & 0x01) !== 0,
    ra: (flags2 & 0x80) !== 0,
    ad: (flags2 & 0x20) !== 0,
    cd: (flags2 & 0x10) !== 0,
    qdcount,
    ancount,
    nscount,
    arcount,
    questions: [],
    answers: [],
    authorities: [],
    additionals: [],
    partial: false,
    length: end - off,
  };

  let anomaly: DnsAnomaly | undefined;
  const minBody = qdcount * MIN_QUESTION_LENGTH + (ancount + nscount + arcount) * MIN_RECORD_LENGTH;
  if (minBody > end - off - DNS_HEADER_LENGTH) anomaly = "dns_counts_exceed_message";

  let budget = maxRecords;
  let pos = off + DNS_HEADER_LENGTH;
  let stop: DnsAnomaly | undefined;

  for (let i = 0; i < qdcount; i++) {
    if (budget-- <= 0) break;
    const next = names.read(buf, off, end, pos);
    if (next < 0 || next + 4 > end) {
      stop = next < 0 && names.anomaly !== "dns_truncated_name" ? names.anomaly : undefined;
      stop ??= "dns_truncated_question";
      break;
    }
    const type = u16(buf, next);
    const q: DnsQuestion = {
      name: names.text,
      nameLower: dnsNameKey(names.text),
      type,
      typeName: dnsTypeName(type),
      class: u16(buf, next + 2),
    };
    msg.questions.push(q);
    pos = next + 4;
  }

  const sections = [msg.answers, msg.authorities, msg.additionals];
  const counts = [ancount, nscount, arcount];
  for (let s = 0; s < 3 && stop === undefined && budget > 0; s++) {
    const out = sections[s]!;
    const count = counts[s]!;
    for (let i = 0; i < count; i++) {
      if (budget-- <= 0) break;
      const next = names.read(buf, off, end, pos);
      if (next < 0 || next + 10 > end) {
        stop = next < 0 && names.anomaly !== "dns_truncated_name" ? names.anomaly : undefined;
        stop ??= "dns_truncated_record";
        break;
      }
      const name = names.text;
      const type = u16(buf, next);
      const rdStart = next + 10;
      const rdEnd = rdStart + u16(buf, next + 8);
      if (rdEnd > end) {
        stop = "dns_rdata_overflow";
        break;
      }
      const data = rdata.decode(buf, off, end, type, rdStart, rdEnd);
      if (rdata.anomaly !== undefined) anomaly ??= rdata.anomaly;
      const rr: DnsResourceRecord = {
        name,
        type,
        typeName: dnsTypeName(type),
        class: u16(buf, next + 2),
        ttl: u32(buf, next + 4),
        data,
      };
      out.push(rr);
      pos = rdEnd;
    }
  }

  if (stop !== undefined) anomaly ??= stop;
  msg.partial =
    msg.questions.length < qdcount ||
    msg.answers.length < ancount ||
    msg.authorities.length < nscount ||
    msg.additionals.length < arcount;
  return { message: msg, anomaly };
}
