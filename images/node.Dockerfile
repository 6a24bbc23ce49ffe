# A Node 24 base image built without any registry (scripts/containers.sh): the local Debian base (a
# debootstrap'd root filesystem), the node binary the toolchain installed from npm, npm, wget, and user
# node (uid 1000, home /home/node) as in the upstream image. Like upstream it stays root: it is a base for
# builds, and the service images set their own user (10001).
# checkov:skip=CKV_DOCKER_3: a base image, root as upstream's node image is; every image built on it sets USER
#   context: a folder holding node and npm/ (scripts/containers.sh prepares it)
ARG BASE=mrp/debian:bookworm-local
FROM ${BASE}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
# wget, as upstream's busybox has it: the Compose file's healthchecks use it.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends wget \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
    && node --version && npm --version \
    && groupadd --gid 1000 node \
    && useradd --uid 1000 --gid node --create-home --home-dir /home/node --shell /bin/sh node
# Node trusts the system's CA bundle too (the host's, copied into the Debian base).
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
