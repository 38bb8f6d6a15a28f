#!/usr/bin/env bash
# Before/after: two switchboard builds measured side by side against the same mock upstream,
# with wrk runs alternating between them (before, after, before, after, ...) so that the
# load other jobs put on a shared machine falls on both alike. Prints a markdown table of
# requests/s and switchboard CPU µs per request for each round, and the median of each.
#
#   bench/compare.sh BEFORE_BIN AFTER_BIN
#
# Knobs: ROUNDS=3, DUR=5 (seconds per wrk run), CONNS=32, NICE=-20, CASES="fast fast-stream"
# (`cached` adds cache hits: the same request without X-Switchboard-Cache: false),
# AFTER_EXTRA (YAML appended to the AFTER config only).
# The config (auth, usage log, budget and rate limit on the key) and the request bodies are
# the ones bench/run.sh writes; a smoke run of it generates them first. Both builds get
# core GW_CPU (1), wrk and the mock core LOAD_CPU (0), when taskset exists.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: bench/compare.sh BEFORE_BIN AFTER_BIN" >&2; exit 2; }
BEFORE=$(realpath "$1"); AFTER=$(realpath "$2")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}; DUR=${DUR:-5}; CONNS=${CONNS:-32}; NICE=${NICE:--20}
CASES=${CASES:-fast fast-stream}; GW_CPU=${GW_CPU:-1}; LOAD_CPU=${LOAD_CPU:-0}

# shellcheck source=bench/setup.sh
. "$ROOT/bench/setup.sh" "$AFTER"
read -r PORT_BEFORE PORT_AFTER < <(free_ports 2)

pin() {  # $1 core: the command prefix that pins to it and sets the nice level
  local prefix=()
  [ "$NICE" != 0 ] && prefix+=(nice -n "$NICE")
  command -v taskset >/dev/null && [ "$(nproc)" -gt 1 ] && prefix+=(taskset -c "$1")
  echo "${prefix[@]}"
}
start() {  # $1 name, $2 binary, $3 port
  config_for "$1" "$3"
  # AFTER_EXTRA: YAML appended to the AFTER build's config only (e.g. an `observability:`
  # section), to measure a feature with one binary: `bench/compare.sh BIN BIN`.
  if [ "$1" = after ] && [ -n "${AFTER_EXTRA:-}" ]; then printf '%s\n' "$AFTER_EXTRA" >>"$W/$1.yaml"; fi
  # shellcheck disable=SC2046
  $(pin "$GW_CPU") "$2" serve --config "$W/$1.yaml" >"$W/$1.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 1 100); do "$2" health --url "http://127.0.0.1:$3/health" 2>/dev/null && return; sleep 0.1; done
  echo "$1 did not start" >&2; cat "$W/$1.log" >&2; exit 1
}
# shellcheck disable=SC2046
$(pin "$LOAD_CPU") "$ROOT/target/release/examples/mock_upstream" --port "$MOCK_PORT" >"$W/mock.log" 2>&1 &
PIDS+=("$!")
start before "$BEFORE" "$PORT_BEFORE"; PID_BEFORE=${PIDS[-1]}
start after "$AFTER" "$PORT_AFTER"; PID_AFTER=${PIDS[-1]}

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
measure() {  # $1 pid, $2 port, $3 payload -> "rps cpu_us_per_request"
  local t0 t1 out headers="Authorization: Bearer $KEY|X-Switchboard-Cache: false"
  [ "$3" = cached ] && headers="Authorization: Bearer $KEY"  # all hits after the first
  t0=$(ticks "$1")
  # shellcheck disable=SC2046
  out=$(WRK_BODY_FILE="$W/setup/payloads/$3.json" WRK_HEADERS="$headers" \
    WRK_REPORT="$W/wrk.json" $(pin "$LOAD_CPU") wrk -t1 -c"$CONNS" -d"${DUR}s" --timeout 10s \
    -s "$ROOT/bench/wrk_post.lua" "http://127.0.0.1:$2/v1/chat/completions" 2>&1)
  t1=$(ticks "$1")
  echo "$out" | awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" \
    '/requests in/{n=$1} /Requests\/sec/{r=$2} END{printf "%.0f %.1f\n", r, t * 1e6 / hz / n}'
}

echo "| case | round | before req/s | after req/s | after/before | before CPU µs/req | after CPU µs/req |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for case in $CASES; do
  measure "$PID_BEFORE" "$PORT_BEFORE" "$case" >/dev/null   # warm-up, not recorded
  measure "$PID_AFTER" "$PORT_AFTER" "$case" >/dev/null
  for round in $(seq 1 "$ROUNDS"); do
    read -r rb cb < <(measure "$PID_BEFORE" "$PORT_BEFORE" "$case")
    read -r ra ca < <(measure "$PID_AFTER" "$PORT_AFTER" "$case")
    echo "$case $round $rb $ra $cb $ca" >>"$W/rows"
    awk -v c="$case" -v n="$round" -v rb="$rb" -v ra="$ra" -v cb="$cb" -v ca="$ca" \
      'BEGIN{printf "| %s, c=%d | %d | %d | %d | %.2f× | %.1f | %.1f |\n", c, '"$CONNS"', n, rb, ra, ra / rb, cb, ca}'
  done
done
python3 - "$W/rows" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for case in dict.fromkeys(r[0] for r in rows):
    rs = [r for r in rows if r[0] == case]
    med = lambda i: statistics.median(float(r[i]) for r in rs)
    print(f"| {case}: median | | {med(2):.0f} | {med(3):.0f} | {med(3) / med(2):.2f}× | {med(4):.1f} | {med(5):.1f} |")
EOF
