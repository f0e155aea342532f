# egressd in a container: `egressd run` on the host's mirror interface, as the
# unprivileged user egressd (uid 10001) holding only CAP_NET_RAW and CAP_NET_ADMIN.
#
#   docker build -t egressd .
#   docker run -d --name egressd --net=host --cap-add NET_RAW --cap-add NET_ADMIN \
#     --stop-timeout 30 -v egressd-data:/var/lib/egressd \
#     -e EGRESSD_CAPTURE_INTERFACES=eth1 egressd
#
# Both --cap-add flags are required: node carries them as file capabilities, and without
# them in the container every node command fails with "operation not permitted".
# docs/DEPLOY.md explains the rest (config, volumes, the HTTP listener, health).

# One Node for both stages: better-sqlite3 is compiled against this Node's ABI.
ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: the README's setup (.ci/install-deps.sh's build packages, npm ci, npm run build)
FROM ${NODE_IMAGE} AS build
# python3, make and g++ for node-gyp; libpcap-dev for the capture addon
# (src/capture/live/native), and for better-sqlite3 should no prebuilt binary fit.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ libpcap-dev \
 && rm -rf /var/lib/apt/lists/*
# node-gyp takes Node's headers from the image instead of downloading them.
ENV npm_config_nodedir=/usr/local
WORKDIR /opt/egressd
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
# Native code is built here and copied, never rebuilt: the addon, better-sqlite3, the
# TypeScript and the bundled ASN table; then the dev dependencies go.
RUN npm run build \
 && npm prune --omit=dev

# --- runtime: Node, libpcap and egressd, nothing else
FROM ${NODE_IMAGE}
# libcap2-bin only for setcap: file capabilities are how a non-root user gets
# CAP_NET_RAW and CAP_NET_ADMIN in Docker (no ambient capabilities there).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap0.8 libcap2-bin \
 && setcap cap_net_raw,cap_net_admin=eip /usr/local/bin/node \
 && apt-get purge -y --auto-remove libcap2-bin \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 egressd \
 && useradd --system --uid 10001 --gid egressd --home-dir /var/lib/egressd \
      --no-create-home --shell /usr/sbin/nologin egressd \
 && mkdir -p /var/lib/egressd \
 && chown egressd:egressd /var/lib/egressd \
 && chmod 0750 /var/lib/egressd

WORKDIR /opt/egressd
# Owned by root, so the service user cannot change its own code or rules.
COPY --from=build /opt/egressd/package.json ./package.json
COPY --from=build /opt/egressd/bin ./bin
COPY --from=build /opt/egressd/dist ./dist
COPY --from=build /opt/egressd/node_modules ./node_modules
COPY --from=build /opt/egressd/rules ./rules
COPY --from=build /opt/egressd/config ./config
# Where src/capture/live/pcap-binding.ts looks from dist/: ../../../src/capture/live/native/...
COPY --from=build /opt/egressd/src/capture/live/native/build/Release/pcap_live.node ./src/capture/live/native/build/Release/pcap_live.node
# The shipped config is the default; mount your own at /etc/egressd (read-only).
COPY --from=build /opt/egressd/config/egressd.yaml /etc/egressd/egressd.yaml

# The stores go to the volume whatever the config file says (variables override it).
# The HTTP listener stays on the config's 127.0.0.1:9810: with --net=host that is the
# host's loopback. To serve it further, set EGRESSD_HTTP_LISTEN together with
# EGRESSD_HTTP_TOKEN_FILE (docs/DEPLOY.md); egressd refuses an open listener without one.
ENV EGRESSD_CONFIG=/etc/egressd/egressd.yaml \
    EGRESSD_ALERTS_STORE=/var/lib/egressd/egressd.db \
    EGRESSD_DEVICES_STORE=/var/lib/egressd/egressd.db
VOLUME ["/var/lib/egressd"]

# Liveness from inside the container (the slim image has no curl). A listener moved to
# another port or to HTTPS needs --health-cmd to match.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9810/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Numeric, so Kubernetes' runAsNonRoot can check it; it is the egressd user above.
USER 10001:10001
ENTRYPOINT ["node", "/opt/egressd/bin/egressd.js"]
CMD ["run"]
