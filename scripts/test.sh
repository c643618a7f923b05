#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need when it is missing, then
# `cargo test --all-features` (HMAC from `ring`, and the `sqlite` key store's tests) and
# `cargo test` (the default pure-Rust HMAC; the integration tests still get the features of the
# crate's dev-dependency on itself: all but `ring`, `sqlite` and `metrics`). Extra arguments go
# to both cargo test runs.
#
#   redis-server   the Redis replay-store tests start their own on free loopback ports: single
#                  servers, and three-master Redis Clusters (tests/redis.rs, and the soak test of
#                  about a minute in tests/redis_soak.rs)
#   chromium       headless, renders the mock's inspector page (tests/mock_tool.rs)
#   Node packages  tests/snippets/package.json (npm ci there): node-fetch for the vendors' own
#                  client snippets run against the mock provider server (tests/vendor_snippets.rs),
#                  and the webhook vendors' SDKs (tests/webhook_sdks.rs)
#   Python         tests/snippets/requirements.txt for the python3 on the PATH: requests for the
#                  client snippets, slack_sdk for the webhook test
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

# The mock's inspector page is checked in a real browser (tests/mock_tool.rs): Debian's Chromium,
# headless. `CHROMIUM` names another binary.
if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "== installing chromium (Debian package)"
  apt_install --no-install-recommends chromium
fi

# Every package of tests/snippets/package.json installed at its pinned version?
node_packages_installed() {
  (cd tests/snippets && node -e '
    const { dependencies } = require("./package.json");
    for (const [name, version] of Object.entries(dependencies)) {
      if (require(`./node_modules/${name}/package.json`).version !== version) process.exit(1);
    }') >/dev/null 2>&1
}
if ! node_packages_installed; then
  echo "== installing the Node snippets' packages (npm ci in tests/snippets)"
  (cd tests/snippets && npm ci --no-audit --no-fund)
fi

# Every requirement of tests/snippets/requirements.txt (name==version) installed?
python_packages_installed() {
  python3 - tests/snippets/requirements.txt >/dev/null 2>&1 <<'PY'
import importlib.metadata, sys
for line in open(sys.argv[1]):
    name, _, version = line.split("#")[0].strip().partition("==")
    if name and importlib.metadata.version(name) != version:
        sys.exit(1)
PY
}
if ! python_packages_installed; then
  # `python3` may be a pyenv interpreter: use its own pip first. Otherwise it is Debian's, which
  # may lack pip and is marked externally managed (PEP 668): install Debian's pip, then the
  # requirements beside Debian's packages.
  echo "== installing tests/snippets/requirements.txt for $(command -v python3)"
  python3 -m pip install --quiet --disable-pip-version-check -r tests/snippets/requirements.txt \
    || { apt_install python3-pip \
      && python3 -m pip install --quiet --disable-pip-version-check --break-system-packages \
        -r tests/snippets/requirements.txt; }
  python_packages_installed
fi

echo "== cargo test --all-features (ring HMAC backend)"
cargo test --all-features "$@"
echo "== cargo test (default pure-Rust HMAC backend)"
cargo test "$@"
