#!/usr/bin/env bash
# Make sure the tiny infra ("pause") image exists locally; print its reference on stdout.
#
#   bash scripts/pause-image.sh [NAME:TAG]       (default slipway/pause:1)
#
# The image is FROM-scratch: Debian's static BusyBox with all its applets linked, plus /pause,
# which sleeps until SIGTERM/SIGINT and then exits 0. A pod's infra container runs it to hold the
# pod's namespaces; tests use it as a small, always-available image (override the entrypoint to
# run any BusyBox command). Built offline with `docker import`, so no registry is needed.
#
# Environment:
#   SLIPWAY_BUSYBOX   static BusyBox binary to copy (default /bin/busybox from busybox-static)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/images.sh
source "$HERE/lib/images.sh"

IMAGE=${1:-slipway/pause:1}
BUSYBOX=${SLIPWAY_BUSYBOX:-/bin/busybox}

build() {
  [[ -x $BUSYBOX ]] || img_die "$BUSYBOX not found (apt-get install busybox-static, or run scripts/setup-docker.sh)"
  # A dynamically linked BusyBox would not run in an empty image.
  if command -v ldd >/dev/null 2>&1 && [[ $(ldd "$BUSYBOX" 2>&1 || true) == *'=>'* ]]; then
    img_die "$BUSYBOX is dynamically linked; install busybox-static"
  fi

  local work started=$SECONDS
  work=$(mktemp -d "${TMPDIR:-/tmp}/slipway-pause.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  local root="$work/root"
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  chmod 1777 "$root/tmp"
  cp "$BUSYBOX" "$root/bin/busybox"
  chmod 0755 "$root/bin/busybox"
  local applet
  for applet in $("$BUSYBOX" --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"

  # PID 1 ignores signals it has no handler for, so trap them explicitly. `wait` returns as soon
  # as a trapped signal arrives, so SIGTERM ends the container at once with status 0.
  cat >"$root/pause" <<'PAUSE'
#!/bin/sh
trap 'exit 0' TERM INT HUP
while :; do
  sleep 86400 &
  wait $!
done
PAUSE
  chmod 0755 "$root/pause"

  tar --numeric-owner --owner=0 --group=0 -C "$root" -c . | docker import \
    --change 'ENV PATH=/bin' \
    --change 'ENTRYPOINT ["/pause"]' \
    --change "LABEL $SLIPWAY_IMAGE_LABEL=pause" \
    - "$IMAGE" >/dev/null
  img_say "built $IMAGE in $((SECONDS - started))s"
}

ensure() {
  img_exists "$IMAGE" || build
}

img_require_docker
if ! img_exists "$IMAGE"; then
  img_with_lock "$IMAGE" ensure
fi
img_exists "$IMAGE" || img_die "$IMAGE is still missing"
echo "$IMAGE"
