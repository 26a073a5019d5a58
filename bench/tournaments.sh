#!/usr/bin/env bash
# Tournaments through the `gymit` profile, as GYM IT's frontend lists them, and a field of 1,024 drawn and
# scheduled.
#
#   bench/tournaments.sh                          # DURATION=10 seconds per cell by default
#   BENCH_BIN=/path/to/agon bench/tournaments.sh  # another build, instead of building this one
#
# `agon up --profile gymit` (release, SQLite, every service in one process), its administrator from GYM IT's own
# settings (ADMIN_EMAIL, ADMIN_PASSWORD). 1. `GET /api/tournaments/` at wrk -t2 -c16 beside the profile's
# `/healthz` (the floor), with 20 tournaments of 8 entries, then 20 of 64: the list is one call onto
# `GET /tournaments`, one SQL query whatever the entries; reports req/s, p50/p99 and CPU µs per request of the agon
# process (utime+stime from /proc). 2. A single and a double elimination of 1,024 guests: the draw, then planning
# every match onto 32 courts over four days (30-minute matches, 15 minutes' rest), wall time of each request and
# the process's RSS before and after. Writes bench/results/tournaments.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_packages wrk
source bench/lib.sh
ADMIN_EMAIL=admin@gym.test ADMIN_PASSWORD='bench admin password' start_agon --profile gymit

token=$(curl -sf -H 'content-type: application/json' -d '{"email":"admin@gym.test","password":"bench admin password"}' \
  "$base/api/auth/login" | json '["access_token"]')
call() { # METHOD PATH [BODY]: the answer's body; fails on an error status.
  curl -sf -X "$1" -H "authorization: Bearer $token" -H 'content-type: application/json' ${3:+-d "$3"} "$base$2"
}
entries() { # N: a PUT …/participants body of N guests.
  python3 -c "import json,sys; print(json.dumps({'participants': [{'name': f'Player {i}'} for i in range(int(sys.argv[1]))]}))" "$1"
}
# tournaments COUNT ENTRIES: COUNT tournaments of ENTRIES guests each.
tournaments() {
  for i in $(seq "$1"); do
    id=$(call POST /api/tournaments/ "{\"name\":\"Cup $i\",\"start_date\":\"2027-01-16T09:00:00Z\",\"max_participants\":$2}" |
      json '["tournament"]["id"]')
    call PUT "/api/tournaments/$id/participants" "$(entries "$2")" >/dev/null
  done
}
clear_tournaments() {
  for id in $(call GET '/api/tournaments/?limit=100' | json '["tournaments"]' | python3 -c 'import ast,sys; [print(t["id"]) for t in ast.literal_eval(sys.stdin.read())]'); do
    call DELETE "/api/tournaments/$id" >/dev/null
  done
}

# field FORMAT: a tournament of 1,024 guests drawn and planned; prints a table row.
field() {
  local id rss0 draw plan rss1 matches
  id=$(call POST /tournaments "{\"name\":\"Open $1\",\"format\":\"$1\",\"capacity\":1024,\"starts_at\":\"2027-01-16T08:00:00Z\",\"time_zone\":\"Europe/Madrid\"}" | json '["id"]')
  call POST "/tournaments/$id/transitions" '{"action":"open_registration"}' >/dev/null
  for _ in $(seq 8); do
    call POST "/tournaments/$id/participants/batch" "$(entries 128)" >/dev/null
  done
  call PUT "/tournaments/$id/schedule" "$(python3 -c "import json; print(json.dumps({'match_minutes': 30, 'rest_minutes': 15,
    'courts': [f'Court {c}' for c in range(1, 33)],
    'windows': [{'date': f'2027-01-{d}', 'from': '08:00', 'to': '22:00'} for d in (16, 17, 18, 19)]}))")" >/dev/null
  rss0=$(rss_kb "$agon_pid")
  draw=$(curl -sf -o /dev/null -w '%{time_total}' -X POST -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -d '{}' "$base/tournaments/$id/draw")
  plan=$(curl -sf -o "$work/plan.json" -w '%{time_total}' -X POST -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -d '{"from":"2027-01-01T00:00:00Z"}' "$base/tournaments/$id/schedule/plan")
  rss1=$(rss_kb "$agon_pid")
  matches=$(python3 -c "import json; m=json.load(open('$work/plan.json')); p=[x for x in m if x['starts_at']]; \
print(f\"{len(p)} of {len(m)}, last ends {max(x['ends_at'] for x in p)}\")")
  printf '| %s | %.0f ms | %.0f ms | %s | %s → %s |\n' "$1" "$(echo "$draw * 1000" | bc -l)" \
    "$(echo "$plan * 1000" | bc -l)" "$matches" "$rss0" "$rss1"
}

mkdir -p bench/results
{
  bench_header
  echo
  echo "| tournaments | request | req/s | p50 | p99 | CPU µs/req | errors |"
  echo "|---|---|---|---|---|---|---|"
  for size in 8 64; do
    clear_tournaments
    tournaments 20 "$size"
    wrk_row "20 × $size entries" "health check (floor)" "/healthz" "$token"
    wrk_row "20 × $size entries" "GET /api/tournaments/" "/api/tournaments/" "$token"
  done
  echo
  echo "| format (1,024 entries) | draw | plan | matches placed | RSS kB before → after |"
  echo "|---|---|---|---|---|"
  field single_elimination
  field double_elimination
  echo
  echo "Idle-after-run RSS of agon up: $(rss_kb "$agon_pid") kB."
} | tee bench/results/tournaments.md
