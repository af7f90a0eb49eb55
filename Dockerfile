# syntax=docker/dockerfile:1
# The relay in a container.
#   docker build -t wristrelay .
#   docker run -d -p 8787:8787 -v wristrelay-data:/data \
#     -e RELAY_SECRET="$(openssl rand -base64 32)" -e PUBLIC_URL=https://relay.example.org wristrelay
# Every setting is an environment variable: `docker run --rm wristrelay node --import tsx backend/src/main.ts --help`.
# Built and tested on Node 20; NODE_VERSION=22 or 24 (docker build --build-arg NODE_VERSION=22 .) work too.
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
# better-sqlite3 ships prebuilt binaries; the compilers are only for a platform without one
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# runtime dependencies only (tsx is one: the relay runs its TypeScript directly)
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8787 \
    DATABASE_URL=file:/data/relay.db
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY common ./common
COPY backend ./backend
RUN mkdir -p /data && chown node:node /data
# the image's unprivileged user (uid 1000)
USER node
VOLUME ["/data"]
EXPOSE 8787
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8787) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
# what `npm run relay` runs (tsx backend/src/main.ts), as one process: the tsx CLI would fork a
# second node, and as PID 1 it would have to pass SIGTERM on
CMD ["node", "--import", "tsx", "backend/src/main.ts"]
