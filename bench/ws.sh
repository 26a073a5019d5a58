#!/usr/bin/env bash
# WebSocket fan-out: `agon up` (release) holds N WebSocket connections through its gateway; the administrator
# broadcasts and every connection's arrival time is measured from the broadcast request (client and server
# share this machine's cores, so the figures include the load client's own work).
#
#   bench/ws.sh                 # 1,000 and 10,000 connections, 5 broadcasts each
#   CONNECTIONS="1000" ROUNDS=10 bench/ws.sh
#
# Writes bench/results/ws.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
CONNECTIONS=${CONNECTIONS:-"1000 10000"}
ROUNDS=${ROUNDS:-5}
# Each side holds one descriptor per connection: raise the soft limit as far as allowed.
ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d /tmp/agon-bench-ws.XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

cargo build --release -p agon >&2
cargo build --release -p agon-notifications --example fanout >&2
port=$(free_port)
email=admin@bench.test password="bench admin password"
AGON_AUTH__ADMIN_EMAIL=$email AGON_AUTH__ADMIN_PASSWORD=$password AGON_LOG__FILTER=warn \
  target/release/agon up --data-dir "$work/data" --port "$port" </dev/null >"$work/agon.log" 2>&1 &
pid=$!
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.1; done

{
  echo "# WebSocket fan-out ($(date -u +%Y-%m-%d), $(nproc) cores, agon up, client on the same machine)"
  echo
  echo "| connections | opened in | broadcast latency (request → frame) | server RSS |"
  echo "|---|---|---|---|"
} >bench/results/ws.md
for n in $CONNECTIONS; do
  out=$(target/release/examples/fanout --url "http://127.0.0.1:$port" --email "$email" --password "$password" \
    --connections "$n" --rounds "$ROUNDS")
  echo "$out"
  rss=$(awk '/VmHWM/ {printf "%.0f MB peak", $2/1024}' "/proc/$pid/status")
  opened=$(sed -n 's/.*ready in \([0-9.]*\) s/\1 s/p' <<<"$out")
  latency=$(sed -n 's/.*rounds: \(.*\) (all.*/\1/p' <<<"$out")
  echo "| $n | $opened | $latency | $rss |" >>bench/results/ws.md
done
cat bench/results/ws.md
