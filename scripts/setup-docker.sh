#!/usr/bin/env bash
# Make sure a Docker engine answers on the default socket.
#
#   bash scripts/setup-docker.sh
#
# Idempotent. On a Debian/Ubuntu host running as root it installs what is missing (docker.io,
# conntrack for the node agent's UDP service flows, debootstrap and busybox-static for
# scripts/base-image.sh, openssh-server for the tests' SSH git server, docker-registry for the
# tests' local registry), also where Docker already answers, and starts dockerd in the
# background without systemd when no engine answers.
# Elsewhere an engine that answers is enough; without one it prints what to do and exits
# non-zero.
#
# Environment:
#   SLIPWAY_DOCKERD_LOG      dockerd log file (default /var/log/slipway-dockerd.log)
#   SLIPWAY_DOCKERD_TIMEOUT  seconds to wait for dockerd to answer (default 60)
set -euo pipefail

DOCKERD_LOG=${SLIPWAY_DOCKERD_LOG:-/var/log/slipway-dockerd.log}
DOCKERD_TIMEOUT=${SLIPWAY_DOCKERD_TIMEOUT:-60}
DOCKERD_PIDFILE=/var/run/docker.pid

say() { echo "setup: $*" >&2; }

docker_answers() {
  command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1
}

# The Debian packages the platform's local tooling needs, keyed by the command they provide.
missing_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v docker >/dev/null 2>&1 || missing+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v conntrack >/dev/null 2>&1 || [[ -x /usr/sbin/conntrack ]] || missing+=(conntrack)
  [[ -x /usr/bin/docker-registry ]] || missing+=(docker-registry)
  [[ -x /usr/sbin/sshd && -x /usr/bin/ssh-keygen ]] || missing+=(openssh-server openssh-client)
  [[ $(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null || true) == *'ok installed'* ]] ||
    missing+=(busybox-static)
  printf '%s\n' "${missing[@]}" | sort -u | grep -v '^$' || true
}

print_manual_steps() {
  cat >&2 <<'EOF'
setup: no Docker engine answers on the default socket, and this script can only install and
setup: start one on a Debian/Ubuntu host as root. Please do one of:
setup:   - start your Docker engine (e.g. `sudo systemctl start docker`), or
setup:   - as root on Debian/Ubuntu: `apt-get install -y docker.io conntrack debootstrap busybox-static`
setup:     then `dockerd >/var/log/slipway-dockerd.log 2>&1 &`, or
setup:   - point DOCKER_HOST at a reachable engine.
setup: Then check that `docker info` answers and run this again.
EOF
}

dockerd_running() {
  local pid
  [[ -r $DOCKERD_PIDFILE ]] || return 1
  pid=$(<"$DOCKERD_PIDFILE")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

install_packages() {
  local pkgs=("$@")
  export DEBIAN_FRONTEND=noninteractive
  # Only refresh the package lists when apt does not know a candidate for every package.
  local need_update=0 pkg policy
  for pkg in "${pkgs[@]}"; do
    # (Captured first: `grep -q` closing the pipe early would fail the pipeline under pipefail.)
    policy=$(apt-cache policy "$pkg" 2>/dev/null || true)
    if ! grep -q 'Candidate: [0-9]' <<<"$policy"; then
      need_update=1
    fi
  done
  if ((need_update)); then
    say "apt-get update"
    apt-get update -qq >/dev/null
  fi
  say "apt-get install ${pkgs[*]}"
  if ! apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; then
    # Stale lists can point at files the mirror no longer has: refresh once and retry.
    say "install failed; refreshing package lists and retrying"
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  fi
}

start_dockerd() {
  if dockerd_running; then
    say "dockerd is already running (pid $(<"$DOCKERD_PIDFILE")); waiting for it to answer"
    return 0
  fi
  say "starting dockerd (log: $DOCKERD_LOG)"
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  # setsid + nohup: dockerd must outlive this script and the shell that ran it.
  setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  disown || true
}

wait_for_docker() {
  local deadline=$((SECONDS + DOCKERD_TIMEOUT))
  until docker_answers; do
    if ((SECONDS >= deadline)); then
      say "dockerd did not answer within ${DOCKERD_TIMEOUT}s; last lines of $DOCKERD_LOG:"
      tail -n 30 "$DOCKERD_LOG" >&2 || true
      return 1
    fi
    sleep 0.5
  done
}

main() {
  local is_debian=0
  if [[ -r /etc/os-release ]] && grep -Eqi '^(ID|ID_LIKE)=.*(debian|ubuntu)' /etc/os-release; then
    is_debian=1
  fi
  local can_install=0
  if ((EUID == 0)) && ((is_debian)); then can_install=1; fi

  if docker_answers; then
    if ((can_install)) && [[ -z ${DOCKER_HOST:-} ]]; then
      # The tools only: an engine that answers stays the one there is.
      mapfile -t pkgs < <(missing_packages | grep -vx docker.io || true)
      if ((${#pkgs[@]} > 0)); then install_packages "${pkgs[@]}"; fi
    fi
    say "docker engine is ready"
    return 0
  fi

  if ((!can_install)) || [[ -n ${DOCKER_HOST:-} ]]; then
    print_manual_steps
    return 1
  fi

  local started=$SECONDS
  mapfile -t pkgs < <(missing_packages)
  if ((${#pkgs[@]} > 0)); then
    install_packages "${pkgs[@]}"
  fi

  start_dockerd
  wait_for_docker
  say "docker engine is ready ($((SECONDS - started))s)"
}

main "$@"
