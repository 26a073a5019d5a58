#!/usr/bin/env bash
# The event pipeline: events committed to a PostgreSQL outbox, relayed to RabbitMQ with publisher confirms and
# applied by an inbox-guarded consumer (one transaction per arrived batch), against the peer: the same number of
# persistent messages with confirms and manual acks on bare RabbitMQ, no database. Same servers, same run.
#
#   bench/bus.sh              # EVENTS=100000 by default
#
# Writes bench/results/bus.md; every run also checks the ledgers (0 lost, 0 duplicated).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
EVENTS=${EVENTS:-100000}

work=$(mktemp -d /tmp/agon-bench-bus.XXXXXX)
chmod 755 "$work"
cleanup() {
  stop_postgres "$work/pg"
  finish_rabbitmq "$work/rabbitmq"
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

cargo build --release -p agon-bus --example pipeline >&2
bin=target/release/examples/pipeline
pg=$(start_postgres "$work/pg")
amqp=$(start_rabbitmq "$work/rabbitmq")
common=(--database-url "$pg" --schema-prefix bench_ --amqp-url "$amqp")

raw=$($bin "${common[@]}" raw --count "$EVENTS")
echo "$raw"
ours=$($bin "${common[@]}" bench --count "$EVENTS")
echo "$ours"
check=$($bin "${common[@]}" check --count "$EVENTS")
echo "$check"
# The first rate on the line: end to end (the publishing rate follows in parentheses).
rate() { grep -o '[0-9]* \(events\|messages\)/s' <<<"$1" | head -n 1 | cut -d' ' -f1; }
ratio=$(python3 -c "print(f'{$(rate "$ours") / $(rate "$raw"):.2f}')")
{
  echo "# Event pipeline ($(date -u +%Y-%m-%d), $(nproc) cores, $EVENTS events)"
  echo
  echo "| path | throughput |"
  echo "|---|---|"
  echo "| bare RabbitMQ: persistent, confirms (window $(grep -o 'RELAY_BATCH: i64 = [0-9]*' crates/agon-bus/src/lib.rs | grep -o '[0-9]*$')), manual acks | $(rate "$raw") msg/s |"
  echo "| Agon: outbox → relay (confirms) → RabbitMQ → inbox + effect in PostgreSQL | $(rate "$ours") events/s ($ratio×) |"
  echo
  echo "Ledger check: $check"
} >bench/results/bus.md
cat bench/results/bus.md
