"""The official `openai` Python SDK, unchanged, against the real switchboard binary routing
to Anthropic-typed and Gemini-typed mock upstreams: two parallel tool calls streamed and
accumulated by the SDK's own stream helper, the right finish_reason and usage, then a
second turn whose tool results and replayed reasoning reach the upstream in its format."""

import json

import openai
import pytest

from conftest import KEY, Gateway
from mock_native_upstreams import ANTHROPIC_SIGNATURE, GEMINI_SIGNATURE, start_native_upstreams

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                   "additionalProperties": False}}}]

QUESTION = [{"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris and Oslo?"}]


@pytest.fixture(scope="module")
def native():
    server, url, recorded = start_native_upstreams()
    config = f"""
server: {{ workers: 1 }}
database: {{ path: "__DB__" }}
providers:
  claude: {{ type: anthropic, base_url: "{url}/v1", api_key: sk-ant-python }}
  google: {{ type: gemini, base_url: "{url}/v1beta", api_key: gm-python }}
models:
  anthropic/claude-sonnet:
    max_output_tokens: 4000
    endpoints: [ {{ provider: claude, model: claude-sonnet-4-5, price: {{ prompt: 3, completion: 15 }} }} ]
  google/gemini-pro:
    endpoints: [ {{ provider: google, model: gemini-3-pro-preview, price: {{ prompt: 2, completion: 12 }} }} ]
keys:
  - {{ name: python, key: {KEY} }}
"""
    gw = Gateway(config)
    yield gw, recorded
    gw.stop()
    server.shutdown()


@pytest.fixture
def client(native):
    return openai.OpenAI(base_url=native[0].base_url, api_key=KEY, max_retries=0)


def stream_final(client, model, messages, **extra):
    with client.chat.completions.stream(model=model, messages=messages, tools=TOOLS, **extra) as stream:
        for _ in stream:
            pass
        return stream.get_final_completion()


def answer_both(client, model, first):
    """Second turn: the assistant message exactly as the SDK rebuilt it, then results."""
    message = first.choices[0].message
    calls = message.tool_calls
    messages = QUESTION + [message] + [
        {"role": "tool", "tool_call_id": calls[0].id, "content": "22C"},
        {"role": "tool", "tool_call_id": calls[1].id, "content": "-3C"},
    ]
    return stream_final(client, model, messages)


def test_anthropic_streamed_parallel_tool_calls_two_turns(client, native):
    recorded = native[1]
    recorded.clear()
    final = stream_final(client, "anthropic/claude-sonnet", QUESTION, extra_body={"reasoning": {"effort": "low"}})
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert [c.id for c in calls] == ["toolu_paris", "toolu_oslo"]
    assert [c.function.name for c in calls] == ["get_weather", "get_weather"]
    assert [json.loads(c.function.arguments) for c in calls] == [{"city": "Paris"}, {"city": "Oslo"}]
    assert final.usage.prompt_tokens == 200 and final.usage.completion_tokens == 57
    assert final.usage.prompt_tokens_details.cached_tokens == 80
    details = choice.message.model_extra["reasoning_details"]
    assert details == [{"type": "reasoning.text", "format": "anthropic-claude-v1", "index": 0,
                        "text": "Two cities, two calls.", "signature": ANTHROPIC_SIGNATURE}]

    sent = recorded[0]
    assert sent["path"] == "/v1/messages"
    assert sent["headers"]["x-api-key"] == "sk-ant-python"
    assert sent["headers"]["anthropic-version"] == "2023-06-01"
    assert sent["body"]["system"] == [{"type": "text", "text": "Be brief."}]
    assert [m["role"] for m in sent["body"]["messages"]] == ["user"]
    assert sent["body"]["max_tokens"] == 4000
    assert sent["body"]["thinking"] == {"type": "enabled", "budget_tokens": 1024}

    second = answer_both(client, "anthropic/claude-sonnet", final)
    assert second.choices[0].message.content == "Paris 22C, Oslo -3C."
    assert second.choices[0].finish_reason == "stop"
    turns = recorded[1]["body"]["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert turns[1]["content"][0] == {"type": "thinking", "thinking": "Two cities, two calls.",
                                      "signature": ANTHROPIC_SIGNATURE}
    assert [b["type"] for b in turns[1]["content"]] == ["thinking", "tool_use", "tool_use"]
    assert turns[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_paris", "content": "22C"},
        {"type": "tool_result", "tool_use_id": "toolu_oslo", "content": "-3C"},
    ]


def test_gemini_streamed_parallel_tool_calls_two_turns(client, native):
    recorded = native[1]
    recorded.clear()
    raw_finishes = []
    stream = client.chat.completions.create(model="google/gemini-pro", messages=QUESTION, tools=TOOLS, stream=True)
    for chunk in stream:
        for c in chunk.choices:
            assert c.delta.content != "", "no empty content delta from the trailing STOP chunk"
            if c.finish_reason:
                raw_finishes.append(c.finish_reason)
    assert raw_finishes == ["tool_calls"], "Gemini's STOP after function calls is tool_calls, once"

    final = stream_final(client, "google/gemini-pro", QUESTION)
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert len(calls) == 2 and calls[0].id != calls[1].id and all(c.id.startswith("call_") for c in calls)
    assert [json.loads(c.function.arguments) for c in calls] == [{"city": "Paris"}, {"city": "Oslo"}]
    assert final.usage.prompt_tokens == 90
    assert final.usage.completion_tokens == 54, "candidates + thoughts"
    assert final.usage.completion_tokens_details.reasoning_tokens == 40

    sent = recorded[-1]
    assert sent["path"] == "/v1beta/models/gemini-3-pro-preview:streamGenerateContent?alt=sse"
    assert sent["headers"]["x-goog-api-key"] == "gm-python"
    assert sent["body"]["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    declared = sent["body"]["tools"][0]["functionDeclarations"][0]
    assert "additionalProperties" not in declared["parameters"]

    second = answer_both(client, "google/gemini-pro", final)
    assert second.choices[0].message.content == "Paris 22C, Oslo -3C."
    assert second.choices[0].finish_reason == "stop"
    contents = recorded[-1]["body"]["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    assert contents[1]["parts"] == [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": GEMINI_SIGNATURE},
        {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}},
    ]
    assert contents[2]["parts"] == [
        {"functionResponse": {"name": "get_weather", "response": {"output": "22C"}}},
        {"functionResponse": {"name": "get_weather", "response": {"output": "-3C"}}},
    ]
