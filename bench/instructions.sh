#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: unlike time, the count repeats
# on a machine busy with other work, so small changes show. For each build given, N
# sequential requests on one keep-alive connection through the full pipeline (the config
# and bodies bench/run.sh writes) against the mock upstream, then per request:
#   request thread  the actix worker that served them (user space: syscalls are not counted)
#   other threads   the usage writer (SQLite, and the access-log line) and the log writer
#   total           both; start-up work on the main thread is left out
#
#   bench/instructions.sh BIN [BIN ...]       N=1000 CASES="fast fast-stream"
#                                             (CASES may add `cached`: cache hits after the first)
#   KEEP=DIR bench/instructions.sh ...        also keeps callgrind's files in DIR/<n>-<case>/
#                                             for callgrind_annotate (n: the build's position)
#
# Sequential requests commit the usage log one row per transaction; under concurrent load the
# writer batches rows, so "other threads" is an upper bound.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: bench/instructions.sh BIN [BIN ...]" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-1000}; CASES=${CASES:-fast fast-stream}
BINS=(); for b in "$@"; do BINS+=("$(realpath "$b")"); done

# shellcheck source=bench/setup.sh
. "$ROOT/bench/setup.sh" "${BINS[-1]}"
"$ROOT/target/release/examples/mock_upstream" --port "$MOCK_PORT" >"$W/mock.log" 2>&1 &
PIDS+=("$!")

count() {  # $1 binary, $2 payload -> "request_thread other_threads" instructions per request
  local port out pid
  port=$(free_ports 1)
  config_for "cg-$3-$2" "$port"  # a database per build and case: builds may differ in schema
  rm -rf "$W/cg" && mkdir "$W/cg"
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$W/cg/out" \
    "$1" serve --config "$W/cg-$3-$2.yaml" >"$W/cg.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.2; done
  python3 - "$port" "$W/setup/payloads/$2.json" "$KEY" "$N" "$2" <<'EOF'
import http.client, sys
port, body_file, key, n, case = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
body = open(body_file, "rb").read()
conn = http.client.HTTPConnection("127.0.0.1", int(port))
headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
if case != "cached":  # the `cached` case is all hits after the first request
    headers["X-Switchboard-Cache"] = "false"
for _ in range(n):
    conn.request("POST", "/v1/chat/completions", body, headers)
    response = conn.getresponse()
    response.read()
    assert response.status == 200, response.status
EOF
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp -r "$W/cg" "$KEEP/$3-$2"; fi
  # One file per thread; thread 1 (main) only starts things up. The busiest of the others
  # is the request thread.
  for f in "$W"/cg/out-*; do
    [ "$(grep -m1 '^thread:' "$f" | awk '{print $2}')" = 1 ] && continue
    grep -m1 -E '^(summary|totals):' "$f" | awk '{print $2}'
  done | sort -rn | awk -v n="$N" 'NR == 1 {req = $1} NR > 1 {rest += $1} END {printf "%.0f %.0f\n", req / n, rest / n}'
}

echo "| case | build | request thread | other threads | total |"
echo "|---|---|---:|---:|---:|"
for case in $CASES; do
  for i in "${!BINS[@]}"; do
    bin=${BINS[$i]}
    read -r req rest < <(count "$bin" "$case" "$((i + 1))")
    printf '| %s | %s | %s | %s | %s |\n' "$case" "$bin" "$req" "$rest" "$((req + rest))"
  done
done
