# reverify — build, test and run targets. `make help` lists them.
SHELL := /bin/bash
GO ?= go
BIN := bin/batch
PKGS := ./...

.PHONY: help build test check fmt-check vet unit run clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/batch
	$(GO) build -o $(BIN) ./cmd/batch

fmt-check: ## fail when a file is not gofmt-formatted
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet $(PKGS)

unit: ## package tests with the race detector
	$(GO) test -race -count=1 $(PKGS)

check: fmt-check vet ## formatting and vet

test: check unit ## everything CI runs: checks, package tests, end-to-end tests

clean: ## remove build output
	rm -rf bin out
