"""A stdlib-only scripted upstream for the server-tool and fusion tests. What it answers
depends on the upstream model asked for: `executor` calls the advisor, then answers with
the advice; `advisor` advises; `panel-a`/`panel-b` answer; `panel-bad` fails; `judge`
writes the final answer (streamed when asked)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


def completion(message):
    return {"id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": "up",
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
            "usage": USAGE}


def answer(body):
    model, messages = body["model"], body["messages"]
    if model == "executor":
        results = [m for m in messages if m["role"] == "tool"]
        if not results:
            call = {"id": "call_1", "type": "function",
                    "function": {"name": "advisor", "arguments": json.dumps({"question": "Which sort is stable?"})}}
            return completion({"role": "assistant", "content": None, "tool_calls": [call]})
        return completion({"role": "assistant", "content": "Final: " + results[-1]["content"]})
    if model == "advisor":
        asked = messages[-1]["content"]
        return completion({"role": "assistant", "content": "Mergesort" if "stable" in asked else "?"})
    if model in ("panel-a", "panel-b"):
        return completion({"role": "assistant", "content": f"{model} says Paris"})
    if model == "judge":
        return completion({"role": "assistant", "content": "Judged: Paris"})
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, content_type, data):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        result = answer(body)
        if result is None:
            self.send(500, "application/json", b'{"error": {"message": "scripted failure"}}')
            return
        if body.get("stream"):
            text = result["choices"][0]["message"]["content"]
            chunks = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
            chunks += [{"choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]} for w in text.split(" ")]
            chunks += [{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}, {"choices": [], "usage": USAGE}]
            payload = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
            self.send(200, "text/event-stream", payload.encode())
            return
        self.send(200, "application/json", json.dumps(result).encode())


def start_tools_upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"
