"""A stdlib-only mock of the Anthropic Messages API and the Gemini API, speaking their real
streaming wire formats (Anthropic: `event:` + `data:` SSE; Gemini: `data:`-only SSE from
`:streamGenerateContent?alt=sse`). The first turn of a conversation gets thinking plus two
parallel tool calls; a turn that carries tool results gets a text answer. Every request
is recorded (path, lower-cased headers, JSON body)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mock_openai_upstream import send_body

ANTHROPIC_SIGNATURE = "EqQBCkYIBxgCKkBsignature=="
GEMINI_SIGNATURE = "CiQBjz1rXthoughtsig=="


def _anthropic_sse(events):
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)


def anthropic_tool_turn():
    start = {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 120, "output_tokens": 1,
                                                              "cache_read_input_tokens": 80}}}

    def block(i, b):
        return {"type": "content_block_start", "index": i, "content_block": b}

    def delta(i, d):
        return {"type": "content_block_delta", "index": i, "delta": d}

    def stop(i):
        return {"type": "content_block_stop", "index": i}

    return _anthropic_sse([
        start,
        block(0, {"type": "thinking", "thinking": ""}),
        delta(0, {"type": "thinking_delta", "thinking": "Two cities, "}),
        delta(0, {"type": "thinking_delta", "thinking": "two calls."}),
        delta(0, {"type": "signature_delta", "signature": ANTHROPIC_SIGNATURE}),
        stop(0),
        {"type": "ping"},
        block(1, {"type": "tool_use", "id": "toolu_paris", "name": "get_weather", "input": {}}),
        delta(1, {"type": "input_json_delta", "partial_json": ""}),
        delta(1, {"type": "input_json_delta", "partial_json": "{\"city\": "}),
        delta(1, {"type": "input_json_delta", "partial_json": "\"Paris\"}"}),
        stop(1),
        block(2, {"type": "tool_use", "id": "toolu_oslo", "name": "get_weather", "input": {}}),
        delta(2, {"type": "input_json_delta", "partial_json": "{\"city\": \"Oslo\"}"}),
        stop(2),
        {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
         "usage": {"output_tokens": 57}},
        {"type": "message_stop"},
    ])


def anthropic_text_turn():
    return _anthropic_sse([
        {"type": "message_start", "message": {
            "id": "msg_2", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 300, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Paris 22C, "}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Oslo -3C."}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
         "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    ])


def _gemini_sse(events):
    return "".join(f"data: {json.dumps(e)}\n\n" for e in events)


def _gemini_usage(prompt, candidates, thoughts):
    return {"promptTokenCount": prompt, "candidatesTokenCount": candidates, "thoughtsTokenCount": thoughts,
            "totalTokenCount": prompt + candidates + thoughts}


def gemini_tool_turn():
    def event(parts, finish=None, usage=None):
        candidate = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        e = {"candidates": [candidate], "modelVersion": "gemini-3-pro-preview"}
        if usage:
            e["usageMetadata"] = usage
        return e

    return _gemini_sse([
        event([{"text": "Two cities.", "thought": True}], usage=_gemini_usage(90, 0, 40)),
        event([{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": GEMINI_SIGNATURE},
               {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}], usage=_gemini_usage(90, 14, 40)),
        # Gemini 3: the finish comes alone, on an empty text part.
        event([{"text": ""}], "STOP", _gemini_usage(90, 14, 40)),
    ])


def gemini_text_turn():
    return _gemini_sse([
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Paris 22C, "}]}, "index": 0}]},
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Oslo -3C."}]}, "finishReason": "STOP",
                         "index": 0}], "usageMetadata": _gemini_usage(200, 8, 0)},
    ])


def _carries_tool_results(path, body):
    if path.endswith("/messages"):
        last = body["messages"][-1]["content"]
        return isinstance(last, list) and any(b.get("type") == "tool_result" for b in last)
    return any("functionResponse" in p for p in body["contents"][-1]["parts"])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    recorded = None

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.recorded.append({"path": self.path, "headers": headers, "body": body})
        results = _carries_tool_results(self.path, body)
        if self.path.endswith("/messages"):
            payload = anthropic_text_turn() if results else anthropic_tool_turn()
        elif ":streamGenerateContent?alt=sse" in self.path:
            payload = gemini_text_turn() if results else gemini_tool_turn()
        else:
            self.send_error(404)
            return
        send_body(self, "text/event-stream", payload.encode())


def start_native_upstreams():
    """Returns (server, base URL, list of recorded requests)."""
    recorded = []
    handler = type("RecordingHandler", (Handler,), {"recorded": recorded})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}", recorded
