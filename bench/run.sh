#!/usr/bin/env bash
# switchboard overhead benchmark: the same load sent straight to a mock OpenAI upstream and
# through switchboard, back to back in one run, on 127.0.0.1 only. See BENCHMARKS.md.
#
#   bench/run.sh            full run (about 3 minutes after the build)
#   bench/run.sh --smoke    about 2 s per case; checks that everything answers, asserts no timings
#
# Knobs (environment):
#   DUR=10          seconds per load run (smoke: 2)
#   REPS=1          repetitions of every case; the report shows the median
#   TTFB_N=200      sequential streaming requests for the time-to-first-byte probe (smoke: 20)
#   SLOW_TTFB_N=50  the same with the 50 ms upstream (smoke: 5)
#   LIMITS=auto     budget + rate limit on the bench key: auto (on when `switchboard check`
#                   accepts them), on (fail if rejected), off
#   CACHE=auto      cache-hit case: auto (run it when `check` accepts `cache_ttl`), off
#   FLEET=auto      fleet case: a second gateway with `cluster.redis` on a loopback
#                   redis-server, measured beside the single binary: auto (when redis-server
#                   is installed, limits are on and `check` accepts `cluster`), off
#   LOAD_CPU=0 GW_CPU=1   taskset cores: wrk, the probe and the mocks on LOAD_CPU, switchboard
#                   alone on GW_CPU (no pinning when taskset is missing or there is one core)
#   MOCK_PORT SLOW_PORT SB_PORT   loopback ports (default: free ones picked at start)
#   NICE=0          nice level for every process of the run (wrk, probe, mocks, switchboard)
#   RT=0            1: run them under SCHED_RR (chrt -r 1, root). On a machine shared with
#                   other CPU-bound work, a woken gateway otherwise waits for the other
#                   work's time slice (milliseconds), whatever its nice level; the kernel's
#                   RT throttling still leaves 5% of each core to everything else. (Round
#                   robin, not FIFO: FIFO would starve switchboard's usage-writer thread.)
#   SB_RUST_LOG     switchboard's RUST_LOG (default: unset, i.e. its default level)
#   NO_BUILD=1      use the existing target/release binaries
#   SB_BIN          the switchboard binary to measure (default target/release/switchboard;
#                   e.g. an older build, for a before/after comparison on the same machine)
#   RESULTS_DIR     default bench/results/<timestamp>
# Every load run is bounded in time, the probe in count; every process started here is
# stopped by its PID when the script exits.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BENCH="$ROOT/bench"

MODE=full
case "${1:-}" in
  "") ;;
  --smoke) MODE=smoke ;;
  -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--smoke]" >&2; exit 2 ;;
esac
if [ "$MODE" = smoke ]; then
  DUR="${DUR:-2}"; TTFB_N="${TTFB_N:-20}"; SLOW_TTFB_N="${SLOW_TTFB_N:-5}"; WARM=1
else
  DUR="${DUR:-10}"; TTFB_N="${TTFB_N:-200}"; SLOW_TTFB_N="${SLOW_TTFB_N:-50}"; WARM=3
