"""The official `openai` Python SDK, unchanged, against the real switchboard binary."""

import json

import openai
import pytest

from conftest import KEY, OFFICE_KEY

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}},
]


@pytest.fixture
def client(gateway):
    return openai.OpenAI(base_url=gateway.base_url, api_key=KEY, max_retries=0)


def test_non_streaming_completion(client):
    raw = client.chat.completions.with_raw_response.create(
        model="demo/echo", messages=[{"role": "user", "content": "hello from the sdk"}])
    completion = raw.parse()
    assert completion.choices[0].message.content == "hello from the sdk"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.id.startswith("gen-") and raw.headers["x-generation-id"] == completion.id
    assert completion.model == "demo/echo"
    assert completion.usage.completion_tokens == 4
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + 4


def test_streaming_text_with_usage(client):
    stream = client.chat.completions.create(
        model="demo/echo", messages=[{"role": "user", "content": "one two three"}], stream=True)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 3
    assert len({c.id for c in chunks}) == 1


def test_streaming_parallel_tool_calls_accumulate(client):
    with client.chat.completions.stream(
        model="scripted/tools", messages=[{"role": "user", "content": "weather and time?"}], tools=TOOLS,
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert [c.id for c in calls] == ["call_weather", "call_time"]
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert final.usage.prompt_tokens == 30 and final.usage.completion_tokens == 12


def test_mock_provider_streams_a_tool_call(client):
    stream = client.chat.completions.create(
        model="demo/echo", messages=[{"role": "user", "content": "Lisbon"}], tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_weather"}}, stream=True)
    calls = {}
    finish = None
    for chunk in stream:
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for tc in choice.delta.tool_calls or []:
                entry = calls.setdefault(tc.index, {"id": None, "name": None, "arguments": ""})
                entry["id"] = tc.id or entry["id"]
                entry["name"] = (tc.function and tc.function.name) or entry["name"]
                entry["arguments"] += (tc.function and tc.function.arguments) or ""
    assert finish == "tool_calls"
    assert calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == {"input": "Lisbon"}


def test_errors_surface_as_sdk_exceptions(client, gateway):
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="no/such-model", messages=[{"role": "user", "content": "x"}])
    assert "no/such-model" in str(err.value)
    bad = openai.OpenAI(base_url=gateway.base_url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="demo/echo", messages=[{"role": "user", "content": "x"}])


def test_a_key_used_from_outside_its_allowed_ips_is_permission_denied(gateway):
    office = openai.OpenAI(base_url=gateway.base_url, api_key=OFFICE_KEY, max_retries=0)
    with pytest.raises(openai.PermissionDeniedError) as err:
        office.chat.completions.create(model="demo/echo", messages=[{"role": "user", "content": "x"}])
    assert err.value.status_code == 403
    assert err.value.body["metadata"]["error_type"] == "ip_not_allowed"
    assert "127.0.0.1" in err.value.message and "allowed_ips" in err.value.message
    assert err.value.response.headers["x-should-retry"] == "false"


def test_models_list(client):
    models = list(client.models.list())
    assert [m.id for m in models] == ["demo/echo", "scripted/tools", "demo/embed"]
    assert [m.model_extra["supported_endpoints"] for m in models] == [
        ["chat.completions", "messages"], ["chat.completions", "messages"], ["embeddings"]]


def test_streaming_cache_hit_replays_through_the_sdk(client):
    def stream_once():
        raw = client.chat.completions.with_raw_response.create(
            model="demo/echo", messages=[{"role": "user", "content": "cache me please"}], stream=True,
            extra_headers={"X-Switchboard-Cache": "true", "X-Switchboard-Cache-TTL": "120"})
        chunks = list(raw.parse())
        return raw.headers["x-switchboard-cache-status"], chunks

    first_status, first = stream_once()
    second_status, second = stream_once()
    assert (first_status, second_status) == ("MISS", "HIT")
    text = lambda chunks: "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text(second) == text(first) == "cache me please"
    assert second[-1].usage.completion_tokens == first[-1].usage.completion_tokens
    assert second[-1].usage.cost == 0 and first[-1].usage.cost > 0
    assert second[0].id != first[0].id
