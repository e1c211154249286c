# syntax=docker/dockerfile:1
# One image per service, from this one file. Build from the repository root (the workspace is the
# context), naming the service and the ports it listens on (documentation; the chart sets them):
#   docker build --build-arg SERVICE=store   --build-arg PORTS="3001 9464" -t sker-store .
#   docker build --build-arg SERVICE=broker  --build-arg PORTS="3002 9465" -t sker-broker .
#   docker build --build-arg SERVICE=gateway --build-arg PORTS=3000 -t sker-gateway .
# Stages: manifests (package.json files only, so dependency layers stay cached until one
# changes; shared by all three images) → build (all deps, tsc) → deps (production deps of this
# workspace only) → runtime (distroless Node 20, no shell, no npm, non-root).
ARG NODE_IMAGE=node:20-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs20-debian12:nonroot
ARG SERVICE
ARG PORTS

FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY services ./services
RUN find services -type f ! -name package.json -delete && find services -type d -empty -delete

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY --from=manifests /app ./
# npm runs no install scripts here, as on the development machines (see docs/toolchain.md).
# SERVICE comes after this install, so the three images share its layer.
RUN npm ci --no-audit --no-fund --ignore-scripts
ARG SERVICE
RUN test -n "${SERVICE}" || { echo "name the service: --build-arg SERVICE=gateway|store|broker" >&2; exit 1; }
COPY tsconfig.base.json tsconfig.json ./
COPY services/contracts ./services/contracts
COPY services/kit ./services/kit
COPY services/${SERVICE} ./services/${SERVICE}
# The runtime takes each package's package.json, dist/ and run-time assets (the kit's proto/
# files); sources and build state stay behind.
RUN npx tsc --build services/${SERVICE} \
 && rm -rf services/*/src services/*/node_modules services/*/tsconfig.json services/*/*.tsbuildinfo

FROM ${NODE_IMAGE} AS deps
ARG SERVICE
WORKDIR /app
COPY --from=manifests /app ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts --workspace services/${SERVICE} \
 && mkdir -p services/${SERVICE}/node_modules

FROM ${RUNTIME_IMAGE}
ARG SERVICE
ARG PORTS
ENV NODE_ENV=production
WORKDIR /app/services/${SERVICE}
COPY --from=deps /app/node_modules /app/node_modules
COPY --from=build /app/package.json /app/
COPY --from=build /app/services/contracts /app/services/contracts
COPY --from=build /app/services/kit /app/services/kit
COPY --from=build /app/services/${SERVICE} /app/services/${SERVICE}
COPY --from=deps /app/services/${SERVICE}/node_modules ./node_modules
# 65532 is distroless's `nonroot`; the chart runs it with a read-only root and /tmp as emptyDir.
USER 65532:65532
EXPOSE ${PORTS}
# Exec form: node is PID 1 and receives SIGTERM itself (the services drain on it, kit onShutdown).
ENTRYPOINT ["/nodejs/bin/node"]
# The store's migration Job runs the same image with args ["dist/migrate.js"].
# V8 heap sizing: the same flags as scripts/up.sh's NODE_FLAGS, and why (a chart test keeps them equal).
CMD ["--max-semi-space-size=4", "--heap-growing-percent=50", "dist/main.js"]
