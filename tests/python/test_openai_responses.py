"""The official `openai` Python SDK's Responses API, unchanged, against the real switchboard
binary: on the built-in mock provider, on a scripted OpenAI-compatible upstream, and on
Anthropic- and Gemini-typed mock upstreams. create, stream (text and function-call
events), a two-turn function call, previous_response_id, retrieve/delete, json_schema via
responses.parse, and errors mapped to the SDK's exception classes. Also passed through
natively to an OpenAI provider with `api: responses`: create and stream keep the
upstream's reasoning items and built-in tools, under the gateway's id."""

import json

import openai
import pydantic
import pytest

from conftest import KEY, Gateway
from mock_native_upstreams import start_native_upstreams
from mock_openai_responses_api import ENCRYPTED, TEXT, start_openai_responses_api
from mock_responses_upstream import GREETING, start_responses_upstream

TOOLS = [{"type": "function", "name": "get_weather", "description": "Weather for a city", "strict": True,
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                         "additionalProperties": False}}]


@pytest.fixture(scope="module")
def upstreams():
    scripted, scripted_url, scripted_seen = start_responses_upstream()
    native, native_url, native_seen = start_native_upstreams()
    config = f"""
server: {{ workers: 1 }}
database: {{ path: "__DB__" }}
providers:
  demo: {{ type: mock }}
  scripted: {{ type: openai, base_url: "{scripted_url}", api_key: sk-upstream }}
  claude: {{ type: anthropic, base_url: "{native_url}/v1", api_key: sk-ant-python }}
  google: {{ type: gemini, base_url: "{native_url}/v1beta", api_key: gm-python }}
models:
  demo/echo:
    endpoints: [ {{ provider: demo, model: echo, price: {{ prompt: 1, completion: 2 }} }} ]
  scripted/model:
    endpoints: [ {{ provider: scripted, model: upstream, price: {{ prompt: 1, completion: 2 }} }} ]
  anthropic/claude-sonnet:
    endpoints: [ {{ provider: claude, model: claude-sonnet-4-5, price: {{ prompt: 3, completion: 15 }} }} ]
  google/gemini-pro:
    endpoints: [ {{ provider: google, model: gemini-3-pro-preview, price: {{ prompt: 2, completion: 12 }} }} ]
keys:
  - {{ name: python, key: {KEY} }}
  - {{ name: other, key: sk-python-other }}
  - {{ name: broke, key: sk-python-broke, budget: {{ limit_usd: 0.000001, period: daily }} }}
"""
    gw = Gateway(config)
    yield gw, scripted_seen
    gw.stop()
    scripted.shutdown()
    native.shutdown()


@pytest.fixture
def client(upstreams):
    return openai.OpenAI(base_url=upstreams[0].base_url, api_key=KEY, max_retries=0)


def test_create_text_on_the_mock(client):
    raw = client.responses.with_raw_response.create(model="demo/echo", input="hello from responses",
                                                    instructions="Echo.", metadata={"run": "1"})
    response = raw.parse()
    assert response.output_text == "hello from responses"
    assert response.id == raw.headers["x-generation-id"] and response.id.startswith("gen-")
    assert response.status == "completed" and response.object == "response"
    assert response.instructions == "Echo." and response.metadata == {"run": "1"}
    assert response.usage.output_tokens > 0
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens


def test_stream_text_events(client):
    with client.responses.stream(model="scripted/model", input="hi") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert "response.output_text.delta" in kinds and kinds[-1] == "response.completed"
    assert final.output_text.strip() == GREETING


def test_stream_function_call_events(client):
    with client.responses.stream(model="scripted/model", input="Weather in Paris?", tools=TOOLS) as stream:
        events = list(stream)
        final = stream.get_final_response()
    deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert json.loads(deltas) == {"city": "Paris"}
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert done and done[0].name == "get_weather"
    call = final.output[0]
    assert call.type == "function_call" and call.call_id == "call_weather_1"
    assert json.loads(call.arguments) == {"city": "Paris"}


