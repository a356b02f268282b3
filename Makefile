# reverify — build, run and test targets. `make help` lists them.
SHELL := /bin/bash
GO ?= go
BIN := bin/batch
ARCHIVE ?= archive
RECORDS ?= 200
# Where scripts/s3server.sh keeps versitygw (outside the clone: it survives `make clean`).
export REVERIFY_CACHE ?= $(HOME)/.cache/reverify

.PHONY: help build run test check fmt-check vet unit e2e s3server emulator bench scale scale-s3 soak cases case fuzz clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/batch
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/batch

# The embedded default: a dry run of a specimen archive through the bundled
# emulator, Parquet under ./out, summary on screen, and the run's HTML report
# in out/report.html. Exit code 3 (some records skipped: the archive holds
# broken inputs on purpose) counts as success here.
run: build ## dry run: sample archive -> bundled emulator -> ./out, ending with out/report.html (no credentials, offline)
	@if [ ! -f $(ARCHIVE)/expected.jsonl ]; then \
		echo "writing a specimen archive of $(RECORDS) records to ./$(ARCHIVE)"; \
		$(BIN) specimen --out $(ARCHIVE) --count $(RECORDS) --seed 1 --force; \
	fi
	@id=demo-$$(date -u +%Y%m%dT%H%M%SZ); $(BIN) run --run-id $$id; code=$$?; \
	if [ $$code -eq 0 ] || [ $$code -eq 3 ]; then \
		$(BIN) report out --run-id $$id --html out/report.html || exit 1; \
		echo "Parquet output under ./out (tables: $(BIN) report out)"; \
		echo "the report of this run: file://$(CURDIR)/out/report.html (open it in a browser)"; \
	else exit $$code; fi

fmt-check: ## fail when a Go file is not gofmt-formatted
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi

vet: ## go vet (both modules)
	$(GO) vet ./...
	cd tests/e2e && $(GO) vet ./...

check: fmt-check vet ## formatting and vet

s3server: ## install versitygw (the S3 server the tests use) unless present
	scripts/s3server.sh install

unit: ## package tests with the race detector
	$(GO) test -race -count=1 -timeout 30m ./...

e2e: build s3server ## end-to-end tests: the built binary, versitygw, DuckDB
	cd tests/e2e && REVERIFY_TEST_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 30m ./...

test: check s3server unit e2e ## everything CI runs: checks, package tests, end-to-end tests

emulator: build ## serve the emulator on 127.0.0.1:8080 (see docs/emulator.md)
	$(BIN) emulator --addr 127.0.0.1:8080

bench: build ## pipeline benchmark: records/s, calls per record, RSS, CPU (reports, does not assert)
	cd tests/e2e && REVERIFY_TEST_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -run '^$$' -bench BenchmarkPipeline -benchtime 1x -timeout 60m .

# The figures of docs/performance.md: 100,000 records (REVERIFY_TEST_SCALE_RECORDS=N) through
# a standalone `batch emulator` process, then a resume of the finished shard; one table, printed
# and appended to $(SCALE_FIGURES) (kept across runs). Other knobs: REVERIFY_TEST_SCALE_RATE
# (api.rate, 600), _TIME_SCALE (0.01; 1: the API's real latencies), _POOL (50), _LIMIT (emulator
# requests/s), _SKIPPED=1 (every record skipped at its preflight: memory at a million, nothing
# paid), _SETS ("key=value ..." for --set); see tests/e2e/scale_test.go. scale-s3 writes the
# output to versitygw and counts the S3 writes.
SCALE_FIGURES ?= $(CURDIR)/bin/scale-figures.md
SCALE_BENCH = cd tests/e2e && REVERIFY_TEST_BIN=$(CURDIR)/$(BIN) REVERIFY_TEST_SCALE_FIGURES=$(SCALE_FIGURES) \
	$(GO) test -count=1 -run '^$$' -bench BenchmarkScale -benchtime 1x -timeout 600m .
