#!/usr/bin/env bash
# agon up's memory at rest and after logins: RSS after start, after LOGINS password logins, and what the process
# holds (threads, open database files). Builds the release binary unless BENCH_BIN names one.
#
#   bench/memory.sh                 # LOGINS=100
set -euo pipefail
cd "$(dirname "$0")/.."
logins=${LOGINS:-100}
bin=${BENCH_BIN:-target/release/agon}
[ -n "${BENCH_BIN:-}" ] || cargo build --release -p agon >/dev/null
dir=$(mktemp -d /tmp/agon-memory.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" up --data-dir "$dir/data" --port "$port" >"$dir/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
until curl -sf "localhost:$port/readyz" >/dev/null; do
  kill -0 $pid 2>/dev/null || { cat "$dir/log"; exit 1; }
  sleep 0.05
done
rss() { awk '/VmRSS/ {printf "%.1f MB", $2/1024}' "/proc/$pid/status"; }
held() { echo "threads $(ls /proc/$pid/task | wc -l), open files $(ls /proc/$pid/fd | wc -l), database files $(ls -l /proc/$pid/fd | grep -c '\.db$')"; }
sleep 3
echo "after start (idle 3 s): $(rss); $(held)"
curl -sf "localhost:$port/auth/register" -H 'content-type: application/json' \
  -d '{"email":"bench@agon.test","password":"a long passphrase"}' >/dev/null
for _ in $(seq "$logins"); do
  curl -sf "localhost:$port/auth/token" -H 'content-type: application/json' \
    -d '{"grant_type":"password","email":"bench@agon.test","password":"a long passphrase"}' >/dev/null
done
for idle in 3 15 45; do
  sleep $((idle - ${waited:-0})); waited=$idle
  echo "after $logins logins (idle $idle s): $(rss); $(held)"
done
