# A Redis image built without any registry (scripts/containers.sh, for Compose where the upstream redis
# image cannot be pulled): Debian's redis-server on the local Debian base, run as the redis user in /data
# with protected mode off, like upstream; the Compose file gives the command line.
ARG BASE=mrp/debian:bookworm-local
FROM ${BASE}
# User redis is made first with upstream's uid and gid (999) so USER is numeric.
# hadolint ignore=DL3008
RUN groupadd --system --gid 999 redis \
    && useradd --system --uid 999 --gid redis --home-dir /data --shell /usr/sbin/nologin redis \
    && apt-get update \
    && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
    && mkdir -p /data && chown redis:redis /data
COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
WORKDIR /data
USER 999:999
ENTRYPOINT ["docker-entrypoint.sh"]
EXPOSE 6379
CMD ["redis-server"]
