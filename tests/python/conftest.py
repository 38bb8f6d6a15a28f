"""Fixtures for the real-client tests: start the switchboard binary on a free port with a
generated config, and a stdlib mock OpenAI-compatible upstream it can route to."""

import os
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from mock_openai_upstream import start_mock_upstream

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-python-test"
# A key only usable from 10.0.0.0/8: refused from the tests' 127.0.0.1.
OFFICE_KEY = "sk-python-office"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary() -> str:
    path = os.environ.get("SWITCHBOARD_BIN", str(ROOT / "target" / "release" / "switchboard"))
    if not Path(path).exists():
        pytest.fail(f"switchboard binary not found at {path}; run `cargo build --release` first")
    return path


class Gateway:
    def __init__(self, config: str):
        self.port = free_port()
        self.dir = tempfile.TemporaryDirectory()
        path = Path(self.dir.name) / "switchboard.yaml"
        path.write_text(config.replace("__DB__", str(Path(self.dir.name) / "usage.db")))
        self.log = open(Path(self.dir.name) / "gateway.log", "w+")
        self.proc = subprocess.Popen(
            [binary(), "serve", "--config", str(path), "--listen", f"127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                pytest.fail(f"gateway exited at start:\n{self.log.read()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        pytest.fail("gateway did not become healthy within 30 s")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        finally:
            self.log.close()
            self.dir.cleanup()


@pytest.fixture(scope="session")
def upstream():
    server, url = start_mock_upstream()
    yield url
    server.shutdown()


@pytest.fixture(scope="session")
def gateway(upstream):
    config = f"""
server: {{ workers: 1 }}
database: {{ path: "__DB__" }}
providers:
  demo: {{ type: mock }}
  scripted: {{ type: openai, base_url: "{upstream}", api_key: sk-upstream }}
models:
  demo/echo:
    endpoints: [ {{ provider: demo, model: echo, price: {{ prompt: 1, completion: 2 }} }} ]
  scripted/tools:
    endpoints: [ {{ provider: scripted, model: upstream-tools, price: {{ prompt: 1, completion: 2 }} }} ]
  demo/embed:
    kind: embedding
    endpoints: [ {{ provider: demo, model: hashed, price: {{ prompt: 0.02 }} }} ]
keys:
  - {{ name: python, key: {KEY} }}
  - {{ name: office, key: {OFFICE_KEY}, allowed_ips: ["10.0.0.0/8"] }}
"""
    gw = Gateway(config)
    yield gw
    gw.stop()