fi
REPS="${REPS:-1}"; LIMITS="${LIMITS:-auto}"; CACHE="${CACHE:-auto}"; FLEET="${FLEET:-auto}"
LOAD_CPU="${LOAD_CPU:-0}"; GW_CPU="${GW_CPU:-1}"; NICE="${NICE:-0}"; RT="${RT:-0}"
# Ports not given are picked free (three distinct ones, held open together while picked).
read -r FREE1 FREE2 FREE3 FREE4 FREE5 < <(python3 -c 'import socket
s = [socket.socket() for _ in range(5)]
[x.bind(("127.0.0.1", 0)) for x in s]
print(*(x.getsockname()[1] for x in s))')
MOCK_PORT="${MOCK_PORT:-$FREE1}"; SLOW_PORT="${SLOW_PORT:-$FREE2}"; SB_PORT="${SB_PORT:-$FREE3}"
FLEET_PORT="${FLEET_PORT:-$FREE4}"; REDIS_PORT="${REDIS_PORT:-$FREE5}"
R="${RESULTS_DIR:-$BENCH/results/$(date +%Y%m%d-%H%M%S)-$MODE}"
mkdir -p "$R/raw"
R="$(cd "$R" && pwd)"
SB_BIN="${SB_BIN:-$ROOT/target/release/switchboard}"
MOCK_BIN="$ROOT/target/release/examples/mock_upstream"
KEY="sk-bench-overhead-0001"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ------------------------------------------------------------------ tools
for tool in curl python3; do command -v "$tool" >/dev/null || die "$tool is required"; done
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing wrk (apt-get)"
    apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
  fi
  command -v wrk >/dev/null || die "wrk is required (Debian/Ubuntu: apt-get install wrk)"
fi
PIN_LOAD=(); PIN_GW=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  PIN_LOAD=(taskset -c "$LOAD_CPU"); PIN_GW=(taskset -c "$GW_CPU")
else
  log "note: no taskset or a single core: processes are not pinned"
fi
if [ "$NICE" != 0 ]; then
  nice -n "$NICE" true 2>/dev/null || die "cannot run at NICE=$NICE (negative levels need root)"
  PIN_LOAD=(nice -n "$NICE" "${PIN_LOAD[@]}"); PIN_GW=(nice -n "$NICE" "${PIN_GW[@]}")
fi
if [ "$RT" = 1 ]; then
  chrt -r 1 true 2>/dev/null || die "cannot run under SCHED_RR (RT=1 needs root and chrt)"
  PIN_LOAD=(chrt -r 1 "${PIN_LOAD[@]}"); PIN_GW=(chrt -r 1 "${PIN_GW[@]}")
fi

if [ "${NO_BUILD:-0}" != 1 ]; then
  log "building release binaries (cargo build --release --bin switchboard --example mock_upstream)"
  cargo build --release --quiet --bin switchboard --example mock_upstream
fi
[ -x "$SB_BIN" ] && [ -x "$MOCK_BIN" ] || die "missing $SB_BIN or $MOCK_BIN"

for port in "$MOCK_PORT" "$SLOW_PORT" "$SB_PORT"; do
  if curl -s -o /dev/null -m 1 "http://127.0.0.1:$port/"; then
    die "port $port on 127.0.0.1 is already in use (set MOCK_PORT / SLOW_PORT / SB_PORT)"
  fi
done

# ------------------------------------------------------------------ processes
declare -A PID=()
STARTED=()
alive() { [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
cleanup() {
  local p i
  for p in "${STARTED[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${STARTED[@]}"; do
    for i in $(seq 1 100); do alive "$p" || break; sleep 0.1; done
    if alive "$p"; then log "PID $p ignored SIGTERM for 10 s: SIGKILL"; kill -9 "$p" 2>/dev/null || true; fi
    wait "$p" 2>/dev/null || true
  done
  STARTED=()
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }           # utime + stime, whole process
mem_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }  # VmRSS | VmHWM

wait_ready() {  # $1 name, $2 url: up to 30 s, failing early if the process died
  local i
  for i in $(seq 1 300); do
    if [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$2" || true)" = 200 ]; then return 0; fi
    if ! alive "${PID[$1]}"; then
      log "$1 exited during start-up:"; tail -n 20 "$R/$1.log" >&2; return 1
    fi
    sleep 0.1
  done
  die "$1 not ready after 30 s"
}

start_mock() {  # $1 name, $2 port, $3 delay ms, $4 chunk delay ms
  "${PIN_LOAD[@]}" "$MOCK_BIN" --port "$2" --delay-ms "$3" --chunk-delay-ms "$4" --chunks 20 \
    --threads 1 >"$R/$1.log" 2>&1 &
  PID[$1]=$!; STARTED+=("$!")
  wait_ready "$1" "http://127.0.0.1:$2/health"
}

# ------------------------------------------------------------------ config and payloads
body() {  # $1 model, $2 stream true|false -> a realistic chat request
  printf '{"model":"%s","messages":[{"role":"system","content":"You are a helpful assistant. Answer concisely and accurately."},{"role":"user","content":"Give me a one-sentence summary of why HTTP keep-alive matters for API gateways that sit in front of LLM providers."}],"temperature":0.2,"max_tokens":128,"stream":%s}' "$1" "$2"
}
mkdir -p "$R/payloads"
body bench/fast false >"$R/payloads/fast.json"
body bench/fast true >"$R/payloads/fast-stream.json"
body bench/slow false >"$R/payloads/slow.json"
body bench/slow true >"$R/payloads/slow-stream.json"
body bench/cached false >"$R/payloads/cached.json"

write_config() {  # $1 file, $2 limits 0|1, $3 cache 0|1
  {
    echo "# generated by bench/run.sh"
    echo "server:"
    echo "  listen: 127.0.0.1:$SB_PORT"
    echo "database:"
    echo "  path: \"$R/switchboard.db\""
    echo "providers:"
    echo "  mock: { type: openai, base_url: \"http://127.0.0.1:$MOCK_PORT/v1\", api_key: sk-upstream-bench }"
    echo "  slow: { type: openai, base_url: \"http://127.0.0.1:$SLOW_PORT/v1\", api_key: sk-upstream-bench }"
    echo "models:"
    echo "  bench/fast:"
    echo "    endpoints: [ { provider: mock, model: mock-model, price: { prompt: 0.15, completion: 0.60 } } ]"
    echo "  bench/slow:"
    echo "    endpoints: [ { provider: slow, model: mock-model, price: { prompt: 0.15, completion: 0.60 } } ]"
    if [ "$3" = 1 ]; then
      echo "  bench/cached:"
      echo "    cache_ttl: 10m"
      echo "    endpoints: [ { provider: mock, model: mock-model, price: { prompt: 0.15, completion: 0.60 } } ]"
    fi
    echo "keys:"
    echo "  - name: bench"
    echo "    key: $KEY"
    if [ "$2" = 1 ]; then
      echo "    budget: { limit_usd: 1000000, period: monthly }"
      echo "    rate_limit: { requests_per_minute: 100000000, tokens_per_minute: 100000000000 }"
    fi
  } >"$1"
}
accepts() { "$SB_BIN" check --config "$1" >"$1.check" 2>&1; }

USE_LIMITS=0; USE_CACHE=0
if [ "$LIMITS" != off ]; then
  write_config "$R/probe-limits.yaml" 1 0
  if accepts "$R/probe-limits.yaml"; then USE_LIMITS=1
  elif [ "$LIMITS" = on ]; then cat "$R/probe-limits.yaml.check" >&2; die "LIMITS=on but this build rejects budget/rate_limit"
  else log "note: this build rejects budget/rate_limit on keys: measuring without them (LIMITS=auto)"; fi
fi
if [ "$CACHE" != off ]; then
  write_config "$R/probe-cache.yaml" 0 1
  if accepts "$R/probe-cache.yaml"; then USE_CACHE=1
  else log "note: this build has no response cache (cache_ttl rejected): no cache-hit case"; fi
fi
rm -f "$R"/probe-*.yaml "$R"/probe-*.yaml.check
write_config "$R/switchboard.yaml" "$USE_LIMITS" "$USE_CACHE"
accepts "$R/switchboard.yaml" || { cat "$R/switchboard.yaml.check" >&2; die "generated config rejected"; }
# The fleet gateway: the same config on its own port and usage log, sharing state through
# a redis-server on loopback.
USE_FLEET=0
if [ "$FLEET" != off ] && [ "$USE_LIMITS" = 1 ] && command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
  sed -e "s/127.0.0.1:$SB_PORT/127.0.0.1:$FLEET_PORT/" -e "s#$R/switchboard.db#$R/fleet.db#" "$R/switchboard.yaml" >"$R/fleet.yaml"
  printf 'cluster:\n  redis: redis://127.0.0.1:%s/0\n  redis_timeout: 1s\n' "$REDIS_PORT" >>"$R/fleet.yaml"
  # `check` also connects to Redis, which is not started yet: only a config error (exit 2) rejects.
  "$SB_BIN" check --config "$R/fleet.yaml" >"$R/fleet.yaml.check" 2>&1 && USE_FLEET=1 || [ $? = 2 ] || USE_FLEET=1
  [ "$USE_FLEET" = 1 ] || log "note: this build rejects cluster.redis: no fleet case"
elif [ "$FLEET" != off ]; then
  log "note: no fleet case (needs redis-server and redis-cli, and limits on)"
fi

{
  echo "date: $(date -Is)"
  echo "mode: $MODE"
  echo "kernel: $(uname -r)"
  echo "cpus: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "rustc: $(rustc --version 2>/dev/null || echo unknown)"
  echo "wrk: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
  echo "python: $(python3 --version 2>&1)"
  echo "switchboard: $("$SB_BIN" --version 2>/dev/null) ($(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown))"
  echo "pinning: ${PIN_GW[*]:-none} for switchboard; ${PIN_LOAD[*]:-none} for wrk, probe and mocks"
  echo "busiest other processes at start: $(ps -eo pcpu=,comm= --sort=-pcpu | head -3 | awk '{printf "%s %s%%; ", $2, $1}')"
  echo "settings: DUR=${DUR}s REPS=$REPS TTFB_N=$TTFB_N SLOW_TTFB_N=$SLOW_TTFB_N NICE=$NICE RT=$RT limits=$USE_LIMITS cache=$USE_CACHE fleet=$USE_FLEET RUST_LOG=${SB_RUST_LOG:-unset}"
  if [ "$USE_FLEET" = 1 ]; then
    echo "redis: $(redis-server --version | cut -d' ' -f1-3), on ${PIN_LOAD[*]:-any core} with wrk and the mocks"
  fi
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "command: $([ "$RT" = 1 ] && echo "RT=1 ")$([ "$NICE" != 0 ] && echo "NICE=$NICE ")$([ "$REPS" != 1 ] && echo "REPS=$REPS ")bench/run.sh $*"
} >"$R/env.txt"

# ------------------------------------------------------------------ start
start_mock mock "$MOCK_PORT" 0 0
start_mock slow "$SLOW_PORT" 50 5
if [ -n "${SB_RUST_LOG:-}" ]; then export RUST_LOG="$SB_RUST_LOG"; else unset RUST_LOG; fi
"${PIN_GW[@]}" "$SB_BIN" serve --config "$R/switchboard.yaml" >"$R/switchboard.log" 2>&1 &
PID[switchboard]=$!; STARTED+=("$!")
wait_ready switchboard "http://127.0.0.1:$SB_PORT/health"
sleep 0.5
printf '{"rss_kb_after_start": %s}\n' "$(mem_kb "${PID[switchboard]}" VmRSS)" >"$R/raw/start.json"

if [ "$USE_FLEET" = 1 ]; then
  "${PIN_LOAD[@]}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >"$R/redis.log" 2>&1 &
  PID[redis]=$!; STARTED+=("$!")
  for _ in $(seq 1 100); do [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break; sleep 0.1; done
  "${PIN_GW[@]}" "$SB_BIN" serve --config "$R/fleet.yaml" >"$R/fleet.log" 2>&1 &
  PID[fleet]=$!; STARTED+=("$!")
  wait_ready fleet "http://127.0.0.1:$FLEET_PORT/ready"
fi

AUTH="Authorization: Bearer $KEY"
# Every case but the cache-hit one asks not to use the response cache, in case a build
# caches by default: those cases measure the proxy path.
NOCACHE="X-Switchboard-Cache: false"
for payload in fast fast-stream slow; do
  code=$(curl -s -m 10 -o "$R/probe-$payload.body" -w '%{http_code}' -H "$AUTH" \
    -H 'Content-Type: application/json' --data-binary "@$R/payloads/$payload.json" \
    "http://127.0.0.1:$SB_PORT/v1/chat/completions" || true)
  [ "$code" = 200 ] || { head -c 600 "$R/probe-$payload.body" >&2; echo >&2; die "switchboard answered $code to $payload"; }
done
if [ "$USE_FLEET" = 1 ]; then
  code=$(curl -s -m 10 -o "$R/probe-fleet.body" -w '%{http_code}' -H "$AUTH" -H 'Content-Type: application/json' \
    --data-binary "@$R/payloads/fast.json" "http://127.0.0.1:$FLEET_PORT/v1/chat/completions" || true)
  [ "$code" = 200 ] || { head -c 600 "$R/probe-fleet.body" >&2; echo >&2; die "the fleet gateway answered $code"; }
  grep -q '"status":"ready"' <(curl -s "http://127.0.0.1:$FLEET_PORT/ready") || die "the fleet gateway is not sharing state: $(curl -s "http://127.0.0.1:$FLEET_PORT/ready")"
fi
log "switchboard (PID ${PID[switchboard]}) answers; results -> $R"

# ------------------------------------------------------------------ measurements
port_of() { case $1 in direct) echo "$2" ;; switchboard) echo "$SB_PORT" ;; fleet) echo "$FLEET_PORT" ;; esac; }

