#!/usr/bin/env bash
# The whole suite from a fresh clone: install, generate-check, build, start services, test,
# and print the closing line `N passed, N failed` that CI reads.
set -u
cd "$(dirname "$0")/.."
fail() { echo "$1"; echo "0 passed, 1 failed"; exit 1; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  timeout 900 npm ci --no-audit --no-fund || fail "npm ci failed"
fi
bash scripts/check-contracts.sh || fail "contracts check failed (run make proto and commit)"
npx tsc --build || fail "build failed"
bash scripts/services.sh || fail "could not start PostgreSQL, Redis or RabbitMQ"
bash scripts/tools.sh || fail "could not install the chart renderer or Prometheus (see above)"

report=$(mktemp)
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
code=$?
node scripts/test-summary.mjs "$report" "$code" || { echo "0 passed, 1 failed"; exit 1; }
exit $code
