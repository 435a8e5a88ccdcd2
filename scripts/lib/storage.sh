#!/usr/bin/env bash
# Starts and stops a PRIVATE MariaDB and Redis for ttsuite (run.sh, integration tests, benchmarks).
#
#   storage.sh start [--demo] <var_dir> <mysql_port> <redis_port>
#   storage.sh stop <var_dir>
#   storage.sh status <var_dir>
#
# Everything lives under <var_dir>: mysql/ (datadir), mysql.sock, mysql.pid, mysql.err,
# redis/ (AOF dir), redis.pid, redis.log, storage.env. Both servers listen on 127.0.0.1 only and
# read no system configuration (--no-defaults, no redis.conf), so they never clash with a system
# instance. Servers survive the calling script; `stop` ends exactly the pids in the pid files.
#
# Environment:
#   TT_DB_PASSWORD   password of the MariaDB user `ttsuite` (default ttsuite-dev)
#   TT_DEMO=1        same as --demo: also load db_proxy_server/sql/demo/*.sql
#   TT_CACHE_DIR     where the initialised MariaDB datadir template is kept
#                    (default ${XDG_CACHE_HOME:-$HOME/.cache}/ttsuite)
#   TT_MYSQL_FLUSH   innodb_flush_log_at_trx_commit (default 1: durable, every commit is on disk;
#                    the test fixture uses 2, a throw-away database that need not survive a crash)
#   TT_STORAGE_TIMEOUT  seconds to wait for a server to answer (default 30)
#   TT_STORAGE_OWNER_PID  if set at start, a small watchdog stops the servers once that process
#                    is gone (a crashed or timed-out test leaves nothing running)
#   TT_STORAGE_OWNER_CLEANUP=1  the watchdog also removes <var_dir> after stopping (temp dirs)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
SQL_DIR="$REPO_ROOT/db_proxy_server/sql"

DB_NAME=teamtalk
DB_USER=ttsuite
DB_PASSWORD=${TT_DB_PASSWORD:-ttsuite-dev}
TIMEOUT=${TT_STORAGE_TIMEOUT:-30}

# Options shared by mariadb-install-db and mariadbd, so the template and the server agree on the
# redo log size (a small log: the template is copied for every test).
MYSQL_COMMON_OPTS=(
  --innodb-log-file-size=16M
  --innodb-use-native-aio=0
)

die() {
  echo "storage.sh: $*" >&2
  exit 1
}

usage() {
  cat >&2 <<'USAGE'
usage: storage.sh start [--demo] <var_dir> <mysql_port> <redis_port>
       storage.sh stop <var_dir>
       storage.sh status <var_dir>
USAGE
  exit 2
}

need_tool() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found (run scripts/deps.sh)"
}

# --- process helpers ------------------------------------------------------------------------

# True when pid is a live (non-zombie) process.
pid_alive() {
  local pid=$1 state
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/stat ]] || return 1
  state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# True when pid is alive and its command line matches the extended regex.
pid_is() {
  local pid=$1 pattern=$2 cmdline
  pid_alive "$pid" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ "$cmdline" =~ $pattern ]]
}

read_pid() {
  local file=$1 pid=""
  if [[ -r "$file" ]]; then read -r pid <"$file" 2>/dev/null || true; fi
  echo "${pid:-}"
}

MYSQL_PATTERN='(^|/)(mariadbd|mysqld)( |$)'
REDIS_PATTERN='(^|/)redis-server( |$)'
WATCH_PATTERN='storage\.sh watch '

# Closes every inherited descriptor above 2, so a server never holds a caller's pipe or lock
# (ctest waits for every holder of a test's output pipe; flock locks follow descriptors).
close_extra_fds() {
  local fd
  for fd in "/proc/$BASHPID/fd/"*; do
    fd=${fd##*/}
    [[ "$fd" =~ ^[0-9]+$ ]] || continue
    ((fd > 2)) || continue
    eval "exec $fd>&-" 2>/dev/null || true
  done
}

# --- MariaDB ---------------------------------------------------------------------------------

mysql_version() {
  mariadbd --version 2>/dev/null | sed -nE 's/.*Ver ([^ ]+).*/\1/p' | tr -c 'A-Za-z0-9.+_\n-' '_'
}

cache_dir() {
  local base=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}
  echo "${TT_CACHE_DIR:-$base/ttsuite}"
}

install_db() {
  local datadir=$1 log=$2
  mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$datadir" \
    --auth-root-authentication-method=normal --skip-test-db "${MYSQL_COMMON_OPTS[@]}" \
    >"$log" 2>&1 </dev/null || {
    tail -n 20 "$log" >&2 || true
    die "mariadb-install-db failed for $datadir (log: $log)"
  }
}

