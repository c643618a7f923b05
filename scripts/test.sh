#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need when it is missing, then
# `cargo test --all-features` (HMAC from `ring`) and `cargo test` (the default pure-Rust HMAC; the
# integration tests still get every other feature through the crate's dev-dependency on itself).
# Extra arguments go to both cargo test runs.
#
#   redis-server   the Redis replay-store tests start their own on a free loopback port
#   node-fetch     (npm ci in tests/snippets) and python3's requests: the vendors' own client
#                  snippets run against the mock provider server (tests/vendor_snippets.rs)
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [ -z "${REDIS_SERVER:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
  echo "== installing redis-server (Debian package)"
  apt_install redis-server
fi

if [ ! -d tests/snippets/node_modules/node-fetch ]; then
  echo "== installing the Node snippets' packages (npm ci in tests/snippets)"
  (cd tests/snippets && npm ci --no-audit --no-fund)
fi

if ! python3 -c 'import requests' >/dev/null 2>&1; then
  # `python3` may be a pyenv interpreter that Debian's python3-requests does not reach: use its
  # own pip first, Debian's package otherwise.
  echo "== installing requests for $(command -v python3)"
  python3 -m pip install --quiet --disable-pip-version-check requests \
    || apt_install python3-requests
  python3 -c 'import requests'
fi

echo "== cargo test --all-features (ring HMAC backend)"
cargo test --all-features "$@"
echo "== cargo test (default pure-Rust HMAC backend)"
cargo test "$@"
