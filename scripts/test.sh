#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: Rust unit and integration tests, the
# official Python SDKs against the real release binary, then the benchmark's smoke run.
# Installs what it needs: Python packages go into ./.venv from PyPI, the OpenRouter SDK into
# tests/node/node_modules from npm (pinned by its package-lock.json), and from apt: wrk,
# postgresql and redis-server (the tests start their own on free loopback ports), and
# chromium (Playwright drives it for the dashboard's browser test).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== system packages: Postgres and Redis (fleet mode), chromium (the dashboard's browser test)"
missing=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

echo "== cargo build --release"
cargo build --release --locked --bins --examples

echo "== cargo test"
cargo test --locked

echo "== node: the OpenRouter SDK's response schemas (used by the python tests)"
(cd tests/node && npm ci --no-audit --no-fund --ignore-scripts)

echo "== python real-client tests (dashboard screenshots: target/screenshots/)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
SWITCHBOARD_BIN="$PWD/target/release/switchboard" .venv/bin/python -m pytest -q tests/python

echo "== Dockerfile check (no Docker engine needed)"
PYTHON=.venv/bin/python bash scripts/docker-check.sh

echo "== benchmark smoke run (every case answers; no timing assertions)"
NO_BUILD=1 bash bench/run.sh --smoke
