# pgpipe's commands. README.md names two of them: `make demo` and `make test`.
GO       ?= go
FUZZTIME ?= 5s
# FUZZERS lists package:fuzzer pairs.
FUZZERS  := .:FuzzParseDSN .:FuzzDecodeText .:FuzzDecodeBinary .:FuzzTimestampText .:FuzzArrayText .:FuzzArrayTextRoundTrip .:FuzzParseTextArray ./internal/scram:FuzzSASLprep ./internal/sqltext:FuzzMultipleStatementsNeverPanics .:FuzzNumericBinary .:FuzzResultDecoder .:FuzzServerReplies

.PHONY: test vet unit integration fuzz demo bench soak

# test: vet, unit and integration tests with the race detector, and each
# fuzzer for a short fixed time.
test: vet unit integration fuzz

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

fuzz:
	@for pf in $(FUZZERS); do \
	  p=$${pf%%:*}; f=$${pf#*:}; \
	  echo "fuzz $$f in $$p for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$p || exit 1; \
	done

demo:
	$(GO) run ./cmd/pgpipe-demo

bench:
	cd bench && $(MAKE) bench

# soak: the long soak (64 goroutines, 16 connections, 64 x PGPIPE_SOAK_OPS
# mixed operations with random cancellations), with -race.
soak:
	cd integration_test && PGPIPE_SOAK_OPS=$${PGPIPE_SOAK_OPS:-20000} $(GO) test -race -count=1 -run '^TestSoak$$' -timeout 3h -v ./...
