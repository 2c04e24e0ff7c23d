# r3dv production image: one node per machine. Build: docker build -t r3dv .
# Stage 1: production dependencies only (native blst/lmdb binaries come from the npm registry's platform packages).
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Stage 2: compile TypeScript with the dev dependencies.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# Stage 3: the runtime, as the unprivileged `node` user that the official image provides.
FROM node:24-slim
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
RUN chmod 755 /app/dist/src/main.js && ln -s /app/dist/src/main.js /usr/local/bin/r3dv \
  && mkdir -p /data /config && chown node:node /data
USER node
# `r3dv run` reads every flag from its R3DV_* variable. Mount the lock and this operator's node dir (read-only)
# under /config and give R3DV_BEACON_NODE; listeners bind every interface of the container so that -p can
# publish them (publish HTTP on the host's 127.0.0.1 only: it serves metrics and status, not the world).
ENV NODE_ENV=production \
    R3DV_LOCK=/config/cluster-lock.json \
    R3DV_NODE_DIR=/config/node \
    R3DV_DATA_DIR=/data \
    R3DV_P2P_LISTEN=/ip4/0.0.0.0/tcp/9000 \
    R3DV_HTTP=0.0.0.0:8080
# p2p (libp2p TCP: the port peers dial, as in the lock's operator address). HTTP (8080: /metrics, /livez, /readyz,
# status) is deliberately not EXPOSEd: `docker run -P` would publish it on every host interface. Publish it
# yourself, on the host's loopback unless you mean otherwise: -p 127.0.0.1:8080:8080.
EXPOSE 9000/tcp
# Node state (the series, slashing protection) lives here: mount a volume so it outlives the container.
VOLUME ["/data"]
# The slim image has no curl: Node itself asks /livez on the HTTP address the node was given.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const a=(process.env.R3DV_HTTP||'0.0.0.0:8080').replace(/^0\\.0\\.0\\.0:/,'127.0.0.1:');fetch('http://'+a+'/livez',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["r3dv"]
CMD ["run"]