scale: build ## scale benchmark: 100,000 records, standalone emulator, resume (reports, does not assert)
	@mkdir -p $(dir $(SCALE_FIGURES))
	$(SCALE_BENCH)
	@echo "figures: $(SCALE_FIGURES)"

scale-s3: export REVERIFY_TEST_SCALE_S3 = 1
scale-s3: build s3server ## scale benchmark with the output on versitygw: S3 writes per record
	@mkdir -p $(dir $(SCALE_FIGURES))
	$(SCALE_BENCH)
	@echo "figures: $(SCALE_FIGURES)"

# The figures of RELIABILITY.md: the crash loops (1,000 records, 10 kills, local and S3
# output) and the long fault storms, each printing its table; the tables also go to
# $(SOAK_FIGURES). REVERIFY_TEST_SOAK_RATE=N changes the crash loops' api.rate (default 200).
SOAK_FIGURES ?= $(CURDIR)/bin/soak-figures.md
soak: build s3server ## long crash-loop soak and fault storms (reports figures, does not assert on time)
	rm -f $(SOAK_FIGURES)
	cd tests/e2e && REVERIFY_TEST_BIN=$(CURDIR)/$(BIN) REVERIFY_TEST_SOAK=1 REVERIFY_TEST_SOAK_FIGURES=$(SOAK_FIGURES) \
		$(GO) test -count=1 -run 'TestCrashLoop|TestFaultStorms' -v -timeout 120m .
	@echo "figures: $(SOAK_FIGURES)"

# The table of cases in RELIABILITY.md ("Every path"): the tests of each case, each
# appending one row per case to $(CASE_FIGURES), then sorted by item.
CASE_FIGURES ?= $(CURDIR)/bin/case-figures.md
CASE_TESTS := TestRunDefinitionIsFixed|TestOneWriterPerRunShard|TestAFreshAttemptFindsWhatTheAPIHolds|TestNoPaidResultIsAbandoned|TestCrashLoopRerun|TestUnknownOutcomesAreReadBackWhenNoLongerInFlight|TestStallsAreBoundedAndVisible|TestRerunKeepsTheRunsHistory|TestBadInput
cases: build s3server ## figures of every case of RELIABILITY.md's table (verifications/record, duplicates, dossiers left, exit, time)
	rm -f $(CASE_FIGURES) $(CASE_FIGURES).rows
	cd tests/e2e && REVERIFY_TEST_BIN=$(CURDIR)/$(BIN) REVERIFY_TEST_CASE_FIGURES=$(CASE_FIGURES).rows \
		$(GO) test -count=1 -run '^($(CASE_TESTS))$$' -timeout 30m .
	{ echo '| test | case | verifications per record | duplicate rows | dossiers left | exit | time to exit |'; \
	  echo '|---|---|---|---|---|---|---|'; \
	  sort -t'|' -k3,3V $(CASE_FIGURES).rows; } > $(CASE_FIGURES)
	rm -f $(CASE_FIGURES).rows
	@echo "figures: $(CASE_FIGURES)"

# One case of that table: make case RUN='TestOneWriterPerRunShard/s3' (a go test -run pattern).
case: build s3server ## one case of RELIABILITY.md's table: make case RUN='Test…/sub' (prints its figures)
	@test -n "$(value RUN)" || { echo "usage: make case RUN='TestName/subtest'" >&2; exit 2; }
	rm -f $(CASE_FIGURES).one
	cd tests/e2e && REVERIFY_TEST_BIN=$(CURDIR)/$(BIN) REVERIFY_TEST_CASE_FIGURES=$(CASE_FIGURES).one \
		$(GO) test -count=1 -v -run '$(value RUN)' -timeout 30m .
	@cat $(CASE_FIGURES).one 2>/dev/null || echo "no case figures recorded: does RUN name a case test?" >&2
	@rm -f $(CASE_FIGURES).one

fuzz: ## run each fuzz target for 30 s
	for f in FuzzManifestCSV FuzzManifestJSONL FuzzCheckImage; do \
		$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 30s ./internal/source/ || exit 1; done

clean: ## remove build output, the sample archive and ./out
	rm -rf bin out $(ARCHIVE)
