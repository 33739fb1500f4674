# pgpipe's commands. README.md names two of them: `make demo` and `make test`.
GO       ?= go
# FUZZTIME is a count of executions, not a duration: with a duration, Go
# 1.26's fuzz coordinator can fail a run that found nothing when its
# deadline passes on a busy machine (golang/go#75804, fixed in Go 1.27).
FUZZTIME ?= 100000x
# FUZZERS lists package:fuzzer pairs.
FUZZERS  := .:FuzzParseDSN ./internal/codec:FuzzDecodeText ./internal/codec:FuzzDecodeBinary ./internal/codec:FuzzTimestampText ./internal/codec:FuzzArrayText ./internal/codec:FuzzArrayTextRoundTrip ./internal/codec:FuzzParseTextArray ./internal/scram:FuzzSASLprep ./internal/sqltext:FuzzMultipleStatementsNeverPanics ./internal/sqltext:FuzzClassifyNeverPanics ./internal/codec:FuzzNumericBinary .:FuzzResultDecoder .:FuzzServerReplies ./internal/codec:FuzzParseFloat8

.PHONY: test vet unit integration integration-multiplex fuzz demo bench soak

# test: vet, unit and integration tests with the race detector, and each
# fuzzer for FUZZTIME. Every step runs even when an earlier one fails (a
# red integration run must not hide a fuzzer's finding); the target fails
# at the end and names the steps that failed.
TESTSTEPS := vet unit integration integration-multiplex fuzz

test:
	@failed=""; \
	  for step in $(TESTSTEPS); do \
	    echo "== make $$step"; \
	    $(MAKE) --no-print-directory $$step || failed="$$failed $$step"; \
	  done; \
	  if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed"; exit 1; fi; \
	  echo "make test: all of $(TESTSTEPS) passed"

vet:
	@unformatted=$$(gofmt -l . || true); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	cd integration_test && $(GO) vet ./...
	cd examples/otel && $(GO) vet ./...
	cd bench && $(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...
	cd examples/otel && $(GO) test -race -count=1 ./...
	cd bench && $(GO) test -race -count=1 ./...

integration:
	cd integration_test && $(GO) test -race -count=1 -timeout 45m ./...

# integration-multiplex runs the whole integration suite again with
# multiplex=4 on every database/sql pool the tests open through openDB
# (a test that names multiplex itself keeps its setting).
integration-multiplex:
	cd integration_test && PGPIPE_TEST_MULTIPLEX=4 $(GO) test -race -count=1 -timeout 45m ./...

fuzz:
	@failed=""; \
	  for pf in $(FUZZERS); do \
	    p=$${pf%%:*}; f=$${pf#*:}; \
	    echo "fuzz $$f in $$p, -fuzztime $(FUZZTIME)"; \
	    $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$p || failed="$$failed $$f"; \
	  done; \
	  if [ -n "$$failed" ]; then echo "fuzz: FAILED:$$failed"; exit 1; fi

demo:
	$(GO) run ./cmd/pgpipe-demo

bench:
	cd bench && $(MAKE) bench

# soak: the long soak (64 goroutines, 16 connections, 64 x PGPIPE_SOAK_OPS
# mixed operations with random cancellations), with -race.
soak:
	cd integration_test && PGPIPE_SOAK_OPS=$${PGPIPE_SOAK_OPS:-20000} $(GO) test -race -count=1 -run '^TestSoak$$' -timeout 3h -v ./...
