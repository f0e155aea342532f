#!/usr/bin/env bash
# Regenerates test/fixtures/real/namespace-clients.pcap (the sample for `egressd replay`).
# Node 20 cannot run TypeScript, so compile the two helper modules to a temp dir first.
# Needs root (it creates network namespaces) and the tools in .ci/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-test/fixtures/real/namespace-clients.pcap}"
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
npx tsc --outDir "$build" --rootDir . --target es2022 --module nodenext \
  --moduleResolution nodenext --types node --strict --skipLibCheck \
  test/e2e/netns.ts test/e2e/make-client-captures.ts
# A package.json marking the output as ESM, as the project's own is.
echo '{"type":"module"}' >"$build/package.json"
node "$build/test/e2e/make-client-captures.js" "$out"
