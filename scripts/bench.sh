#!/usr/bin/env bash
# `make bench`: every benchmark of the services, then one table of all figures with their
# in-run baselines and ratios (bench-results/*.json, summary in bench-results/summary.json).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh
mkdir -p bench-results
status=0
for f in services/*/bench/*.bench.ts; do
  [ -e "$f" ] || continue
  echo "=== bench: $f"
  npx tsx "$f" || { echo "bench: $f failed"; status=1; }
done
node scripts/bench-summary.mjs
exit $status
