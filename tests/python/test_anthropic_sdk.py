"""The official `anthropic` Python SDK, unchanged, against the real switchboard binary's
/v1/messages, served by an OpenAI-typed upstream (the scripted mock) and the mock provider."""

import anthropic
import pytest

from conftest import KEY

TOOLS = [
    {"name": "get_weather", "description": "Weather for a city",
     "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
    {"name": "get_time", "input_schema": {"type": "object", "properties": {}}},
]


@pytest.fixture
def client(gateway):
    # The SDK appends /v1/messages itself, as Claude Code does with ANTHROPIC_BASE_URL.
    root = gateway.base_url.removesuffix("/v1")
    return anthropic.Anthropic(base_url=root, api_key=KEY, max_retries=0)


def test_message_from_an_openai_typed_upstream(client):
    raw = client.messages.with_raw_response.create(
        model="scripted/tools", max_tokens=100, system="Be brief.",
        messages=[{"role": "user", "content": "hello"}])
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant"
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == "plain answer"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == 5 and message.usage.output_tokens == 2
    assert message.id.startswith("gen-") and raw.headers["request-id"] == message.id
    assert message.model == "scripted/tools"


def test_streamed_text(client):
    with client.messages.stream(model="demo/echo", max_tokens=50,
                                messages=[{"role": "user", "content": "one two three"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "one two three"
    assert final.content[0].text == "one two three"
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 3


def test_streamed_tool_calls_from_an_openai_typed_upstream(client):
    events = []
    with client.messages.stream(model="scripted/tools", max_tokens=200, tools=TOOLS,
                                messages=[{"role": "user", "content": "Weather in Paris, and the time?"}]) as stream:
        for event in stream:
            events.append(event.type)
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    calls = [b for b in final.content if b.type == "tool_use"]
    assert [(c.id, c.name, c.input) for c in calls] == [
        ("call_weather", "get_weather", {"city": "Paris"}),
        ("call_time", "get_time", {}),
    ]
    assert "input_json" in events, events
    assert final.usage.input_tokens == 30 and final.usage.output_tokens == 12

    # Second turn: the SDK's own message goes back with the tool results.
    follow_up = client.messages.create(
        model="scripted/tools", max_tokens=100, tools=TOOLS,
        messages=[
            {"role": "user", "content": "Weather in Paris, and the time?"},
            {"role": "assistant", "content": final.content},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_weather", "content": "22C"},
                {"type": "tool_result", "tool_use_id": "call_time", "content": "12:00"}]},
        ])
    assert follow_up.stop_reason == "end_turn"
    assert follow_up.content[0].text == "plain answer"


def test_count_tokens(client):
    counted = client.messages.count_tokens(model="demo/echo", system="abcd",
                                           messages=[{"role": "user", "content": "12345678"}])
    assert counted.input_tokens == 4


def test_errors_raise_the_sdk_exceptions(client):
    with pytest.raises(anthropic.NotFoundError) as e:
        client.messages.create(model="nope/model", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert e.value.body["error"]["type"] == "not_found_error"
    bad_key = anthropic.Anthropic(base_url=str(client.base_url), api_key="sk-wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        bad_key.messages.create(model="demo/echo", max_tokens=10, messages=[{"role": "user", "content": "x"}])
