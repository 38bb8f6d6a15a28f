"""The official `openai` SDK against the release binary: the advisor server tool and fusion,
non-streamed and streamed, with a scripted upstream. The client sees one answer and the
cost of every call."""

import pytest
from openai import OpenAI

from conftest import Gateway
from mock_tools_upstream import start_tools_upstream

KEY = "sk-python-tools"
# $1 per 1M prompt and completion tokens everywhere: each call (10 + 5 tokens) costs $0.000015.
CALL_COST = 0.000015


@pytest.fixture(scope="module")
def tools_gateway():
    server, url = start_tools_upstream()
    models = ["executor", "advisor", "panel-a", "panel-b", "panel-bad", "judge"]
    entries = "".join(
        f"  t/{m}:\n    endpoints: [ {{ provider: scripted, model: {m}, price: {{ prompt: 1, completion: 1 }} }} ]\n" for m in models)
    config = f"""
server: {{ workers: 1 }}
database: {{ path: "__DB__" }}
providers:
  scripted: {{ type: openai, base_url: "{url}", api_key: sk-upstream }}
models:
{entries}keys:
  - {{ name: python, key: {KEY} }}
server_tools:
  fusion: {{ models: [t/panel-a, t/panel-bad, t/panel-b], judge: t/judge }}
"""
    gw = Gateway(config)
    yield gw
    gw.stop()
    server.shutdown()


def client(gw):
    return OpenAI(base_url=gw.base_url, api_key=KEY)


ADVISOR = [{"type": "openrouter:advisor", "parameters": {"model": "t/advisor"}}]


def test_advisor(tools_gateway):
    resp = client(tools_gateway).chat.completions.create(
        model="t/executor", messages=[{"role": "user", "content": "Sort my records"}], tools=ADVISOR)
    message = resp.choices[0].message
    assert message.content == "Final: Mergesort"
    assert not message.tool_calls
    assert resp.usage.model_extra["cost"] == pytest.approx(3 * CALL_COST)


def test_advisor_streamed(tools_gateway):
    stream = client(tools_gateway).chat.completions.create(
        model="t/executor", messages=[{"role": "user", "content": "Sort my records"}], tools=ADVISOR, stream=True)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Final: Mergesort"
    assert not any(c.choices and c.choices[0].delta.tool_calls for c in chunks)
    assert chunks[-1].usage.model_extra["cost"] == pytest.approx(3 * CALL_COST)


def test_fusion(tools_gateway):
    resp = client(tools_gateway).chat.completions.create(
        model="switchboard/fusion", messages=[{"role": "user", "content": "Capital of France?"}])
    assert resp.choices[0].message.content == "Judged: Paris"
    assert resp.model == "t/judge"
    # Two panel answers (the third member fails and is skipped) and the judge.
    assert resp.usage.model_extra["cost"] == pytest.approx(3 * CALL_COST)


def test_fusion_streamed_with_the_plugin(tools_gateway):
    stream = client(tools_gateway).chat.completions.create(
        model="t/judge", messages=[{"role": "user", "content": "Capital of France?"}], stream=True,
        extra_body={"plugins": [{"id": "fusion", "models": ["t/panel-a", "t/panel-b"]}]})
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Judged:Paris"
    assert chunks[-1].usage.model_extra["cost"] == pytest.approx(3 * CALL_COST)