load() {  # $1 case, $2 target, $3 payload, $4 connections, $5 seconds, $6 upstream port, $7 out
  local gw="${PID[switchboard]}" up t0 m0 t1 m1 r0=0 r1=0 headers="$AUTH|$NOCACHE"
  if [ "$1" = cache-c32 ]; then headers="$AUTH"; fi
  if [ "$2" = fleet ]; then gw="${PID[fleet]}"; fi
  up=$([ "$6" = "$SLOW_PORT" ] && echo "${PID[slow]}" || echo "${PID[mock]}")
  t0=$(cpu_ticks "$gw"); m0=$(cpu_ticks "$up")
  if [ -n "${PID[redis]:-}" ]; then r0=$(cpu_ticks "${PID[redis]}"); fi
  WRK_BODY_FILE="$R/payloads/$3.json" WRK_HEADERS="$headers" WRK_REPORT="$7" \
    "${PIN_LOAD[@]}" wrk -t1 -c"$4" -d"$5s" --timeout 10s -s "$BENCH/wrk_post.lua" \
    "http://127.0.0.1:$(port_of "$2" "$6")/v1/chat/completions" >"${7%.json}.txt" 2>&1 \
    || die "wrk failed: $(tail -n 5 "${7%.json}.txt")"
  t1=$(cpu_ticks "$gw"); m1=$(cpu_ticks "$up")
  if [ -n "${PID[redis]:-}" ]; then r1=$(cpu_ticks "${PID[redis]}"); fi
  printf '{"case":"%s","target":"%s","conns":%d,"gw_cpu_ticks":%d,"upstream_cpu_ticks":%d,"redis_cpu_ticks":%d,"clk_tck":%d,"gw_rss_kb":%d,"gw_hwm_kb":%d}\n' \
    "$1" "$2" "$4" $((t1 - t0)) $((m1 - m0)) $((r1 - r0)) "$(getconf CLK_TCK)" \
    "$(mem_kb "$gw" VmRSS)" "$(mem_kb "$gw" VmHWM)" >"${7%.json}.meta.json"
}

