"""The official `openai` SDK's audio and image calls, and a rerank call over plain HTTP,
against the real binary and its offline mock provider: speech streamed through
(`with_streaming_response`), a transcription of a real WAV file made here, image
generation, and the usage rows (billed units and cost) through `/api/v1/generation`."""

import base64
import wave

import openai
import pytest

try:
    import httpx
except ImportError:  # openai 3.x ships its HTTP client as `httpx2`, the same API
    import httpx2 as httpx

from conftest import KEY, Gateway

CONFIG = f"""
server: {{ workers: 1 }}
database: {{ path: "__DB__" }}
providers:
  demo: {{ type: mock }}
models:
  demo/tts:
    kind: speech
    supported_voices: [alloy, nova]
    endpoints: [ {{ provider: demo, model: silence, price: {{ per_million_characters: 15 }} }} ]
  demo/stt:
    kind: transcription
    endpoints: [ {{ provider: demo, model: words, price: {{ per_minute: 0.006 }} }} ]
  demo/image:
    kind: image
    endpoints: [ {{ provider: demo, model: pixel, price: {{ images: {{ 1024x1024: 0.04 }} }} }} ]
  demo/rerank:
    kind: rerank
    endpoints: [ {{ provider: demo, model: overlap, price: {{ per_search_unit: 0.002 }} }} ]
keys:
  - {{ name: python, key: {KEY} }}
"""


@pytest.fixture(scope="module")
def media_gateway():
    gw = Gateway(CONFIG)
    yield gw
    gw.stop()


@pytest.fixture
def client(media_gateway):
    return openai.OpenAI(base_url=media_gateway.base_url, api_key=KEY, max_retries=0)


def generation(gateway, generation_id):
    root = gateway.base_url.removesuffix("/v1")
    resp = httpx.get(f"{root}/api/v1/generation", params={"id": generation_id}, headers={"Authorization": f"Bearer {KEY}"})
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]


def test_speech_streams_a_wav_billed_per_character(client, media_gateway):
    with client.audio.speech.with_streaming_response.create(model="demo/tts", voice="alloy", input="hello there") as resp:
        audio = b"".join(resp.iter_bytes())
        generation_id = resp.headers["x-generation-id"]
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
    row = generation(media_gateway, generation_id)
    assert (row["endpoint"], row["billed_unit"], row["billed_units"]) == ("speech", "characters", 11)
    assert row["cost_nano_usd"] == 165_000


def test_transcription_of_a_real_wav_file(client, media_gateway, tmp_path):
    path = tmp_path / "two-seconds.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(b"\x00\x00" * 32_000)
    with open(path, "rb") as f:
        raw = client.audio.transcriptions.with_raw_response.create(model="demo/stt", file=f)
    result = raw.parse()
    assert result.text == f"mock transcript of two-seconds.wav ({path.stat().st_size} bytes)"
    row = generation(media_gateway, raw.headers["x-generation-id"])
    assert (row["endpoint"], row["billed_unit"], row["billed_units"]) == ("transcriptions", "seconds", 2)
    assert row["cost_nano_usd"] == 200_000  # 2 s at $0.006 a minute
    with open(path, "rb") as f:
        text = client.audio.translations.create(model="demo/stt", file=f, response_format="text")
    assert text.startswith("mock transcript of two-seconds.wav")


def test_a_model_of_another_kind_is_a_400_naming_it(client, tmp_path):
    path = tmp_path / "a.wav"
    path.write_bytes(b"RIFF")
    with pytest.raises(openai.BadRequestError) as err, open(path, "rb") as f:
        client.audio.transcriptions.create(model="demo/tts", file=f)
    assert "model `demo/tts` is a speech model" in str(err.value)


def test_images_generate_returns_pngs(client):
    result = client.images.generate(model="demo/image", prompt="a lighthouse", n=2, size="1024x1024")
    assert len(result.data) == 2
    assert base64.b64decode(result.data[0].b64_json)[:8] == b"\x89PNG\r\n\x1a\n"


def test_rerank_over_http(media_gateway):
    resp = httpx.post(
        f"{media_gateway.base_url}/rerank",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"model": "demo/rerank", "query": "red apple", "documents": ["green pear", "a red apple", "blue sky"],
              "top_n": 2, "return_documents": True},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [r["index"] for r in body["results"]][0] == 1
    assert body["results"][0]["document"] == {"text": "a red apple"}
    assert len(body["results"]) == 2
    row = generation(media_gateway, resp.headers["x-generation-id"])
    assert (row["billed_unit"], row["billed_units"], row["cost_nano_usd"]) == ("search_units", 1, 2_000_000)
