#!/usr/bin/env bash
# demo.sh — set everything up, build, and serve the demo page on localhost.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
exec node tools/serve.mjs "$@"
