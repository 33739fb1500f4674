# pgpipe's commands. README.md names two of them: `make demo` and `make test`.
GO       ?= go
FUZZTIME ?= 5s
# FUZZERS lists package:fuzzer pairs.
FUZZERS  := .:FuzzParseDSN ./internal/codec:FuzzDecodeText ./internal/codec:FuzzDecodeBinary ./internal/codec:FuzzTimestampText ./internal/codec:FuzzArrayText ./internal/codec:FuzzArrayTextRoundTrip ./internal/codec:FuzzParseTextArray ./internal/scram:FuzzSASLprep ./internal/sqltext:FuzzMultipleStatementsNeverPanics ./internal/sqltext:FuzzClassifyNeverPanics ./internal/codec:FuzzNumericBinary .:FuzzResultDecoder .:FuzzServerReplies

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

# integration-multiplex runs the tests of queries, transactions, types,
# result sets and the ORMs again with multiplex=4 (integration already ran
# the multiplexing tests themselves).
MUXFILES := query_test.go types_test.go tx_test.go resultsets_test.go compat_test.go \
	typed_args_test.go binary_args_test.go array_scan_test.go coltype_test.go $(wildcard integration_test/orm_*_test.go)
integration-multiplex:
	cd integration_test && PGPIPE_TEST_MULTIPLEX=4 $(GO) test -race -count=1 -timeout 30m \
	  -run "^($$(grep -ho '^func Test[A-Za-z0-9_]*' $(notdir $(MUXFILES)) | sed 's/^func //' | paste -sd'|'))$$" ./...

fuzz:
	@failed=""; \
	  for pf in $(FUZZERS); do \
	    p=$${pf%%:*}; f=$${pf#*:}; \
	    echo "fuzz $$f in $$p for $(FUZZTIME)"; \
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
