"""The official `anthropic` Python SDK's tool runner in its default mode, server-side message
threads (`anthropic-beta: message-threads-2026-08-12`: turn 1 sends `thread: {"type":
"create"}`, later turns only the new `tool_result` with `thread: {"type": "continue", ...}`),
against the real binary in front of an OpenAI-type and an Anthropic-type upstream. The
gateway runs the threads itself: each upstream must get the whole conversation, the tool call
and its result paired, and never `thread` (the mock rejects both mistakes as real providers do)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anthropic
import pytest

from conftest import KEY, Gateway
from mock_openai_upstream import send_body

THREADS_BETA = "message-threads-2026-08-12"


def send_error(handler, status, message):
    data = json.dumps({"type": "error", "error": {"type": "invalid_request_error", "message": message}}).encode()
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def openai_problem(body):
    """What OpenAI answers 400 for: a `tool` message whose call is not in the assistant turn before it."""
    calls = set()
    for m in body["messages"]:
        if m["role"] == "assistant":
            calls = {c["id"] for c in m.get("tool_calls") or []}
        elif m["role"] == "tool" and m.get("tool_call_id") not in calls:
            return "messages with role 'tool' must be a response to a preceding message with 'tool_calls'"
    return None


def anthropic_problem(body):
    """What Anthropic answers 400 for: a `tool_result` without its `tool_use` in the turn before."""
    previous = []
    for m in body["messages"]:
        blocks = m["content"] if isinstance(m["content"], list) else []
        if m["role"] == "user":
            for b in blocks:
                if b.get("type") == "tool_result" and b.get("tool_use_id") not in previous:
                    return f"unexpected `tool_use_id` found in `tool_result` blocks: {b.get('tool_use_id')}"
        previous = [b.get("id") for b in blocks if b.get("type") == "tool_use"]
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    recorded = None

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        self.recorded.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
        if "thread" in body:
            return send_error(self, 400, "thread: Extra inputs are not permitted")
        if self.path.endswith("/chat/completions"):
            problem = openai_problem(body)
            if problem:
                return send_error(self, 400, problem)
            answered = body["messages"][-1]["role"] == "tool"
            message = ({"role": "assistant", "content": "Paris is sunny, 21C."} if answered else
                       {"role": "assistant", "content": None, "tool_calls": [{"id": "call_paris", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]})
            answer = {"id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": "up",
                      "choices": [{"index": 0, "message": message, "finish_reason": "stop" if answered else "tool_calls"}],
                      "usage": {"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39}}
        elif self.path.endswith("/messages"):
            problem = anthropic_problem(body)
            if problem:
                return send_error(self, 400, problem)
            last = body["messages"][-1]["content"]
            answered = isinstance(last, list) and any(b.get("type") == "tool_result" for b in last)
            content = ([{"type": "text", "text": "Paris is sunny, 21C."}] if answered else
                       [{"type": "text", "text": "Let me check."},
                        {"type": "tool_use", "id": "toolu_paris", "name": "get_weather", "input": {"city": "Paris"}}])
            answer = {"id": "msg_up", "type": "message", "role": "assistant", "model": "claude-up", "content": content,
                      "stop_reason": "end_turn" if answered else "tool_use", "stop_sequence": None,
                      "usage": {"input_tokens": 30, "output_tokens": 9}}
        else:
            return send_error(self, 404, f"no route {self.path}")
        send_body(self, "application/json", json.dumps(answer).encode())


@pytest.fixture(scope="module")
def setup():
    recorded = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Recording", (Handler,), {"recorded": recorded}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    gw = Gateway(f"""
server: {{ workers: 1 }}
database: {{ path: "__DB__" }}
providers:
  up: {{ type: openai, base_url: "{url}", api_key: sk-up }}
  ant: {{ type: anthropic, base_url: "{url}", api_key: sk-ant }}
models:
  up/gpt:
    endpoints: [ {{ provider: up, model: gpt-up, price: {{ prompt: 1, completion: 2 }} }} ]
  acme/claude:
    endpoints: [ {{ provider: ant, model: claude-up, price: {{ prompt: 3, completion: 15 }} }} ]
keys:
  - {{ name: threads, key: {KEY} }}
""")
    yield gw, recorded
    gw.stop()
    server.shutdown()


@anthropic.beta_tool
def get_weather(city: str) -> str:
    """Weather for a city.

    Args:
        city: the city's name
    """
    return f"{city}: sunny, 21C"


def client_and_sent(gateway):
    """A client pointed at the gateway, and the bodies and headers it sends."""
    sent = []

    def record(request):
        sent.append({"body": json.loads(request.content), "beta": request.headers.get("anthropic-beta", "")})

    http = anthropic.DefaultHttpxClient(event_hooks={"request": [record]})
    root = gateway.base_url.removesuffix("/v1")
    return anthropic.Anthropic(base_url=root, api_key=KEY, max_retries=0, http_client=http), sent


@pytest.mark.parametrize("model, path", [("up/gpt", "/chat/completions"), ("acme/claude", "/messages")])
def test_the_tool_runner_in_thread_mode(setup, model, path):
    gw, recorded = setup
    client, sent = client_and_sent(gw)
    before = len(recorded)
    runner = client.beta.messages.tool_runner(
        model=model, max_tokens=200, system="Be brief.", tools=[get_weather],
        messages=[{"role": "user", "content": "Weather in Paris?"}])
    final = runner.until_done()
    assert final.content[-1].text == "Paris is sunny, 21C."

    # The SDK ran in its default thread mode: a create, then a continue with the tool result only.
    assert len(sent) == 2
    assert all(THREADS_BETA in s["beta"] for s in sent)
    first, second = sent[0]["body"], sent[1]["body"]
    assert first["thread"] == {"type": "create"}
    assert second["thread"]["type"] == "continue"
    assert second["thread"]["previous_message_id"].startswith("gen-")
    assert "system" not in second and "tools" not in second, "the thread keeps them"
    assert [m["role"] for m in second["messages"]] == ["user"]
    assert second["messages"][0]["content"][0]["type"] == "tool_result"

    # The upstream got the whole conversation each time, and no `thread`.
    calls = recorded[before:]
    assert [c["path"].endswith(path) for c in calls] == [True, True]
    assert all(THREADS_BETA not in c["headers"].get("anthropic-beta", "") for c in calls)
    upstream_turn2 = calls[1]["body"]
    if path == "/messages":
        assert upstream_turn2["system"] == "Be brief."
        assert upstream_turn2["tools"][0]["name"] == "get_weather"
        assert [m["role"] for m in upstream_turn2["messages"]] == ["user", "assistant", "user"]
    else:
        assert [m["role"] for m in upstream_turn2["messages"]] == ["system", "user", "assistant", "tool"]
        assert upstream_turn2["messages"][3]["tool_call_id"] == "call_paris"


def test_a_continue_of_another_keys_thread_is_thread_not_found(setup):
    gw, _ = setup
    client, _ = client_and_sent(gw)
    with pytest.raises(anthropic.NotFoundError) as e:
        client.beta.messages.create(
            model="up/gpt", max_tokens=50, betas=[THREADS_BETA],
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"thread": {"type": "continue", "previous_message_id": "gen-not-mine"}})
    error = e.value.body["error"]
    assert error["type"] == "not_found_error"
    assert error["details"]["error_code"] == "thread_not_found"
    assert "thread.previous_message_id" in error["message"]
