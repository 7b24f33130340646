#!/usr/bin/env bash
# Runs one benchmark (bench/<name>.bench.mjs) on the project's Node 22, installing wrk first if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:-lifecycle}"
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null; else sudo apt-get install -y wrk >/dev/null; fi
fi
[ -d node_modules ] || npm ci --no-audit --no-fund
exec npm run --silent "bench:${name}"
