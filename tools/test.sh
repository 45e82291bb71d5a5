#!/usr/bin/env bash
# test.sh — set everything up and run every test: C unit tests (ctest), the same tests under
# AddressSanitizer + UBSan, CLI runs under LeakSanitizer and valgrind, each libFuzzer target
# for a short while, the WebAssembly build under Node against the native build, and the page
# in headless Chromium, then the embedding kit: the npm package in Hugo, Jekyll, Hexo and Vite
# sites, and the article in Firefox and WebKit. Exits non-zero if any layer fails.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
jobs=$(nproc)
failed=()

echo "== 1/7 C unit tests (ctest) =="
ctest --test-dir build --output-on-failure -j"$jobs" || failed+=("ctest")

echo "== 2/7 C unit tests under AddressSanitizer + UndefinedBehaviorSanitizer =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDS_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -j"$jobs" -E '_slow$' || failed+=("ctest-asan")

echo "== 3/7 leak check: CLI runs under LeakSanitizer, a sampling run under valgrind =="
tests/leak_check.sh build-asan build || failed+=("leaks")

echo "== 4/7 fuzzing: each libFuzzer target for 15 s on a copy of its corpus =="
tests/fuzz/run.sh 15 build-fuzz || failed+=("fuzz")

echo "== 5/7 WebAssembly under Node, compared with the native build =="
node --no-experimental-fetch --test tests/wasm/*.test.mjs || failed+=("wasm")

echo "== 6/7 the page in headless Chromium =="
# the project's Fashion classifier judges the editing test's scribbles: trained once (about 5
# minutes on 2 cores, 5 epochs) by a tiny eval run, then cached in out/
if [ ! -f out/fashion-classifier.bin ]; then
  echo "test.sh: training the Fashion classifier once (out/fashion-classifier.bin)"
  build/diffuscope eval --weights weights/fashion-unet.dsw -n 2 --steps 2 >/dev/null || failed+=("classifier")
fi
# one browser test file at a time (they measure in-page timings); older Node lacks the flag
serial=""
node --help | grep -q -- --test-concurrency && serial="--test-concurrency=1"
node --test $serial tests/browser/*.test.mjs || failed+=("browser")

echo "== 7/7 the embedding kit: npm package in Hugo, Jekyll, Hexo, Vite sites; Firefox and WebKit =="
node --test $serial tests/blogs/*.test.mjs || failed+=("blogs")

if ((${#failed[@]})); then
  echo "test.sh: FAILED layers: ${failed[*]}"
  exit 1
fi
echo "test.sh: all test layers passed"
