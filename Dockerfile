# Image for the worker and the API (docker-compose.yml). Build: docker build -t bitrix-pos-bridge .
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
# Compiles to dist/ and bundles the workflow code once (dist/workflow-bundle.js): the worker loads that bundle
# at start instead of running webpack in every container.
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/config ./config
COPY package.json ./
# DATA_DIR (.data): the reconciliation report archive (REPORTS_DIR) lives there unless a volume is mounted elsewhere.
RUN mkdir -p /app/.data/reports && chown -R node:node /app/.data
USER node
# Worker metrics (WORKER_METRICS_ADDRESS, e.g. 0.0.0.0:9464) and the API (API_PORT, /metrics on it).
EXPOSE 8080 9464
# SIGTERM drains: the workers finish or hand back their activities within WORKER_SHUTDOWN_GRACE; give the
# container at least WORKER_SHUTDOWN_GRACE + WORKER_SHUTDOWN_FORCE + 5 s (compose: stop_grace_period).
STOPSIGNAL SIGTERM
CMD ["node", "dist/workers/main.js"]
