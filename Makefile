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

.PHONY: help deps configure build install run stop status psql test fuzz-build bench format format-check tidy clean distclean

help:
	@echo "make deps      install the Debian packages (scripts/install-deps.sh; no-op when present)"
	@echo "make build     cmake configure (once) + build, then the extension (PGXS)"
	@echo "make install   build, install the extension into PostgreSQL 15 and the binaries into $(PREFIX)/bin"
	@echo "make run       deps + install, start the local cluster and services, load sample data"
	@echo "make run REPLICAS=1  the same plus a streaming hot standby for research reads (docs/scale.md)"
	@echo "make stop      stop the services and the local cluster"
	@echo "make status    what is running;  make psql: a psql shell on the database"
	@echo "make test      deps + build + install, then every test suite (scripts/test.sh)"
	@echo "make bench     build, then run $(BUILD_DIR)/bench/bench_*"
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
