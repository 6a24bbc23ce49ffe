# syntax=docker/dockerfile:1
# Every service's image, from one file. The build context is the repository root (the npm workspace):
#   docker build --build-arg SERVICE=case-service -t mrp/case-service:local .
#   make images        # all five, with docker or podman, offline too (docs/containers.md)
# Stages: deps (production node_modules only), build (tsc compiles the service and its libraries to
# JavaScript, then scripts/image-contents.ts stages exactly what the image runs), base (what both images
# share), dev (Tilt's target: the TypeScript sources, run as they are) and runtime (what ships; the default:
# tsc's JavaScript, no TypeScript source and no compiler).

# The upstream image by default; `make images` passes a locally built one where no registry is reachable.
ARG NODE_IMAGE=node:24-alpine

FROM ${NODE_IMAGE} AS deps
ARG SERVICE
WORKDIR /app
# Manifests first: this layer is rebuilt only when a dependency changes. npm installs only the service's
# dependencies (and its libraries'); the other workspaces' manifests are not needed.
COPY package.json package-lock.json ./
COPY libs/schemas/package.json libs/schemas/
COPY libs/platform/package.json libs/platform/
COPY libs/events/package.json libs/events/
COPY services/${SERVICE}/package.json services/${SERVICE}/
RUN --mount=type=cache,target=/root/.npm \
    test -n "${SERVICE}" \
    && npm ci --omit=dev --workspace="@mrp/${SERVICE}" --include-workspace-root=false \
      --ignore-scripts --no-audit --no-fund

# Every dependency of the packages it compiles, dev ones too (TypeScript, the @types packages), then
# `tsc --build`, which writes each package's JavaScript to its dist/src/; then the service and the libraries
# it imports are staged in /image as the runtime stage copies them.
FROM ${NODE_IMAGE} AS build
ARG SERVICE
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json ./
COPY libs/schemas/package.json libs/schemas/
COPY libs/platform/package.json libs/platform/
COPY libs/events/package.json libs/events/
COPY services/${SERVICE}/package.json services/${SERVICE}/
RUN --mount=type=cache,target=/root/.npm \
    npm ci --workspace=@mrp/schemas --workspace=@mrp/platform --workspace=@mrp/events \
      --workspace="@mrp/${SERVICE}" --include-workspace-root \
      --ignore-scripts --no-audit --no-fund
COPY libs libs
COPY services/${SERVICE} services/${SERVICE}
COPY scripts/image-contents.ts scripts/
RUN npx tsc --build "services/${SERVICE}" \
    && node scripts/image-contents.ts "${SERVICE}" /app /image

FROM ${NODE_IMAGE} AS base
# Production unless the deployment says otherwise: no dev users, no generated keys, no dev secrets.
# MALLOC_MMAP_THRESHOLD_: a fixed threshold keeps glibc from raising it after freeing a large block, which
# left blocks of that size (argon2's 19 MiB) held in every thread's arena; musl ignores it.
ENV NODE_ENV=production \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
# The services run as uid and gid 10001, above any uid a host or a base image hands out (checkov
# CKV_K8S_40); no passwd entry is needed. /var/lib/mrp is the one directory of the image that user owns:
# a named volume mounted there (compose keeps auth-service's generated dev key on one) takes its owner.
RUN mkdir -p /var/lib/mrp && chown 10001:10001 /var/lib/mrp
EXPOSE 8080

# Tilt builds this one: the TypeScript sources, run by Node's type stripping and owned by the runtime user
# so live update can replace them; node restarts the service when a file it loaded changes.
FROM base AS dev
ARG SERVICE
COPY libs libs
COPY services/${SERVICE} services/${SERVICE}
RUN chown -R 10001:10001 /app/libs /app/services
WORKDIR /app/services/${SERVICE}
USER 10001:10001
ENV NODE_ENV=development
CMD ["node", "--watch", "--conditions=require", "--import", "@mrp/platform/telemetry/register", "src/main.ts"]

# What ships: tsc's JavaScript of the service and of each library it imports, with the files they read at
# run time (package.json, whose exports name the compiled files, the JSON schemas, the SQL migrations).
FROM base AS runtime
ARG SERVICE
COPY --from=build /image/ /app/
WORKDIR /app/services/${SERVICE}
# Numeric, so the kubelet can check runAsNonRoot; the files stay root-owned and read-only to it.
USER 10001:10001
# The mrp-compiled condition resolves every @mrp package to its dist/ JavaScript (see their exports).
# 1 MiB semi-spaces for the young generation (V8's default grows them to 16 MiB): at 2 MiB about 15 MB
# less at idle than the default, at 1 MiB 2 MB less again, with no throughput difference beyond the
# bench's run-to-run spread (docs/benchmarks.md). The require condition makes an import of a package
# that ships both CommonJS and ES modules (OpenTelemetry's) load the CommonJS build that require() loads
# too, so the process holds one copy of it, not two (ADR 0027).
CMD ["node", "--max-semi-space-size=1", "--conditions=require", "--conditions=mrp-compiled", "--import", "@mrp/platform/telemetry/register", "dist/src/main.js"]
