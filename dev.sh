#!/bin/sh
# dev.sh: one entry point for a fresh Debian 12 machine (run as root).
#
#   ./dev.sh run [cairn node flags]   install dependencies, build, start the node
#   ./dev.sh test                     install dependencies, build, run every test
#   ./dev.sh build                    install dependencies and build only
#   ./dev.sh crash [KILLS]            build, then the crash-test soak run (tests/soak/crash)
#   ./dev.sh soak [seconds] [seed]    build, then the long injected-fault campaign
#                                     (tests/soak/run: every operation, seconds each)
#
# The release build lives in build/, the test build (clang, AddressSanitizer,
# UndefinedBehaviorSanitizer, libFuzzer, libfiu failure points) in
# build-test/, the soak's build (the release flags with the failure points,
# CAIRN_FAULT_POINTS: src/util/fault.h) in build-soak/; build/ and the .deb
# never depend on libfiu.
set -eu
cd "$(dirname "$0")"
jobs=$(nproc 2>/dev/null || echo 2)

build_release() {
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j "$jobs"
}

build_soak() {
  cmake -S . -B build-soak -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAIRN_FAULT_POINTS=ON >/dev/null
  cmake --build build-soak -j "$jobs" --target cairn
}

build_test() {
  CC=clang cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug \
    -DCAIRN_SANITIZE=ON -DCAIRN_FUZZ=ON -DCAIRN_FAULT_POINTS=ON >/dev/null
  cmake --build build-test -j "$jobs"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  run)
    ./scripts/install-deps.sh
    build_release
    exec ./build/cairn node "$@"
    ;;
  build)
    ./scripts/install-deps.sh
    build_release
    ;;
  crash)
    ./scripts/install-deps.sh
    build_release
    exec tests/soak/crash "$@"
    ;;
  soak)
    ./scripts/install-deps.sh
    build_soak
    exec ./tests/soak/run "$@"
    ;;
  test)
    ./scripts/install-deps.sh
    build_release          # proves the gcc build is warning-free too
    build_test
    cd build-test
    exec ctest --output-on-failure -j "$jobs" "$@"
    ;;
  *)
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
