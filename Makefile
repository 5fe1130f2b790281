# hubspot-actions developer tasks. CI runs .ci/run (gofmt, vet, definitions --check
# and the README's test command); `make check` adds tidy-check.
GO ?= go
PKGS := ./...

.PHONY: run test test-sqlite postgres chromium race check bench-cpu bench-replicas fmt vet lint vuln tidy-check definitions definitions-check bench fuzz docker clean

run:            ## run the service (sandbox mode unless HUBSPOT_CLIENT_ID is set)
	$(GO) run ./cmd/hubspot-actions serve

test: chromium  ## the test suite, as CI runs it: on SQLite, then on PostgreSQL (installing Chromium and PostgreSQL first when missing)
	TEST_DATABASE_URL= $(GO) test -race -count=1 $(PKGS)
	@url="$${TEST_DATABASE_URL:-$$(bash .ci/postgres)}" || { \
	  echo "*** PostgreSQL could not be installed or started: the PostgreSQL run is SKIPPED (the SQLite run above passed) ***" >&2; \
	  [ -z "$$CI" ] || exit 1; exit 0; }; \
	echo "--- the same tests on PostgreSQL (TEST_DATABASE_URL, each test in a schema of its own)"; \
	TEST_DATABASE_URL="$$url" $(GO) test -race -count=1 $(PKGS)

test-sqlite: chromium ## the test suite on SQLite only
	TEST_DATABASE_URL= $(GO) test -race -count=1 $(PKGS)

postgres:       ## install (Debian's package) and start PostgreSQL on loopback; prints a TEST_DATABASE_URL
	@bash .ci/postgres

chromium:       ## Debian's Chromium for the browser tests, installed when missing
	@[ -n "$$CHROMIUM_PATH" ] || command -v chromium >/dev/null 2>&1 || { \
	  sudo=""; if [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then sudo=sudo; fi; \
	  echo "installing Debian's chromium for the browser tests"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
	@"$${CHROMIUM_PATH:-chromium}" --version

check: fmt vet test definitions-check tidy-check ## everything CI checks

fmt:
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

lint:           ## staticcheck (fetched on demand)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@latest $(PKGS)

vuln:           ## govulncheck (fetched on demand)
	$(GO) run golang.org/x/vuln/cmd/govulncheck@latest $(PKGS)

tidy-check:
	$(GO) mod tidy && git diff --exit-code go.mod go.sum

definitions:    ## regenerate app-definition/ from the action registry
	$(GO) run ./cmd/hubspot-actions definitions

definitions-check:
	$(GO) run ./cmd/hubspot-actions definitions --check

bench:          ## benchmarks quoted in the issue notes
	$(GO) test -run '^$$' -bench . -benchtime 20000x ./actions/
	$(GO) test -run '^$$' -bench . -benchtime 20000x ./cmd/hubspot-actions/

bench-cpu:      ## server CPU per inline execution, the server and the load generator in separate processes
	bash .ci/bench-cpu . 20000 2000

bench-replicas: ## inline and BLOCK executions/s on SQLite and on PostgreSQL with 1 and 2 replicas, and where the time goes (installs PostgreSQL when missing)
	bash .ci/bench-replicas . 20000 1000

fuzz:           ## a minute of fuzzing for each fuzz target
	$(GO) test -run '^$$' -fuzz FuzzCheckSignature -fuzztime 30s ./actions/
	$(GO) test -run '^$$' -fuzz FuzzDecodeRequest -fuzztime 30s ./actions/

docker:
	docker build -t hubspot-actions .

clean:
	rm -rf data hubspot-actions
