"""A stdlib-only mock OpenAI-compatible upstream for the real-client tests. It streams a
text answer, or two parallel tool calls when the request offers tools."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _chunk(delta, finish=None):
    return {"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": "upstream-tools",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def tool_call_events():
    return [
        _chunk({"role": "assistant", "content": None}),
        _chunk({"tool_calls": [{"index": 0, "id": "call_weather", "type": "function",
                                "function": {"name": "get_weather", "arguments": ""}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\": "}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}),
        _chunk({"tool_calls": [{"index": 1, "id": "call_time", "type": "function",
                                "function": {"name": "get_time", "arguments": "{}"}}]}),
        _chunk({}, "tool_calls"),
        {"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": "upstream-tools",
         "choices": [], "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42}},
    ]


def send_body(handler, content_type, data):
    """Answers 200 with `data` (bytes) and its length."""
    handler.send_response(200)
    handler.send_header("content-type", content_type)
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        if body.get("stream"):
            events = tool_call_events() if body.get("tools") else [
                _chunk({"role": "assistant", "content": ""}), _chunk({"content": "plain answer"}), _chunk({}, "stop"),
                {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [],
                 "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}]
            payload = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
            send_body(self, "text/event-stream", payload.encode())
            return
        answer = {"id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": "upstream-tools",
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": "plain answer"},
                               "finish_reason": "stop"}],
                  "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}
        send_body(self, "application/json", json.dumps(answer).encode())


def start_mock_upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"