def test_two_turn_function_call(client, upstreams):
    first = client.responses.create(model="scripted/model", input="Weather in Paris?", tools=TOOLS)
    call = next(item for item in first.output if item.type == "function_call")
    second = client.responses.create(
        model="scripted/model", tools=TOOLS, previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "22C"}])
    assert second.output_text == "The weather in Paris: 22C."
    sent = upstreams[1][-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[1]["tool_calls"][0]["id"] == call.call_id


def test_previous_response_id_and_stored_responses(client, upstreams):
    first = client.responses.create(model="scripted/model", input="My name is Ada.")
    second = client.responses.create(model="scripted/model", input="What is my name?", previous_response_id=first.id)
    assert second.previous_response_id == first.id
    sent = upstreams[1][-1]["messages"]
    assert sent[0] == {"role": "user", "content": "My name is Ada."}
    assert sent[-1] == {"role": "user", "content": "What is my name?"}
    assert client.responses.retrieve(first.id).output_text == first.output_text
    # The SDK's input_items.list pages the items the second answer was generated from.
    items = list(client.responses.input_items.list(second.id, order="asc"))
    assert [item.role for item in items] == ["user", "assistant", "user"]
    assert items[0].content[0].text == "My name is Ada."
    assert items[-1].content[0].text == "What is my name?"
    other = openai.OpenAI(base_url=upstreams[0].base_url, api_key="sk-python-other", max_retries=0)
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(first.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.create(model="scripted/model", input="x", previous_response_id=first.id)
    client.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)


class Weather(pydantic.BaseModel):
    city: str
    temperature_c: int


def test_parse_json_schema(client, upstreams):
    parsed = client.responses.parse(model="scripted/model", input="Weather in Paris as JSON", text_format=Weather)
    assert parsed.output_parsed == Weather(city="Paris", temperature_c=22)
    assert upstreams[1][-1]["response_format"]["type"] == "json_schema"


def test_errors_map_to_the_sdk_exception_classes(client, upstreams):
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(model="scripted/model", input=[{"type": "web_search_call", "id": "ws_1"}])
    assert bad.value.param == "input" and "web_search_call" in bad.value.message
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(model="scripted/model", input="hi", tools=[{"type": "file_search", "vector_store_ids": ["v"]}])
    assert bad.value.param == "tools"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=upstreams[0].base_url, api_key="sk-wrong", max_retries=0).responses.create(model="demo/echo", input="x")
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="no/such-model", input="x")
    broke = openai.OpenAI(base_url=upstreams[0].base_url, api_key="sk-python-broke", max_retries=0)
    with pytest.raises(openai.APIStatusError) as refused:
        broke.responses.create(model="scripted/model", input="x", max_output_tokens=100000)
    assert refused.value.status_code == 402


@pytest.mark.parametrize("model", ["anthropic/claude-sonnet", "google/gemini-pro"])
def test_native_upstreams_stream_a_two_turn_function_call(client, model):
    question = [{"role": "user", "content": "Weather in Paris and Oslo?"}]
    with client.responses.stream(model=model, input=question, tools=TOOLS) as stream:
        kinds = [event.type for event in stream]
        first = stream.get_final_response()
    assert "response.function_call_arguments.delta" in kinds
    calls = [item for item in first.output if item.type == "function_call"]
    assert [json.loads(c.arguments)["city"] for c in calls] == ["Paris", "Oslo"]
    turn = question + [c.model_dump(exclude_none=True) for c in calls] + [
        {"type": "function_call_output", "call_id": c.call_id, "output": t} for c, t in zip(calls, ["22C", "-3C"])]
    with client.responses.stream(model=model, input=turn, tools=TOOLS) as stream:
        for _ in stream:
            pass
        second = stream.get_final_response()
    assert "Paris 22C" in second.output_text and second.status == "completed"


@pytest.fixture(scope="module")
def native_responses():
    server, url, seen = start_openai_responses_api()
    config = f"""
server: {{ workers: 1 }}
database: {{ path: "__DB__" }}
providers:
  openai: {{ type: openai, api: responses, base_url: "{url}", api_key: sk-upstream-responses }}
models:
  openai/o4-mini:
    endpoints: [ {{ provider: openai, model: o4-mini, price: {{ prompt: 1.1, completion: 4.4 }} }} ]
keys:
  - {{ name: python, key: {KEY} }}
"""
    gw = Gateway(config)
    yield openai.OpenAI(base_url=gw.base_url, api_key=KEY, max_retries=0), seen
    gw.stop()
    server.shutdown()


def test_native_create_keeps_reasoning_and_built_in_tools(native_responses):
    client, seen = native_responses
    first = client.responses.create(
        model="openai/o4-mini", input="Say hello.", reasoning={"effort": "low", "summary": "auto"},
        include=["reasoning.encrypted_content"], tools=[{"type": "web_search_preview"}])
    assert first.id.startswith("gen-") and first.model == "openai/o4-mini"
    assert [item.type for item in first.output] == ["reasoning", "message"]
    assert first.output[0].encrypted_content == ENCRYPTED
    assert first.output_text == TEXT
    assert (first.usage.input_tokens, first.usage.output_tokens_details.reasoning_tokens) == (42, 8)
    path, sent = seen[-1]
    assert path == "/v1/responses"
    assert (sent["model"], sent["store"], sent["tools"]) == ("o4-mini", False, [{"type": "web_search_preview"}])
    assert sent["include"] == ["reasoning.encrypted_content"] and sent["reasoning"]["summary"] == "auto"
    assert client.responses.retrieve(first.id).output_text == TEXT

    second = client.responses.create(model="openai/o4-mini", previous_response_id=first.id, input="Again.")
    assert second.output_text == TEXT
    _, sent = seen[-1]
    assert "previous_response_id" not in sent
    assert [item.get("type") for item in sent["input"]] == ["message", "reasoning", "message", "message"]
    assert sent["input"][1]["encrypted_content"] == ENCRYPTED


def test_native_stream_relays_the_upstreams_events(native_responses):
    client, seen = native_responses
    with client.responses.stream(model="openai/o4-mini", input="Say hello.", reasoning={"effort": "low"}) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    assert "response.reasoning_summary_text.delta" in kinds and "response.output_text.delta" in kinds
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert events[0].response.id == final.id and final.id.startswith("gen-")
    assert final.output_text == TEXT and final.output[0].encrypted_content == ENCRYPTED
    assert seen[-1][1]["stream"] is True and seen[-1][1]["store"] is False
