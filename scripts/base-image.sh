#!/usr/bin/env bash
# Make sure the Debian base image exists locally; print its reference on stdout.
#
#   bash scripts/base-image.sh [NAME:TAG]        (default slipway/debian:bookworm)
#
# Order: already present -> `docker pull debian:bookworm-slim` and tag -> build offline with
# debootstrap from the Debian mirror and `docker import` (about 25 s, ~200 MB). The offline path
# is what air-gapped hosts use, so it is a supported path, not a test hack. Needs root for
# debootstrap.
#
# Environment:
#   SLIPWAY_DEBIAN_MIRROR   Debian mirror for debootstrap (default http://deb.debian.org/debian)
#   SLIPWAY_DEBIAN_SUITE    suite (default bookworm)
#   SLIPWAY_SKIP_PULL=1     do not try the registry first
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/images.sh
source "$HERE/lib/images.sh"

IMAGE=${1:-slipway/debian:bookworm}
SUITE=${SLIPWAY_DEBIAN_SUITE:-bookworm}
MIRROR=${SLIPWAY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
UPSTREAM=debian:${SUITE}-slim

build_with_debootstrap() {
  command -v debootstrap >/dev/null 2>&1 ||
    img_die "debootstrap is not installed (apt-get install debootstrap, or run scripts/setup-docker.sh)"
  ((EUID == 0)) || img_die "building $IMAGE with debootstrap needs root"

  local work rootfs started=$SECONDS
  work=$(mktemp -d "${SLIPWAY_IMAGE_WORKDIR:-/var/tmp}/slipway-debootstrap.XXXXXX")
  rootfs="$work/rootfs"
  # Always remove the (root-owned, ~200 MB) tree, whatever happens. Expanded now: `work` is
  # local and gone by the time the trap runs.
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT

  img_say "debootstrap --variant=minbase $SUITE from $MIRROR"
  if ! debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1; then
    tail -n 20 "$work/debootstrap.log" >&2
    [[ -f $rootfs/debootstrap/debootstrap.log ]] && tail -n 20 "$rootfs/debootstrap/debootstrap.log" >&2
    img_die "debootstrap failed"
  fi
  img_say "debootstrap done in $((SECONDS - started))s"

  # Trim what a container never needs; apt can fetch lists again inside a build.
  rm -rf "${rootfs:?}"/var/cache/apt/archives/*.deb "${rootfs:?}"/var/lib/apt/lists/* \
    "${rootfs:?}"/var/log/*.log "${rootfs:?}"/tmp/* "${rootfs:?}"/dev/*
  # Behave like the official images inside builds: no recommends, no interactive prompts.
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    >"$rootfs/etc/apt/apt.conf.d/90slipway-norecommends"

  img_say "docker import -> $IMAGE"
  tar --numeric-owner -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    --change "LABEL $SLIPWAY_IMAGE_LABEL=debian" \
    --change "LABEL io.slipway.image.source=debootstrap-$SUITE" \
    - "$IMAGE" >/dev/null
  img_say "built $IMAGE in $((SECONDS - started))s"
}

ensure() {
  img_exists "$IMAGE" && return 0
  if [[ ${SLIPWAY_SKIP_PULL:-0} != 1 ]] && img_pull_and_tag "$UPSTREAM" "$IMAGE"; then
    return 0
  fi
  build_with_debootstrap
}

img_require_docker
if ! img_exists "$IMAGE"; then
  img_with_lock "$IMAGE" ensure
fi
img_exists "$IMAGE" || img_die "$IMAGE is still missing"
echo "$IMAGE"
