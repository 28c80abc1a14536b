# The Ordinal worker image (infra/cdk/stack.ts builds it with the repository as context; it also builds
# by hand: docker build -f infra/cdk/worker.Dockerfile .). The same sources as everywhere else, run by
# tsx; production dependencies only; the workflow code bundled once at build time.
FROM node:22-bookworm-slim

ENV NODE_ENV=production \
    ORDINAL_DATA_DIR=/var/lib/ordinal \
    ORDINAL_WORKFLOW_BUNDLE=/app/workflow-bundle.js
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY . .
RUN node --import tsx worker/bundle-workflows.ts "$ORDINAL_WORKFLOW_BUNDLE" \
 && mkdir -p "$ORDINAL_DATA_DIR" && chown node:node "$ORDINAL_DATA_DIR"

USER node
# ECS sends SIGTERM, then SIGKILL after the container's stopTimeout. Exec form: node gets the signal
# (from the init process ECS runs as PID 1, initProcessEnabled), and `ordinal worker` shuts down cleanly.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/ordinal.js"]
CMD ["worker"]
