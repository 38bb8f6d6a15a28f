# Sourced by bench/compare.sh and bench/instructions.sh: a work folder $W holding the config
# and request bodies bench/run.sh writes (from a smoke run of it with binary $1), the bench
# key $KEY, the mock port $MOCK_PORT that config points at, and `free_ports N`.
# Needs ROOT; removes $W and stops every PID in PIDS on exit.
W=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT

echo "generating the config and request bodies (bench/run.sh --smoke)..." >&2
NO_BUILD=1 SB_BIN="$1" RESULTS_DIR="$W/setup" bash "$ROOT/bench/run.sh" --smoke >"$W/setup.log" 2>&1 \
  || { tail -n 20 "$W/setup.log" >&2; exit 1; }
KEY=$(awk '/^ +key: /{print $2; exit}' "$W/setup/switchboard.yaml")
MOCK_PORT=$(grep -o 'base_url: "http://127.0.0.1:[0-9]*' "$W/setup/switchboard.yaml" | head -1 | grep -o '[0-9]*$')

free_ports() {  # $1 how many distinct free loopback ports, printed on one line
  python3 -c 'import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
[x.bind(("127.0.0.1", 0)) for x in s]
print(*(x.getsockname()[1] for x in s))' "$1"
}

config_for() {  # $1 name, $2 port: the generated config listening on $2 with its own database
  sed -e "s#listen: 127.0.0.1:[0-9]*#listen: 127.0.0.1:$2#" -e "s#path: \".*\"#path: \"$W/$1.db\"#" \
    "$W/setup/switchboard.yaml" >"$W/$1.yaml"
}
