# quant: top-level entry points. `make help` lists them.
# Needs GNU make and bash; run as root on Debian 12 (deps and install write system dirs).

SHELL       := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

BUILD_DIR  ?= build
BUILD_TYPE ?= Release
JOBS       ?= 2
PG_CONFIG  ?= /usr/lib/postgresql/15/bin/pg_config
PREFIX     ?= /usr/local
# Extra variables for the extension's PGXS make, e.g. EXT_MAKE_ARGS='with_llvm=no'.
EXT_MAKE_ARGS ?=
# Executables `make install` copies to $(PREFIX)/bin when they have been built.
BINARIES   := $(BUILD_DIR)/worker/quant-worker $(BUILD_DIR)/worker/quant-feed $(BUILD_DIR)/http/quant-http
# Where format/tidy look for C++ sources (those that exist).
SRC_DIRS   := $(wildcard core extension worker http test bench fuzz)

EXT_MAKE = $(MAKE) -C extension PG_CONFIG=$(PG_CONFIG) $(EXT_MAKE_ARGS)

.PHONY: help deps configure build install run stop status psql test fuzz-build bench bench-deps bench-bars format format-check tidy clean distclean deb deb-test failover

help:
	@echo "make deps      install the Debian packages (scripts/install-deps.sh; no-op when present)"
	@echo "make build     cmake configure (once) + build, then the extension (PGXS)"
	@echo "make install   build, install the extension into PostgreSQL 15 and the binaries into $(PREFIX)/bin"
	@echo "make run       deps + install, start the local cluster and services, load sample data"
	@echo "make run REPLICAS=1  the same plus a streaming hot standby for research reads (docs/scale.md)"
	@echo "make stop      stop the services and the local cluster"
	@echo "make status    what is running;  make psql: a psql shell on the database"
	@echo "make test      deps + build + install, then every test suite (scripts/test.sh)"
	@echo "make failover  deps + install, then 5 pg_auto_failover failovers during order flow (FAILOVER_REPEATS)"
	@echo "make bench     build, then run $(BUILD_DIR)/bench/bench_*"
	@echo "make bench-deps  what only the side-by-side references need: R's TTR, perf, autocannon (bench/README.md)"
	@echo "make deb       build the Debian packages of the release into $(BUILD_DIR)/deb/ (packaging/deb/README.md)"
	@echo "make deb-test  make deb, then install and run them in a fresh Debian 12 root (test/deb/run.sh)"
	@echo "make chaos     the long chaos soak (SEED= KILLS= DB_STOPS= FAULTS= DURATION=; test/chaos/README.md)"
	@echo "make format    clang-format -i;  make format-check: fail on unformatted files;  make tidy: clang-tidy"
	@echo "make clean     remove $(BUILD_DIR)/ and the extension's build products"
	@echo "make distclean clean, stop the cluster and delete .run/ (the local database!)"
	@echo "Environment: DB_URL (use that server instead of the local cluster), QUANT_PGPORT (default 54329)"

deps:
	scripts/install-deps.sh

# Configure only once; later runs of `make build` only build. Delete $(BUILD_DIR) to reconfigure.
configure:
	@if [ ! -f CMakeLists.txt ]; then echo "no CMakeLists.txt yet: nothing to configure"; \
	elif [ ! -f $(BUILD_DIR)/CMakeCache.txt ]; then \
	  cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCMAKE_EXPORT_COMPILE_COMMANDS=ON; \
	fi

build: configure
	@if [ -f $(BUILD_DIR)/CMakeCache.txt ]; then cmake --build $(BUILD_DIR) -j$(JOBS); fi
	@if [ -f extension/Makefile ]; then $(EXT_MAKE); else echo "no extension/Makefile yet: extension skipped"; fi

install: build
	@if [ -f extension/Makefile ]; then $(EXT_MAKE) install; fi
	@install -d $(PREFIX)/bin
	@for b in $(BINARIES); do \
	  if [ -f "$$b" ]; then install -m 755 "$$b" $(PREFIX)/bin/ && echo "installed $(PREFIX)/bin/$$(basename $$b)"; fi; \
	done

run: deps install
	scripts/run.sh

stop:
	scripts/cluster.sh stop

status:
	@scripts/cluster.sh status || true

psql:
	scripts/cluster.sh psql

test: deps format-check build install fuzz-build tidy
	scripts/test.sh

# Debian packages of the release (extension/quant.control's version) with dpkg-deb: the extension,
# quant-worker, quant-feed, quant-http (hardened systemd units) and the UI. packaging/deb/README.md.
deb: build
	scripts/build-ui.sh
	BUILD_DIR=$(BUILD_DIR) PG_CONFIG=$(PG_CONFIG) scripts/build-deb.sh

