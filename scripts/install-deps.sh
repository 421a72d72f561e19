#!/bin/sh
# Installs every Debian 12 package cairn needs to build, test and benchmark.
# Run as root.  Safe to run again: apt-get skips what is already installed.
set -eu
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
packages="
  build-essential cmake pkg-config clang libclang-rt-14-dev
  librocksdb-dev libsqlite3-dev sqlite3 libmicrohttpd-dev libjson-c-dev
  libyaml-dev libssl-dev openssl libcmocka-dev libarchive-dev zstd
  python3 curl procps util-linux
  wrk nginx-light
"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing
fi
