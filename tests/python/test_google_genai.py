"""The official `google-genai` Python SDK, unchanged, against the real switchboard binary's
Gemini API (`http_options.base_url` pointed at the gateway), with api_version v1beta and v1:
generate_content, generate_content_stream, a function-call round trip, models.list and
models.get, and gateway errors raised as the SDK's own exception classes."""

import pytest
from google import genai
from google.genai import errors, types

from conftest import KEY

WEATHER = types.FunctionDeclaration(
    name="get_weather", description="Weather for a city",
    parameters=types.Schema(type=types.Type.OBJECT, properties={"city": types.Schema(type=types.Type.STRING)}),
)
TIME = types.FunctionDeclaration(name="get_time", description="The time")


def client_for(gateway, api_version, key=KEY):
    base = f"http://127.0.0.1:{gateway.port}"
    return genai.Client(api_key=key, http_options=types.HttpOptions(base_url=base, api_version=api_version))


@pytest.fixture(params=["v1beta", "v1"])
def client(request, gateway):
    return client_for(gateway, request.param)


def test_generate_content(client):
    response = client.models.generate_content(
        model="demo/echo", contents="hello from genai",
        config=types.GenerateContentConfig(system_instruction="Echo.", temperature=0.1, max_output_tokens=50,
                                           safety_settings=[types.SafetySetting(
                                               category=types.HarmCategory.HARM_CATEGORY_HARASSMENT,
                                               threshold=types.HarmBlockThreshold.BLOCK_NONE)]),
    )
    assert response.text == "hello from genai"
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    assert response.usage_metadata.candidates_token_count == 3
    assert response.usage_metadata.total_token_count == response.usage_metadata.prompt_token_count + 3
    assert response.model_version == "demo/echo"
    assert response.response_id.startswith("gen-")


def test_generate_content_stream(client):
    chunks = list(client.models.generate_content_stream(model="demo/echo", contents="one two three"))
    assert "".join(c.text or "" for c in chunks) == "one two three"
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata.candidates_token_count == 3
    assert len({c.response_id for c in chunks}) == 1


def test_function_call_round_trip(client):
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[WEATHER, TIME])])
    question = types.Content(role="user", parts=[types.Part.from_text(text="Weather and time?")])
    chunks = list(client.models.generate_content_stream(model="scripted/tools", contents=[question], config=config))
    calls = [p.function_call for c in chunks for p in (c.candidates[0].content.parts or []) if p.function_call]
    assert [(c.id, c.name, c.args) for c in calls] == [("call_weather", "get_weather", {"city": "Paris"}),
                                                      ("call_time", "get_time", {})]
    model_turn = types.Content(role="model", parts=[types.Part(function_call=c) for c in calls])
    results = types.Content(role="user", parts=[
        types.Part.from_function_response(name="get_weather", response={"temp": 22}),
        types.Part.from_function_response(name="get_time", response={"time": "12:00"}),
    ])
    answer = client.models.generate_content(model="scripted/tools", contents=[question, model_turn, results], config=config)
    assert answer.text == "plain answer"


def test_models_list_and_get(client):
    names = [m.name for m in client.models.list()]
    assert "models/demo/echo" in names and "models/scripted/tools" in names
    assert "models/demo/embed" not in names, "no embedContent here"
    model = client.models.get(model="demo/echo")
    assert model.name == "models/demo/echo"
    assert "generateContent" in model.supported_actions


def test_errors_are_the_sdks_exception_classes(client, gateway):
    with pytest.raises(errors.ClientError) as missing:
        client.models.generate_content(model="no/such-model", contents="hi")
    assert missing.value.code == 404 and missing.value.status == "NOT_FOUND"
    with pytest.raises(errors.ClientError) as bad:
        client.models.generate_content(
            model="demo/echo", contents="hi",
            config=types.GenerateContentConfig(response_modalities=["IMAGE"]))
    assert bad.value.code == 400 and bad.value.status == "INVALID_ARGUMENT"
    assert "responseModalities" in bad.value.message
    wrong_key = client_for(gateway, "v1beta", key="sk-wrong")
    with pytest.raises(errors.ClientError) as unauthenticated:
        wrong_key.models.generate_content(model="demo/echo", contents="hi")
    assert unauthenticated.value.code == 401 and unauthenticated.value.status == "UNAUTHENTICATED"
