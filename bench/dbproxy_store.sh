#!/usr/bin/env bash
# Durable message-store throughput of db_proxy_server: how many 1:1 messages per second it stores
# (committed to MariaDB with innodb_flush_log_at_trx_commit=1, i.e. on disk before the ack) and
# acknowledges, with one transaction per message (MsgBatchSize=1) against group commit
# (MsgBatchSize=256, the default). Both modes run in the same invocation against the same private
# MariaDB + Redis, interleaved (a, b, a, b, ...); the best round of each is reported.
#
# The load is bench/dbproxy_store.cc (dbproxy_store_load): one netlib thread, CONNS connections,
# each keeping WINDOW IMMsgData in flight, over RELATIONS user pairs per connection (ids 100000+).
#
# Environment: BUILD_DIR (default <repo>/build), DURATION seconds measured per run (10),
#              WARMUP seconds not counted (1), CONNS (32), WINDOW (32), RELATIONS per connection (64),
#              ROUNDS (2: a, b, a, b), BATCH (256: MsgBatchSize of the batched mode),
#              WRITERS (MsgWriterNum; unset = the daemon's default), REDO_MB (512: InnoDB redo log
#              size set online before the runs; 0 keeps storage.sh's 16 MiB), KEEP_TMP=1 keeps the
#              temp dir, DBPROXY_BIN measures another db_proxy_server binary (e.g. a patched copy).
# The last line is always: dbproxy stored msgs/s batched: <n>
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$REPO/build}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-1}"
CONNS="${CONNS:-32}"
WINDOW="${WINDOW:-32}"
RELATIONS="${RELATIONS:-64}"
ROUNDS="${ROUNDS:-2}"
BATCH="${BATCH:-256}"
WRITERS="${WRITERS:-}"
REDO_MB="${REDO_MB:-512}"
KEEP_TMP="${KEEP_TMP:-0}"

