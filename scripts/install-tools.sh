#!/usr/bin/env bash
# Installs the offline validators that test/deploy.test.ts runs, from Debian's packages:
#   haproxy          -> `haproxy -c -f infra/haproxy.cfg`
#   docker-compose   -> `docker-compose -f docker-compose.yml config` (Compose v1.29, parses the
#                       file and interpolates variables without a Docker engine)
# Idempotent: does nothing (and prints nothing) when both are already on PATH. Run as root.
set -euo pipefail

missing=()
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-tools: need root to install ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-tools: installing ${missing[*]}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Install from the current lists first; refresh them only if that fails (stale or never fetched).
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
  if ! { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
  fi
fi
