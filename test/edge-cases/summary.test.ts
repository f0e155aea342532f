/**
 * The JSON summary (last stderr line with --summary json): packet, anomaly and flow
 * counters for a file mixing good packets, non-IP frames and damaged ones.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ethernet, hex, icmp, ipv4, tcp, udp } from "../helpers/packets.js";
import { expectClean, pcapOf, replay, requireBuild, tempDir } from "./cli.js";

const tmp = tempDir("summary");
beforeAll(requireBuild);
afterAll(() => tmp.cleanup());

const CAM = { src: "192.168.1.64", dst: "203.0.113.10" };

function mixed(): Buffer {
  const good1 = ethernet(ipv4(CAM, tcp({ sport: 50000, dport: 443, flags: "S" })));
  const good2 = ethernet(ipv4(CAM, udp(40000, 53, Buffer.alloc(20))));
  const arp = hex(`
    ff ff ff ff ff ff 44 19 b6 12 34 56 08 06  # Ethernet, ARP
    00 01 08 00 06 04 00 01 44 19 b6 12 34 56  # request
    c0 a8 01 40 00 00 00 00 00 00 c0 a8 01 01
  `);
  const truncatedTcp = ethernet(
    ipv4(CAM, { proto: 6, bytes: tcp({ sport: 1, dport: 2, flags: "S" }).bytes.subarray(0, 10) }),
  );
  // A port unreachable quoting only 10 bytes: decoded as IP, truncated_icmp_quote noted.
  const shortQuote = ethernet(
    ipv4(
      { src: CAM.dst, dst: CAM.src },
      icmp(3, 3, Buffer.concat([Buffer.alloc(4), Buffer.alloc(10, 0x45)])),
    ),
  );
  const runt = Buffer.alloc(4); // 4 bytes: truncated Ethernet
  return pcapOf([
    { t: 0, data: good1 },
    { t: 0.1, data: good2 },
    { t: 0.2, data: arp },
    { t: 0.3, data: truncatedTcp },
    { t: 0.4, data: shortQuote },
    { t: 0.5, data: runt },
  ]);
}

describe("summary counters", () => {
  it("counts every packet once: IP, non-IP, anomalies by kind", () => {
    const run = replay(tmp.file("mixed.pcap", mixed()));
    expectClean(run);
    const s = run.summary!;
    expect(s.packets).toBe(6);
    expect(s.ip_packets).toBe(3); // SYN, DNS, the ICMP error
    expect(s.non_ip_packets).toBe(1);
    expect(s.anomalies).toEqual({
      truncated_ethernet: 1,
      truncated_tcp: 1,
      truncated_icmp_quote: 1,
    });
    expect(s.flows).toBe(3);
    expect(s.flows_created).toBe(3);
    expect(run.records).toHaveLength(3);
  });

  it("packets = ip_packets + non_ip_packets + skipped_packets", () => {
    // truncated_icmp_quote is an anomaly noted on a packet that is still decoded, so
    // anomalies_total may exceed skipped_packets; every packet lands in exactly one bucket.
    const s = replay(tmp.file("mixed-total.pcap", mixed())).summary!;
    expect(s.ip_packets + s.non_ip_packets + s.skipped_packets).toBe(s.packets);
    expect(s.anomalies_total).toBeGreaterThan(s.skipped_packets);
  });
});
