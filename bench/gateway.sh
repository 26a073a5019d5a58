#!/usr/bin/env bash
# Agon's gateway against nginx, proxying the same trivial upstream in the same run.
#
#   bench/gateway.sh            # DURATION=10 seconds per cell by default
#   BENCH_THREADS=1 bench/gateway.sh   # gateway serving threads (default: one per core)
#   BENCH_BIN=/path/to/agon bench/gateway.sh   # another build (an earlier commit's), instead of building this one
#
# Cells: wrk → the upstream directly, → nginx (keep-alive reverse proxy), → `agon serve gateway`. Reports req/s,
# p50/p99, and CPU µs per request of the proxy process (utime+stime from /proc/<pid>/stat, all threads), the
# figure that does not depend on how the two cores are shared. Pinned layout: upstream and proxy share CPU 0,
# wrk runs on CPU 1. Writes bench/results/gateway.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_packages nginx wrk postgresql
DURATION=${DURATION:-10}
HZ=$(getconf CLK_TCK)

work=$(mktemp -d /tmp/agon-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  stop_postgres "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

agon_bin=${BENCH_BIN:-target/release/agon}
[ -n "${BENCH_BIN:-}" ] || cargo build --release -p agon >&2

origin_port=$(free_port)
nginx_port=$(free_port)
agon_port=$(free_port)

# The upstream: nginx answering 200 "ok" itself, one process.
cat >"$work/origin.conf" <<CONF
daemon off; master_process off; worker_processes 1; pid $work/origin.pid; error_log $work/origin.err;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 10000000;
  server { listen 127.0.0.1:$origin_port; location / { return 200 'ok'; } } }
CONF
# nginx as a keep-alive reverse proxy, one worker, the same rewrite as the gateway route (/api/x → /x).
cat >"$work/proxy.conf" <<CONF
daemon off; master_process off; worker_processes 1; pid $work/proxy.pid; error_log $work/proxy.err;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 10000000;
  upstream origin { server 127.0.0.1:$origin_port; keepalive 512; keepalive_requests 10000000; }
  server { listen 127.0.0.1:$nginx_port;
    location /api/ { proxy_pass http://origin/; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
cat >"$work/agon.toml" <<CONF
port = $agon_port
workers = ${BENCH_WORKERS:-0}
[log]
filter = "warn"
format = "json"
[gateway]
threads = ${BENCH_THREADS:-0}
[gateway.upstreams]
origin = "http://127.0.0.1:$origin_port"
[[gateway.routes]]
prefix = "/api"
rewrite = "/"
upstream = "origin"
CONF

nginx -c "$work/origin.conf" -p "$work" & pids+=($!); origin_pid=$!
nginx -c "$work/proxy.conf" -p "$work" & pids+=($!); nginx_pid=$!
pg_url=$(start_postgres "$work/pg")
"$agon_bin" --config "$work/agon.toml" serve gateway --database-url "$pg_url" --auth-url http://127.0.0.1:1 >"$work/agon.log" 2>&1 &
pids+=($!); agon_pid=$!
for port in $origin_port $nginx_port $agon_port; do
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break
    curl -s -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break; sleep 0.1; done
done
curl -sf "http://127.0.0.1:$agon_port/api/x" >/dev/null || { echo "gateway does not proxy"; cat "$work/agon.log"; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run NAME URL PROXY_PID THREADS CONNECTIONS PINNED
run() {
  local name=$1 url=$2 proxy=$3 threads=$4 conns=$5 pinned=$6 wrk_cmd=(wrk)
  if [ "$pinned" = yes ]; then
    taskset -apc 0 "$origin_pid" >/dev/null
    [ "$proxy" != - ] && taskset -apc 0 "$proxy" >/dev/null
    wrk_cmd=(taskset -c 1 wrk)
  else
    taskset -apc 0-1 "$origin_pid" >/dev/null
    [ "$proxy" != - ] && taskset -apc 0-1 "$proxy" >/dev/null
  fi
  "${wrk_cmd[@]}" -t"$threads" -c"$conns" -d2s "$url" >/dev/null   # warm-up: connections, pools, caches
  local before=0 after=0
  [ "$proxy" != - ] && before=$(cpu_ticks "$proxy")
  local out; out=$("${wrk_cmd[@]}" -t"$threads" -c"$conns" -d"${DURATION}s" --latency "$url")
  [ "$proxy" != - ] && after=$(cpu_ticks "$proxy")
  local requests rps p50 p99 errors cpu
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx/ {print $5} /Socket errors/ {print "socket:" $0}' | tr '\n' ' ')
  if [ "$proxy" = - ]; then cpu="–"; else
    cpu=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$requests" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}'); fi
  printf '| %s | -t%s -c%s | %s | %s | %s | %s | %s | %s |\n' "$name" "$threads" "$conns" "$pinned" "$rps" "$p50" "$p99" "$cpu" "${errors:-0}"
}

mkdir -p bench/results
{
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), ${DURATION}s per cell."
  echo "nginx $(nginx -v 2>&1 | cut -d/ -f2), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), agon $("$agon_bin" --version | awk '{print $2}')."
  echo
  echo "| target | wrk | pinned | req/s | p50 | p99 | proxy CPU µs/req | errors |"
  echo "|---|---|---|---|---|---|---|---|"
  for cell in "1 50 yes" "1 256 yes" "2 100 no"; do
    set -- $cell
    run "upstream direct" "http://127.0.0.1:$origin_port/x" - "$1" "$2" "$3"
    run "nginx proxy" "http://127.0.0.1:$nginx_port/api/x" "$nginx_pid" "$1" "$2" "$3"
    run "agon gateway" "http://127.0.0.1:$agon_port/api/x" "$agon_pid" "$1" "$2" "$3"
  done
  echo
  echo "Idle-after-run RSS: nginx proxy $(awk '/VmRSS/ {print $2}' /proc/$nginx_pid/status) kB, agon gateway $(awk '/VmRSS/ {print $2}' /proc/$agon_pid/status) kB."
} | tee bench/results/gateway.md
