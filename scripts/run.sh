#!/usr/bin/env bash
# Builds kubemcp (Release) and runs it; every argument goes to kubemcp.
# With no arguments it serves MCP over stdio against your kubeconfig (KUBECONFIG or ~/.kube/config).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" build >&2
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >&2
cmake --build "$root/build" -j"$(nproc)" --target kubemcp >&2
exec "$root/build/kubemcp" "$@"