probe() {  # $1 case, $2 target, $3 payload, $4 count, $5 upstream port, $6 out
  local gw="${PID[switchboard]}" t0 t1
  t0=$(cpu_ticks "$gw")
  timeout 600 "${PIN_LOAD[@]}" python3 "$BENCH/ttfb.py" --port "$(port_of "$2" "$5")" \
    --body "$R/payloads/$3.json" -H "$AUTH" -H "$NOCACHE" -n "$4" --warmup 5 >"$6" 2>"${6%.json}.err" \
    || die "ttfb probe failed: $(tail -n 5 "${6%.json}.err")"
  t1=$(cpu_ticks "$gw")
  printf '{"case":"%s","target":"%s","gw_cpu_ticks":%d,"clk_tck":%d,"gw_rss_kb":%d,"gw_hwm_kb":%d}\n' \
    "$1" "$2" $((t1 - t0)) "$(getconf CLK_TCK)" "$(mem_kb "$gw" VmRSS)" "$(mem_kb "$gw" VmHWM)" \
    >"${6%.json}.meta.json"
}

log "warm-up (${WARM}s per target, not recorded)"
for t in direct switchboard; do
  load warmup "$t" fast 32 "$WARM" "$MOCK_PORT" "$R/warmup-$t.json"
done

for rep in $(seq 1 "$REPS"); do
  for t in direct switchboard; do   # back to back: direct, then the same through switchboard
    log "rep $rep: non-stream c=32 $t"; load ns-c32 "$t" fast 32 "$DUR" "$MOCK_PORT" "$R/raw/ns-c32-$t-r$rep.json"
  done
  for t in direct switchboard; do   # one request at a time: what the gateway adds to each (On the Bench's c=1)
    log "rep $rep: non-stream c=1 $t"; load ns-c1 "$t" fast 1 "$DUR" "$MOCK_PORT" "$R/raw/ns-c1-$t-r$rep.json"
  done
  for t in direct switchboard; do
    log "rep $rep: non-stream c=128 $t"; load ns-c128 "$t" fast 128 "$DUR" "$MOCK_PORT" "$R/raw/ns-c128-$t-r$rep.json"
  done
  for t in direct switchboard; do
    log "rep $rep: stream c=32 $t"; load st-c32 "$t" fast-stream 32 "$DUR" "$MOCK_PORT" "$R/raw/st-c32-$t-r$rep.json"
  done
  for t in direct switchboard; do
    log "rep $rep: sequential stream TTFB x$TTFB_N $t"; probe ttfb "$t" fast-stream "$TTFB_N" "$MOCK_PORT" "$R/raw/ttfb-$t-r$rep.json"
  done
  for t in direct switchboard; do
    log "rep $rep: 50 ms upstream, non-stream c=32 $t"; load d50-c32 "$t" slow 32 "$DUR" "$SLOW_PORT" "$R/raw/d50-c32-$t-r$rep.json"
  done
  for t in direct switchboard; do
    log "rep $rep: 50 ms upstream, sequential stream TTFB x$SLOW_TTFB_N $t"; probe d50-ttfb "$t" slow-stream "$SLOW_TTFB_N" "$SLOW_PORT" "$R/raw/d50-ttfb-$t-r$rep.json"
  done
  if [ "$USE_FLEET" = 1 ]; then
    for payload in fast fast-stream; do
      name=$([ "$payload" = fast ] && echo fleet-ns-c32 || echo fleet-st-c32)
      for t in switchboard fleet; do   # back to back: the single binary, then the fleet gateway
        log "rep $rep: $name $t"; load "$name" "$t" "$payload" 32 "$DUR" "$MOCK_PORT" "$R/raw/$name-$t-r$rep.json"
      done
    done
  fi
  if [ "$USE_CACHE" = 1 ]; then
    log "rep $rep: cache hits c=32 switchboard"
    load cache-c32 switchboard cached 32 "$DUR" "$MOCK_PORT" "$R/raw/cache-c32-switchboard-r$rep.json"
  fi
