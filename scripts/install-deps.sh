#!/bin/sh
# Installs every Debian 12 package cairn needs to build, test and benchmark,
# and the one test tool Debian does not package (s3rver, a local
# S3-compatible server, from npm into .deps/ of this checkout).
# Run as root.  Safe to run again: what is installed already is skipped.
set -eu
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get)" >&2
  exit 1
fi
root=$(cd "$(dirname "$0")/.." && pwd)
export DEBIAN_FRONTEND=noninteractive
packages="
  build-essential cmake pkg-config clang libclang-rt-14-dev
  librocksdb-dev libsqlite3-dev sqlite3 libmicrohttpd-dev libjson-c-dev
  libyaml-dev libssl-dev openssl libcmocka-dev libarchive-dev zstd
  libcurl4-openssl-dev libxml2-dev libsystemd-dev
  python3 python3-botocore awscli curl procps util-linux
  libfiu-dev fiu-utils prometheus help2man dpkg-dev file
  wrk nginx-light
"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
if [ -n "$missing" ]; then
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing
fi

# s3rver 3.x: the S3-compatible server the remote-backup tests start on
# loopback.  Pinned; installed under .deps/ (ignored by git).
s3rver_version=3.7.1
s3rver_dir="$root/.deps/s3rver"
if [ ! -x "$s3rver_dir/node_modules/.bin/s3rver" ] ||
   ! grep -q "\"version\": \"$s3rver_version\"" "$s3rver_dir/node_modules/s3rver/package.json" 2>/dev/null; then
  mkdir -p "$s3rver_dir"
  npm install --silent --no-audit --no-fund --prefix "$s3rver_dir" "s3rver@$s3rver_version" >/dev/null
fi
