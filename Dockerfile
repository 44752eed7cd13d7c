# syntax=docker/dockerfile:1
# Portcullis gateway image: a build stage with the compilers (re2 is a native
# addon, built here against the image's own Node), then a slim run stage with
# only dist/ and the production node_modules, run as the non-root `node` user.
#   docker build -t portcullis .
#   docker run -p 8080:8080 -v $PWD/portcullis.yaml:/etc/portcullis/portcullis.yaml:ro portcullis
ARG NODE_VERSION=22

FROM node:${NODE_VERSION}-bookworm-slim AS build
# node-gyp's toolchain, for re2 when no prebuilt binary fits this Node and platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# Build, then drop the dev dependencies so the run stage copies only what runs.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && node -e "new (require('re2'))('a+').test('aa') || process.exit(1)"

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only to the gateway's user: the process cannot change its own code.
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json LICENSE ./
COPY examples ./examples
COPY deploy/docker/portcullis.yaml /etc/portcullis/portcullis.yaml
USER node
EXPOSE 8080 9090
# The traffic listener's gateway.health_path (200 while serving, 503 once draining).
# PORTCULLIS_HEALTH_URL points it elsewhere when a config listens on another port or path.
ENV PORTCULLIS_HEALTH_URL=http://127.0.0.1:8080/healthz
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.PORTCULLIS_HEALTH_URL,{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli.js"]
# The pid file in /tmp: the root filesystem may be read-only (Kubernetes mounts an emptyDir there).
CMD ["start", "-c", "/etc/portcullis/portcullis.yaml", "--pid-file", "/tmp/portcullis.pid"]
