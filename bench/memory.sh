#!/usr/bin/env bash
# agon up's memory at rest and after logins: RSS after start, after LOGINS password logins, and what the process
# holds (threads, open database files). Builds the release binary unless BENCH_BIN names one.
#
#   bench/memory.sh                 # LOGINS=100
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source bench/lib.sh
logins=${LOGINS:-100}
start_agon
pid=$agon_pid
rss() { awk '/VmRSS/ {printf "%.1f MB", $2/1024}' "/proc/$pid/status"; }
held() { echo "threads $(ls /proc/$pid/task | wc -l), open files $(ls /proc/$pid/fd | wc -l), database files $(ls -l /proc/$pid/fd | grep -c '\.db$')"; }
sleep 3
echo "after start (idle 3 s): $(rss); $(held)"
curl -sf "$base/auth/register" -H 'content-type: application/json' \
  -d '{"email":"bench@agon.test","password":"a long passphrase"}' >/dev/null
for _ in $(seq "$logins"); do
  curl -sf "$base/auth/token" -H 'content-type: application/json' \
    -d '{"grant_type":"password","email":"bench@agon.test","password":"a long passphrase"}' >/dev/null
done
for idle in 3 15 45; do
  sleep $((idle - ${waited:-0})); waited=$idle
  echo "after $logins logins (idle $idle s): $(rss); $(held)"
done
