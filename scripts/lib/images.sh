# shellcheck shell=bash
# Shared helpers for the local image scripts (base-image.sh, pause-image.sh).
#
# Conventions so other programs can call the scripts: progress goes to stderr prefixed with
# `image:`, the resulting image reference is the only thing printed on stdout, and the exit code
# is 0 only when that image exists locally afterwards.

# Label put on every image these scripts create, so they can be found and removed as a set.
SLIPWAY_IMAGE_LABEL=${SLIPWAY_IMAGE_LABEL:-io.slipway.image}

img_say() { echo "image: $*" >&2; }

img_die() {
  img_say "error: $*"
  exit 1
}

img_exists() {
  docker image inspect "$1" >/dev/null 2>&1
}

img_require_docker() {
  command -v docker >/dev/null 2>&1 || img_die "the docker CLI is not installed (see scripts/setup-docker.sh)"
  timeout 10 docker info >/dev/null 2>&1 || img_die "no Docker engine answers (run scripts/setup-docker.sh)"
}

# img_with_lock NAME CMD...: run CMD holding an exclusive lock, so concurrent callers (parallel
# tests, two terminals) build an image once instead of racing each other.
img_with_lock() {
  local name=$1
  shift
  local dir=${TMPDIR:-/tmp}
  local lock="$dir/slipway-image-${name//[^A-Za-z0-9_.-]/_}.lock"
  (
    flock -w 900 9 || img_die "timed out waiting for lock $lock"
    "$@"
  ) 9>"$lock"
}

# img_pull_and_tag SOURCE TARGET: try the normal path first. Fails fast when no registry is
# reachable (air-gapped hosts), which callers treat as "build it locally instead".
img_pull_and_tag() {
  local source=$1 target=$2
  img_say "pulling $source"
  if timeout "${SLIPWAY_PULL_TIMEOUT:-120}" docker pull -q "$source" >/dev/null 2>&1; then
    docker tag "$source" "$target"
    return 0
  fi
  img_say "pull of $source failed (no registry reachable?); building locally"
  return 1
}
