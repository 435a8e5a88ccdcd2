#!/usr/bin/env bash
# End-to-end capacity of the whole stack, measured with tools/im_bench over the real protocol:
# a private MariaDB + Redis with durable defaults (innodb_flush_log_at_trx_commit=1, as
# scripts/run.sh), db_proxy_server, route_server, login_server and two msg_servers, all on this
# machine, then each scenario:
#
#   idle         IDLE_N clients on msg_server 0, idle IDLE_S seconds: RSS per connection
#   login-storm  STORM_N clients through login_server's HTTP /msg_server, then both msg_servers
#                restart and every client reconnects; and the same with SLOW_N users whose stored
#                hash has the real 150,000 PBKDF2 iterations (cold logins pay the hash, the
#                reconnect storm must not: db_proxy's verified-credential cache)
#   chat         CHAT_N clients in pairs over both msg_servers, at each rate of CHAT_RATES
#   group        one group of GROUP_M members over both msg_servers, at each rate of GROUP_RATES
#
# A rate passes when nothing is lost or duplicated, every message was sent on schedule, and p99
# send->deliver (group: of the last member) is at most P99_LIMIT_MS; the ladder stops at the first
# rate that fails, and the highest passing rate is reported per scenario.
#
# Clients are mobile (android) unless said otherwise: msg_server sends a PC client every presence
# change of every user on the server (TeamTalk's broadcast), so N PC clients logging in cost N^2
# notifications; PC_N PC clients log in once to show that cost separately.
#
# File descriptors: every daemon and im_bench raise RLIMIT_NOFILE as far as they may. In a
# container without CAP_SYS_RESOURCE the hard limit (here 20,000) caps one msg_server, and one
# im_bench process, at about 19,900 connections; IDLE_N defaults to 19,000 for that reason and the
# per-connection figure is what scales.
#
# Bench users: bench_1 .. bench_<n> (ids 1000001..) and slow_1 .. slow_<SLOW_N> (ids 2000001..),
# password "ttsuite", bulk-inserted with one shared stored hash each (same salt): the bench_ hash
# has BENCH_ITERATIONS PBKDF2 iterations (default 1000: ~0.3 ms per first login, where 150,000
# iterations would cost 19,000 first logins ~10 CPU-minutes), the slow_ hash has the production
# 150,000. Every user has its own cache entry in db_proxy (keyed by name + credential).
# Group 1000 holds bench_1 .. bench_<GROUP_M>.
#
# Environment: BUILD_DIR (<repo>/build), SCENARIOS ("idle login-storm chat group"), THREADS (im_bench
#   event loops, 2), IDLE_N (19000), IDLE_S (60), STORM_N (16000), PC_N (2000), SLOW_N (1000), CHAT_N (4000),
#   CHAT_RATES, GROUP_M (500), GROUP_RATES, DURATION (10 s per rate), P99_LIMIT_MS (50),
#   BENCH_ITERATIONS (1000), DBPROXY_WRITERS (db_proxy MsgWriterNum; unset = conf/dbproxyserver.conf's),
#   PUSH=1 adds a push_server (providers none) linked to both msg_servers, so every stored message
#   also pays msg_server's "any device online?" check (one batched route query per loop turn),
#   METRICS=1 gives every daemon a MetricsPort and scrapes each /metrics once a second while the
#   scenarios run (METRICS=0, the default: no endpoint; the counters still count, they are
#   always compiled in), so `METRICS=0` and `METRICS=1` runs of the same build compare the cost
#   of serving metrics; BUILD_DIR of a build from before the metrics layer gives the cost of counting,
#   KEEP_TMP=1 keeps the temp dir (confs, logs, every im_bench JSON), HOLD=1 only starts the stack,
#   prints its ports and waits (for manual im_bench runs; Ctrl-C stops everything).
# Exit status 0 unless the set-up failed or a daemon ignored SIGTERM; missed targets and failed
# im_bench runs are in the output, not the status.
# The last lines are machine-readable: "e2e <scenario> <figure>: <value>".
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$REPO/build}"
SCENARIOS="${SCENARIOS:-idle login-storm chat group}"
THREADS="${THREADS:-2}"
IDLE_N="${IDLE_N:-19000}"
IDLE_S="${IDLE_S:-60}"
STORM_N="${STORM_N:-16000}"
PC_N="${PC_N:-2000}"
SLOW_N="${SLOW_N:-1000}"
CHAT_N="${CHAT_N:-4000}"
CHAT_RATES="${CHAT_RATES:-1000 2000 4000 6000 8000 10000 15000 20000}"
GROUP_M="${GROUP_M:-500}"
GROUP_RATES="${GROUP_RATES:-10 20 40 60 80 100 150 200 300 600}"
DURATION="${DURATION:-10}"
P99_LIMIT_MS="${P99_LIMIT_MS:-50}"
BENCH_ITERATIONS="${BENCH_ITERATIONS:-1000}"
KEEP_TMP="${KEEP_TMP:-0}"

