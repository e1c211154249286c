#!/usr/bin/env bash
# `make up`: store, broker and gateway as separate processes against the real PostgreSQL,
# Redis and RabbitMQ (the seed's start-microservices, without Docker). GATEWAY_REPLICAS and
# BROKER_REPLICAS run several; replica i listens on the base port + 10*i. Logs: .run/logs/.
# A base port of 0 lets every replica bind any free port itself (tests, parallel runs): each
# process writes the ports it got to $RUN/ports/<name>.json, which is where callers read them.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="${SKER_RUN_DIR:-.run}"
mkdir -p "$RUN/logs" "$RUN/ports"
if [ -s "$RUN/pids" ]; then
  echo "up: already running (see $RUN/pids); run 'make down' first" >&2
  exit 1
fi
bash scripts/services.sh

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/sker}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export RABBITMQ_URL="${RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672}"
GATEWAY_REPLICAS="${GATEWAY_REPLICAS:-1}"
BROKER_REPLICAS="${BROKER_REPLICAS:-1}"
STORE_PORT="${STORE_PORT:-3001}"
BROKER_PORT="${BROKER_PORT:-3002}"
GATEWAY_PORT="${GATEWAY_PORT:-3000}"
STORE_METRICS_PORT="${STORE_METRICS_PORT:-9464}"
BROKER_METRICS_PORT="${BROKER_METRICS_PORT:-9465}"
# Replica i of a service listens on base + 10*i; a base of 0 means "any free port" for every replica.
nth() { [ "$1" = 0 ] && echo 0 || echo $(($1 + 10 * $2)); }

db=$(node -e 'console.log(new URL(process.argv[1]).pathname.slice(1))' "$DATABASE_URL")
admin=$(node -e 'const u = new URL(process.argv[1]); u.pathname = "/postgres"; console.log(u.href)' "$DATABASE_URL")
if ! psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
  psql "$admin" -qc "CREATE DATABASE \"$db\"" && echo "up: created database $db"
fi

# V8 heap sizing for every service, the same as the images' (the Dockerfile's CMD; a chart test
# keeps the two equal). Node 20 lets the young generation grow to 2x16 MiB and keeps it
# committed, and lets the old generation fill to several times its live size before a full GC:
# services sat at 121-137 MiB 20 s after start and a gateway under 50 connections peaked at
# 150-236 MiB, most of it empty young space and garbage. With these, 84-89 MiB and 118 MiB, at
# the same gateway CPU per request at a fixed 200 req/s (bench/footprint.bench.ts; README
# "Benchmarks").
NODE_FLAGS=(--max-semi-space-size=4 --heap-growing-percent=50)

start() { # name, entry, env...
  local name=$1 entry=$2; shift 2
  rm -f "$RUN/ports/$name.json"
  env SKER_PORTS_FILE="$RUN/ports/$name.json" "$@" node "${NODE_FLAGS[@]}" "$entry" >"$RUN/logs/$name.log" 2>&1 &
  echo "$! $name" >>"$RUN/pids"
  echo "up: $name (pid $!)"
}

# Prints the port the replica listens on once it does (the given one, or the one it announced for 0).
wait_port() { # name, port
  for _ in $(seq 1 150); do
    if [ "$2" = 0 ]; then
      [ -s "$RUN/ports/$1.json" ] && { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).port)' "$RUN/ports/$1.json"; return 0; }
    else
      (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && { echo "$2"; return 0; }
    fi
    sleep 0.2
  done
  echo "up: $1 did not listen on :$2; see $RUN/logs/$1.log" >&2
  tail -20 "$RUN/logs/$1.log" >&2
  SKER_RUN_DIR="$RUN" bash scripts/down.sh
  exit 1
}

start store services/store/dist/main.js STORE_PORT="$STORE_PORT" METRICS_PORT="$STORE_METRICS_PORT"
store_port=$(wait_port store "$STORE_PORT")

export STORE_ADDR="${STORE_ADDR:-127.0.0.1:$store_port}"
for i in $(seq 0 $((BROKER_REPLICAS - 1))); do
  start "broker-$i" services/broker/dist/main.js BROKER_PORT="$(nth "$BROKER_PORT" "$i")" METRICS_PORT="$(nth "$BROKER_METRICS_PORT" "$i")"
done
# Gateways reach the brokers through one address; with several brokers, list them for round robin.
brokers=""
for i in $(seq 0 $((BROKER_REPLICAS - 1))); do brokers+="127.0.0.1:$(wait_port "broker-$i" "$(nth "$BROKER_PORT" "$i")"),"; done
export BROKER_ADDR="${BROKER_ADDR:-ipv4:${brokers%,}}"
for i in $(seq 0 $((GATEWAY_REPLICAS - 1))); do
  start "gateway-$i" services/gateway/dist/main.js GATEWAY_PORT="$(nth "$GATEWAY_PORT" "$i")"
done
gateways=""
for i in $(seq 0 $((GATEWAY_REPLICAS - 1))); do
  port=$(wait_port "gateway-$i" "$(nth "$GATEWAY_PORT" "$i")")
  gateways+=" http://localhost:$port"
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
done
echo "up: ready: gateway${gateways}, store :$store_port, broker ${brokers%,} (logs in $RUN/logs, ports in $RUN/ports, stop with make down)"
