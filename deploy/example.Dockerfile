# The content-pipeline example as a container (the compose file's `example` service). Build from
# the repository root:  docker build -f deploy/example.Dockerfile -t switchyard/example .
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages/instrumentation/package.json packages/instrumentation/
COPY packages/sidecar/package.json packages/sidecar/
COPY examples/package.json examples/
RUN npm ci --include-workspace-root -w packages/instrumentation -w packages/sidecar -w examples
COPY packages/instrumentation packages/instrumentation
COPY packages/sidecar packages/sidecar
COPY examples examples
RUN npm run build
USER node
ENTRYPOINT ["node", "examples/content-pipeline/main.mjs"]