# Prints the path of an initialised datadir template, creating it once per MariaDB version.
# Several callers (ctest -j) may race here: the first one builds under a lock, the rest wait.
ensure_template() {
  local cache version template
  cache=$(cache_dir)
  version=$(mysql_version)
  [[ -n "$version" ]] || return 1
  template="$cache/mysql-template-$version"
  if [[ -f "$template/.ttsuite-template-ok" ]]; then
    echo "$template"
    return 0
  fi
  mkdir -p "$cache" 2>/dev/null || return 1
  (
    flock -w 120 9 || exit 1
    if [[ ! -f "$template/.ttsuite-template-ok" ]]; then
      rm -rf "$template" "$template.building"
      install_db "$template.building" "$cache/mysql-template-$version.log" || exit 1
      touch "$template.building/.ttsuite-template-ok"
      mv "$template.building" "$template"
    fi
  ) 9>"$cache/mysql-template.lock" || return 1
  echo "$template"
}

init_mysql_datadir() {
  local var_dir=$1 datadir="$1/mysql" template
  [[ -d "$datadir/mysql" ]] && return 0
  rm -rf "$datadir" "$datadir.partial"
  if template=$(ensure_template) && [[ -n "$template" ]]; then
    cp -a "$template" "$datadir.partial"
    rm -f "$datadir.partial/.ttsuite-template-ok"
  else
    echo "storage.sh: no template cache available, initialising $datadir directly" >&2
    install_db "$datadir.partial" "$var_dir/mysql-install.log"
  fi
  mv "$datadir.partial" "$datadir"
}

mysql_root() {
  mariadb --no-defaults --user=root --socket="$VAR_DIR/mysql.sock" \
    --default-character-set=utf8mb4 --batch --skip-column-names "$@"
}

mysql_answers() {
  mariadb-admin --no-defaults --user=root --socket="$VAR_DIR/mysql.sock" \
    --connect-timeout=2 ping >/dev/null 2>&1
}

start_mysql() {
  local port=$1 pid
  pid=$(read_pid "$VAR_DIR/mysql.pid")
  if pid_is "$pid" "$MYSQL_PATTERN"; then
    mysql_answers || wait_mysql "$pid"
    return 0
  fi
  rm -f "$VAR_DIR/mysql.pid" "$VAR_DIR/mysql.sock" "$VAR_DIR/mysql.sock.lock"

  init_mysql_datadir "$VAR_DIR"
  : >"$VAR_DIR/mysql.err"
  (
    close_extra_fds
    exec setsid mariadbd --no-defaults --user="$(id -un)" \
      --datadir="$VAR_DIR/mysql" \
      --socket="$VAR_DIR/mysql.sock" \
      --port="$port" --bind-address=127.0.0.1 \
      --pid-file="$VAR_DIR/mysql.pid" \
      --log-error="$VAR_DIR/mysql.err" \
      --skip-name-resolve \
      --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
      --innodb-flush-log-at-trx-commit="${TT_MYSQL_FLUSH:-1}" \
      --max-connections=500 \
      "${MYSQL_COMMON_OPTS[@]}"
  ) </dev/null >>"$VAR_DIR/mysql.err" 2>&1 &
  pid=$!
  echo "$pid" >"$VAR_DIR/mysql.pid"
  wait_mysql "$pid"
}

wait_mysql() {
  local pid=$1 deadline=$((SECONDS + TIMEOUT))
  while ! mysql_answers; do
    if ! pid_alive "$pid"; then
      echo "storage.sh: mariadbd exited during start-up; tail of $VAR_DIR/mysql.err:" >&2
      tail -n 25 "$VAR_DIR/mysql.err" >&2 || true
      rm -f "$VAR_DIR/mysql.pid"
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      echo "storage.sh: mariadbd (pid $pid) did not answer within ${TIMEOUT}s; tail of $VAR_DIR/mysql.err:" >&2
      tail -n 25 "$VAR_DIR/mysql.err" >&2 || true
      exit 1
    fi
    sleep 0.1
  done
}

sql_string() {
  # Quotes a value as an SQL string literal (NO_BACKSLASH_ESCAPES is off by default).
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\'/\'\'}
  printf "'%s'" "$s"
}

