#!/usr/bin/env bash
# drift.pcap: the lab camera's benign traffic (rules/tests/benign.pcap: DNS and NTP to the
# local servers, RTSP to its NVR) plus two things it never did while egressd learned:
# a lookup of litedev.hik-connect.com (from rules/tests/vendor-cloud.pcap) and a 20 KiB
# upload to 203.0.113.40:8080 (from rules/tests/exfiltration.pcap). All three were
# recorded seconds apart in the same namespace lab, so merged by time they are one
# plausible capture. Needs tshark and mergecap (wireshark-common).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tests="$here"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tshark -r "$tests/vendor-cloud.pcap" -Y 'dns.qry.name == "litedev.hik-connect.com"' -F pcap -w "$tmp/lookup.pcap"
tshark -r "$tests/exfiltration.pcap" -Y 'tcp.port == 57230' -F pcap -w "$tmp/upload.pcap"
mergecap -F pcap -w "$here/drift.pcap" "$tests/benign.pcap" "$tmp/lookup.pcap" "$tmp/upload.pcap"
