"""switchboard's OpenRouter-shaped answers (chat, generation, key, models) validated against
the native `@openrouter/sdk`'s own response schemas: the zod schemas its client runs on every
200, so a failure here is the SDK's ResponseValidationError. The answers are fetched from the
real binary; `tests/node/validate.mjs` (the SDK pinned in tests/node/package.json, installed
by `npm ci` in tests/node) only validates them."""

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from conftest import KEY

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def fetch(gateway, path, body=None):
    url = gateway.base_url.replace("/v1", "/api/v1") + path
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        return json.load(response)


def validate(answers):
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not (NODE_DIR / "node_modules" / "@openrouter" / "sdk").exists():
        pytest.fail("the OpenRouter SDK is not installed: run `npm ci` in tests/node (scripts/test.sh does)")
    done = subprocess.run(["node", str(NODE_DIR / "validate.mjs")], input=json.dumps(answers), capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


def test_every_openrouter_answer_validates_against_the_sdk_schemas(gateway):
    chat = fetch(gateway, "/chat/completions", {"model": "demo/echo", "messages": [{"role": "user", "content": "hi"}]})
    answers = {
        "chat": chat,
        "generation": fetch(gateway, f"/generation?id={chat['id']}"),
        "key": fetch(gateway, "/key"),
        "models": fetch(gateway, "/models"),
    }
    code, report = validate(answers)
    assert code == 0, report
    assert report.split() == ["chat:", "ok", "generation:", "ok", "key:", "ok", "models:", "ok"], report


def test_the_validator_rejects_what_the_sdk_rejects(gateway):
    """The check can fail: an answer without a field the SDK requires does not validate."""
    chat = fetch(gateway, "/chat/completions", {"model": "demo/echo", "messages": [{"role": "user", "content": "hi"}]})
    del chat["choices"]
    code, report = validate({"chat": chat})
    assert code == 1
    assert "chat: choices:" in report, report