setup_database() {
  local pw
  pw=$(sql_string "$DB_PASSWORD")
  mysql_root <<SQL
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY $pw;
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY $pw;
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY $pw;
ALTER USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY $pw;
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'127.0.0.1';
FLUSH PRIVILEGES;
CREATE TABLE IF NOT EXISTS \`$DB_NAME\`.schema_migrations (
  version VARCHAR(191) NOT NULL PRIMARY KEY,
  applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
SQL
}

# Applies each *.sql file of a directory once, in name order, recording it in schema_migrations
# under "<prefix><file name>".
apply_sql_dir() {
  local dir=$1 prefix=$2 file version applied
  [[ -d "$dir" ]] || return 0
  local files=()
  while IFS= read -r -d '' file; do
    files+=("$file")
  done < <(find "$dir" -maxdepth 1 -type f -name '*.sql' -print0 | LC_ALL=C sort -z)
  ((${#files[@]})) || return 0
  applied=$(mysql_root "$DB_NAME" -e 'SELECT version FROM schema_migrations')
  for file in "${files[@]}"; do
    version="$prefix$(basename "$file")"
    if grep -qxF -- "$version" <<<"$applied"; then
      continue
    fi
    if ! mysql_root "$DB_NAME" <"$file"; then
      die "applying $file failed"
    fi
    mysql_root "$DB_NAME" -e "INSERT INTO schema_migrations (version) VALUES ($(sql_string "$version"))"
    echo "storage.sh: applied ${file#"$REPO_ROOT"/}" >&2
  done
}

# --- Redis -----------------------------------------------------------------------------------

redis_answers() {
  local port=$1 reply
  reply=$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null </dev/null) || return 1
  [[ "$reply" == PONG ]]
}

start_redis() {
  local port=$1 pid deadline
  pid=$(read_pid "$VAR_DIR/redis.pid")
  if ! pid_is "$pid" "$REDIS_PATTERN"; then
    rm -f "$VAR_DIR/redis.pid"
    mkdir -p "$VAR_DIR/redis"
    : >"$VAR_DIR/redis.log"
    # shellcheck disable=SC2094 # redis appends to its log; so does our redirect, before it daemonizes
    (
      close_extra_fds
      exec redis-server --port "$port" --bind 127.0.0.1 \
        --dir "$VAR_DIR/redis" \
        --daemonize yes \
        --pidfile "$VAR_DIR/redis.pid" \
        --logfile "$VAR_DIR/redis.log" \
        --save '' --appendonly yes \
        --protected-mode yes
    ) </dev/null >>"$VAR_DIR/redis.log" 2>&1 || {
      tail -n 25 "$VAR_DIR/redis.log" >&2 || true
      die "redis-server failed to start"
    }
  fi
  deadline=$((SECONDS + TIMEOUT))
  while ! redis_answers "$port"; do
    pid=$(read_pid "$VAR_DIR/redis.pid")
    if ((SECONDS >= deadline)) || { [[ -n "$pid" ]] && ! pid_alive "$pid"; }; then
      echo "storage.sh: redis-server did not answer PING on 127.0.0.1:$port; tail of $VAR_DIR/redis.log:" >&2
      tail -n 25 "$VAR_DIR/redis.log" >&2 || true
      exit 1
    fi
    sleep 0.05
  done
  # The daemon writes its pid file itself; wait for it so `stop` can find the process.
  deadline=$((SECONDS + TIMEOUT))
  until pid=$(read_pid "$VAR_DIR/redis.pid") && pid_is "$pid" "$REDIS_PATTERN"; do
    ((SECONDS < deadline)) || die "redis-server answers on $port but $VAR_DIR/redis.pid names no redis-server"
    sleep 0.05
  done
}

# --- commands --------------------------------------------------------------------------------

write_env() {
  local mport=$1 rport=$2 tmp="$VAR_DIR/storage.env.tmp"
  {
    echo "# written by scripts/lib/storage.sh; source it from a shell"
    printf 'TT_MYSQL_HOST=%q\n' 127.0.0.1
    printf 'TT_MYSQL_PORT=%q\n' "$mport"
    printf 'TT_MYSQL_SOCKET=%q\n' "$VAR_DIR/mysql.sock"
    printf 'TT_MYSQL_USER=%q\n' "$DB_USER"
    printf 'TT_MYSQL_PASSWORD=%q\n' "$DB_PASSWORD"
    printf 'TT_MYSQL_DB=%q\n' "$DB_NAME"
    printf 'TT_REDIS_HOST=%q\n' 127.0.0.1
    printf 'TT_REDIS_PORT=%q\n' "$rport"
  } >"$tmp"
  mv "$tmp" "$VAR_DIR/storage.env"
}

check_port() {
  if ! [[ "$1" =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > 65535)); then die "invalid port '$1'"; fi
}

cmd_start() {
  local demo=${TT_DEMO:-0} args=()
  for a in "$@"; do
    case "$a" in
      --demo) demo=1 ;;
      -*) usage ;;
      *) args+=("$a") ;;
    esac
  done
  ((${#args[@]} == 3)) || usage
  local mport=${args[1]} rport=${args[2]}
  check_port "$mport"
  check_port "$rport"
  need_tool mariadbd
  need_tool mariadb
  need_tool mariadb-admin
  need_tool mariadb-install-db
  need_tool redis-server
  need_tool redis-cli
  need_tool flock
  need_tool setsid

  mkdir -p "${args[0]}"
  VAR_DIR=$(cd "${args[0]}" && pwd)
  # sun_path holds 108 bytes including the terminator.
  ((${#VAR_DIR} + 11 < 108)) || die "var_dir path too long for a unix socket: $VAR_DIR"

  start_mysql "$mport"
  setup_database
  apply_sql_dir "$SQL_DIR" ""
  if [[ "$demo" == 1 ]]; then
    apply_sql_dir "$SQL_DIR/demo" "demo/"
  fi
  start_redis "$rport"
  write_env "$mport" "$rport"
  start_watchdog "${TT_STORAGE_OWNER_PID:-}"
}

start_watchdog() {
  local owner=$1
  [[ -n "$owner" ]] || return 0
  [[ "$owner" =~ ^[0-9]+$ ]] || die "TT_STORAGE_OWNER_PID must be a pid"
  stop_one "$VAR_DIR/watchdog.pid" "$WATCH_PATTERN" watchdog 5
  (
    close_extra_fds
    exec setsid bash "$SCRIPT_DIR/storage.sh" watch "$VAR_DIR" "$owner" "${TT_STORAGE_OWNER_CLEANUP:-0}"
  ) </dev/null >>"$VAR_DIR/watchdog.log" 2>&1 &
  echo "$!" >"$VAR_DIR/watchdog.pid"
}

# Internal: waits for the owner process to go away, then stops the servers.
cmd_watch() {
  (($# == 3)) || usage
  local dir=$1 owner=$2 cleanup=$3
  while pid_alive "$owner"; do
    sleep 1
  done
  [[ -d "$dir" ]] || exit 0
  echo "storage.sh: owner $owner is gone; stopping storage in $dir" >&2
  rm -f "$dir/watchdog.pid"
  cmd_stop "$dir"
  if [[ "$cleanup" == 1 ]]; then
    rm -rf "$dir"
  fi
}

# Stops the process named in a pid file if (and only if) its command line matches.
stop_one() {
  local file=$1 pattern=$2 what=$3 wait_s=$4 pid deadline
  pid=$(read_pid "$file")
  if [[ -z "$pid" ]]; then
    rm -f "$file"
    return 0
  fi
  if ! pid_is "$pid" "$pattern"; then
    pid_alive "$pid" && echo "storage.sh: pid $pid in $file is not $what; leaving it alone" >&2
    rm -f "$file"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + wait_s))
  while pid_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      echo "storage.sh: $what (pid $pid) ignored SIGTERM for ${wait_s}s; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
      break
    fi
    sleep 0.05
  done
  rm -f "$file"
}

cmd_stop() {
  (($# == 1)) || usage
  [[ -d "$1" ]] || return 0
  VAR_DIR=$(cd "$1" && pwd)
  local wpid
  wpid=$(read_pid "$VAR_DIR/watchdog.pid")
  if [[ -n "$wpid" && "$wpid" != "$$" ]]; then
    stop_one "$VAR_DIR/watchdog.pid" "$WATCH_PATTERN" watchdog 5
  fi
  stop_one "$VAR_DIR/redis.pid" "$REDIS_PATTERN" redis-server 10
  stop_one "$VAR_DIR/mysql.pid" "$MYSQL_PATTERN" mariadbd 30
  rm -f "$VAR_DIR/mysql.sock" "$VAR_DIR/mysql.sock.lock"
}

cmd_status() {
  (($# == 1)) || usage
  local dir=$1 pid rc=0 mport="?" rport="?"
  if [[ -r "$dir/storage.env" ]]; then
    mport=$(sed -n 's/^TT_MYSQL_PORT=//p' "$dir/storage.env")
    rport=$(sed -n 's/^TT_REDIS_PORT=//p' "$dir/storage.env")
  fi
  pid=$(read_pid "$dir/mysql.pid")
  if pid_is "$pid" "$MYSQL_PATTERN"; then
    echo "mariadb: running (pid $pid, 127.0.0.1:$mport)"
  else
    echo "mariadb: stopped"
    rc=3
  fi
  pid=$(read_pid "$dir/redis.pid")
  if pid_is "$pid" "$REDIS_PATTERN"; then
    echo "redis:   running (pid $pid, 127.0.0.1:$rport)"
  else
    echo "redis:   stopped"
    rc=3
  fi
  return $rc
}

(($# >= 1)) || usage
cmd=$1
shift
case "$cmd" in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  status) cmd_status "$@" ;;
  watch) cmd_watch "$@" ;;
  *) usage ;;
esac
