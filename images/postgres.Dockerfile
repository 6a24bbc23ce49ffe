# A Postgres image built without any registry (scripts/containers.sh, for Compose where the upstream
# postgres image cannot be pulled): Debian's PostgreSQL on the local Debian base, with an entry point that
# does what the upstream one does for this project's Compose file: initdb with POSTGRES_PASSWORD on an empty
# PGDATA, run /docker-entrypoint-initdb.d once, then start the server listening on every interface.
ARG BASE=mrp/debian:bookworm-local
FROM ${BASE}
# Debian's PostgreSQL is the version the base's release carries; its packaging must not create a cluster.
# User postgres is made first with upstream's uid and gid (70, as in the Alpine image) so USER is numeric.
# hadolint ignore=DL3008
RUN groupadd --system --gid 70 postgres \
    && useradd --system --uid 70 --gid postgres --home-dir /var/lib/postgresql --shell /bin/bash postgres \
    && apt-get update \
    && apt-get install -y --no-install-recommends postgresql-common \
    && sed -i 's/^#\?create_main_cluster.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf \
    && apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
    && mkdir -p /var/lib/postgresql/data /var/run/postgresql /docker-entrypoint-initdb.d \
    && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
    && chmod 2777 /var/run/postgresql
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data \
    PGHOST=/tmp
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
USER 70:70
ENTRYPOINT ["docker-entrypoint.sh"]
# A fast shutdown, as upstream.
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
