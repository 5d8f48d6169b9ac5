#!/usr/bin/env bash
# The test command (`npm test`): dependencies, Docker, build, type-check, lint, dependency floors,
# then every test (unit + integration). Exits non-zero on the first failure.
#
# Docker-dependent tests never skip: without an engine they fail. With CI=true a missing engine
# stops the run right here, before anything else.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# The project's pinned Node (node_modules/.bin/node) and tools first, also when run as a plain
# `bash scripts/test.sh`.
export PATH="$ROOT/node_modules/.bin:$PATH"
export TESTCONTAINERS_RYUK_DISABLED=true

step() {
  local name=$1
  shift
  local started=$SECONDS
  echo "test: == $name" >&2
  if ! "$@"; then
    echo "test: FAILED: $name ($((SECONDS - started))s)" >&2
    exit 1
  fi
  echo "test: ok: $name ($((SECONDS - started))s)" >&2
}

if [[ ! -d node_modules ]]; then
  step "npm ci" npm ci
fi

docker_ok=1
if ! bash scripts/setup-docker.sh; then
  if [[ ${CI:-} == true ]]; then
    echo "test: FAILED: no Docker engine in CI; Docker-dependent tests must not be skipped" >&2
    exit 1
  fi
  echo "test: warning: no Docker engine; the integration tests will fail" >&2
  docker_ok=0
fi

step "build" npm run -s build
# The images the integration tests run: each is reused when present and up to date (the platform
# images by the content hash of their images/ folder), so this costs seconds after the first run
# (which builds: Debian base ~35 s, Node.js builder ~75 s, the rest ~30 s on 2 cores).
if ((docker_ok)); then
  step "images" bash -c 'bash scripts/base-image.sh >/dev/null &&
    bash scripts/pause-image.sh >/dev/null &&
    node scripts/platform-images.mjs >/dev/null'
fi
step "typecheck" npm run -s typecheck
step "lint" npm run -s lint
step "dependency floors" node scripts/check-deps.mjs
mkdir -p .tmp
rm -f .tmp/vitest-report.json
echo "test: == tests" >&2
started=$SECONDS
status=0
vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest-report.json "$@" || status=$?
# The closing line, `N passed, N failed, N skipped`, also when tests failed.
node scripts/test-summary.mjs .tmp/vitest-report.json || status=1
if [[ $status -ne 0 ]]; then
  echo "test: FAILED: tests ($((SECONDS - started))s)" >&2
  exit "$status"
fi
echo "test: ok: tests ($((SECONDS - started))s)" >&2
