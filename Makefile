# The two commands a newcomer runs are `make demo` and `make test`. Every target first runs
# scripts/install-deps.sh, which installs only what is missing.
SHELL := /bin/bash
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
CTEST_FLAGS ?= --output-on-failure --timeout 600
DEMO_DURATION ?= 30
BENCH_ROUNDS ?= 3
BENCH_REQUESTS ?= 50000
# ccache hits across checkouts (CI builds a fresh clone in another folder): paths relative to
# the repository, and the working directory kept out of the hash.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: all deps build test test-tsan test-core-tsan sanitize sanitize-asan sanitize-tsan bench \
  demo format format-check clean soak fuzz fuzz-ci package stress stress-firestore \
  bench-firestore-node bench-proxy bench-redis-sweep

all: build

deps:
	@bash scripts/install-deps.sh

# Release build of everything into build/ (binaries in build/bin/).
build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The whole suite against real servers (the tests start and stop them), then the multi-threaded
# tests under ThreadSanitizer (test-tsan). Exits non-zero on any failure.
# Benchmarks are not needed by the tests: build without them (make bench adds them).
test: deps format-check
	@$(MAKE) --no-print-directory build CMAKE_FLAGS="$(CMAKE_FLAGS) -DCONNPOOL_BUILD_BENCH=OFF"
	@ctest --test-dir $(BUILD) $(CTEST_FLAGS) -j $(JOBS)
	@$(MAKE) --no-print-directory test-tsan
	@$(MAKE) --no-print-directory fuzz-ci

# ThreadSanitizer for make test: the binaries whose code runs on several threads at once and
# that stay cheap under TSan: the pool core, the Redis client (commands, timeouts, restarts,
# injected faults), the Subscriber, and the monitor's admin server (a multi-threaded HTTP server
# over live pools). Each takes 5-25 s under TSan on this machine.
# Left to make sanitize (the whole suite under TSan, see docs/RELIABILITY.md): the Firestore
# binaries (gRPC is not TSan-instrumented, so TSan checks only our Asio side there, at the
# cost of thousands of suppressed reports per test: the emulator tests take about 6 min under
# TSan, the rpc tests about a minute with their listing limits scaled down; the unit, internal
# and listen_rpc ones pass in seconds but need the whole Firestore library built under TSan),
# Redis cluster and Sentinel (50-80 s each, several real servers), and the CLI/package tests
# (they run the instrumented CLI as child processes, minutes in all).
# Suppressions (third-party races only, each with its reason): tests/sanitizers/tsan.supp.
TSAN_BINARIES = core_unit_tests core_deadline_race_tests connpool_redis_resilience_tests \
  connpool_redis_pubsub_tests connpool_redis_client_tests connpool_redis_faults_tests \
  monitor_admin_server_test
TSAN_ENV = TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 \
  suppressions=$(CURDIR)/tests/sanitizers/tsan.supp"
TSAN_CMAKE = cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCONNPOOL_SANITIZE=thread -DCONNPOOL_BUILD_BENCH=OFF $(CMAKE_FLAGS)
test-tsan: deps
	@$(TSAN_CMAKE) >/dev/null
	@cmake --build build-tsan -j $(JOBS) --target $(TSAN_BINARIES)
	@set -e; for t in $(TSAN_BINARIES); do \
	  echo "test-tsan: $$t"; \
	  $(TSAN_ENV) build-tsan/bin/$$t --gtest_brief=1; \
	done

