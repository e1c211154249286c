#!/usr/bin/env bash
# `make down`: stops exactly what `make up` started (the pids it wrote), gracefully first.
set -u
cd "$(dirname "$0")/.."
PIDS="${SKER_RUN_DIR:-.run}/pids"
[ -s "$PIDS" ] || { echo "down: nothing running"; exit 0; }
while read -r pid name; do
  kill -TERM "$pid" 2>/dev/null && echo "down: stopping $name (pid $pid)"
done <"$PIDS"
for _ in $(seq 1 75); do
  alive=0
  while read -r pid _; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$PIDS"
  [ $alive = 0 ] && break
  sleep 0.2
done
while read -r pid name; do
  kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; echo "down: killed $name (pid $pid) after the drain bound"; }
done <"$PIDS"
rm -f "$PIDS"
echo "down: stopped"
