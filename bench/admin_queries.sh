#!/usr/bin/env bash
# Times every admin-API query on a usage database of ROWS rows (default 10 million, over
# 90 days), generated through the real usage writer (rows and rollups). The database is
# kept in DB (default /tmp/switchboard-admin-bench.db) and reused by the next run.
# Usage: bash bench/admin_queries.sh [ROWS] [DB] [DAYS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --example admin_queries
exec target/release/examples/admin_queries "${1:-10000000}" "${2:-/tmp/switchboard-admin-bench.db}" "${3:-90}"
