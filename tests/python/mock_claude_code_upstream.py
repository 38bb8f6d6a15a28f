"""A stdlib-only upstream for the Claude Code test, speaking both OpenAI chat (streamed or
not) and Anthropic Messages (streamed or not): a conversation without a tool result gets a
call to Claude Code's `Read` tool on the file the test names; one with a tool result gets a
text answer quoting that result. Every request is recorded (path, lower-cased headers, body)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mock_openai_upstream import send_body


def tool_result_text(path, body):
    """The text of the last tool result in the conversation, or None."""
    found = None
    for m in body.get("messages", []):
        if path.endswith("/chat/completions") and m.get("role") == "tool":
            content = m.get("content")
            found = content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)
        elif isinstance(m.get("content"), list):
            for b in m["content"]:
                if b.get("type") == "tool_result":
                    c = b.get("content")
                    found = c if isinstance(c, str) else " ".join(x.get("text", "") for x in c or [])
    return found


def _openai(body, read_path, result):
    stream = bool(body.get("stream"))
    if result is None:
        call = {"id": "call_read", "type": "function", "function": {"name": "Read", "arguments": json.dumps({"file_path": read_path})}}
        message, finish = {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
    else:
        message, finish = {"role": "assistant", "content": f"The file says: {result}"}, "stop"
    usage = {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60}
    if not stream:
        answer = {"id": "chatcmpl-cc", "object": "chat.completion", "created": 1, "model": "up",
                  "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage}
        return "application/json", json.dumps(answer)
    def chunk(delta, fin=None):
        return {"id": "chatcmpl-cc", "object": "chat.completion.chunk", "created": 1, "model": "up",
                "choices": [{"index": 0, "delta": delta, "finish_reason": fin}]}
    if result is None:
        call = dict(message["tool_calls"][0], index=0)
        events = [chunk({"role": "assistant", "content": None}), chunk({"tool_calls": [call]}), chunk({}, finish)]
    else:
        events = [chunk({"role": "assistant", "content": ""}), chunk({"content": message["content"]}), chunk({}, finish)]
    events.append({"id": "chatcmpl-cc", "object": "chat.completion.chunk", "created": 1, "model": "up", "choices": [], "usage": usage})
    return "text/event-stream", "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"


def _anthropic(body, read_path, result):
    if result is None:
        block = {"type": "tool_use", "id": "toolu_read", "name": "Read", "input": {"file_path": read_path}}
        stop = "tool_use"
    else:
        block = {"type": "text", "text": f"The file says: {result}"}
        stop = "end_turn"
    usage = {"input_tokens": 50, "output_tokens": 10}
    message = {"id": "msg_cc", "type": "message", "role": "assistant", "model": "up", "content": [block],
               "stop_reason": stop, "stop_sequence": None, "usage": usage}
    if not body.get("stream"):
        return "application/json", json.dumps(message)
    start = dict(message, content=[], stop_reason=None)
    empty = {"type": "tool_use", "id": block.get("id"), "name": "Read", "input": {}} if result is None else {"type": "text", "text": ""}
    delta = ({"type": "input_json_delta", "partial_json": json.dumps(block["input"])} if result is None
             else {"type": "text_delta", "text": block["text"]})
    events = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": empty},
        {"type": "content_block_delta", "index": 0, "delta": delta},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 10}},
        {"type": "message_stop"},
    ]
    return "text/event-stream", "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    recorded = None
    read_path = ""

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        self.recorded.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
        result = tool_result_text(self.path, body)
        if self.path.endswith("/chat/completions"):
            content_type, payload = _openai(body, self.read_path, result)
        elif self.path.endswith("/messages"):
            content_type, payload = _anthropic(body, self.read_path, result)
        else:
            self.send_error(404)
            return
        send_body(self, content_type, payload.encode())


def start_claude_code_upstream(read_path):
    """Returns (server, base URL, list of recorded requests)."""
    recorded = []
    handler = type("ClaudeCodeHandler", (Handler,), {"recorded": recorded, "read_path": read_path})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}", recorded