die() { echo "dbproxy_store: $*" >&2; exit 1; }
for v in CONNS WINDOW RELATIONS ROUNDS BATCH REDO_MB; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
[[ -z "$WRITERS" || "$WRITERS" =~ ^[0-9]+$ ]] || die "WRITERS must be a whole number, not '$WRITERS'"
[[ "$DURATION" =~ ^[0-9]+(\.[0-9]+)?$ && "$WARMUP" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "DURATION and WARMUP are seconds"
((ROUNDS >= 1)) || die "ROUNDS must be at least 1"

# ---- build ----
configure_args=(-S "$REPO" -B "$BUILD_DIR" -DTT_BUILD_BENCH=ON)
[[ -f "$BUILD_DIR/CMakeCache.txt" ]] || configure_args+=(-DCMAKE_BUILD_TYPE=Release)
# Re-run configure every time: bench/ may be newer than the build tree's last configure.
cmake "${configure_args[@]}" >/dev/null || die "cmake configure failed in $BUILD_DIR"
cmake --build "$BUILD_DIR" --target db_proxy_server dbproxy_store_load -j"$(nproc)" >/dev/null \
  || die "build failed (run: cmake --build $BUILD_DIR --target db_proxy_server dbproxy_store_load)"
build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")"
[[ "$build_type" == Release ]] || echo "warning: $BUILD_DIR is a '$build_type' build; db_proxy_server is not optimised" >&2
BIN_DBPROXY="${DBPROXY_BIN:-$BUILD_DIR/db_proxy_server/db_proxy_server}"
BIN_LOAD="$BUILD_DIR/bench/dbproxy_store_load"
[[ -x "$BIN_DBPROXY" && -x "$BIN_LOAD" ]] || die "binaries missing under $BUILD_DIR"

# ---- temp dir, cleanup ----
# Short path: MariaDB's unix socket lives inside it (108-byte sun_path).
WORK="$(mktemp -d /tmp/ttdbps.XXXXXX)"
STORAGE_STARTED=0
DBPROXY_PID=""
LOAD_PID=""
stop_dbproxy() {  # stop_dbproxy: SIGTERM, wait; prints nothing, returns the exit status
  local pid="$DBPROXY_PID" rc=0
  [[ -n "$pid" ]] || return 0
  DBPROXY_PID=""
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 300); do  # 30 s: ShutdownTimeout below is 10 s
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "warning: db_proxy_server (pid $pid) ignored SIGTERM for 30 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || rc=$?
  return "$rc"
}
cleanup() {
  if [[ -n "$LOAD_PID" ]]; then
    kill -TERM "$LOAD_PID" 2>/dev/null || true
    wait "$LOAD_PID" 2>/dev/null || true
  fi
  stop_dbproxy || true
  if [[ "$STORAGE_STARTED" == 1 ]]; then
    "$REPO/scripts/lib/storage.sh" stop "$WORK/var" >/dev/null 2>&1 || true
  fi
  if [[ "$KEEP_TMP" == 1 ]]; then
    echo "kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A loopback port no socket uses now: random, below the kernel's ephemeral range (so no outgoing
# connection can hold it), checked against every TCP socket ss lists. Another program may still
# take it before we bind; the callers retry.
free_port() {
  local p used low=32768
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  ((low > 12000)) || low=32768
  used="$(ss -Htan 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }')"
  for _ in $(seq 200); do
    p=$((10000 + RANDOM % (low - 10000)))
    grep -qx "$p" <<<"$used" || { echo "$p"; return; }
  done
  die "no free port found"
}

# ---- storage: durable defaults ----
# The point is durable throughput: never inherit a relaxed flush setting or demo data.
unset TT_MYSQL_FLUSH TT_DEMO
STORAGE_STARTED=1
for attempt in 1 2 3; do
  MYSQL_PORT="$(free_port)"
  REDIS_PORT="$(free_port)"
  while [[ "$REDIS_PORT" == "$MYSQL_PORT" ]]; do REDIS_PORT="$(free_port)"; done
  # The watchdog stops the servers and removes the dir even if this script is killed outright.
  if TT_STORAGE_OWNER_PID=$$ TT_STORAGE_OWNER_CLEANUP=1 \
    "$REPO/scripts/lib/storage.sh" start "$WORK/var" "$MYSQL_PORT" "$REDIS_PORT" >"$WORK/storage.log" 2>&1; then
    break
  fi
  "$REPO/scripts/lib/storage.sh" stop "$WORK/var" >/dev/null 2>&1 || true
  if ((attempt == 3)) || ! grep -q 'Address already in use' "$WORK/storage.log" "$WORK/var/"*.err "$WORK/var/"*.log 2>/dev/null; then
    cat "$WORK/storage.log" >&2
    die "storage start failed"
  fi
  echo "storage: port taken meanwhile; trying other ports" >&2
done
# shellcheck disable=SC1091
source "$WORK/var/storage.env"
mysql_q() {
  mariadb --no-defaults --user=root --socket="$TT_MYSQL_SOCKET" --batch --skip-column-names -e "$1"
}
# storage.sh gives the test fixture a 16 MiB redo log (its datadir template is copied for every
# test). Under this load that log is full within seconds: the checkpoint age sits at its maximum and
# InnoDB must flush pages before the log can move on, which costs 10-15% in these short runs from a
# fresh datadir and more as the run goes on. A production server has a redo log of hundreds of MiB;
# MariaDB 10.11 resizes it online. Durability is untouched: every COMMIT is still fsynced
# (innodb_flush_log_at_trx_commit=1).
if [[ "$REDO_MB" != 0 ]]; then
  mysql_q "SET GLOBAL innodb_log_file_size = $((REDO_MB * 1048576))" \
    || echo "warning: could not resize the redo log to ${REDO_MB} MiB; measuring with storage.sh's" >&2
fi
flush="$(mysql_q 'SELECT @@innodb_flush_log_at_trx_commit')"
binlog="$(mysql_q 'SELECT @@log_bin')"
redo="$(mysql_q 'SELECT @@innodb_log_file_size DIV 1048576')"
echo "storage: MariaDB $(mysql_q 'SELECT VERSION()') on 127.0.0.1:$MYSQL_PORT, Redis on 127.0.0.1:$REDIS_PORT"
echo "storage: innodb_flush_log_at_trx_commit=$flush innodb_log_file_size=${redo}M log_bin=$binlog datadir=$WORK/var/mysql ($(df -P "$WORK" | awk 'NR == 2 { print $1 }'))"
[[ "$flush" == 1 ]] || echo "warning: innodb_flush_log_at_trx_commit is $flush, not 1: this is NOT a durable measurement" >&2

# ---- db_proxy config ----
# conf/dbproxyserver.conf with our ports and password; its batch/writer keys replaced by the mode's.
write_conf() {  # write_conf <file> <listen_port> <batch>
  local file="$1" port="$2" batch="$3"
  sed -E \
    -e "s/^ListenPort=.*/ListenPort=$port/" \
    -e "s/^(teamtalk_(master|slave))_port=.*/\1_port=$TT_MYSQL_PORT/" \
    -e "s/^(teamtalk_(master|slave))_host=.*/\1_host=$TT_MYSQL_HOST/" \
    -e "s/^(teamtalk_(master|slave))_password=.*/\1_password=$TT_MYSQL_PASSWORD/" \
    -e "s/^(teamtalk_(master|slave))_username=.*/\1_username=$TT_MYSQL_USER/" \
    -e "s/^(teamtalk_(master|slave))_dbname=.*/\1_dbname=$TT_MYSQL_DB/" \
    -e "s/^([a-z_]+)_port=16379$/\1_port=$TT_REDIS_PORT/" \
    -e "s/^([a-z_]+)_host=127\.0\.0\.1$/\1_host=$TT_REDIS_HOST/" \
    -e "s/^LogLevel=.*/LogLevel=warn/" \
    -e "s/^ShutdownTimeout=.*/ShutdownTimeout=10/" \
    -e "/^(MsgBatchSize|MsgWriterNum)=/d" \
    "$REPO/conf/dbproxyserver.conf" >"$file"
  grep -q "^ListenPort=$port\$" "$file" || die "conf/dbproxyserver.conf has no ListenPort line to replace"
  grep -q "_port=$TT_REDIS_PORT\$" "$file" || die "conf/dbproxyserver.conf: no Redis port replaced"
  {
    echo "MsgBatchSize=$batch"
    [[ -z "$WRITERS" ]] || echo "MsgWriterNum=$WRITERS"
  } >>"$file"
}

# ---- one run ----
# run_once <label> <batch>: sets RESULT to "rate p50 p99 p999 failed stored" ("0 - - - - 0" on
# failure). Runs in the main shell (not in $(...)), so the EXIT trap always knows DBPROXY_PID.
run_once() {
  local label="$1" batch="$2" port conf log line rc up=0 attempt
  conf="$WORK/$label.conf"
  log="$WORK/$label.log"
  for attempt in 1 2 3; do
    port="$(free_port)"
    write_conf "$conf" "$port" "$batch"
    "$BIN_DBPROXY" -c "$conf" >"$log" 2>&1 &
    DBPROXY_PID=$!
    # Up when OUR process listens on the port (ss -p names it), not merely when something answers.
    for _ in $(seq 200); do
      if ss -Htlnp "( sport = :$port )" 2>/dev/null | grep -q "pid=$DBPROXY_PID,"; then up=1; break; fi
      kill -0 "$DBPROXY_PID" 2>/dev/null || break
      sleep 0.05
    done
    [[ "$up" == 1 ]] && break
    stop_dbproxy || true
    grep -q 'Address already in use' "$log" && ((attempt < 3)) && continue
    echo "warning: db_proxy_server ($label) did not start; tail of its log:" >&2
    tail -n 20 "$log" >&2 || true
    RESULT="0 - - - - 0"
    return
  done
  rc=0
  # In the background and waited for, so a signal runs the EXIT trap at once, not after the run.
  timeout $((${DURATION%.*} + ${WARMUP%.*} + 40)) "$BIN_LOAD" -c "$CONNS" -w "$WINDOW" -d "$DURATION" \
    -u "$WARMUP" -r "$RELATIONS" 127.0.0.1 "$port" >"$WORK/$label.load.out" 2>"$WORK/$label.load.err" &
  LOAD_PID=$!
  wait "$LOAD_PID" || true
  LOAD_PID=""
  line="$(grep '^stored=' "$WORK/$label.load.out" || true)"
  if [[ -s "$WORK/$label.load.err" ]]; then
    head -n 20 "$WORK/$label.load.err" | sed "s/^/  [$label load] /" >&2
  fi
  stop_dbproxy || rc=$?
  if [[ "$rc" != 0 ]]; then
    echo "warning: db_proxy_server ($label) exited with status $rc after SIGTERM; tail of its log:" >&2
    tail -n 20 "$log" >&2 || true
    DBPROXY_FAILED=1
  fi
  # spdlog lines: "<date> <time> <level> [pid] ...". A failed batch (retried one by one) is a warning.
  local problems
  problems="$(grep -cE '^[0-9-]+ [0-9:.]+ (warning|error|critical) ' "$log" || true)"
  if [[ "$problems" != 0 ]]; then
    echo "warning: db_proxy_server ($label) logged $problems warnings/errors, first ones:" >&2
    grep -E '^[0-9-]+ [0-9:.]+ (warning|error|critical) ' "$log" | head -n 3 | cut -c1-300 | sed 's/^/  /' >&2
  fi
  if [[ -z "$line" ]]; then
    echo "warning: load ($label) produced no result" >&2
    RESULT="0 - - - - 0"
    return
  fi
  echo "  $label: $line"
  STORED_TOTAL=$((STORED_TOTAL + $(sed -nE 's/^stored=([0-9]+).*/\1/p' <<<"$line")))
  local viol
  viol="$(sed -nE 's/.* order_violations=([0-9]+).*/\1/p' <<<"$line")"
  [[ -z "$viol" || "$viol" == 0 ]] || ORDER_VIOLATIONS=$((ORDER_VIOLATIONS + viol))
  # stored=<n> failed=<n> seconds=<s> rate=<r> p50_ms=<> p99_ms=<> p999_ms=<> ...
  RESULT="$(awk -v l="$line" 'BEGIN {
    n = split(l, f, " ");
    for (i = 1; i <= n; ++i) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
    printf "%.0f %s %s %s %s %s\n", v["rate"], v["p50_ms"], v["p99_ms"], v["p999_ms"], v["failed"], v["stored"] }')"
}

# best <old> <new>: keeps the line with the higher rate.
best() { awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); print (y[1] > x[1]) ? b : a }'; }

