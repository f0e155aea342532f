/**
 * Recognises camera discovery and P2P datagrams by content; the ports are hints used only
 * where the content alone is not distinctive (DVRIP replies, Dahua P2P server answers).
 * Cheap byte checks come first, so most datagrams are rejected without a string copy;
 * XML and JSON are scanned within maxScanBytes only.
 */

import { recogniseDhip, recogniseDvrip } from "./dahua.js";
import { recogniseDahuaP2p } from "./dahua-p2p.js";
import { type ResolvedDiscoveryOptions, resolveDiscoveryOptions } from "./options.js";
import type { DiscoveryOptions, DiscoveryRecord } from "./record.js";
import { recogniseSadp, SADP_ETHERTYPE } from "./sadp.js";
import { firstSignificantByte } from "./scan.js";
import { recogniseWsDiscovery } from "./wsd.js";

const DEFAULTS = resolveDiscoveryOptions();

/** A discovery record when the UDP payload `buf[off, off + len)` is one of the protocols, else null. */
export function recogniseDiscovery(
  buf: Uint8Array,
  off: number,
  len: number,
  srcPort = 0,
  dstPort = 0,
  options?: DiscoveryOptions,
): DiscoveryRecord | null {
  if (len <= 0) return null;
  const opts: ResolvedDiscoveryOptions =
    options === undefined ? DEFAULTS : resolveDiscoveryOptions(options);
  const first = buf[off];
  if (first === 0xa3 || first === 0xb3)
    return recogniseDvrip(buf, off, len, srcPort, dstPort, opts);
  if (first === 0x20) {
    // 0x20 also starts XML indented with a space: fall through when it is not DHIP.
    const dhip = recogniseDhip(buf, off, len, opts);
    if (dhip !== null) return dhip;
  }
  const p2p = recogniseDahuaP2p(buf, off, len, srcPort, dstPort, opts);
  if (p2p !== null) return p2p;
  if (firstSignificantByte(buf, off, len) === 0x3c) {
    return recogniseSadp(buf, off, len, opts) ?? recogniseWsDiscovery(buf, off, len, opts);
  }
  return null;
}

/** "sadp" for Hikvision's raw-Ethernet SADP (EtherType 0x8033), else null. */
export function recogniseEtherType(etherType: number): "sadp" | null {
  return etherType === SADP_ETHERTYPE ? "sadp" : null;
}
