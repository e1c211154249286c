#!/usr/bin/env bash
# Fails when proto/ and the generated contracts disagree, when buf lint finds a problem, or
# when a change breaks the wire contract of the previous commit on main.
set -eu
cd "$(dirname "$0")/.."
./node_modules/.bin/buf lint
before=$(mktemp -d)
cp -r services/contracts/src/gen "$before/"
./node_modules/.bin/buf generate >/dev/null
node scripts/gen-descriptors.mjs >/dev/null
if ! diff -r "$before/gen" services/contracts/src/gen >/dev/null; then
  echo "contracts: generated code is stale; run 'make proto' and commit services/contracts/src/gen"
  rm -rf services/contracts/src/gen && cp -r "$before/gen" services/contracts/src/gen
  exit 1
fi
if git rev-parse -q --verify 'main~1' >/dev/null 2>&1; then
  ./node_modules/.bin/buf breaking --against '.git#branch=main,ref=HEAD~1'
fi
echo "contracts: generated code is current, buf lint and breaking are clean"
