# The gateway's image: Envoy, and the API reference it serves without a token (ADR 0024), which a chart
# cannot carry (a Helm release must stay under 1 MiB). The bootstrap config comes from the chart's
# ConfigMap (/etc/envoy/envoy.json); this image adds only the files the config names under /etc/envoy-docs.
#   docker build -f images/gateway.Dockerfile -t mrp/gateway:local .    (make images builds it)
# The build context is the repository root; the Swagger UI files in charts/gateway/files/docs are copied
# from npm by scripts/toolchain.sh (any make target), and the merged document beside them is committed.
# The upstream distroless image by default; `make images` passes a local one where no registry answers.
ARG ENVOY_IMAGE=envoyproxy/envoy:distroless-v1.40.0
FROM ${ENVOY_IMAGE}
COPY charts/gateway/files/docs/openapi.json charts/gateway/files/docs/swagger-ui-bundle.js.gz charts/gateway/files/docs/swagger-ui.css.gz /etc/envoy-docs/
# The distroless image's nonroot user, as the chart runs it.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/envoy"]
CMD ["--config-path", "/etc/envoy/envoy.json"]