ORDER_VIOLATIONS=0
DBPROXY_FAILED=0
STORED_TOTAL=0
writers_note="${WRITERS:-daemon default}"
echo "machine: $(nproc) cpus, load average $(cut -d' ' -f1-3 /proc/loadavg) before the runs"
echo "load: $CONNS connections x window $WINDOW, $((CONNS * RELATIONS)) relations, ${WARMUP}s warm-up + ${DURATION}s measured," \
  "best of $ROUNDS interleaved rounds; MsgWriterNum=$writers_note"
unbatched="0 - - - - 0"
batched="0 - - - - 0"
for ((r = 1; r <= ROUNDS; ++r)); do
  run_once "unbatched-$r" 1
  unbatched="$(best "$unbatched" "$RESULT")"
  run_once "batched-$r" "$BATCH"
  batched="$(best "$batched" "$RESULT")"
done

rows="$(mysql_q "SELECT (SELECT COUNT(*) FROM teamtalk.IMMessage_0) + (SELECT COUNT(*) FROM teamtalk.IMMessage_1)
  + (SELECT COUNT(*) FROM teamtalk.IMMessage_2) + (SELECT COUNT(*) FROM teamtalk.IMMessage_3)
  + (SELECT COUNT(*) FROM teamtalk.IMMessage_4) + (SELECT COUNT(*) FROM teamtalk.IMMessage_5)
  + (SELECT COUNT(*) FROM teamtalk.IMMessage_6) + (SELECT COUNT(*) FROM teamtalk.IMMessage_7)")"
