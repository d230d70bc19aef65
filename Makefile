# enfance — `make dev` runs everything, `make test` checks everything; `make cluster`
# runs the production shape, `make chaos` checks it survives losing processes.
# Tools are built into ./bin; nothing is downloaded but Go modules (and Debian's
# PostgreSQL if this machine lacks it).

SHELL := /bin/bash
BIN := $(CURDIR)/bin
TEMPORAL_VERSION := v1.5.1
SQLC_VERSION := v1.31.1
# The real Temporal server (the version the CLI embeds), its schema tool, and the
# Web UI server (the version the CLI embeds), for `make cluster`.
TEMPORAL_SERVER_VERSION := v1.29.1
TEMPORAL_UI_VERSION := v2.42.1
GO ?= go
export GOTOOLCHAIN := local

.PHONY: dev test tools postgres chromium generate check fmt vet unit help cluster cluster-tools chaos

help:
	@echo "make dev    run the whole system locally (PostgreSQL, Temporal, PayFiP simulator, worker, API, demo data)"
	@echo "make test   formatting, vet, sqlc drift, and the whole test suite"
	@echo "make tools  build the Temporal CLI and sqlc into ./bin (and install PostgreSQL and Chromium if missing)"
	@echo "make cluster  the production shape: Temporal server on PostgreSQL, its Web UI, 2 workers, 2 APIs, simulator, demo data"
	@echo "make chaos  the cluster's tests: the real Temporal server, and a rush that loses a worker and an API"

dev: dev-tools
	$(GO) run ./cmd/enfance dev

test: tools check
	$(GO) test -count=1 -timeout 20m ./...

cluster: cluster-tools
	$(GO) run ./cmd/enfance cluster

# Long tests on the real Temporal server (a few minutes): run by .ci/run after
# `make test`. They are skipped in `make test` (ENFANCE_CLUSTER_TESTS unset).
chaos: cluster-tools
	ENFANCE_CLUSTER_TESTS=1 $(GO) test -count=1 -timeout 40m -run 'Cluster|TemporalServer' -v ./devenv ./cmd/enfance

cluster-tools: dev-tools $(BIN)/temporal-server $(BIN)/temporal-sql-tool $(BIN)/temporal-ui-server

# The two servers are both packages named "server": each is installed into a
# folder of its own, then moved into ./bin under its name.
define install-as
	@echo "Building $(notdir $@) ($(1)) into ./bin (a few minutes the first time)…"
	tmp=$$(mktemp -d) && GOBIN=$$tmp $(GO) install $(1) && mv $$tmp/$(2) $@ && rmdir $$tmp
endef

$(BIN)/temporal-server:
	$(call install-as,go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION),server)

$(BIN)/temporal-sql-tool:
	$(call install-as,go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION),sql)

$(BIN)/temporal-ui-server:
	$(call install-as,github.com/temporalio/ui-server/v2/cmd/server@$(TEMPORAL_UI_VERSION),server)

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
