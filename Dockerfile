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
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
RUN chmod 755 /app/dist/src/main.js && ln -s /app/dist/src/main.js /usr/local/bin/r3dv \
  && mkdir -p /data && chown node:node /data
USER node
# Node state (the series, slashing protection) lives here: mount a volume so it outlives the container.
VOLUME ["/data"]
ENTRYPOINT ["r3dv"]
CMD ["--help"]
