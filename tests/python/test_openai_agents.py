"""A real agent client: the OpenAI Agents SDK running one tool-using agent through
switchboard's Responses API to a scripted upstream. The model asks for `get_weather`, the
SDK runs the tool and sends its result back, and the model answers with it."""

import pytest

agents = pytest.importorskip("agents")

from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402

from conftest import KEY, Gateway  # noqa: E402
from mock_responses_upstream import start_responses_upstream  # noqa: E402


@pytest.fixture(scope="module")
def gateway_and_upstream():
    server, url, seen = start_responses_upstream()
    config = f"""
server: {{ workers: 1 }}
database: {{ path: "__DB__" }}
providers:
  scripted: {{ type: openai, base_url: "{url}", api_key: sk-upstream }}
models:
  scripted/agent:
    endpoints: [ {{ provider: scripted, model: upstream, price: {{ prompt: 1, completion: 2 }} }} ]
keys:
  - {{ name: agents, key: {KEY} }}
"""
    gw = Gateway(config)
    yield gw, seen
    gw.stop()
    server.shutdown()


def test_a_tool_using_agent_runs_through_switchboard(gateway_and_upstream):
    gw, seen = gateway_and_upstream
    set_tracing_disabled(True)
    calls = []

    @function_tool
    def get_weather(city: str) -> str:
        """The current weather in a city."""
        calls.append(city)
        return "22C and sunny"

    client = AsyncOpenAI(base_url=gw.base_url, api_key=KEY, max_retries=0)
    agent = Agent(name="weather", instructions="Answer with the tool's result.", tools=[get_weather],
                  model=OpenAIResponsesModel(model="scripted/agent", openai_client=client))
    result = Runner.run_sync(agent, "What is the weather in Paris?")
    assert calls == ["Paris"], "the agent ran the tool once, with the model's arguments"
    assert result.final_output == "The weather in Paris: 22C and sunny."
    assert seen[-1]["messages"][-1] == {"role": "tool", "tool_call_id": "call_weather_1", "content": "22C and sunny"}
