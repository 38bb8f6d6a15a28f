"""A stdlib-only scripted OpenAI-compatible (chat completions) upstream for the Responses API
tests: it answers a turn that ends in a tool result with text about it, a turn that offers
tools with one `get_weather` call, a json_schema request with a matching JSON object, and
anything else with a fixed greeting; streamed or whole. It records every request body."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mock_openai_upstream import send_body

GREETING = "Hello from the scripted upstream."
WEATHER = {"city": "Paris", "temperature_c": 22}


def _message(body):
    """The assistant message this request gets: text, or one tool call."""
    messages = body.get("messages", [])
    if messages and messages[-1].get("role") == "tool":
        return {"role": "assistant", "content": f"The weather in Paris: {messages[-1]['content']}."}
    if body.get("tools"):
        return {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_weather_1", "type": "function",
             "function": {"name": body["tools"][0]["function"]["name"], "arguments": json.dumps({"city": "Paris"})}}]}
    if (body.get("response_format") or {}).get("type") == "json_schema":
        return {"role": "assistant", "content": json.dumps(WEATHER)}
    return {"role": "assistant", "content": GREETING}


def _chunks(message):
    base = {"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": "upstream"}
    out = [dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])]
    if message.get("tool_calls"):
        call = message["tool_calls"][0]
        args = call["function"]["arguments"]
        first = {"index": 0, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"], "arguments": ""}}
        out.append(dict(base, choices=[{"index": 0, "delta": {"tool_calls": [first]}, "finish_reason": None}]))
        for part in (args[: len(args) // 2], args[len(args) // 2:]):
            delta = {"tool_calls": [{"index": 0, "function": {"arguments": part}}]}
            out.append(dict(base, choices=[{"index": 0, "delta": delta, "finish_reason": None}]))
        finish = "tool_calls"
    else:
        for word in message["content"].split(" "):
            out.append(dict(base, choices=[{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]))
        finish = "stop"
    out.append(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": finish}]))
    out.append(dict(base, choices=[], usage={"prompt_tokens": 20, "completion_tokens": 7, "total_tokens": 27}))
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    recorded = None

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        self.recorded.append(body)
        message = _message(body)
        if body.get("stream"):
            payload = "".join(f"data: {json.dumps(c)}\n\n" for c in _chunks(message)) + "data: [DONE]\n\n"
            send_body(self, "text/event-stream", payload.encode())
            return
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        answer = {"id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": "upstream",
                  "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                  "usage": {"prompt_tokens": 20, "completion_tokens": 7, "total_tokens": 27}}
        send_body(self, "application/json", json.dumps(answer).encode())


def start_responses_upstream():
    """Returns (server, base URL, list of recorded request bodies)."""
    recorded = []
    handler = type("RecordingHandler", (Handler,), {"recorded": recorded})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1", recorded
