#!/usr/bin/env bash
# Runs every benchmark of BENCHMARKS.md except the loopback load one (scripts/load.sh): the verify
# benches with the default RustCrypto backend and with `ring`, each saved as a criterion baseline of
# that name, then the replay store bench; prints the verify tables at the end.
#
# Usage: scripts/bench.sh [extra criterion arguments, e.g. a benchmark name filter]
set -euo pipefail

cd "$(dirname "$0")/.."
CRITERION=(--warm-up-time 1 --measurement-time 3)

cargo bench --bench verify -- "${CRITERION[@]}" --save-baseline rustcrypto "$@"
cargo bench --bench verify --features ring -- "${CRITERION[@]}" --save-baseline ring "$@"
cargo bench --bench replay_store

TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
python3 scripts/bench_table.py "$TARGET_DIR/criterion" rustcrypto ring
