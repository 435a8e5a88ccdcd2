#!/usr/bin/env bash
# Ping-pong throughput: our netlib against the same program on libevent, run side by side so the
# ratio means something on a small, noisy machine. For every message size and connection count both
# implementations run ROUNDS times, interleaved (ours, libevent, ours, libevent, ...); the best round
# of each is reported. Server and client are separate single-threaded processes on 127.0.0.1, left
# to the scheduler by default: pinned to different CPUs of a small VM, every message costs a
# cross-CPU wake-up and one connection drops to ~2k round trips/s for both libraries alike.
#
# Environment: BUILD_DIR (default <repo>/build), DURATION seconds per run (3), ROUNDS (2),
#              SIZES ("16 1024 16384"), CONNS ("1 10 100 1000"),
#              PIN (0; 1 = server on cpu0, client on cpu1 via taskset).
# The last line is always: pingpong ours/libevent 100conn 1KiB: <ratio>
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$REPO/build}"
DURATION="${DURATION:-3}"
ROUNDS="${ROUNDS:-2}"
SIZES="${SIZES:-16 1024 16384}"
CONNS="${CONNS:-1 10 100 1000}"
PIN="${PIN:-0}"

die() { echo "netlib_pingpong: $*" >&2; exit 1; }

# ---- build ----
configure_args=(-S "$REPO" -B "$BUILD_DIR" -DTT_BUILD_BENCH=ON)
[[ -f "$BUILD_DIR/CMakeCache.txt" ]] || configure_args+=(-DCMAKE_BUILD_TYPE=Release)
# Re-run configure every time: bench/ may be newer than the build tree's last configure.
cmake "${configure_args[@]}" >/dev/null || die "cmake configure failed in $BUILD_DIR"
cmake --build "$BUILD_DIR" --target pingpong_netlib pingpong_libevent -j"$(nproc)" >/dev/null \
  || die "build failed (run: cmake --build $BUILD_DIR --target pingpong_netlib pingpong_libevent)"
build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")"
[[ "$build_type" == Release ]] || echo "warning: $BUILD_DIR is a '$build_type' build; ttnet is not optimised" >&2
BIN_OURS="$BUILD_DIR/bench/pingpong_netlib"
BIN_LIBEVENT="$BUILD_DIR/bench/pingpong_libevent"
[[ -x "$BIN_OURS" && -x "$BIN_LIBEVENT" ]] || die "binaries missing under $BUILD_DIR/bench"

# ---- limits, pinning, cleanup ----
max_conns=0
for c in $CONNS; do if (( c > max_conns )); then max_conns=$c; fi; done
need_fds=$((max_conns + 64))
if (( $(ulimit -n) < need_fds )); then
  hard="$(ulimit -Hn)"
  if [[ "$hard" == unlimited ]] || (( hard >= need_fds )); then
    ulimit -n "$need_fds"
  else
    ulimit -n "$hard"
    echo "warning: fd hard limit $hard < $need_fds; large connection counts may fail" >&2
  fi
fi

SERVER_CPU=()
CLIENT_CPU=()
placement="unpinned"
if [[ "$PIN" == 1 ]] && command -v taskset >/dev/null && (( $(nproc) >= 2 )); then
  SERVER_CPU=(taskset -c 0)
  CLIENT_CPU=(taskset -c 1)
  placement="server on cpu0, client on cpu1"
fi

WORK="$(mktemp -d)"
SERVER_PID=""
stop_server() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
cleanup() {
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# run_once <binary> <conns> <size>: prints "<msgs/s> <MiB/s>", or "0 0" if the run failed.
run_once() {
  local bin="$1" conns="$2" size="$3" port="" line
  "${SERVER_CPU[@]}" "$bin" server 0 >"$WORK/server.out" 2>"$WORK/server.err" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    port="$(sed -n 's/^port=//p' "$WORK/server.out")"
    [[ -n "$port" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  if [[ -z "$port" ]]; then
    echo "warning: $(basename "$bin") server did not start: $(cat "$WORK/server.err")" >&2
    stop_server
    echo "0 0"
    return
  fi
  line="$(timeout $((DURATION + 30)) "${CLIENT_CPU[@]}" "$bin" client 127.0.0.1 "$port" "$conns" "$size" "$DURATION" \
            2>"$WORK/client.err" | grep '^bytes=' || true)"
  stop_server
  if [[ -s "$WORK/client.err" ]]; then
    sed "s/^/  [$(basename "$bin") ${conns} conns ${size} B] /" "$WORK/client.err" >&2
  fi
  if [[ -z "$line" ]]; then
    echo "warning: $(basename "$bin") client ${conns} conns ${size} B produced no result" >&2
    echo "0 0"
    return
  fi
  # bytes=<b> msgs=<m> seconds=<s>
  awk -v l="$line" 'BEGIN {
    n = split(l, f, /[ =]/); b = f[2]; m = f[4]; s = f[6];
    if (s <= 0) { print "0 0"; exit }
    printf "%.0f %.2f\n", m / s, b / s / 1048576 }'
}

# best <old "msgs mib"> <new "msgs mib">: keeps the higher msgs/s.
best() { awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); print (y[1] > x[1]) ? b : a }'; }

human_size() {
  local s="$1"
  if (( s % 1024 == 0 )); then echo "$((s / 1024))KiB"; else echo "${s}B"; fi
}

measure() {  # measure <conns> <size>: prints "ours_msgs ours_mib lib_msgs lib_mib"
  local conns="$1" size="$2" ours="0 0" lib="0 0" r
  for ((r = 0; r < ROUNDS; ++r)); do
    ours="$(best "$ours" "$(run_once "$BIN_OURS" "$conns" "$size")")"
    lib="$(best "$lib" "$(run_once "$BIN_LIBEVENT" "$conns" "$size")")"
  done
  echo "$ours $lib"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo "pingpong: ${DURATION}s per run, best of $ROUNDS interleaved rounds, 127.0.0.1, $placement"
printf '%-7s %6s %14s %12s %16s %14s %8s\n' size conns ours_msgs/s ours_MiB/s libevent_msgs/s libevent_MiB/s ratio
key_ratio=""
for size in $SIZES; do
  for conns in $CONNS; do
    read -r om ob lm lb <<<"$(measure "$conns" "$size")"
    rt="$(ratio "$om" "$lm")"
    printf '%-7s %6s %14s %12s %16s %14s %8s\n' "$(human_size "$size")" "$conns" "$om" "$ob" "$lm" "$lb" "$rt"
    if [[ "$size" == 1024 && "$conns" == 100 ]]; then key_ratio="$rt"; fi
  done
done
if [[ -z "$key_ratio" ]]; then
  read -r om _ lm _ <<<"$(measure 100 1024)"
  key_ratio="$(ratio "$om" "$lm")"
fi
echo "pingpong ours/libevent 100conn 1KiB: $key_ratio"
