# enfance — two commands: `make dev` runs everything, `make test` checks everything.
# Tools are built into ./bin; nothing is downloaded but Go modules (and Debian's
# PostgreSQL if this machine lacks it).

SHELL := /bin/bash
BIN := $(CURDIR)/bin
TEMPORAL_VERSION := v1.5.1
SQLC_VERSION := v1.31.1
GO ?= go
export GOTOOLCHAIN := local

.PHONY: dev test tools postgres chromium generate check fmt vet unit help

help:
	@echo "make dev    run the whole system locally (PostgreSQL, Temporal, PayFiP simulator, worker, API, demo data)"
	@echo "make test   formatting, vet, sqlc drift, and the whole test suite"
	@echo "make tools  build the Temporal CLI and sqlc into ./bin (and install PostgreSQL and Chromium if missing)"

dev: dev-tools
	$(GO) run ./cmd/enfance dev

test: tools check
	$(GO) test -count=1 -timeout 20m ./...

# What `make dev` needs; the tests also need Chromium for the browser tests.
dev-tools: $(BIN)/temporal $(BIN)/sqlc postgres
tools: dev-tools chromium

$(BIN)/temporal:
	@echo "Building the Temporal CLI $(TEMPORAL_VERSION) into ./bin (a few minutes the first time)…"
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_VERSION)

$(BIN)/sqlc:
	@echo "Building sqlc $(SQLC_VERSION) into ./bin…"
	GOBIN=$(BIN) $(GO) install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)

# The project runs its own private PostgreSQL cluster from the server binaries.
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing PostgreSQL server binaries (apt-get)…"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
			for c in $$(pg_lsclusters -h 2>/dev/null | awk '{print $$1"/"$$2}'); do pg_ctlcluster $${c%/*} $${c#*/} stop || true; done; \
		else \
			echo "PostgreSQL server binaries are missing: install the 'postgresql' package" >&2; exit 1; \
		fi; \
	fi

# The browser tests (e2e/browser_test.go) drive Debian's Chromium; no browser is
# downloaded by the tests themselves.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Chromium for the browser tests (apt-get)…"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "Chromium is missing (/usr/bin/chromium): install the 'chromium' package" >&2; exit 1; \
		fi; \
	fi

generate: $(BIN)/sqlc
	$(BIN)/sqlc generate

# Fails on unformatted code, vet findings, and generated code that no longer
# matches db/queries and the migrations.
check: $(BIN)/sqlc
	@unformatted=$$(find . -name '*.go' -not -path './bin/*' -not -path './.data/*' -print0 | xargs -0 gofmt -l); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/sqlc diff
