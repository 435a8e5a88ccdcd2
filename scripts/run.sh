#!/usr/bin/env bash
# Builds ttsuite and runs it locally: a private MariaDB + Redis (with demo data) under var/, then
# every daemon that has been built and has a config.
#
#   scripts/run.sh          start (idempotent: running pieces are left alone)
#   scripts/run.sh stop     stop the daemons (reverse order), then MariaDB and Redis
#   scripts/run.sh status
#
# Environment: TT_MYSQL_PORT (13306), TT_REDIS_PORT (16379), TT_DB_PASSWORD (ttsuite-dev),
# TT_SKIP_BUILD=1 to use build/ as it is, TT_PROMETHEUS=0 to start no Prometheus,
# TT_PROMETHEUS_PORT (9090), TT_READY_TIMEOUT (90 s). Daemons are started from the repo root as
# `build/<daemon>/<daemon> -c conf/<name>.conf`, with var/storage.env exported. Only the daemons
# and tools are built here (scripts/test.sh builds the tests). start returns once a demo user
# can log in, or fails saying which daemon is not ready.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

VAR_DIR="$REPO_ROOT/var"
BUILD_DIR="$REPO_ROOT/build"
STORAGE="$REPO_ROOT/scripts/lib/storage.sh"
MYSQL_PORT=${TT_MYSQL_PORT:-13306}
REDIS_PORT=${TT_REDIS_PORT:-16379}
STOP_WAIT=10
PROMETHEUS_PORT=${TT_PROMETHEUS_PORT:-9090}
# What `start` builds: the daemons and the tools an operator uses, not the test binaries.
BUILD_TARGETS=(login_server route_server db_proxy_server msg_server file_server push_server im_cli im_admin)
T0=$SECONDS

# daemon:config, in start order.
DAEMONS=(
  login_server:loginserver.conf
  route_server:routeserver.conf
  db_proxy_server:dbproxyserver.conf
  msg_server:msgserver.conf
  file_server:fileserver.conf
  push_server:pushserver.conf
)

say() { echo "run.sh: $*"; }
phase() { say "$* ($((SECONDS - T0)) s)"; }
die() {
  echo "run.sh: $*" >&2
  exit 1
}