# The packages installed with apt into a fresh Debian 12 root (debootstrap, cached under
# $(BUILD_DIR)/deb-root/), run from their packaged paths; also in make test (test/sql/deb.sh).
deb-test: deps deb
	test/deb/run.sh

# Automatic failover (pg_auto_failover, issue 17): FAILOVER_REPEATS failovers during order flow
# (test/failover/failover.py; results as JSON in $(BUILD_DIR)/failover.json, figures in bench/README.md).
FAILOVER_REPEATS ?= 5
failover: deps install
	python3 test/failover/failover.py --repeats $(FAILOVER_REPEATS) --json $(BUILD_DIR)/failover.json

# The libFuzzer targets need clang for the core too: a build directory of their own.
fuzz-build:
	@if [ ! -f build-fuzz/CMakeCache.txt ]; then \
	  cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	        -DQUANT_FUZZ=ON -DQUANT_TESTS=OFF -DQUANT_BENCH=OFF >/dev/null; \
	fi
	cmake --build build-fuzz -j$(JOBS) --target fuzz_strategy_config fuzz_deployment_config fuzz_rest_request \
	  fuzz_bybit_reply fuzz_futu_frame fuzz_bars_csv

bench: build
	@found=0; for b in $(BUILD_DIR)/bench/bench_*; do \
	  if [ -f "$$b" ] && [ -x "$$b" ]; then found=1; echo "== $$b"; "$$b"; fi; \
	done; if [ $$found -eq 0 ]; then echo "no $(BUILD_DIR)/bench/bench_* executables"; fi

# The references some benchmarks run beside ours (not needed by make test): R's TTR for
# bench/ttr_reference.R, perf for the profiles, autocannon (pinned, lockfile) for bench/rest_bench.sh.
bench-deps: deps
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends r-cran-ttr linux-perf
	cd bench/autocannon && npm ci

# Bars at scale (issue 17, long: ~30-60 min, ~14 GB): 100M bars vs 10k, and COPY ingest of 1M
# minute bars; PG* = a superuser on a cluster with the extension installed (bench/README.md).
bench-bars: build
	nice bash bench/bars_ingest.sh
	nice bash bench/bars_100m.sh

# The C and C++ sources under version control (the extension's have their own .clang-format).
FORMAT_FILES = git ls-files -- '*.c' '*.h' '*.cpp' '*.hpp' '*.cc'

format:
	@$(FORMAT_FILES) | xargs clang-format -i && echo "formatted $$($(FORMAT_FILES) | wc -l) files"

# Fails on any file clang-format would change (part of make test).
format-check:
	@$(FORMAT_FILES) | xargs clang-format --dry-run -Werror && echo "format-check: $$($(FORMAT_FILES) | wc -l) files clean"

# clang-tidy (warnings are errors, .clang-tidy) over the C++ of every CMake-built folder, with
# build/compile_commands.json, and over the extension's C++ bridge with its own flags (PGXS builds it).
TIDY_DIRS = $(wildcard core pq worker http)
TIDY_EXT_FLAGS = -std=c++20 -Icore/include -Iextension/src

tidy: configure
	@if [ ! -f $(BUILD_DIR)/compile_commands.json ]; then echo "no $(BUILD_DIR)/compile_commands.json: run make build"; exit 1; fi
	@files=$$(find $(TIDY_DIRS) -type f \( -name '*.cpp' -o -name '*.cc' \) | sort); \
	clang-tidy -p $(BUILD_DIR) --quiet --warnings-as-errors='*' $$files
	@files=$$(find extension/src -type f -name '*.cpp' | sort); \
	if [ -n "$$files" ]; then clang-tidy --quiet --warnings-as-errors='*' $$files -- $(TIDY_EXT_FLAGS); fi
	@echo "tidy: clean"

clean:
	rm -rf $(BUILD_DIR) build-fuzz
	@if [ -f extension/Makefile ]; then $(EXT_MAKE) clean; fi

distclean: clean
	scripts/cluster.sh stop
	rm -rf .run

# The long chaos soak (issue 15, test/chaos/README.md): runs until KILLS worker kills, DB_STOPS
# immediate stops and FAULTS broker faults (or DURATION seconds), then checks the invariants.
# CHAOS_PGBIN: the PostgreSQL bin dir whose extension dir has quant (make install puts it there).
SEED     ?= 7
KILLS    ?= 200
DB_STOPS ?= 20
FAULTS   ?= 1000
DURATION ?= 3600
CHAOS_PGBIN ?= $(dir $(PG_CONFIG))
CHAOS_ARGS ?=
.PHONY: chaos
chaos: build install
	QUANT_PGBIN=$(CHAOS_PGBIN) nice python3 test/chaos/chaos.py --seed $(SEED) --kills $(KILLS) \
	  --db-stops $(DB_STOPS) --faults $(FAULTS) --duration $(DURATION) --db-every 25 $(CHAOS_ARGS)
