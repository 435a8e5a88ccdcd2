#!/usr/bin/env bash
# Installs missing packages, builds, and runs the whole ctest suite; then builds the unit and
# reactor tests with ASan+UBSan and runs them again. Exit code: non-zero if either pass failed.
#   TT_BUILD_TYPE     CMake build type of the main pass (default Release)
#   TT_SANITIZE=1     main pass itself with ASan+UBSan, in build-asan/
#   TT_ASAN_PASS=0    skip the sanitizer pass of the unit/net/proto tests
#   TT_STRESS=1       keep every core busy (stress-ng, one CPU hog per core at nice
#                     TT_STRESS_NICE, default 5) while the tests run, as on a shared CI machine
# Extra arguments go to ctest, e.g. `scripts/test.sh -L integration`.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

t0=$SECONDS
phase() { echo "== test.sh: $* ($((SECONDS - t0)) s) =="; }

scripts/deps.sh
phase "packages present"

build_dir=build
cmake_args=(-DCMAKE_BUILD_TYPE="${TT_BUILD_TYPE:-Release}")
if [[ "${TT_SANITIZE:-0}" == 1 ]]; then
  build_dir=build-asan
  cmake_args+=(-DTT_SANITIZE=ON)
fi

cmake -S . -B "$build_dir" "${cmake_args[@]}"
cmake --build "$build_dir" -j2
phase "built $build_dir"

stress_pid=""
stop_stress() {
  if [[ -n "$stress_pid" ]]; then
    kill -TERM "$stress_pid" 2>/dev/null || true
    wait "$stress_pid" 2>/dev/null || true
    stress_pid=""
  fi
}
trap stop_stress EXIT
if [[ "${TT_STRESS:-0}" == 1 ]]; then
  nice -n "${TT_STRESS_NICE:-5}" stress-ng --cpu "$(nproc)" --cpu-load 100 --timeout 0 --quiet &
  stress_pid=$!
  phase "stress-ng: $(nproc) CPU hogs at nice ${TT_STRESS_NICE:-5} (pid $stress_pid)"
fi

rc=0
(cd "$build_dir" && ctest --output-on-failure -j2 --timeout 600 "$@") || rc=$?
phase "ctest in $build_dir finished"

if [[ "${TT_ASAN_PASS:-1}" == 1 && "${TT_SANITIZE:-0}" != 1 ]]; then
  echo "== sanitizer pass: unit, net and proto tests under ASan+UBSan =="
  cmake -S . -B build-asan-fast -DCMAKE_BUILD_TYPE=Debug -DTT_SANITIZE=ON -DTT_BUILD_BENCH=OFF >/dev/null
  cmake --build build-asan-fast -j2 --target tt_fast_tests
  (cd build-asan-fast && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j2 --timeout 600 -L 'unit|net|proto') || rc=$?
fi
stop_stress
phase "done, exit $rc"
exit "$rc"
