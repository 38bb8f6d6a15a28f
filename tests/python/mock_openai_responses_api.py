"""A stdlib-only scripted upstream speaking OpenAI's own Responses API (`POST /v1/responses`),
for providers with `api: responses`: it answers every request with an encrypted reasoning
item and a text message, whole or as the named event stream OpenAI writes (`event:` lines,
`sequence_number`s, `response.completed` carrying the whole response and its usage). It
records every request body."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mock_openai_upstream import send_body

TEXT = "Native hello from the Responses API."
ENCRYPTED = "gAAAAABo-native-encrypted-reasoning=="
USAGE = {"input_tokens": 42, "input_tokens_details": {"cached_tokens": 10}, "output_tokens": 17,
         "output_tokens_details": {"reasoning_tokens": 8}, "total_tokens": 59}


def _response(body, status, output, usage):
    return {"id": "resp_upstream_1", "object": "response", "created_at": 1755431648, "status": status,
            "background": False, "error": None, "incomplete_details": None, "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"), "model": body["model"], "output": output,
            "parallel_tool_calls": True, "previous_response_id": None, "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
            "service_tier": "default", "store": body.get("store", True), "temperature": 1.0,
            "text": body.get("text") or {"format": {"type": "text"}}, "tool_choice": "auto", "tools": body.get("tools", []),
            "top_p": 1.0, "truncation": "disabled", "usage": usage, "user": None, "metadata": body.get("metadata") or {}}


REASONING = {"id": "rs_upstream_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "Greeting."}],
             "encrypted_content": ENCRYPTED}
PART = {"type": "output_text", "annotations": [], "logprobs": [], "text": TEXT}
MESSAGE = {"id": "msg_upstream_1", "type": "message", "status": "completed", "role": "assistant", "content": [PART]}


def _events(body):
    events = []

    def emit(kind, **fields):
        data = {"type": kind, "sequence_number": len(events), **fields}
        events.append(f"event: {kind}\ndata: {json.dumps(data)}\n\n")

    start = _response(body, "in_progress", [], None)
    emit("response.created", response=start)
    emit("response.in_progress", response=start)
    emit("response.output_item.added", output_index=0, item=dict(REASONING, summary=[], encrypted_content=None))
    emit("response.reasoning_summary_part.added", item_id=REASONING["id"], output_index=0, summary_index=0,
         part={"type": "summary_text", "text": ""})
    emit("response.reasoning_summary_text.delta", item_id=REASONING["id"], output_index=0, summary_index=0, delta="Greeting.")
    emit("response.reasoning_summary_text.done", item_id=REASONING["id"], output_index=0, summary_index=0, text="Greeting.")
    emit("response.reasoning_summary_part.done", item_id=REASONING["id"], output_index=0, summary_index=0,
         part={"type": "summary_text", "text": "Greeting."})
    emit("response.output_item.done", output_index=0, item=REASONING)
    emit("response.output_item.added", output_index=1, item=dict(MESSAGE, status="in_progress", content=[]))
    emit("response.content_part.added", item_id=MESSAGE["id"], output_index=1, content_index=0, part=dict(PART, text=""))
    for word in TEXT.split(" "):
        piece = word if word == TEXT.split(" ")[-1] else word + " "
        emit("response.output_text.delta", item_id=MESSAGE["id"], output_index=1, content_index=0, delta=piece, logprobs=[])
    emit("response.output_text.done", item_id=MESSAGE["id"], output_index=1, content_index=0, text=TEXT, logprobs=[])
    emit("response.content_part.done", item_id=MESSAGE["id"], output_index=1, content_index=0, part=PART)
    emit("response.output_item.done", output_index=1, item=MESSAGE)
    emit("response.completed", response=_response(body, "completed", [REASONING, MESSAGE], USAGE))
    return "".join(events)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    recorded = None

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        self.recorded.append((self.path, body))
        if body.get("stream"):
            send_body(self, "text/event-stream", _events(body).encode())
            return
        answer = _response(body, "completed", [REASONING, MESSAGE], USAGE)
        send_body(self, "application/json", json.dumps(answer).encode())


def start_openai_responses_api():
    """Returns (server, base URL, list of recorded (path, body) pairs)."""
    recorded = []
    handler = type("RecordingHandler", (Handler,), {"recorded": recorded})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1", recorded