die() { echo "e2e: $*" >&2; exit 1; }
for v in THREADS IDLE_N STORM_N PC_N SLOW_N CHAT_N GROUP_M BENCH_ITERATIONS; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
command -v jq >/dev/null || die "needs jq"

# ---- build ----
# A BUILD_DIR configured from another checkout (say, a worktree of an older commit to compare
# against) is built from that checkout's sources.
SRC_DIR="$REPO"
if [[ -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  SRC_DIR="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$BUILD_DIR/CMakeCache.txt")"
fi
configure_args=(-S "$SRC_DIR" -B "$BUILD_DIR")
[[ -f "$BUILD_DIR/CMakeCache.txt" ]] || configure_args+=(-DCMAKE_BUILD_TYPE=Release)
cmake "${configure_args[@]}" >/dev/null || die "cmake configure failed in $BUILD_DIR"
cmake --build "$BUILD_DIR" -j"$(nproc)" --target im_bench msg_server login_server route_server db_proxy_server \
  push_server tt_make_demo_hash >/dev/null || die "build failed"
build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")"
[[ "$build_type" == Release ]] || echo "warning: $BUILD_DIR is a '$build_type' build, not Release" >&2
BENCH="$BUILD_DIR/tools/im_bench"

# ---- temp dir, cleanup ----
WORK="$(mktemp -d /tmp/tte2e.XXXXXX)"
mkdir -p "$WORK/run" "$WORK/log" "$WORK/json"
STORAGE_STARTED=0
stop_pidfile() {  # stop_pidfile <file>: SIGTERM, wait up to 30 s, then SIGKILL; returns the status
  local f="$1" pid rc=0
  [[ -f "$f" ]] || return 0
  pid="$(cat "$f")"
  rm -f "$f"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "warning: pid $pid ($f) ignored SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    rc=137
  fi
  return "$rc"
}
cleanup() {
  local f
  [[ -n "${SCRAPER_PID:-}" ]] && kill "$SCRAPER_PID" 2>/dev/null || true
  for f in "$WORK"/run/msg_server*.pid "$WORK/run/push_server.pid" "$WORK/run/login_server.pid" \
    "$WORK/run/route_server.pid" "$WORK/run/db_proxy_server.pid"; do
    stop_pidfile "$f" || true
  done
  [[ "$STORAGE_STARTED" == 1 ]] && "$REPO/scripts/lib/storage.sh" stop "$WORK/var" >/dev/null 2>&1 || true
  if [[ "$KEEP_TMP" == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {  # a loopback port below the ephemeral range that no socket uses now
  local p used low=32768
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  ((low > 12000)) || low=32768
  used="$(ss -Htan 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }')"
  for _ in $(seq 200); do
    p=$((10000 + RANDOM % (low - 10000)))
    grep -qx "$p" <<<"$used" || grep -qx "$p" "$WORK/ports" 2>/dev/null || { echo "$p" >>"$WORK/ports"; echo "$p"; return; }
  done
  die "no free port found"
}

# ---- storage: durable defaults, no demo data ----
unset TT_MYSQL_FLUSH TT_DEMO
STORAGE_STARTED=1
TT_STORAGE_OWNER_PID=$$ TT_STORAGE_OWNER_CLEANUP=0 \
  "$REPO/scripts/lib/storage.sh" start "$WORK/var" "$(free_port)" "$(free_port)" >"$WORK/log/storage.log" 2>&1 \
  || { cat "$WORK/log/storage.log" >&2; die "storage start failed"; }
# shellcheck disable=SC1091
source "$WORK/var/storage.env"
mysql_q() { mariadb --no-defaults --user=root --socket="$TT_MYSQL_SOCKET" --batch --skip-column-names "$TT_MYSQL_DB" -e "$1"; }
# A production-sized redo log (storage.sh's test-sized 16 MiB stalls sustained writes; see
# bench/dbproxy_store.sh). Every commit is still on disk before its ack.
mysql_q "SET GLOBAL innodb_log_file_size = 512 * 1048576" || echo "warning: redo log not resized" >&2
flush="$(mysql_q 'SELECT @@innodb_flush_log_at_trx_commit')"
[[ "$flush" == 1 ]] || echo "warning: innodb_flush_log_at_trx_commit=$flush: NOT durable" >&2

# ---- bench users and group ----
n_users=$GROUP_M
for v in IDLE_N STORM_N CHAT_N; do ((${!v} > n_users)) && n_users=${!v}; done
hash_fast="$("$BUILD_DIR/db_proxy_server/auth/tt_make_demo_hash" --iterations "$BENCH_ITERATIONS" ttsuite \
  "$(printf 'ttsuite-bench-01' | xxd -p)")"
hash_slow="$("$BUILD_DIR/db_proxy_server/auth/tt_make_demo_hash" ttsuite "$(printf 'ttsuite-bench-02' | xxd -p)")"
now_s="$(date +%s)"
t0=$(date +%s.%N)
mysql_q "INSERT INTO IMUser (id, sex, name, domain, nick, password, departId, status, created, updated)
  SELECT 1000000 + seq, 1, CONCAT('bench_', seq), CONCAT('bench_', seq), CONCAT('Bench ', seq), '$hash_fast', 0, 0,
         $now_s, $now_s FROM seq_1_to_${n_users};
  INSERT INTO IMUser (id, sex, name, domain, nick, password, departId, status, created, updated)
  SELECT 2000000 + seq, 1, CONCAT('slow_', seq), CONCAT('slow_', seq), CONCAT('Slow ', seq), '$hash_slow', 0, 0,
         $now_s, $now_s FROM seq_1_to_$((SLOW_N > 0 ? SLOW_N : 1));
  INSERT INTO IMGroup (id, name, avatar, creator, type, userCnt, status, version, msgSeq, lastChated, updated, created)
  VALUES (1000, 'bench-group', '', 1000001, 1, $GROUP_M, 0, 1, 0, 0, $now_s, $now_s);
  INSERT INTO IMGroupMember (groupId, userId, status, created, updated)
  SELECT 1000, 1000000 + seq, 0, $now_s, $now_s FROM seq_1_to_${GROUP_M};" || die "bulk insert of bench users failed"
echo "users: bench_1..bench_$n_users (PBKDF2 $BENCH_ITERATIONS iterations), slow_1..slow_$SLOW_N (150000)," \
  "group 1000 with $GROUP_M members; inserted in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"

# ---- daemons ----
DBPROXY_PORT=$(free_port); ROUTE_PORT=$(free_port); LOGIN_HTTP=$(free_port); LOGIN_MSG=$(free_port)
LOGIN_CLIENT=$(free_port); MS_PORT0=$(free_port); MS_PORT1=$(free_port); PUSH_PORT=$(free_port)
PUSH="${PUSH:-0}"
sed -E \
  -e "s/^ListenPort=.*/ListenPort=$DBPROXY_PORT/" \
  -e "s/^(teamtalk_(master|slave))_port=.*/\1_port=$TT_MYSQL_PORT/" \
  -e "s/^(teamtalk_(master|slave))_host=.*/\1_host=$TT_MYSQL_HOST/" \
  -e "s/^(teamtalk_(master|slave))_password=.*/\1_password=$TT_MYSQL_PASSWORD/" \
  -e "s/^(teamtalk_(master|slave))_username=.*/\1_username=$TT_MYSQL_USER/" \
  -e "s/^(teamtalk_(master|slave))_dbname=.*/\1_dbname=$TT_MYSQL_DB/" \
  -e "s/^([a-z_]+)_port=16379$/\1_port=$TT_REDIS_PORT/" \
  -e "s/^([a-z_]+)_host=127\.0\.0\.1$/\1_host=$TT_REDIS_HOST/" \
  -e "s/^LogLevel=.*/LogLevel=warn/" \
  "$REPO/conf/dbproxyserver.conf" >"$WORK/dbproxy.conf"
if [[ -n "${DBPROXY_WRITERS:-}" ]]; then  # db_proxy's MsgWriterNum (default: conf/dbproxyserver.conf's, 1)
  [[ "$DBPROXY_WRITERS" =~ ^[0-9]+$ ]] || die "DBPROXY_WRITERS must be a whole number"
  sed -i -E "/^MsgWriterNum=/d" "$WORK/dbproxy.conf"
  echo "MsgWriterNum=$DBPROXY_WRITERS" >>"$WORK/dbproxy.conf"
fi
printf 'ListenIP=127.0.0.1\nListenMsgPort=%s\nLogLevel=warn\n' "$ROUTE_PORT" >"$WORK/route.conf"
printf 'ClientListenIP=127.0.0.1\nClientPort=%s\nHttpListenIP=127.0.0.1\nHttpPort=%s\nMsgServerListenIP=127.0.0.1\nMsgServerPort=%s\nmsfs=http://127.0.0.1:8700/\ndiscovery=http://127.0.0.1/api/discovery\nLogLevel=warn\n' \
  "$LOGIN_CLIENT" "$LOGIN_HTTP" "$LOGIN_MSG" >"$WORK/login.conf"
max_conn=$((IDLE_N > 100000 ? IDLE_N + 1000 : 101000))
for i in 0 1; do
  port_var="MS_PORT$i"
  printf 'ListenIP=127.0.0.1\nListenPort=%s\nIpAddr1=127.0.0.1\nIpAddr2=127.0.0.1\nMaxConnCnt=%s\nConcurrentDBConnCnt=2\nDBServerIP1=127.0.0.1\nDBServerPort1=%s\nLoginServerIP1=127.0.0.1\nLoginServerPort1=%s\nRouteServerIP1=127.0.0.1\nRouteServerPort1=%s\naesKey=12345678901234567890123456789012\nLogLevel=warn\n' \
    "${!port_var}" "$max_conn" "$DBPROXY_PORT" "$LOGIN_MSG" "$ROUTE_PORT" >"$WORK/msg_server$i.conf"
  if [[ "$PUSH" == 1 ]]; then
    printf 'PushServerIP1=127.0.0.1\nPushServerPort1=%s\n' "$PUSH_PORT" >>"$WORK/msg_server$i.conf"
  fi
done
printf 'ListenIP=127.0.0.1\nListenPort=%s\nIosProvider=none\nAndroidProvider=none\nLogLevel=warn\n' "$PUSH_PORT" \
  >"$WORK/push.conf"

# The shipped dbproxyserver.conf names a metrics port: none unless METRICS=1, then free ones.
METRICS="${METRICS:-0}"
METRICS_PORTS=()
for f in "$WORK"/dbproxy.conf "$WORK"/route.conf "$WORK"/login.conf "$WORK"/msg_server0.conf "$WORK"/msg_server1.conf \
  "$WORK"/push.conf; do
  sed -i -E '/^Metrics(ListenIP|Port)=/d' "$f"
  if [[ "$METRICS" == 1 ]]; then
    mp=$(free_port)
    printf 'MetricsListenIP=127.0.0.1\nMetricsPort=%s\n' "$mp" >>"$f"
    METRICS_PORTS+=("$mp")
  fi
done

# start_daemon <name> <binary> <conf> <port>: background (own session), pid in run/<name>.pid,
# returns once that pid listens on the port.
cat >"$WORK/daemon.sh" <<'EOF'
#!/usr/bin/env bash
# daemon.sh start|restart <work> <name> <binary> <conf> <port>
set -euo pipefail
cmd=$1 work=$2 name=$3 bin=$4 conf=$5 port=$6
pidf="$work/run/$name.pid"
if [[ "$cmd" == restart && -f "$pidf" ]]; then
  pid=$(cat "$pidf")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1500); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
  kill -0 "$pid" 2>/dev/null && { echo "$name did not stop" >&2; exit 1; }
fi
setsid "$bin" -c "$conf" </dev/null >>"$work/log/$name.log" 2>&1 &
pid=$!
echo "$pid" >"$pidf"
for _ in $(seq 500); do
  ss -Htlnp "( sport = :$port )" 2>/dev/null | grep -q "pid=$pid," && exit 0
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.02
done
echo "$name did not start; tail of its log:" >&2
tail -n 20 "$work/log/$name.log" >&2
exit 1
EOF
chmod +x "$WORK/daemon.sh"
D="$WORK/daemon.sh"
"$D" start "$WORK" db_proxy_server "$BUILD_DIR/db_proxy_server/db_proxy_server" "$WORK/dbproxy.conf" "$DBPROXY_PORT"
"$D" start "$WORK" route_server "$BUILD_DIR/route_server/route_server" "$WORK/route.conf" "$ROUTE_PORT"
"$D" start "$WORK" login_server "$BUILD_DIR/login_server/login_server" "$WORK/login.conf" "$LOGIN_HTTP"
if [[ "$PUSH" == 1 ]]; then
  "$D" start "$WORK" push_server "$BUILD_DIR/push_server/push_server" "$WORK/push.conf" "$PUSH_PORT"
fi
for i in 0 1; do
  port_var="MS_PORT$i"
  "$D" start "$WORK" "msg_server$i" "$BUILD_DIR/msg_server/msg_server" "$WORK/msg_server$i.conf" "${!port_var}"
done
# Both msg_servers at once (SIGTERM, wait, start), so every client loses its connection and none
# can fall back to the other server meanwhile.
cat >"$WORK/restart.sh" <<EOF
#!/usr/bin/env bash
"$D" restart "$WORK" msg_server0 "$BUILD_DIR/msg_server/msg_server" "$WORK/msg_server0.conf" $MS_PORT0 & a=\$!
"$D" restart "$WORK" msg_server1 "$BUILD_DIR/msg_server/msg_server" "$WORK/msg_server1.conf" $MS_PORT1 & b=\$!
wait \$a && wait \$b
EOF
chmod +x "$WORK/restart.sh"
restart_cmd="$WORK/restart.sh"
# msg_servers register with login_server and link to route/db_proxy with back-off: wait until
# login_server hands out an address.
for _ in $(seq 100); do
  curl -s "http://127.0.0.1:$LOGIN_HTTP/msg_server" | grep -q '"code":0' && break
  sleep 0.1
done

if [[ "$METRICS" == 1 ]]; then  # a scraper as demanding as Prometheus at scrape_interval: 1s
  (
    while true; do
      for mp in "${METRICS_PORTS[@]}"; do curl -s -o /dev/null "http://127.0.0.1:$mp/metrics" || true; done
      sleep 1
    done
  ) &
  SCRAPER_PID=$!
  echo "metrics: endpoints on ports ${METRICS_PORTS[*]}, each scraped once a second"
fi

cpu_model="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
echo "machine: $(nproc) cpus ($cpu_model), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM," \
  "kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "db_proxy: $(grep -E '^(ThreadNum|MsgWriterNum|MsgBatchSize)=' "$WORK/dbproxy.conf" | tr '\n' ' ')"
echo "stack: MariaDB $(mysql_q 'SELECT VERSION()') (innodb_flush_log_at_trx_commit=$flush), Redis," \
  "db_proxy_server, route_server, login_server, 2 msg_servers, im_bench ($THREADS threads): all on these $(nproc) cpus"

if [[ "${HOLD:-0}" == 1 ]]; then  # development: keep the stack up for manual im_bench runs
  {
    echo "LOGIN=127.0.0.1:$LOGIN_HTTP MS0=127.0.0.1:$MS_PORT0 MS1=127.0.0.1:$MS_PORT1 WORK=$WORK"
    echo "RESTART='$restart_cmd'"
  } | tee "$WORK/hold.env"
  while :; do sleep 3600 & wait $!; done
fi

COMMON=(--threads "$THREADS" --login "127.0.0.1:$LOGIN_HTTP" --json --client-type android)
echo "open files: soft $(ulimit -Sn), hard $(ulimit -Hn), fs.nr_open $(cat /proc/sys/fs/nr_open);" \
  "msg_server0: $(grep 'open-file limit' "$WORK/log/msg_server0.log" | tail -n1 | sed 's/.*msg_server: //')"
BOTH=(--msg-server "127.0.0.1:$MS_PORT0" --msg-server "127.0.0.1:$MS_PORT1")
# run_bench <label> <im_bench args...>: JSON into json/<label>.json, printed compactly; sets J.
run_bench() {
  local label=$1
  shift
  local rc=0
  (cd "$WORK" && ulimit -c unlimited 2>/dev/null; exec "$BENCH" "${COMMON[@]}" "$@") >"$WORK/json/$label.json" \
    2>"$WORK/log/bench-$label.err" || rc=$?
  J="$(tail -n 1 "$WORK/json/$label.json")"
  [[ -n "$J" ]] || J='{"error":"no output"}'
  if [[ "$rc" != 0 ]]; then
    echo "  $label: im_bench failed: $(jq -r '.error // "?"' <<<"$J") $(head -c 300 "$WORK/log/bench-$label.err")" >&2
  fi
  return 0
}
jv() { jq -r "$1 // \"-\"" <<<"$J"; }
SUMMARY=()
ms0_pid() { cat "$WORK/run/msg_server0.pid"; }

# ---- idle ----
if [[ " $SCENARIOS " == *" idle "* ]]; then
  echo
  echo "== idle: $IDLE_N clients on msg_server 0 for $IDLE_S s"
  run_bench idle idle "$IDLE_N" --idle "$IDLE_S" --msg-server "127.0.0.1:$MS_PORT0" --rss-pid "$(ms0_pid)" \
    --login-timeout 600
  echo "  online $(jv .logged_in)/$IDLE_N (logins/s $(jv .logins_per_s)), online after idle $(jv .online_after_idle)," \
    "disconnects $(jv .disconnects_while_idle); msg_server RSS $(jv .server_rss_before_kib) -> $(jv .server_rss_online_kib)" \
    "-> $(jv .server_rss_after_idle_kib) KiB: $(jv .server_bytes_per_conn) bytes/connection; source addrs $(jv .source_addrs)"
  SUMMARY+=("idle|$IDLE_N clients, $(jv .online_after_idle) online after ${IDLE_S}s|$(jv .server_bytes_per_conn) B/conn|<= 4096 B/conn")
  echo "e2e idle bytes_per_conn: $(jv .server_bytes_per_conn)" >>"$WORK/machine"
fi

# ---- login storm ----
if [[ " $SCENARIOS " == *" login-storm "* ]]; then
  echo
  echo "== login-storm: $STORM_N bench_ clients via HTTP, then both msg_servers restart"
  run_bench storm login-storm "$STORM_N" --restart-cmd "$restart_cmd" --login-timeout 600
  echo "  logged in $(jv .logged_in): $(jv .logins_per_s) logins/s, login p50/p99/p999 $(jv .login_p50_ms)/$(jv .login_p99_ms)/$(jv .login_p999_ms) ms;" \
    "restart took $(jv .restart_s) s; reconnected $(jv .reconnected)/$(jv .disconnected): $(jv .relogins_per_s) logins/s," \
    "p50/p99/p999 $(jv .relogin_p50_ms)/$(jv .relogin_p99_ms)/$(jv .relogin_p999_ms) ms after the restart" \
    "(window $(jv .relogin_window_s) s from $(jv .relogin_window_from))"
  SUMMARY+=("login-storm|$STORM_N clients, PBKDF2 $BENCH_ITERATIONS it.|$(jv .logins_per_s) logins/s cold, $(jv .relogins_per_s)/s reconnect|>= 5000 logins/s")
  echo "e2e login-storm logins_per_s: $(jv .logins_per_s)" >>"$WORK/machine"
  echo "e2e login-storm relogins_per_s: $(jv .relogins_per_s)" >>"$WORK/machine"
  if ((PC_N > 0)); then
    echo "== login-storm: $PC_N PC (mac) clients via HTTP: the presence broadcast"
    run_bench storm-pc login-storm "$PC_N" --client-type mac
    echo "  logged in $(jv .logged_in): $(jv .logins_per_s) logins/s, p50/p99 $(jv .login_p50_ms)/$(jv .login_p99_ms) ms;" \
      "presence notifications received $(jv .presence_notifies_total), settled after $(jv .settle_s) s"
    SUMMARY+=("login-storm (PC clients)|$PC_N mac clients|$(jv .logins_per_s) logins/s, $(jv .presence_notifies_total) presence notifies|(N^2 presence, TeamTalk semantics)")
  fi
  if ((SLOW_N > 0)); then
    echo "== login-storm: $SLOW_N slow_ clients (150,000-iteration hashes), then both msg_servers restart"
    # A small window: 150,000 iterations cost ~30 ms of CPU each, so a deep queue would only run
    # into msg_server's 15 s upstream timeout and make clients retry (and hash again).
    run_bench storm-slow login-storm "$SLOW_N" --users 'slow_%d' --restart-cmd "$restart_cmd" --login-timeout 900 \
      --window 8
    echo "  cold: $(jv .logins_per_s) logins/s (p50 $(jv .login_p50_ms) ms); reconnect storm: $(jv .relogins_per_s) logins/s" \
      "(p50/p99 $(jv .relogin_p50_ms)/$(jv .relogin_p99_ms) ms), $(jv .reconnected)/$(jv .disconnected) back"
    SUMMARY+=("login-storm (real hash)|$SLOW_N clients, PBKDF2 150000 it.|$(jv .logins_per_s) logins/s cold, $(jv .relogins_per_s)/s reconnect|reconnect without PBKDF2")
    echo "e2e login-storm-slow cold_per_s: $(jv .logins_per_s)" >>"$WORK/machine"
    echo "e2e login-storm-slow relogins_per_s: $(jv .relogins_per_s)" >>"$WORK/machine"
  fi
fi

# ladder <scenario> <clients> <p99 key> <extra args> -- <rates...>
# CPU ticks (user + system) spent so far by the stack: every daemon, MariaDB and Redis (their pid
# files), plus the finished children of this script (im_bench runs, once reaped). Other work on
# the machine does not count, so a busy neighbour moves the latency figures but not this one.
stack_cpu_ticks() {
  local f pid total=0 t
  for f in "$WORK"/run/*.pid "$WORK/var/mysql.pid" "$WORK/var/redis.pid"; do
    [[ -r "$f" ]] || continue
    pid=$(cat "$f" 2>/dev/null) || continue
    t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + ${t:-0}))
  done
  t=$(awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$$/stat")
  echo $((total + t))
}

ladder() {
  local scen=$1 clients=$2 key=$3 extra=$4 best=0 best_line="none passed" r pass p99 lost dup sf sent want
  shift 5
  echo
  echo "== $scen: $clients clients, ${DURATION}s per rate, pass = 0 lost, 0 duplicated, on schedule, p99 <= ${P99_LIMIT_MS} ms"
  printf '  %8s %9s %9s %7s %5s %5s %9s %9s %9s %9s %10s %8s  %s\n' rate sent delivered lost dup fail lag_p99 ack_p99 p50_ms p99_ms deliv/s cpu_us result
  local busy0 busy1 cpu_us
  for r in "$@"; do
    busy0=$(stack_cpu_ticks)
    # shellcheck disable=SC2086
    run_bench "$scen-$r" "$scen" "$clients" "$r" --duration "$DURATION" "${BOTH[@]}" $extra
    busy1=$(stack_cpu_ticks)
    # The stack's CPU (every daemon, MariaDB, Redis and im_bench, user + system) per message sent,
    # in microseconds: includes im_bench's start and connect, so compare it at one rate only.
    cpu_us=$(awk -v a="$busy0" -v b="$busy1" -v t="$(getconf CLK_TCK)" -v n="$(jv .sent)" \
      'BEGIN { if (n > 0) printf "%.0f", (b - a) / t * 1e6 / n; else print "-" }')
    p99=$(jv ".$key"_p99_ms); lost=$(jv .lost); dup=$(jv .duplicated); sf=$(jv .send_failed); sent=$(jv .sent)
    want=$(awk -v r="$r" -v d="$DURATION" 'BEGIN { printf "%d", r * d * 0.98 }')
    pass=FAIL
    if [[ "$lost" == 0 && "$dup" == 0 && "$sf" == 0 && "$sent" != - ]] && ((sent >= want)) &&
      awk -v p="$p99" -v l="$P99_LIMIT_MS" 'BEGIN { exit !(p != "-" && p >= 0 && p <= l) }'; then
      pass=pass
    fi
    printf '  %8s %9s %9s %7s %5s %5s %9s %9s %9s %9s %10s %8s  %s\n' "$r" "$sent" "$(jv .delivered)" "$lost" "$dup" "$sf" \
      "$(jv .send_lag_p99_ms)" "$(jv .ack_p99_ms)" "$(jv ".$key"_p50_ms)" "$p99" "$(jv .delivered_per_s)" "$cpu_us" "$pass"
    echo "e2e $scen cpu_us_per_msg@$r: $cpu_us" >>"$WORK/machine"
    if [[ "$pass" != pass ]]; then
      [[ -n "$(jv .error | grep -v '^-$')" ]] && echo "    error: $(jv .error)"
      break
    fi
    best=$r
    best_line="$r msgs/s: $(jv .delivered_per_s) deliveries/s, p50 $(jv ".$key"_p50_ms) ms, p99 $p99 ms, p999 $(jv ".$key"_p999_ms) ms"
  done
  LADDER_BEST=$best
  LADDER_LINE=$best_line
}

if [[ " $SCENARIOS " == *" chat "* ]]; then
  # Warm-up, not counted: every pair's first messages create its IMRelationShip and recent-session
  # rows (inserts, not the steady-state updates), which would land in the first rate's p99.
  run_bench chat-warmup chat "$CHAT_N" 1000 --duration $((CHAT_N / 500 + 2)) "${BOTH[@]}"
  echo
  echo "== chat warm-up (relations created, not counted): sent $(jv .sent), lost $(jv .lost)"
  # shellcheck disable=SC2086
  ladder chat "$CHAT_N" deliver "" -- $CHAT_RATES
  echo "  highest passing: $LADDER_LINE"
  SUMMARY+=("chat|$CHAT_N clients, half across route_server|$LADDER_LINE|>= 20000 msgs/s, p99 <= 20 ms at half")
  echo "e2e chat max_msgs_per_s: $LADDER_BEST" >>"$WORK/machine"
fi
if [[ " $SCENARIOS " == *" group "* ]]; then
  run_bench group-warmup group "$GROUP_M" 10 --duration 2 "${BOTH[@]}" --group 1000
  echo
  echo "== group warm-up (not counted): sent $(jv .sent), lost $(jv .lost)"
  # shellcheck disable=SC2086
  ladder group "$GROUP_M" last_member_deliver "--group 1000" -- $GROUP_RATES
  echo "  highest passing: $LADDER_LINE"
  SUMMARY+=("group|$GROUP_M members on 2 msg_servers|$LADDER_LINE|>= 300000 deliveries/s")
  echo "e2e group max_msgs_per_s: $LADDER_BEST" >>"$WORK/machine"
fi

# ---- summary ----
echo
printf '%-24s | %-40s | %-60s | %s\n' scenario load result target
for row in "${SUMMARY[@]}"; do
  IFS='|' read -r a b c d <<<"$row"
  printf '%-24s | %-40s | %-60s | %s\n' "$a" "$b" "$c" "$d"
done
echo "machine: $(nproc) cpus, load average $(cut -d' ' -f1-3 /proc/loadavg) after the runs; $(date -u '+%Y-%m-%d %H:%M UTC')"
failed=0
for f in "$WORK"/run/*.pid; do
  name="$(basename "$f" .pid)"
  if ! stop_pidfile "$f"; then echo "ERROR: $name did not exit on SIGTERM" >&2; failed=1; fi
done
[[ -f "$WORK/machine" ]] && cat "$WORK/machine"
exit "$failed"
