import type { RawPacket } from "../capture/source.js";
import { LinkType } from "../capture/source.js";
import { A, AnomalyCounters } from "./anomalies.js";
import { decodeEthernet } from "./ethernet.js";
import { decodeIcmp } from "./icmp.js";
import { decodeIPv4 } from "./ipv4.js";
import { decodeIPv6 } from "./ipv6.js";
import { decodeLoopback, decodeRawIp } from "./loopback.js";
import { DecodedPacket, IpProto } from "./packet.js";
import { decodeSctp } from "./sctp.js";
import { decodeSll, decodeSll2 } from "./sll.js";
import { decodeTcp } from "./tcp.js";
import { decodeUdp } from "./udp.js";

/** decode() results besides an anomaly code (which are > 0). */
export const DECODE_OK = 0;
/** A valid frame that carries no IP (ARP, LLDP, SADP's raw EtherType...): counted, not decoded. */
export const DECODE_NOT_IP = -1;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;

const SUPPORTED_LINK_TYPES: ReadonlyMap<number, string> = new Map([
  [LinkType.NULL, "NULL (BSD loopback)"],
  [LinkType.ETHERNET, "ETHERNET"],
  [LinkType.RAW_BSD, "RAW"],
  [LinkType.RAW_OPENBSD, "RAW"],
  [LinkType.RAW, "RAW"],
  [LinkType.LOOP, "LOOP (OpenBSD loopback)"],
  [LinkType.LINUX_SLL, "LINUX_SLL"],
  [LinkType.IPV4, "IPV4"],
  [LinkType.IPV6, "IPV6"],
  [LinkType.LINUX_SLL2, "LINUX_SLL2"],
]);

/** Names of common link types egressd does not decode, so the error can say what the file is. */
const OTHER_LINK_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [6, "IEEE802_5 (Token Ring)"],
  [9, "PPP"],
  [10, "FDDI"],
  [50, "PPP_HDLC"],
  [104, "C_HDLC"],
  [105, "IEEE802_11 (Wi-Fi)"],
  [119, "PRISM_HEADER"],
  [127, "IEEE802_11_RADIOTAP"],
  [147, "USER0"],
  [187, "BLUETOOTH_HCI_H4"],
  [189, "USB_LINUX"],
  [195, "IEEE802_15_4"],
  [220, "USB_LINUX_MMAPPED"],
  [249, "NETLINK"],
  [253, "NFLOG"],
]);

export function isSupportedLinkType(linkType: number): boolean {
  return SUPPORTED_LINK_TYPES.has(linkType);
}

export function linkTypeName(linkType: number): string {
  return SUPPORTED_LINK_TYPES.get(linkType) ?? OTHER_LINK_TYPE_NAMES.get(linkType) ?? "unknown";
}

export function supportedLinkTypeNames(): string {
  return [...new Set(SUPPORTED_LINK_TYPES.values())].join(", ");
}

/**
 * Chains the layer decoders: link -> IPv4/IPv6 -> TCP/UDP/ICMP, writing into one reused
 * DecodedPacket. Stops at the first error and never trusts bytes after it.
 */
export class PacketParser {
  readonly pkt = new DecodedPacket();
  readonly anomalies: AnomalyCounters;

  constructor(anomalies = new AnomalyCounters()) {
    this.anomalies = anomalies;
  }

  /** Returns DECODE_OK, DECODE_NOT_IP, or an anomaly code (> 0) which the caller counts. */
  decode(raw: RawPacket): number {
    const pkt = this.pkt;
    pkt.reset();
    const buf = raw.buf;
    const start = raw.offset;
    const end = start + raw.capLen;
    const wireEnd = start + Math.max(raw.origLen, raw.capLen);

    let off: number;
    switch (raw.linkType) {
      case LinkType.ETHERNET:
        off = decodeEthernet(buf, start, end, pkt);
        break;
      case LinkType.LINUX_SLL:
        off = decodeSll(buf, start, end, pkt);
        break;
      case LinkType.LINUX_SLL2:
        off = decodeSll2(buf, start, end, pkt);
        break;
      case LinkType.RAW:
      case LinkType.RAW_BSD:
      case LinkType.RAW_OPENBSD:
        off = decodeRawIp(buf, start, end, pkt);
        break;
      case LinkType.IPV4:
        pkt.etherType = ETHERTYPE_IPV4;
        off = start;
        break;
      case LinkType.IPV6:
        pkt.etherType = ETHERTYPE_IPV6;
        off = start;
        break;
      case LinkType.NULL:
        off = decodeLoopback(buf, start, end, pkt, false);
        break;
      case LinkType.LOOP:
        off = decodeLoopback(buf, start, end, pkt, true);
        break;
      default:
        return A.unsupported_link_type;
    }
    if (off < 0) return -off;

    const etherType = pkt.etherType;
    if (etherType === ETHERTYPE_IPV4) off = decodeIPv4(buf, off, end, wireEnd, pkt);
    else if (etherType === ETHERTYPE_IPV6) off = decodeIPv6(buf, off, end, wireEnd, pkt);
    else return DECODE_NOT_IP;
    if (off < 0) return -off;

    // A later fragment has no transport header: the flow layer attributes it by IP id.
    if (pkt.isLaterFragment) return DECODE_OK;

    let status = 0;
    const proto = pkt.proto;
    if (proto === IpProto.TCP) status = decodeTcp(buf, off, end, pkt);
    else if (proto === IpProto.UDP) status = decodeUdp(buf, off, end, pkt);
    else if (proto === IpProto.SCTP) status = decodeSctp(buf, off, end, pkt);
    else if (proto === IpProto.ICMP || proto === IpProto.ICMPV6) {
      status = decodeIcmp(buf, off, end, pkt, this.anomalies);
    }
    return status < 0 ? -status : DECODE_OK;
  }
}
