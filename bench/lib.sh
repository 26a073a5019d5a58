# Shared by the bench scripts that measure `agon up`: a scratch directory cleaned up on exit, the binary under
# test, the process started and awaited, and one wrk cell measured as req/s, latency and the process's CPU per
# request. Source it after scripts/lib.sh; it sets `work`, `pids`, `agon_bin`, and after `start_agon`, `base` and
# `agon_pid`.

DURATION=${DURATION:-10}
HZ=$(getconf CLK_TCK)

work=$(mktemp -d /tmp/agon-bench.XXXXXX)
pids=()
bench_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap bench_cleanup EXIT INT TERM

# BENCH_BIN names another build (an earlier commit's); otherwise this checkout's release binary is built.
agon_bin=${BENCH_BIN:-target/release/agon}
[ -n "${BENCH_BIN:-}" ] || cargo build --release -p agon >&2

# start_agon [ARG…]: `agon up ARG…` on a free port with its data in the scratch directory, once ready.
start_agon() {
  local port
  port=$(free_port)
  "$agon_bin" up "$@" --port "$port" --data-dir "$work/data" >"$work/agon.log" 2>&1 &
  pids+=($!)
  agon_pid=$!
  base="http://127.0.0.1:$port"
  for _ in $(seq 300); do curl -sf -o /dev/null "$base/readyz" && return 0; sleep 0.1; done
  echo "agon up did not become ready"
  cat "$work/agon.log"
  exit 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# bench_header: the line saying where and how the figures were taken.
bench_header() {
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), ${DURATION}s per cell, wrk -t2 -c16."
}

# wrk_row LABEL NAME PATH TOKEN [SCRIPT]: one table row, after a 2-second warm-up — req/s, p50, p99, CPU µs per
# request of agon (utime+stime of all its threads, the figure that does not depend on how the cores are shared),
# errors. With SCRIPT, wrk's Lua script makes the requests (and their headers) instead of GET PATH with TOKEN.
wrk_row() {
  local label=$1 name=$2 url="$base$3" auth="authorization: Bearer $4"
  local how=(-H "$auth" "$url")
  if [ -n "${5:-}" ]; then
    how=(-s "$5" "$base")
  else
    curl -sf -o /dev/null -H "$auth" "$url" || { echo "$name: $url fails"; exit 1; }
  fi
  wrk -t2 -c16 -d2s "${how[@]}" >/dev/null
  local before after out requests rps p50 p99 errors cpu
  before=$(cpu_ticks "$agon_pid")
  out=$(wrk -t2 -c16 -d"${DURATION}s" --latency "${how[@]}")
  after=$(cpu_ticks "$agon_pid")
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx/ {print $5} /Socket errors/ {print "socket:" $0}' | tr '\n' ' ')
  cpu=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$requests" 'BEGIN {printf "%.0f", t / hz * 1e6 / n}')
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$name" "$rps" "$p50" "$p99" "$cpu" "${errors:-0}"
}

# json EXPR: a value out of the JSON on stdin, as Python indexes it (`json '["id"]'`).
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# token_of EMAIL PASSWORD: an access token by the password grant.
token_of() {
  curl -sf -H 'content-type: application/json' \
    -d "{\"grant_type\":\"password\",\"email\":\"$1\",\"password\":\"$2\"}" "$base/auth/token" | json '["access_token"]'
}
