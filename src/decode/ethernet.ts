import { A } from "./anomalies.js";
import type { DecodedPacket } from "./packet.js";

/** EtherTypes that carry a VLAN tag: 802.1Q, 802.1ad (QinQ S-tag) and the pre-standard 0x9100. */
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_QINQ_OLD = 0x9100;
/** More tags than this is not a real network; stop before the loop eats the frame. */
const MAX_VLAN_TAGS = 4;

/**
 * Given the EtherType `type` of the payload at `off`, walks 802.1Q/802.1ad tags keeping
 * the outer and inner VLAN ids. Returns the network-layer offset with `pkt.etherType`
 * set, or a negative anomaly code. Shared by Ethernet and Linux SLL/SLL2, which can all
 * carry tags.
 */
export function decodeEtherTypeChain(
  buf: Buffer,
  type: number,
  off: number,
  end: number,
  pkt: DecodedPacket,
): number {
  let tags = 0;
  while (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD) {
    if (off + 4 > end) return -A.truncated_vlan;
    if (++tags > MAX_VLAN_TAGS) return -A.too_many_vlan_tags;
    const vid = ((buf[off]! & 0x0f) << 8) | buf[off + 1]!;
    if (tags === 1) pkt.vlanOuter = vid;
    else if (tags === 2) pkt.vlanInner = vid;
    type = (buf[off + 2]! << 8) | buf[off + 3]!;
    off += 4;
  }
  // Values below 0x0600 are 802.3 lengths (LLC frames), not EtherTypes.
  pkt.etherType = type >= 0x0600 ? type : 0;
  return off;
}

/** Ethernet II (DLT_EN10MB): destination MAC, source MAC, EtherType, optional VLAN tags. */
export function decodeEthernet(buf: Buffer, off: number, end: number, pkt: DecodedPacket): number {
  if (off + 14 > end) return -A.truncated_ethernet;
  pkt.dstMacOffset = off;
  pkt.srcMacOffset = off + 6;
  return decodeEtherTypeChain(buf, (buf[off + 12]! << 8) | buf[off + 13]!, off + 14, end, pkt);
}
