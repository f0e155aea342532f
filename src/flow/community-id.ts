import { createHash } from "node:crypto";
import { IpProto } from "../decode/packet.js";
import type { Flow } from "./flow.js";
import { icmpIsOneWay } from "./key.js";

/**
 * Community ID v1 (https://github.com/corelight/community-id-spec): a hash of the flow
 * tuple that Zeek, Suricata and Elastic compute the same way, so egressd's records join
 * with theirs. Computed once per flow, at report time, never per packet.
 */
export function communityId(flow: Flow, seed = 0): string {
  const v6 = flow.ipVersion === 6;
  const addrLen = v6 ? 16 : 4;
  const proto = flow.proto;
  const hasPorts =
    proto === IpProto.TCP ||
    proto === IpProto.UDP ||
    proto === IpProto.SCTP ||
    proto === IpProto.ICMP ||
    proto === IpProto.ICMPV6;
  const buf = Buffer.alloc(2 + 2 * addrLen + 2 + (hasPorts ? 4 : 0));
  const src = Buffer.alloc(addrLen);
  const dst = Buffer.alloc(addrLen);
  writeAddress(src, v6, flow.src0, flow.src1, flow.src2, flow.src3);
  writeAddress(dst, v6, flow.dst0, flow.dst1, flow.dst2, flow.dst3);

  let sPort = flow.srcPort;
  let dPort = flow.dstPort;
  // One-way ICMP messages keep their direction; everything else is put in canonical order.
  const isIcmp = proto === IpProto.ICMP || proto === IpProto.ICMPV6;
  const oneWay = isIcmp && icmpIsOneWay(proto === IpProto.ICMPV6, flow.srcPort);
  let first = src;
  let second = dst;
  if (!oneWay) {
    const order = Buffer.compare(src, dst);
    if (order > 0 || (order === 0 && hasPorts && sPort > dPort)) {
      first = dst;
      second = src;
      [sPort, dPort] = [dPort, sPort];
    }
  }
  let o = buf.writeUInt16BE(seed, 0);
  o += first.copy(buf, o);
  o += second.copy(buf, o);
  o = buf.writeUInt8(proto, o);
  o = buf.writeUInt8(0, o);
  if (hasPorts) {
    o = buf.writeUInt16BE(sPort, o);
    buf.writeUInt16BE(dPort, o);
  }
  return `1:${createHash("sha1").update(buf).digest("base64")}`;
}

function writeAddress(out: Buffer, v6: boolean, w0: number, w1: number, w2: number, w3: number) {
  if (!v6) {
    out.writeUInt32BE(w3, 0);
    return;
  }
  out.writeUInt32BE(w0, 0);
  out.writeUInt32BE(w1, 4);
  out.writeUInt32BE(w2, 8);
  out.writeUInt32BE(w3, 12);
}