# Debian packages (libconnpool-dev, connpool) from the Release build, into $(BUILD)/packages.
package: build
	@cmake --build $(BUILD) --target package
	@ls -1 $(BUILD)/packages/*.deb

# Kept for scripts that call the old name.
test-core-tsan: test-tsan

# The whole suite under ASan+UBSan, then under TSan (every backend, not only the core).
sanitize: sanitize-asan sanitize-tsan

# ASan+UBSan over the whole suite: 633 ctest entries, about 13 min at -j2 on 2 cores after a
# from-scratch build of about 70 min (docs/RELIABILITY.md, "ASan+UBSan, the whole suite to the end").
sanitize-asan: deps
	@cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCONNPOOL_SANITIZE=address,undefined -DCONNPOOL_BUILD_BENCH=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1" \
	  ctest --test-dir build-asan $(CTEST_FLAGS) -j $(JOBS)

sanitize-tsan: deps
	@$(TSAN_CMAKE) >/dev/null
	@cmake --build build-tsan -j $(JOBS)
	@$(TSAN_ENV) ctest --test-dir build-tsan $(CTEST_FLAGS) -j $(JOBS)

# The official Node client (@google-cloud/firestore, npm-installed into $(BUILD)/firestore-node)
# against `connpool bench firestore` on one emulator, alternating, ROUNDS rounds (default 3):
# the ratio table of docs/BENCHMARKS.md. Not part of make test.
bench-firestore-node: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target connpool
	@bash bench/firestore-node/compare.sh $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory build CMAKE_FLAGS="$(CMAKE_FLAGS) -DCONNPOOL_BUILD_BENCH=ON"
	@$(BUILD)/bin/connpool_core_bench --benchmark_counters_tabular=true

# `connpool proxy` against redis-server direct and nutcracker (docs/BENCHMARKS.md). Not part of
# make test: several minutes of redis-benchmark.
bench-proxy: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target connpool
	@/usr/bin/python3 bench/proxy/bench_proxy.py $(BUILD)/bin/connpool $(BENCH_ROUNDS) $(BENCH_REQUESTS)

demo: build
	@if [[ -x $(BUILD)/bin/connpool ]]; then \
	  $(BUILD)/bin/connpool demo --duration $(DEMO_DURATION); \
	else \
	  echo "make demo: the connpool CLI is not built yet (see issue 'Configuration ... and the connpool CLI')."; \
	  echo "make demo: until it lands, 'make bench' runs the pool-core benchmarks."; \
	  exit 1; \
	fi

# libFuzzer targets (clang): config parser, Redis URL parser, RESP replies, Firestore JSON.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = config_fuzz redis_url_fuzz resp_fuzz firestore_json_fuzz firestore_wire_fuzz
fuzz: deps
	@cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCONNPOOL_FUZZ=ON \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus/$$t build-fuzz/artifacts; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	  build-fuzz/bin/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=build-fuzz/artifacts/$$t- build-fuzz/corpus/$$t fuzz/seeds/$$t 2>&1 | \
	    grep -E "stat::(number_of_executed_units|average_exec_per_sec|new_units_added)|ERROR|SUMMARY|Test unit written" ; \
	  test $${PIPESTATUS[0]} -eq 0; \
	done

# Bounded fuzzing for make test: every target for FUZZ_CI_SECONDS (default 60 s) each.
FUZZ_CI_SECONDS ?= 60
fuzz-ci:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_CI_SECONDS)

# Soak (not part of make test): SOAK_MINUTES of mixed Redis + Firestore load while redis-server
# and the Firestore emulator are killed and restarted; fails on memory growth or any leak.
SOAK_MINUTES ?= 10
soak: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target connpool_soak
	@SOAK_MINUTES=$(SOAK_MINUTES) $(BUILD)/bin/connpool_soak

# The Redis sweep (not part of make test): `connpool bench redis --sweep` over callers
# {1,10,50,500} x values {16 B, 1 KiB, 64 KiB, 1 MiB}, every client (redis-benchmark, -P 16,
# hiredis-pool, connpool auto-pipelining and exclusive leases) once per round, SWEEP_ROUNDS
# rounds of SWEEP_DURATION seconds, against a redis-server of its own (loopback TCP, no
# persistence, killed afterwards by its PID). Writes $(SWEEP_OUT)/redis-sweep.{csv,json,svg,png}
# and redis-sweep-runs.csv; prints `uptime` before and after. SWEEP_ARGS restricts the grid, e.g.
# SWEEP_ARGS="--sweep-callers 1,50 --sweep-values 16".
SWEEP_ROUNDS ?= 3
SWEEP_DURATION ?= 2
SWEEP_ARGS ?=
SWEEP_OUT ?= docs/images
bench-redis-sweep: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target connpool
	@set -e; dir=$$(mktemp -d); pid=""; \
	trap 'if [ -n "$$pid" ]; then kill $$pid; wait $$pid 2>/dev/null || true; fi; rm -rf $$dir' EXIT; \
	for try in 1 2 3 4 5; do \
	  port=$$(shuf -i 20000-60000 -n 1); \
	  redis-server --port $$port --bind 127.0.0.1 --save '' --appendonly no --dir $$dir \
	    >$$dir/redis.log 2>&1 & pid=$$!; \
	  for i in $$(seq 50); do redis-cli -p $$port ping >/dev/null 2>&1 && break; sleep 0.1; done; \
	  if redis-cli -p $$port ping >/dev/null 2>&1; then break; fi; \
	  kill $$pid 2>/dev/null || true; pid=""; \
	done; \
	test -n "$$pid" || { echo "bench-redis-sweep: redis-server did not start"; cat $$dir/redis.log; exit 1; }; \
	echo "before: $$(uptime)"; \
	$(BUILD)/bin/connpool bench redis --url redis://127.0.0.1:$$port --sweep \
	  --rounds $(SWEEP_ROUNDS) --duration $(SWEEP_DURATION) --out-dir $(SWEEP_OUT) $(SWEEP_ARGS) \
	  || rc=$$?; \
	echo "after: $$(uptime)"; exit $${rc:-0}

# Stress (not part of make test): the Redis timeout, cancellation, reset and restart tests,
# plus the multiplexer / subscriber unit tests, STRESS_REPEAT times each under ASan+UBSan and
# under ThreadSanitizer (every backend, not core-only), with STRESS_HOGS busy loops taking the
# CPU away so that rare interleavings (the crash of issue 14) get their chance. Exits non-zero
# on the first failure or sanitizer report.
STRESS_REPEAT ?= 10
STRESS_HOGS ?= $(JOBS)
STRESS_FILTER ?= *Timeout*:*Cancel*:*Reset*:*Restart*:*Kill*:*Pause*:*Silent*:*Close*:*Broken*:Multiplexer*.*:SubscriberMachine.*
STRESS_TESTS = connpool_redis_unit_tests connpool_redis_conn_tests connpool_redis_resilience_tests \
  connpool_redis_faults_tests connpool_redis_pubsub_tests
# It builds in the trees of sanitize-asan and sanitize-tsan (same flags): one ASan and one TSan
# build of the project, not two of each, and ccache hits across checkouts for both.
stress: deps
	@set -e; for san in address,undefined thread; do \
	  dir=build-$${san:0:1}san; \
	  cmake -S . -B $$dir -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONNPOOL_SANITIZE=$$san \
	    -DCONNPOOL_BUILD_BENCH=OFF $(CMAKE_FLAGS) >/dev/null; \
	  cmake --build $$dir -j $(JOBS) --target $(STRESS_TESTS); \
	done
	@set -e; hogs=""; \
	for i in $$(seq $(STRESS_HOGS)); do (while :; do :; done) & hogs="$$hogs $$!"; done; \
	trap 'kill $$hogs 2>/dev/null' EXIT; \
	export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"; \
	export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/sanitizers/tsan.supp"; \
	for dir in build-asan build-tsan; do \
	  for t in $(STRESS_TESTS); do \
	    echo "stress: $$dir/bin/$$t x$(STRESS_REPEAT) (with $(STRESS_HOGS) CPU hogs)"; \
	    $$dir/bin/$$t --gtest_filter='$(STRESS_FILTER)' --gtest_repeat=$(STRESS_REPEAT) \
	      --gtest_brief=1 --gtest_fail_fast 2>&1 | tail -n 40; \
	    test $${PIPESTATUS[0]} -eq 0; \
	  done; \
	done; echo "stress: ok"

# Firestore at scale against the emulator (not part of make test): STRESS_LISTENERS listeners on
# one pool each seeing the write to its document (time and memory printed), then a
# ROUNDTRIP_DOCS-document `connpool firestore import | export` round trip compared line by line.
STRESS_LISTENERS ?= 1000
ROUNDTRIP_DOCS ?= 10000
stress-firestore: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target connpool_firestore_stress_tests connpool_cli_firestore_test
	@CONNPOOL_STRESS_LISTENERS=$(STRESS_LISTENERS) $(BUILD)/bin/connpool_firestore_stress_tests --gtest_brief=1
	@CONNPOOL_ROUNDTRIP_DOCS=$(ROUNDTRIP_DOCS) $(BUILD)/bin/connpool_cli_firestore_test \
	  --gtest_filter='CliFirestore.ImportExportRoundTrips*' --gtest_brief=1
	@echo "stress-firestore: ok"

FORMAT_FILES = $(shell git ls-files '*.hpp' '*.cpp' '*.h' '*.cc' 2>/dev/null)
format: deps
	@clang-format -i $(FORMAT_FILES)

format-check: deps
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: ok"

clean:
	@rm -rf $(BUILD) build-tsan build-asan
