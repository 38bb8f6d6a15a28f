#!/usr/bin/env python3
"""Sequential streaming latency probe for bench/run.sh (standard library only).

Sends N `stream: true` chat completions one after another over one keep-alive connection to
127.0.0.1 and times, per request, from the first byte sent to:
  head   the end of the response header block,
  first  the first complete SSE `data:` event (the time to first byte a user sees),
  done   the end of the body (`data: [DONE]` and the last chunk).
Prints one JSON object with p50/p90/p99/mean/min/max of each, in milliseconds.
Bounded: N requests, a socket timeout per read, and at most 10 reconnects.
"""
import argparse
import json
import socket
import statistics
import sys
import time


class Broken(Exception):
    pass


def percentile(sorted_xs, p):
    """Linear interpolation between closest ranks."""
    k = (len(sorted_xs) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (k - lo)


class Connection:
    def __init__(self, port, timeout):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise Broken("connection closed by the server")
        self.buf += data
        return time.perf_counter()

    def close(self):
        self.sock.close()


def exchange(conn, request):
    """One request; returns (status, head, first, done) in seconds since the send."""
    t0 = time.perf_counter()
    conn.sock.sendall(request)
    while b"\r\n\r\n" not in conn.buf:
        conn.fill()
    t_head = time.perf_counter()
    head, conn.buf = conn.buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = bytearray()
    t_first = None

    def note_body():
        nonlocal t_first
        if t_first is None and b"\n\n" in body and body.lstrip().startswith(b"data:"):
            t_first = time.perf_counter()

    if "content-length" in headers:
        size = int(headers["content-length"])
        while len(conn.buf) < size:
            conn.fill()
        body += conn.buf[:size]
        conn.buf = conn.buf[size:]
        note_body()
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            while b"\r\n" not in conn.buf:
                conn.fill()
            size_line, conn.buf = conn.buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(conn.buf) < size + 2:
                conn.fill()
            body += conn.buf[:size]
            conn.buf = conn.buf[size + 2:]
            if size == 0:
                break
            note_body()
    else:
        raise Broken("response has neither Content-Length nor chunked encoding")
    t_done = time.perf_counter()
    if status != 200:
        raise Broken(f"HTTP {status}: {bytes(body[:300])!r}")
    if b"data: [DONE]" not in body:
        raise Broken("stream ended without data: [DONE]")
    return t_head - t0, (t_first or t_done) - t0, t_done - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/v1/chat/completions")
    ap.add_argument("--body", required=True, help="file with the JSON body (stream: true)")
    ap.add_argument("-H", dest="headers", action="append", default=[], help="'Name: value'")
    ap.add_argument("-n", type=int, default=200, help="measured requests")
    ap.add_argument("--warmup", type=int, default=10, help="unmeasured requests first")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per socket read")
    args = ap.parse_args()

    body = open(args.body, "rb").read()
    head = [f"POST {args.path} HTTP/1.1", f"Host: 127.0.0.1:{args.port}",
            "Content-Type: application/json", "Accept: text/event-stream",
            f"Content-Length: {len(body)}"] + args.headers
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + body

    conn = Connection(args.port, args.timeout)
    samples, errors, reconnects = [], 0, 0
    for i in range(args.warmup + args.n):
        try:
            sample = exchange(conn, request)
        except (Broken, OSError, ValueError, IndexError) as e:
            errors += 1
            print(f"ttfb.py: request {i}: {e}", file=sys.stderr)
            conn.close()
            reconnects += 1
            if reconnects > 10:
                break
            conn = Connection(args.port, args.timeout)
            continue
        if i >= args.warmup:
            samples.append(sample)
    conn.close()

    out = {"n": len(samples), "errors": errors}
    for idx, name in enumerate(("head", "first", "done")):
        xs = sorted(s[idx] * 1000.0 for s in samples)
        if xs:
            out[name] = {"p50": percentile(xs, 50), "p90": percentile(xs, 90),
                         "p99": percentile(xs, 99), "mean": statistics.fmean(xs),
                         "min": xs[0], "max": xs[-1]}
    print(json.dumps(out))
    return 0 if samples and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
