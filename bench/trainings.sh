#!/usr/bin/env bash
# The trainings list through the gateway at c=16, on 10,000 then 100,000 trainings, beside the gateway's own
# health check in the same run (the floor every request pays).
#
#   bench/trainings.sh                        # DURATION=10 seconds per cell by default
#   BENCH_BIN=/path/to/agon bench/trainings.sh   # another build, instead of building this one
#
# `agon up` (release, SQLite, every service in one process). Trainings are written straight into the trainings
# service's database (its own schema, migrated by `agon up`): 50 authors, 14 kinds, difficulties 0–10, one title
# in a hundred holding the word "marathon". One member's token; wrk -t2 -c16. Cells: the health check; the first
# page (20 rows) unfiltered; by kind and a difficulty range; by text (`q=marathon`); the count by kind. Reports
# req/s, p50/p99, and CPU µs per request of the agon process (utime+stime from /proc, all threads). Writes
# bench/results/trainings.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_packages wrk
source bench/lib.sh
start_agon

curl -sf -o /dev/null -H 'content-type: application/json' \
  -d '{"email":"bench@club.org","password":"bench password 1"}' "$base/auth/register"
token=$(curl -sf -H 'content-type: application/json' \
  -d '{"grant_type":"password","email":"bench@club.org","password":"bench password 1"}' "$base/auth/token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

# seed FROM TO : trainings FROM…TO-1, ids UUIDv7 in creation order, as the service writes them.
seed() {
  python3 - "$work/data/trainings.db" "$1" "$2" <<'PY'
import json, os, sqlite3, sys, uuid
db, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
kinds = ["walking", "running", "cycling", "swimming", "strength", "mobility", "yoga", "pilates", "hiit", "rowing",
         "climbing", "team_sport", "racket_sport", "other"]
authors = [str(uuid.UUID(int=a + 1)) for a in range(50)]
base_ms = 1_767_225_600_000  # 2026-01-01
def uuid7(ms):
    b = bytearray(ms.to_bytes(6, "big") + os.urandom(10))
    b[6] = 0x70 | (b[6] & 0x0F)
    b[8] = 0x80 | (b[8] & 0x3F)
    return str(uuid.UUID(bytes=bytes(b)))
rows = []
for i in range(start, end):
    ms = base_ms + i * 1000
    title = f"Session {i} " + ("marathon pace" if i % 100 == 0 else "steady effort")
    description = "Warm up, main set, cool down."
    at = f"2026-01-01T00:00:00.{i % 1000000:06d}Z"
    rows.append((uuid7(ms), authors[i % 50], title, title.lower(), description,
                 f"{title}\n{description}".lower(), kinds[i % 14], i % 11, "[]", "[]", at, at))
con = sqlite3.connect(db, timeout=30)
con.executemany("insert into trainings (id, author_id, title, title_key, description, search_text, kind, "
                "difficulty, media, goals, created_at, updated_at) values (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
con.commit()
con.execute("analyze")
con.commit()
PY
}

mkdir -p bench/results
{
  bench_header
  echo
  echo "| trainings | request | req/s | p50 | p99 | CPU µs/req | errors |"
  echo "|---|---|---|---|---|---|---|"
  seeded=0
  for rows in 10000 100000; do
    seed "$seeded" "$rows"
    seeded=$rows
    wrk_row "$rows" "health check (floor)" "/healthz" "$token"
    wrk_row "$rows" "first page" "/trainings?limit=20" "$token"
    wrk_row "$rows" "kind + difficulty 3–7" "/trainings?limit=20&kind=running&min_difficulty=3&max_difficulty=7" "$token"
    wrk_row "$rows" "text q=marathon" "/trainings?limit=20&q=marathon" "$token"
    wrk_row "$rows" "count by kind" "/trainings/count?kind=running" "$token"
  done
  echo
  echo "Idle-after-run RSS of agon up: $(rss_kb "$agon_pid") kB."
} | tee bench/results/trainings.md
