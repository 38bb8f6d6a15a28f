#!/usr/bin/env bash
# Memory after a burst of large request bodies: starts the gateway in front of its offline
# mock model, sends BURST concurrent chat requests of BODY_MB MB each (ROUNDS times), waits
# IDLE_SECS, and prints one Markdown table row: answers by status, peak RSS (VmHWM) and the
# RSS when idle again (VmRSS), read from /proc. See BENCHMARKS.md.
#
#   bench/body_burst.sh                 the release binary (built first unless NO_BUILD=1)
#   SB_BIN=/path/to/old/switchboard bench/body_burst.sh   an older build, for before/after
#
# Knobs (environment): BURST=64 BODY_MB=10 ROUNDS=3 IDLE_SECS=10 WORKERS=2 LABEL=<binary>
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SB_BIN:-$ROOT/target/release/switchboard}
BURST=${BURST:-64} BODY_MB=${BODY_MB:-10} ROUNDS=${ROUNDS:-3} IDLE_SECS=${IDLE_SECS:-10} WORKERS=${WORKERS:-2}
LABEL=${LABEL:-$BIN}
if [[ -z "${SB_BIN:-}" && -z "${NO_BUILD:-}" ]]; then
  (cd "$ROOT" && cargo build --release --bin switchboard >&2)
fi

W=$(mktemp -d)
PID=
cleanup() { [[ -n "$PID" ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$W/config.yaml" <<EOF
server: { listen: "127.0.0.1:$PORT", workers: $WORKERS, max_body_bytes: 20MB }
database: { path: "$W/usage.db" }
providers: { demo: { type: mock, reply: ok } }
models:
  demo/echo: { endpoints: [ { provider: demo, model: echo, price: { prompt: 0, completion: 0 } } ] }
keys: [ { name: bench, key: sk-bench-body-burst } ]
EOF
RUST_LOG=warn "$BIN" --config "$W/config.yaml" serve >"$W/gateway.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  sleep 0.1
done
rss() { awk -v k="$1:" '$1 == k { print int($2 / 1024) }' "/proc/$PID/status"; }
START_RSS=$(rss VmRSS)

STATUSES=$(python3 - "$PORT" "$BURST" "$BODY_MB" "$ROUNDS" <<'EOF'
import collections, concurrent.futures, http.client, json, sys
port, burst, mb, rounds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
body = json.dumps({"model": "demo/echo", "messages": [{"role": "user", "content": "x" * (mb * 1_000_000)}]}).encode()
def one(_):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        c.request("POST", "/v1/chat/completions", body, {"authorization": "Bearer sk-bench-body-burst", "content-type": "application/json"})
        r = c.getresponse(); r.read(); return r.status
    except Exception as e:
        return type(e).__name__
    finally:
        c.close()
counts = collections.Counter()
with concurrent.futures.ThreadPoolExecutor(burst) as pool:
    for _ in range(rounds):
        counts.update(pool.map(one, range(burst)))
print(", ".join(f"{n} x {s}" for s, n in sorted(counts.items(), key=str)))
EOF
)
PEAK=$(rss VmHWM)
sleep "$IDLE_SECS"
IDLE=$(rss VmRSS)
echo "| $LABEL | $ROUNDS x $BURST x $BODY_MB MB | $STATUSES | $START_RSS MB | $PEAK MB | $IDLE MB |"
