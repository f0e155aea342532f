#!/usr/bin/env bash
# changed.pcap: a camera that comes back different after a firmware download. From the
# lab captures, all the same camera (10.20.0.11): TLS to litedev.hik-connect.com with one
# client fingerprint (vendor-cloud.pcap, stream 0), the digicap.dav firmware download
# (firmware.pcap, stream 0), then, moved 10 minutes later so the camera was silent in
# between (a reboot into the new firmware), TLS with another fingerprint (the ALPN h2
# client to ezcloud.uniview.com, vendor-cloud.pcap stream 2). Needs tshark, editcap and
# mergecap (wireshark-common).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tshark -r "$here/vendor-cloud.pcap" -Y 'tcp.stream == 0' -F pcap -w "$tmp/before.pcap"
tshark -r "$here/firmware.pcap" -Y 'tcp.stream == 0' -F pcap -w "$tmp/firmware.pcap"
tshark -r "$here/vendor-cloud.pcap" -Y 'tcp.stream == 2' -F pcap -w "$tmp/after-raw.pcap"
editcap -t 600 "$tmp/after-raw.pcap" "$tmp/after.pcap"
mergecap -F pcap -w "$here/changed.pcap" "$tmp/before.pcap" "$tmp/firmware.pcap" "$tmp/after.pcap"
