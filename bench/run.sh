#!/usr/bin/env bash
# `make bench`: every benchmark in bench/, then one table of all figures with their in-run baselines and
# ratios (bench-results/*.json; summary in bench-results/summary.json).
# The gateway and store benchmarks run against the separate processes of `make up` (its own
# database, ports 3900-3902 and RabbitMQ/Redis names, stopped afterwards); the broker benchmark
# spawns the 1 and 2 broker processes it compares itself.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh
mkdir -p bench-results
status=0

export SKER_RUN_DIR=.run/bench
bench_env=(
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/sker_bench
  REDIS_KEY_PREFIX=bench: SKER_EVENTS_EXCHANGE=bench.events SKER_QUEUE_PREFIX=bench
  GATEWAY_PORT=3900 STORE_PORT=3901 BROKER_PORT=3902 STORE_METRICS_PORT=0 BROKER_METRICS_PORT=0
  SKER_DATA_DIR=.run/bench RATE_LIMIT_PER_USER=1000000000 RATE_LIMIT_AUTH_PER_IP=1000000000 RATE_LIMIT_AI_PER_USER=1000000000 SCRYPT_COST=1024 LOG_LEVEL=warn
  WS_MAX_SOCKETS_PER_USER=100000 RATE_LIMIT_WS_SUBSCRIBE_PER_USER=1000000
)
psql postgres://postgres@127.0.0.1:5432/postgres -qc "DROP DATABASE IF EXISTS sker_bench WITH (FORCE)" >/dev/null
echo "=== bench: make up (1 store, 1 broker, 1 gateway) for the gateway and store benchmarks"
if env "${bench_env[@]}" bash scripts/up.sh; then
  echo "=== bench: bench/gateway.bench.ts (against make up)"
  env BENCH_GATEWAY_URL=http://127.0.0.1:3900 BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/sker_bench BENCH_SOCKETS="${BENCH_SOCKETS:-1000}" \
    npx tsx bench/gateway.bench.ts || { echo "bench: gateway failed"; status=1; }
  echo "=== bench: bench/store.bench.ts (against make up's store)"
  env BENCH_STORE_ADDR=127.0.0.1:3901 BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/sker_bench SKER_DATA_DIR=.run/bench \
    npx tsx bench/store.bench.ts || { echo "bench: store failed"; status=1; }
  echo "=== bench: bench/collab.bench.ts (search and presence, against make up)"
  env BENCH_GATEWAY_URL=http://127.0.0.1:3900 BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/sker_bench \
    BENCH_GATEWAY_PID="$(awk '$2 == "gateway-0" {print $1}' .run/bench/pids)" \
    npx tsx bench/collab.bench.ts || { echo "bench: collab failed"; status=1; }
  bash scripts/down.sh
else
  echo "bench: make up failed; see .run/bench/logs"; status=1
fi

# Every other benchmark starts what it measures itself.
for f in bench/*.bench.ts; do
  case "$f" in bench/gateway.bench.ts | bench/store.bench.ts | bench/collab.bench.ts) continue ;; esac
  echo "=== bench: $f"
  npx tsx "$f" || { echo "bench: $f failed"; status=1; }
done
node bench/summary.mjs
exit $status
