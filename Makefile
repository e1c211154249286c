# SKER mesh: the commands a new user needs. See README.md.
SHELL := /bin/bash
NPM_CI := timeout 900 npm ci --no-audit --no-fund

.PHONY: run up down test faults build proto docs migrate admin bench install clean

node_modules/.package-lock.json: package-lock.json
	$(NPM_CI)

install: node_modules/.package-lock.json

build: install
	npx tsc --build

proto: install
	./node_modules/.bin/buf lint
	./node_modules/.bin/buf generate
	node scripts/gen-descriptors.mjs

docs: build
	node scripts/gen-api-docs.mjs

test:
	bash scripts/test.sh

# The fault drills in full (2,000 tasks, 30 s outages); `make test` runs them in a short form.
faults: build
	bash scripts/services.sh
	FAULTS_FULL=1 npx vitest run --testTimeout=1800000 --hookTimeout=600000 test/faults

run: build
	node services/allinone/dist/main.js

up: build
	bash scripts/up.sh

down:
	bash scripts/down.sh

migrate: build
	node services/store/dist/migrate.js

# make admin EMAIL=ada@example.com (REVOKE=1 takes it away)
admin: build
	@test -n "$(EMAIL)" || { echo "usage: make admin EMAIL=<email>"; exit 1; }
	node services/store/dist/admin.js $(if $(REVOKE),revoke,grant) "$(EMAIL)"

bench: build
	bash bench/run.sh

clean:
	rm -rf services/*/dist services/*/tsconfig.tsbuildinfo
