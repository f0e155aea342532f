#!/usr/bin/env bash
# Debian packages the tests need (run as root; CI calls this from .ci/run).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Keep package scripts from starting services (nginx) on the host: the e2e tests start
# their own servers inside network namespaces.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# test/capture: editcap and mergecap (wireshark-common) rewrite fixtures into other formats.
# test/e2e: network namespaces, real servers and clients, tcpdump to record, tshark to check.
# (tshark asks whether non-root users may capture: noninteractive keeps the default, no.)
# test/alert: the Alertmanager sink pushes to a real prometheus-alertmanager.
# Live capture (egressd run): libpcap and a C compiler for its addon (npm run build);
# promtool (Debian's prometheus) checks a live /metrics; tcpreplay drives npm run bench:live;
# logrotate and libcap2-bin (setcap) check the shipped logrotate file and file capabilities.
apt-get install -y -qq --no-install-recommends \
  wireshark-common tshark tcpdump iproute2 iputils-ping \
  dnsmasq-base nginx-light openssl curl bind9-dnsutils python3 mmdb-bin busybox \
  prometheus-alertmanager prometheus libpcap-dev make g++ tcpreplay \
  logrotate libcap2-bin >/dev/null
