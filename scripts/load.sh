#!/usr/bin/env bash
# Loopback load benchmark: an axum server (examples/load_server.rs) with and without each layer,
# driven by wrk with the same request on both routes. Prints requests/s and the ratio
# with/without. Results and the machine they ran on: BENCHMARKS.md.
#
# Usage: scripts/load.sh [seconds per run, default 5]
# Each pair of routes is measured ROUNDS times (default 3), alternating plain and layered, and the
# best rate of each is compared: interference from other processes only ever lowers a rate, and
# alternating spreads it over both routes.
# Environment: THREADS (wrk threads, default 1), CONNECTIONS (default 32), WORKERS (server worker
# threads, default 1), PORT (default 38080), SERVER_CPUS / CLIENT_CPUS (taskset CPU lists, default
# 0 and 1 when the machine has at least two CPUs, otherwise no pinning).
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION="${1:-5}"
ROUNDS="${ROUNDS:-3}"
THREADS="${THREADS:-1}"
CONNECTIONS="${CONNECTIONS:-32}"
WORKERS="${WORKERS:-1}"
PORT="${PORT:-38080}"

if ! command -v wrk >/dev/null; then
    echo "wrk not found; installing it with apt-get" >&2
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq wrk
fi

SERVER_PIN=()
CLIENT_PIN=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    SERVER_PIN=(taskset -c "${SERVER_CPUS:-0}")
    CLIENT_PIN=(taskset -c "${CLIENT_CPUS:-1}")
fi

cargo build --release --example load_server ${FEATURES:+--features "$FEATURES"}
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
SERVER="$TARGET_DIR/release/examples/load_server"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

"${SERVER_PIN[@]}" "$SERVER" serve "$PORT" "$WORKERS" &
SERVER_PID=$!
for _ in $(seq 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
    sleep 0.1
done

# Requests/s of one route. The script is printed just before the run, so a signed request's
# timestamp is fresh for the whole of it.
rate() {
    local route="$1"
    "$SERVER" lua "$route" >"$WORK/$route.lua"
    # A check that the request is accepted, before timing it.
    "${CLIENT_PIN[@]}" wrk -t1 -c1 -d1s -s "$WORK/$route.lua" "http://127.0.0.1:$PORT" \
        >"$WORK/$route.check"
    if grep -q "Non-2xx" "$WORK/$route.check"; then
        echo "$route: the server refused the request" >&2
        cat "$WORK/$route.check" >&2
        exit 1
    fi
    "${CLIENT_PIN[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" \
        -s "$WORK/$route.lua" "http://127.0.0.1:$PORT" >"$WORK/$route.out"
    if grep -q "Non-2xx\|Socket errors" "$WORK/$route.out"; then
        echo "$route: errors during the run" >&2
        cat "$WORK/$route.out" >&2
        exit 1
    fi
    sed -n 's/^Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p' "$WORK/$route.out"
}

echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, best of $ROUNDS alternating runs;" \
    "server: $WORKERS worker thread(s) ${SERVER_PIN[*]:-unpinned}; client: ${CLIENT_PIN[*]:-unpinned}"
RESULTS=()
for pair in "1 KiB POST, Humanos:plain-post:humanos-post" \
            "GET, Proficient (headers):plain-get:proficient-get"; do
    IFS=: read -r label plain layered <<<"$pair"
    base=0
    with=0
    for round in $(seq "$ROUNDS"); do
        b="$(rate "$plain")"
        w="$(rate "$layered")"
        echo "  $label, round $round: plain $b req/s, layer $w req/s"
        base="$(awk -v a="$base" -v b="$b" 'BEGIN { print (b > a) ? b : a }')"
        with="$(awk -v a="$with" -v b="$w" 'BEGIN { print (b > a) ? b : a }')"
    done
    ratio="$(awk -v a="$with" -v b="$base" 'BEGIN { printf "%.3f", a / b }')"
    RESULTS+=("$(printf '%-28s %12.0f %12.0f %8s' "$label" "$base" "$with" "$ratio")")
done
printf '%-28s %12s %12s %8s\n' "request" "plain req/s" "layer req/s" "ratio"
printf '%s\n' "${RESULTS[@]}"
