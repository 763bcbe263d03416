#!/usr/bin/env bash
# Installs what kubemcp needs from Debian packages. `build` = enough to compile and run;
# `test` = also everything the test suite uses. Only calls apt-get when something is missing.
set -euo pipefail

build_packages=(build-essential cmake pkg-config libmicrohttpd-dev libgnutls28-dev libcurl4-openssl-dev
  libjansson-dev libcjose-dev libfyaml-dev libssl-dev)
test_packages=(libcmocka-dev clang libclang-rt-14-dev openssl ca-certificates)

want=("${build_packages[@]}")
if [[ "${1:-build}" == "test" ]]; then
  want+=("${test_packages[@]}")
  # Any Node.js with npm will do: the tests fetch Node 22 itself from the npm registry.
  command -v npm >/dev/null 2>&1 || want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