pid_alive() {
  local pid=$1 state
  [[ "$pid" =~ ^[0-9]+$ && -r /proc/$pid/stat ]] || return 1
  state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# Live pid from var/run/<daemon>.pid whose command line is that daemon's binary, else nothing.
daemon_pid() {
  local daemon=$1 file="$VAR_DIR/run/$1.pid" pid="" cmdline
  if [[ -r "$file" ]]; then read -r pid <"$file" 2>/dev/null || true; fi
  pid_alive "$pid" || return 0
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 0
  [[ "$cmdline" =~ (^|/)$daemon( |$) ]] && echo "$pid"
  return 0
}

close_extra_fds() {
  local fd
  for fd in "/proc/$BASHPID/fd/"*; do
    fd=${fd##*/}
    [[ "$fd" =~ ^[0-9]+$ ]] && ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
  done
  return 0
}

build() {
  if [[ "${TT_SKIP_BUILD:-0}" == 1 ]]; then
    say "TT_SKIP_BUILD=1: using $BUILD_DIR as it is"
    return 0
  fi
  cmake -S "$REPO_ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null ||
    die "cmake configure failed (run: cmake -S . -B build)"
  cmake --build "$BUILD_DIR" -j2 --target "${BUILD_TARGETS[@]}" || die "build failed"
}

start_daemon() {
  local daemon=$1 conf_name=$2 bin="$BUILD_DIR/$1/$1" conf="$REPO_ROOT/conf/$2" pid
  if [[ ! -x "$bin" ]]; then
    say "skipping $daemon: no binary at build/$daemon/$daemon"
    return 0
  fi
  if [[ ! -f "$conf" ]]; then
    say "skipping $daemon: no config conf/$conf_name"
    return 0
  fi
  pid=$(daemon_pid "$daemon")
  if [[ -n "$pid" ]]; then
    say "$daemon already running (pid $pid)"
    return 0
  fi
  (
    close_extra_fds
    exec setsid "$bin" -c "$conf"
  ) </dev/null >>"$VAR_DIR/log/$daemon.log" 2>&1 &
  pid=$!
  echo "$pid" >"$VAR_DIR/run/$daemon.pid"
  STARTED+=("$daemon")
  say "started $daemon (pid $pid, log var/log/$daemon.log)"
}

# Prometheus scraping every daemon's metrics port (conf/prometheus.yml), data under var/prometheus.
start_prometheus() {
  local pid
  [[ "${TT_PROMETHEUS:-1}" == 1 ]] || return 0
  if ! command -v prometheus >/dev/null 2>&1; then
    say "skipping prometheus: not installed"
    return 0
  fi
  pid=$(daemon_pid prometheus)
  if [[ -n "$pid" ]]; then
    say "prometheus already running (pid $pid)"
    return 0
  fi
  mkdir -p "$VAR_DIR/prometheus"
  (
    close_extra_fds
    exec setsid prometheus --config.file="$REPO_ROOT/conf/prometheus.yml" \
      --storage.tsdb.path="$VAR_DIR/prometheus" --web.listen-address="127.0.0.1:$PROMETHEUS_PORT"
  ) </dev/null >>"$VAR_DIR/log/prometheus.log" 2>&1 &
  pid=$!
  echo "$pid" >"$VAR_DIR/run/prometheus.pid"
  STARTED+=("prometheus")
  say "started prometheus (pid $pid, http://127.0.0.1:$PROMETHEUS_PORT, log var/log/prometheus.log)"
}

# The value of a key in conf/<file> (first occurrence, comment and blanks stripped).
conf_value() {
  sed -n "s/^$2=\([^#]*\).*/\1/p" "$REPO_ROOT/conf/$1" | tr -d ' ' | head -n 1
}

# Returns once a demo user logs in through login_server (so every link a login needs is up: a
# msg_server registers only then), or fails at the deadline or as soon as a daemon has exited.
wait_until_ready() {
  local deadline=$((SECONDS + ${TT_READY_TIMEOUT:-90})) out="" entry daemon
  while ((SECONDS < deadline)); do
    for entry in "${DAEMONS[@]}"; do
      daemon=${entry%%:*}
      if [[ -x "$BUILD_DIR/$daemon/$daemon" && -z "$(daemon_pid "$daemon")" ]]; then
        return 1
      fi
    done
    if out=$(timeout 20 "$BUILD_DIR/tools/im_cli" --user user01 --password ttsuite --check </dev/null 2>&1); then
      phase "ready: user01 $(echo "$out" | head -n 1)"
      return 0
    fi
    sleep 0.2
  done
  echo "run.sh: no login succeeded within ${TT_READY_TIMEOUT:-90} s; last answer: $out" >&2
  return 1
}

cmd_start() {
  "$REPO_ROOT/scripts/deps.sh"
  phase "packages present"
  build
  phase "built ${BUILD_TARGETS[*]}"
  mkdir -p "$VAR_DIR/log" "$VAR_DIR/run"

  "$STORAGE" start --demo "$VAR_DIR" "$MYSQL_PORT" "$REDIS_PORT" ||
    die "storage failed to start (logs: var/mysql.err, var/redis.log)"
  phase "MariaDB on 127.0.0.1:$MYSQL_PORT (socket var/mysql.sock), Redis on 127.0.0.1:$REDIS_PORT"
  set -a
  # shellcheck source=/dev/null
  source "$VAR_DIR/storage.env"
  set +a

  STARTED=()
  local entry
  for entry in "${DAEMONS[@]}"; do
    start_daemon "${entry%%:*}" "${entry#*:}"
  done
  start_prometheus

  # A daemon that cannot read its config or bind its port exits at once: report it. Otherwise
  # wait until a login works end to end.
  local failed=0 daemon
  wait_until_ready || failed=1
  for daemon in "${STARTED[@]}"; do
    if [[ -z "$(daemon_pid "$daemon")" ]]; then
      echo "run.sh: $daemon exited after start; tail of var/log/$daemon.log:" >&2
      tail -n 20 "$VAR_DIR/log/$daemon.log" >&2 || true
      rm -f "$VAR_DIR/run/$daemon.pid"
      failed=1
    fi
  done

  cat <<EOF

Connect (login_server http://127.0.0.1:$(conf_value loginserver.conf HttpPort)/msg_server):
  build/tools/im_cli --user user01 --password ttsuite    (demo users user01..user20, password ttsuite)
Metrics (Prometheus text format, docs/METRICS.md):
EOF
  local port
  for entry in "${DAEMONS[@]}"; do
    port=$(conf_value "${entry#*:}" MetricsPort)
    if [[ -n "$port" ]]; then
      printf '  %-16s http://%s:%s/metrics\n' "${entry%%:*}" "$(conf_value "${entry#*:}" MetricsListenIP)" "$port"
    fi
  done
  if [[ -n "$(daemon_pid prometheus)" ]]; then
    echo "Prometheus: http://127.0.0.1:$PROMETHEUS_PORT (dashboard for Grafana: conf/grafana/ttsuite.json)"
  fi
  cat <<EOF
MySQL:  mariadb -h 127.0.0.1 -P $MYSQL_PORT -u $TT_MYSQL_USER -p'$TT_MYSQL_PASSWORD' $TT_MYSQL_DB
Redis:  redis-cli -p $REDIS_PORT
Stop:   scripts/run.sh stop
EOF
  if ((failed)); then
    phase "start failed"
  else
    phase "started"
  fi
  return $failed
}

stop_daemon() {
  local daemon=$1 pid deadline
  pid=$(daemon_pid "$daemon")
  if [[ -z "$pid" ]]; then
    rm -f "$VAR_DIR/run/$daemon.pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_WAIT))
  while pid_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      say "$daemon (pid $pid) did not stop within ${STOP_WAIT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  rm -f "$VAR_DIR/run/$daemon.pid"
  say "stopped $daemon"
}

cmd_stop() {
  local i
  stop_daemon prometheus
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
    stop_daemon "${DAEMONS[i]%%:*}"
  done
  "$STORAGE" stop "$VAR_DIR"
  say "stopped MariaDB and Redis"
}

cmd_status() {
  local entry daemon pid
  for entry in "${DAEMONS[@]}" prometheus:; do
    daemon=${entry%%:*}
    pid=$(daemon_pid "$daemon")
    if [[ -n "$pid" ]]; then
      printf '%-16s running (pid %s)\n' "$daemon:" "$pid"
    else
      printf '%-16s stopped\n' "$daemon:"
    fi
  done
  "$STORAGE" status "$VAR_DIR"
}

case "${1:-start}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *)
    echo "usage: scripts/run.sh [start|stop|status]" >&2
    exit 2
    ;;
esac
