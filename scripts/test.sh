#!/usr/bin/env bash
# Installs missing packages, builds, and runs the whole ctest suite. Exit code = ctest's.
#   TT_SANITIZE=1     ASan+UBSan build in build-asan/ (default: build/)
#   TT_BUILD_TYPE     CMake build type (default Release)
# Extra arguments go to ctest, e.g. `scripts/test.sh -L integration`.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

scripts/deps.sh

build_dir=build
cmake_args=(-DCMAKE_BUILD_TYPE="${TT_BUILD_TYPE:-Release}")
if [[ "${TT_SANITIZE:-0}" == 1 ]]; then
  build_dir=build-asan
  cmake_args+=(-DTT_SANITIZE=ON)
fi

cmake -S . -B "$build_dir" "${cmake_args[@]}"
cmake --build "$build_dir" -j2

cd "$build_dir"
rc=0
ctest --output-on-failure -j2 --timeout 600 "$@" || rc=$?
exit "$rc"
