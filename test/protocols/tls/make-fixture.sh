#!/usr/bin/env bash
# Makes test/protocols/tls/fixtures/openssl-small-mtu.pcap: real openssl s_client /
# s_server handshakes on the loopback interface of a private network namespace whose MTU
# is 576, so that ClientHellos and certificate flights span several TCP segments (and,
# with -max_send_frag 512, several TLS records). Nothing leaves the namespace: it has no
# interface but its own lo. Needs root (unshare -n) and openssl, tcpdump, iproute2.
#
#   bash test/protocols/tls/make-fixture.sh
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/fixtures/openssl-small-mtu.pcap}

if [ -z "${TLS_FIXTURE_IN_NETNS:-}" ]; then
  exec unshare -n env TLS_FIXTURE_IN_NETNS=1 bash "$0" "$OUT"
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

# No segmentation offload: tcpdump must see the segments as sent, not one GSO super-packet.
ip link set lo mtu 576 up
ip link set dev lo gso_max_segs 1 gso_max_size 576

# A two-level chain (RSA 2048, so the flight is a few KB), a leaf with DNS and IP SANs,
# and an unrelated CA for the client that must refuse the server.
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3 \
  -subj "/C=US/O=Example Camera Cloud/CN=Example Test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr \
  -subj "/C=US/O=Example Camera Cloud/CN=devices.example.test" 2>/dev/null
printf 'subjectAltName=DNS:devices.example.test,DNS:*.devices.example.test,IP:127.0.0.1,IP:2001:db8::1\nbasicConstraints=CA:FALSE\n' > leaf.ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -extfile leaf.ext -out leaf.pem 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key \
  -out other-ca.pem -days 3 -subj "/CN=Unrelated Test CA" 2>/dev/null

tcpdump -i lo -s 0 -U --immediate-mode -w "$OUT" 'tcp port 4433 or tcp port 4434' 2>tcpdump.log &
PIDS+=($!)
for _ in $(seq 50); do grep -q listening tcpdump.log 2>/dev/null && break; sleep 0.1; done

# 4433: the chain, records of at most 512 bytes. 4434: X25519 only, so a TLS 1.3 client
# that leads with a P-384 key share gets a HelloRetryRequest.
openssl s_server -quiet -www -accept 4433 -cert leaf.pem -key leaf.key -cert_chain ca.pem \
  -max_send_frag 512 >/dev/null 2>&1 &
PIDS+=($!)
openssl s_server -quiet -www -accept 4434 -cert leaf.pem -key leaf.key -groups X25519 \
  >/dev/null 2>&1 &
PIDS+=($!)
sleep 1

LONG_NAME="$(printf 'a%.0s' $(seq 60)).$(printf 'b%.0s' $(seq 60)).$(printf 'c%.0s' $(seq 60)).devices.example.test"
ALPN="h2,http/1.1,spdy/3.1,stun.turn,webrtc,c-webrtc,ftp,imap,pop3,managesieve,coap,xmpp-client,xmpp-server"

client() { echo Q | timeout 10 openssl s_client "$@" >/dev/null 2>&1 || true; sleep 0.3; }

# 1. TLS 1.2, long SNI and ALPN list: a ClientHello of more than one segment; the server's
#    certificate chain over many records and segments.
client -connect 127.0.0.1:4433 -tls1_2 -servername "$LONG_NAME" -alpn "$ALPN" -sess_out sess12.pem
# 2. TLS 1.3, same client options.
client -connect 127.0.0.1:4433 -tls1_3 -servername "$LONG_NAME" -alpn "$ALPN"
# 3. TLS 1.3 HelloRetryRequest.
client -connect 127.0.0.1:4434 -tls1_3 -groups P-384:X25519 -servername devices.example.test
# 4. TLS 1.2 client refusing the chain: a cleartext fatal alert (unknown_ca).
client -connect 127.0.0.1:4433 -tls1_2 -servername devices.example.test -CAfile other-ca.pem \
  -verify_return_error
# 5. TLS 1.2 resumption of connection 1: an abbreviated handshake (no certificate).
client -connect 127.0.0.1:4433 -tls1_2 -servername "$LONG_NAME" -alpn "$ALPN" -sess_in sess12.pem

sleep 0.5
kill -INT "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null || true
echo "wrote $OUT"
