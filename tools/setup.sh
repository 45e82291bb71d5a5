#!/usr/bin/env bash
# setup.sh — install everything Diffuscope needs on a fresh Debian 12 machine, then build.
# Idempotent: packages already present are not touched, npm runs only when the lock changed,
# and the builds are incremental. Run as root (or with sudo available).
#
#   tools/setup.sh            install + build native and WebAssembly
#   tools/setup.sh --no-build install only
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(build-essential cmake pkg-config zlib1g-dev libsimde-dev libstb-dev
      emscripten node-acorn binaryen chromium dataset-fashion-mnist
      clang libclang-rt-14-dev valgrind python3-onnx python3-numpy python3-torch
      hugo jekyll jekyll-theme-minima ruby-jekyll-feed firefox-esr webkit2gtk-driver xvfb)

missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm: Debian's packages unless the machine already has them (some images ship
# a newer Node with its own npm, which Debian's npm package would conflict with).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# npm packages, exactly as locked; reinstalled only when package-lock.json changes.
stamp=node_modules/.lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: installing npm packages from package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

[ "${1:-}" = "--no-build" ] && exit 0

jobs=$(nproc)
echo "setup: building native (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs" >/dev/null

echo "setup: building WebAssembly (build-wasm/ -> web/wasm/)"
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
[ -f build-wasm/CMakeCache.txt ] || emcmake cmake -S . -B build-wasm -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-wasm -j"$jobs" >/dev/null

echo "setup: bundling dist/ (the embedding kit)"
node tools/bundle.mjs
