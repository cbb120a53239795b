#!/usr/bin/env bash
# One command for the load, cold-start and infra numbers of BENCHMARKS.md:
#
#   tests/bench/run.sh [bench options, e.g. --requests 20000 --concurrency 16,200]
#
# Builds the release binaries (handler, infra, bench, bare-axum), installs the Node seed handler's
# dependencies when ../shared/anchors/seed-node exists, then runs target/release/bench, which prints
# markdown tables. Run it on a quiet machine: the load shares the cores with the servers measured.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --locked -p handler -p infra -p relay-tests --bin handler --bin infra --bin bench --bin bare-axum
seed=../shared/anchors/seed-node
if [ -f "$seed/package.json" ] && [ ! -d "$seed/node_modules" ]; then
  (cd "$seed" && npm install --no-audit --no-fund --silent)
fi
exec target/release/bench "$@"
