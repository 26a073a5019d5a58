#!/usr/bin/env bash
# Buying through the gateway: each buy is the whole saga (stock reserved and the order placed, the payment taken
# by the ledger over the in-process bus, the order completed) before it answers.
#
#   bench/shop.sh                          # DURATION=10 seconds per cell by default
#   BENCH_BIN=/path/to/agon bench/shop.sh  # another build, instead of building this one
#
# `agon up` (release, SQLite, every service in one process). Four members, each with 10,000,000.00 deposited;
# wrk -t2 -c16, each connection one member's token, every request a new order (no Idempotency-Key). Cells: one
# item everybody buys (one row every buy updates), then 500 items picked at random; the health check beside them
# as the floor. After each cell the shop's and the ledger's databases are read: orders completed, units sold and
# purchases charged (count and sum) must all agree, and no order may be left pending. Writes
# bench/results/shop.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_packages wrk
source bench/lib.sh
admin_email=admin@shop.test admin_password='bench admin password'
AGON_AUTH__ADMIN_EMAIL=$admin_email AGON_AUTH__ADMIN_PASSWORD=$admin_password start_agon

admin=$(token_of "$admin_email" "$admin_password")
call() { # TOKEN METHOD PATH [BODY]
  curl -sf -X "$2" -H "authorization: Bearer $1" -H 'content-type: application/json' ${4:+-d "$4"} "$base$3"
}
tokens=()
for n in 1 2 3 4; do
  curl -sf -o /dev/null -H 'content-type: application/json' \
    -d "{\"email\":\"buyer$n@club.org\",\"password\":\"bench password $n\"}" "$base/auth/register"
  token=$(token_of "buyer$n@club.org" "bench password $n")
  owner=$(call "$token" GET /ledger/accounts/me | json '["owner_id"]')
  call "$admin" POST /ledger/deposits "{\"user_id\":\"$owner\",\"amount\":1000000000}" >/dev/null
  tokens+=("$token")
done
item() { call "$admin" POST /shop/items "{\"name\":\"$1\",\"price\":100,\"stock\":1000000}" | json '["id"]'; }
one=$(item "Race entry")
many=()
for n in $(seq 500); do many+=("$(item "Item $n")"); done

# A wrk script: connection i buys as member i % 4, the item from ITEMS picked at random.
lua() {
  cat <<LUA
local tokens = { "${tokens[0]}", "${tokens[1]}", "${tokens[2]}", "${tokens[3]}" }
local items = { $(printf '"%s",' "$@") }
local n = 0
setup = function(thread) thread:set("first", n); n = n + 1 end
init = function() count = first end
request = function()
  count = count + 1
  local item = items[math.random(#items)]
  return wrk.format("POST", "/shop/items/" .. item .. "/buy",
    { ["authorization"] = "Bearer " .. tokens[(count % 4) + 1], ["content-type"] = "application/json" }, "{}")
end
LUA
}

# check: the shop and the ledger agree — completed orders = units sold = purchases (count and sum); none pending.
check() {
  python3 - "$work/data" <<'PY'
import sqlite3, sys
d = sys.argv[1]
shop = sqlite3.connect(f"{d}/shop.db")
ledger = sqlite3.connect(f"{d}/ledger.db")
orders = dict(shop.execute("select status, count(*) from orders group by status").fetchall())
sold = shop.execute("select sum(1000000 - stock) from items").fetchone()[0] or 0
paid, paid_sum = ledger.execute("select count(*), coalesce(sum(amount), 0) from transactions where kind = 'purchase'").fetchone()
completed = orders.get("completed", 0)
ok = completed == sold == paid and paid_sum == 100 * paid and orders.get("pending", 0) == 0
print(f"orders {orders}, units sold {sold}, purchases {paid} ({paid_sum}): {'consistent' if ok else 'INCONSISTENT'}")
sys.exit(0 if ok else 1)
PY
}

# cell LABEL SCRIPT: buys at c=16, then the databases checked.
cell() {
  wrk_row "$1" "POST /shop/items/{id}/buy" "" "" "$2"
  sleep 1
  printf '\nAfter "%s": %s\n\n' "$1" "$(check)" >>"$work/checks"
}

lua "$one" >"$work/one.lua"
lua "${many[@]}" >"$work/many.lua"
mkdir -p bench/results
{
  bench_header
  echo
  echo "| cell | request | req/s | p50 | p99 | CPU µs/req | errors |"
  echo "|---|---|---|---|---|---|---|"
  wrk_row "floor" "health check" "/healthz" "$admin"
  cell "one item, everybody" "$work/one.lua"
  cell "500 items at random" "$work/many.lua"
  cat "$work/checks"
  echo "RSS of agon up after the run: $(rss_kb "$agon_pid") kB."
} | tee bench/results/shop.md
