# tracer-tui: `make run` builds and opens tracer-tui, `make test` runs every test.
# Both install missing system packages first (scripts/install-deps.sh).

CARGO ?= cargo
BIN := target/release/tracer-tui
# loading BPF needs root: use sudo when not already root
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
ARGS ?=

.PHONY: deps deps-test build run test lint bench bench-ui clean

deps:
	@scripts/install-deps.sh

# what only the tests need besides (a real Prometheus for --metrics)
deps-test:
	@scripts/install-deps.sh --test

build: deps
	$(CARGO) build --release --locked

run: build
	$(SUDO) $(BIN) $(ARGS)

# BPF tests need root; under CI=true they fail rather than skip without it.
test: deps-test
	$(CARGO) test --release --locked --no-fail-fast

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets --locked -- -D warnings

# exec-storm throughput and CPU with and without tracer-tui (figures, not a test; needs root)
bench: deps build
	$(SUDO) python3 scripts/bench.py $(BENCH_ARGS)

# dashboard frame cost at 1k, 100k and 1M finished rows (figures, not a test)
bench-ui:
	$(CARGO) bench --locked --bench frame

clean:
	$(CARGO) clean