echo "rows in IMMessage_*: $rows (all runs, warm-up and tail included; measured acks: $STORED_TOTAL)"
ROWS_SHORT=0
((rows >= STORED_TOTAL)) || ROWS_SHORT=1
echo "machine: $(nproc) cpus, load average $(cut -d' ' -f1-3 /proc/loadavg) (other work on the box skews every number)"

echo
printf '%-22s %14s %9s %9s %9s %8s\n' mode stored_msgs/s p50_ms p99_ms p999_ms failed
read -r ur up50 up99 up999 ufail _ <<<"$unbatched"
read -r br bp50 bp99 bp999 bfail _ <<<"$batched"
printf '%-22s %14s %9s %9s %9s %8s\n' "unbatched (batch 1)" "$ur" "$up50" "$up99" "$up999" "$ufail"
printf '%-22s %14s %9s %9s %9s %8s\n' "batched (batch $BATCH)" "$br" "$bp50" "$bp99" "$bp999" "$bfail"
ratio="$(awk -v a="$br" -v b="$ur" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }')"
echo "batched/unbatched: $ratio"
((ORDER_VIOLATIONS == 0)) || echo "ERROR: $ORDER_VIOLATIONS per-relation msg_id order violations" >&2
((DBPROXY_FAILED == 0)) || echo "ERROR: db_proxy_server did not exit 0 on SIGTERM in every run" >&2
((ROWS_SHORT == 0)) || echo "ERROR: $rows rows stored but $STORED_TOTAL messages acked as stored" >&2
echo "dbproxy stored msgs/s batched: $br"
if ((ORDER_VIOLATIONS != 0 || DBPROXY_FAILED != 0 || ROWS_SHORT != 0)); then exit 1; fi
