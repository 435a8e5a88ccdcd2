#!/usr/bin/env bash
# Installs the Debian packages ttsuite needs to build, test and run, when any is missing.
# Idempotent and quiet when everything is present; never leaves a system MariaDB/Redis running
# (the project starts its own private instances, see scripts/lib/storage.sh).
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  protobuf-compiler libprotobuf-dev
  libhiredis-dev libmariadb-dev
  mariadb-server mariadb-client redis-server
  libssl-dev libgtest-dev libgmock-dev
  libspdlog-dev libfmt-dev nlohmann-json3-dev
  libhttp-parser-dev libevent-dev libnghttp2-dev libbenchmark-dev
  procps iproute2
  prometheus stress-ng
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "deps.sh: installing ${missing[*]}" >&2

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
  else
    echo "deps.sh: missing packages (${missing[*]}) and not root; install them as root" >&2
    exit 1
  fi
fi

# Package maintainer scripts ask invoke-rc.d whether they may start a service; a policy-rc.d
# that exits 101 says no. Put one in place for the install unless the image already has one.
POLICY=/usr/sbin/policy-rc.d
created_policy=0
cleanup() {
  if [[ $created_policy -eq 1 ]]; then
    "${SUDO[@]}" rm -f "$POLICY"
  fi
}
trap cleanup EXIT
if [[ ! -e "$POLICY" ]]; then
  printf '#!/bin/sh\n# temporary, written by ttsuite scripts/deps.sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 755 "$POLICY"
  created_policy=1
fi

# System services that are running before the install are none of our business; any that
# appear during it were started by the packages and get stopped again.
service_pids() {
  local f
  for f in /run/mysqld/mysqld.pid /var/run/mysqld/mysqld.pid /run/redis/redis-server.pid /var/run/redis/redis-server.pid; do
    [[ -r "$f" ]] && cat "$f" 2>/dev/null
  done
  pgrep -x -d ' ' 'mariadbd|mysqld|redis-server' 2>/dev/null || true
}
before=" $(service_pids | tr '\n' ' ') "

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${missing[@]}" </dev/null >/dev/null

for pid in $(service_pids | tr '\n' ' '); do
  [[ "$pid" =~ ^[0-9]+$ ]] || continue
  [[ "$before" == *" $pid "* ]] && continue
  echo "deps.sh: stopping service process $pid started by the install" >&2
  for svc in mariadb mysql redis-server; do
    "${SUDO[@]}" service "$svc" stop >/dev/null 2>&1 </dev/null || true
  done
  if kill -0 "$pid" 2>/dev/null; then
    "${SUDO[@]}" kill -TERM "$pid" 2>/dev/null || true
  fi
done
