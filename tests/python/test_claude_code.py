"""Claude Code itself (`claude -p`, from tests/node's pinned `@anthropic-ai/claude-code`)
against the real binary on a non-Claude model slug, with a Read-tool round trip, in front of
an OpenAI-type and an Anthropic-type upstream. Claude Code sends a mid-conversation system
message on such slugs; the gateway must accept it on both."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import KEY, Gateway
from mock_claude_code_upstream import start_claude_code_upstream

# The package's own launcher for installs without postinstall (`npm ci --ignore-scripts`).
CLAUDE = Path(__file__).resolve().parents[1] / "node" / "node_modules" / "@anthropic-ai" / "claude-code" / "cli-wrapper.cjs"
SECRET = "the-launch-code-is-42"


@pytest.fixture(scope="module")
def workspace():
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "home").mkdir()
        (Path(d) / "notes.txt").write_text(SECRET + "\n")
        yield Path(d)


@pytest.fixture(scope="module")
def setup(workspace):
    server, url, recorded = start_claude_code_upstream(str(workspace / "notes.txt"))
    gw = Gateway(f"""
server: {{ workers: 1 }}
database: {{ path: "__DB__" }}
providers:
  up: {{ type: openai, base_url: "{url}/v1", api_key: sk-up }}
  ant: {{ type: anthropic, base_url: "{url}/v1", api_key: sk-ant }}
models:
  up/gpt:
    endpoints: [ {{ provider: up, model: gpt-up, price: {{ prompt: 1, completion: 2 }} }} ]
  acme/reader:
    endpoints: [ {{ provider: ant, model: reader-up, price: {{ prompt: 1, completion: 2 }} }} ]
keys:
  - {{ name: claude-code, key: {KEY} }}
""")
    yield gw, recorded
    gw.stop()
    server.shutdown()


def run_claude(gateway, workspace, model):
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not CLAUDE.exists():
        pytest.fail("Claude Code is not installed: run `npm ci` in tests/node (scripts/test.sh does)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_"))}
    env.update({
        "HOME": str(workspace / "home"),
        "ANTHROPIC_BASE_URL": gateway.base_url.removesuffix("/v1"),
        "ANTHROPIC_AUTH_TOKEN": KEY,
        "ANTHROPIC_MODEL": model,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    })
    return subprocess.run(["node", str(CLAUDE), "-p", "What does notes.txt say?", "--allowedTools", "Read"],
                          cwd=workspace, env=env, capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("model,path", [("up/gpt", "/v1/chat/completions"), ("acme/reader", "/v1/messages")])
def test_claude_code_reads_a_file_through_the_gateway(setup, workspace, model, path):
    gateway, recorded = setup
    before = len(recorded)
    done = run_claude(gateway, workspace, model)
    assert done.returncode == 0, done.stdout + done.stderr
    # Claude Code's Read result numbers the lines: "1\t<text>".
    assert done.stdout.startswith("The file says: ") and SECRET in done.stdout, done.stdout + done.stderr
    mine = [r for r in recorded[before:] if r["path"] == path]
    assert len(mine) >= 2, "a tool call, then the answer to its result"
    final = mine[-1]["body"]["messages"]
    assert any(SECRET in str(m) for m in final), "the Read result reached the upstream"
    # Claude Code's mid-conversation system message reached the upstream in place: as a chat
    # system message, or verbatim to Anthropic under the beta Claude Code sends.
    roles = [m["role"] for m in final]
    assert "system" in roles[roles.index("user"):], roles
    if path == "/v1/messages":
        assert "mid-conversation-system-2026-04-07" in mine[-1]["headers"].get("anthropic-beta", "")
