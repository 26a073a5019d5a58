#!/usr/bin/env bash
# The ledger's period report over 1,000,000 transactions (and 100,000, to see how it grows), through the gateway.
#
#   bench/ledger.sh                          # ROWS=1000000 by default
#   BENCH_BIN=/path/to/agon bench/ledger.sh  # another build, instead of building this one
#
# `agon up` (release, SQLite). One member's account gets ROWS transactions over a year (deposits, withdrawals,
# purchases, refunds), written straight into the ledger's database with their postings, as the service writes
# them; nine other accounts get as many between them, so the report must find its account's rows, not read them
# all. Timed with curl, best of five: the JSON report (totals by kind and the first page) for the whole year and
# for one month, and the CSV of the month (every row, streamed). The totals query's plan is printed from SQLite
# itself: it must read the (account_id, created_at, kind, amount) index alone. Writes bench/results/ledger.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source bench/lib.sh
ROWS=${ROWS:-1000000}
admin_email=admin@ledger.test admin_password='bench admin password'
AGON_AUTH__ADMIN_EMAIL=$admin_email AGON_AUTH__ADMIN_PASSWORD=$admin_password start_agon
token=$(token_of "$admin_email" "$admin_password")
# The administrator's own account, opened through the API: the rows go into it.
account=$(curl -sf -H "authorization: Bearer $token" "$base/ledger/accounts/me" | json '["id"]')

# seed ACCOUNT N: N transactions of ACCOUNT (and N spread over nine other accounts) through 2026.
seed() {
  python3 - "$work/data/ledger.db" "$1" "$2" <<'PY'
import random, sqlite3, sys, time, uuid
db, account, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = sqlite3.connect(db, timeout=30)
others = [str(uuid.uuid4()) for _ in range(9)]
for i, o in enumerate(others):
    con.execute("insert into accounts (id, kind, owner_id, currency, balance, credit_limit, created_at) "
                "values (?, 'member', ?, 'EUR', 0, 0, '2026-01-01T00:00:00.000000Z')", (o, str(uuid.uuid4())))
kinds = ["deposit", "withdrawal", "purchase", "refund"]
start = 1767225600  # 2026-01-01
def rows(target, count):
    for i in range(count):
        at = start + i * (365 * 86400) // count
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{i % 1000000:06d}Z"
        t = str(uuid.uuid4())
        amount = random.randint(100, 10000)
        yield t, target, kinds[i % 4], amount, stamp
batch = []
for target, count in [(account, n)] + [(o, n // 9) for o in others]:
    for t, acc, kind, amount, stamp in rows(target, count):
        batch.append((t, acc, kind, amount, stamp))
        if len(batch) == 50000:
            con.executemany("insert into transactions (id, account_id, kind, amount, currency, reference, "
                            "idempotency_key, description, created_by, created_at) "
                            "values (?, ?, ?, ?, 'EUR', null, null, 'bench', '00000000-0000-0000-0000-000000000000', ?)",
                            batch)
            con.executemany("insert into postings (transaction_id, account_id, amount, created_at) values (?, ?, ?, ?)",
                            [(b[0], b[1], b[3], b[4]) for b in batch])
            batch = []
if batch:
    con.executemany("insert into transactions (id, account_id, kind, amount, currency, reference, idempotency_key, "
                    "description, created_by, created_at) values (?, ?, ?, ?, 'EUR', null, null, 'bench', "
                    "'00000000-0000-0000-0000-000000000000', ?)", batch)
    con.executemany("insert into postings (transaction_id, account_id, amount, created_at) values (?, ?, ?, ?)",
                    [(b[0], b[1], b[3], b[4]) for b in batch])
con.commit()
con.execute("analyze")
con.commit()
PY
}

# best PATH: the best of five wall times of a GET, in ms.
best() {
  local t b=999999
  for _ in 1 2 3 4 5; do
    t=$(curl -sf -o /dev/null -w '%{time_total}' -H "authorization: Bearer $token" "$base$1")
    b=$(python3 -c "print(min($b, $t * 1000))")
  done
  printf '%.1f' "$b"
}

year="from=2026-01-01T00:00:00Z&to=2026-12-31T23:59:59Z"
month="from=2026-03-01T00:00:00Z&to=2026-03-31T23:59:59Z"
report="/ledger/accounts/$account/report"
mkdir -p bench/results
{
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), best of five."
  echo
  echo "| transactions of the account | report, a year (JSON) | report, a month (JSON) | a month as CSV | CSV rows |"
  echo "|---|---|---|---|---|"
  seeded=0
  for rows in $((ROWS / 10)) "$ROWS"; do
    seed "$account" $((rows - seeded))
    seeded=$rows
    count=$(curl -sf -H "authorization: Bearer $token" "$base$report?$year" | json '["count"]')
    csv_rows=$(($(curl -sf -H "authorization: Bearer $token" "$base$report?$month&format=csv" | wc -l) - 1))
    echo "| $count | $(best "$report?$year") ms | $(best "$report?$month") ms | $(best "$report?$month&format=csv") ms | $csv_rows |"
  done
  echo
  echo "The totals query as SQLite plans it:"
  echo
  echo '```'
  python3 - "$work/data/ledger.db" "$account" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
plan = con.execute("explain query plan select kind, count(*) as count, cast(coalesce(sum(amount), 0) as bigint) "
                   "as amount from transactions where account_id = ? and created_at >= ? and created_at <= ? "
                   "group by kind order by kind", (sys.argv[2], "2026-01-01", "2027-01-01")).fetchall()
for row in plan:
    print(row[-1])
PY
  echo '```'
} | tee bench/results/ledger.md