done

printf '{"rss_kb_end": %s, "hwm_kb_end": %s}\n' "$(mem_kb "${PID[switchboard]}" VmRSS)" \
  "$(mem_kb "${PID[switchboard]}" VmHWM)" >"$R/raw/end.json"
cleanup
if [ -f "$R/switchboard.db" ]; then
  rows=$(python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(sum(c.execute("SELECT count(*) FROM \""+n+"\"").fetchone()[0] for (n,) in c.execute("SELECT name FROM sqlite_master WHERE type=\"table\" AND name LIKE \"%usage%\"")))' "$R/switchboard.db" 2>/dev/null || echo "?")
  echo "usage log: $(du -k "$R/switchboard.db" | cut -f1) KiB, $rows rows in usage tables" >>"$R/env.txt"
fi
echo "switchboard log: $(wc -l <"$R/switchboard.log") lines, $(grep -c 'row DROPPED' "$R/switchboard.log" || true) dropped usage rows" >>"$R/env.txt"
rm -f "$R"/switchboard.db "$R"/switchboard.db-wal "$R"/switchboard.db-shm "$R"/fleet.db "$R"/fleet.db-wal "$R"/fleet.db-shm

python3 "$BENCH/report.py" "$R" >"$R/summary.md" || die "report failed"
cat "$R/summary.md"
log "results: $R"
if [ "$MODE" = smoke ]; then
  python3 "$BENCH/report.py" --check "$R" || die "smoke: some requests failed (see above)"
  log "smoke run OK (no timing assertions)"
fi
