#!/usr/bin/env bash
# Starts Slipway all-in-one on this machine: prepares the Docker engine and the project's own
# dependencies when they are missing, builds, then runs `slipway up` (extra arguments pass through:
# `npm start -- --listen 0.0.0.0:8443`).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-docker.sh
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing dependencies (npm ci)"
  npm ci --no-fund --no-audit
fi
npm run --silent build
exec node_modules/.bin/node bin/slipway.js up "$@"
