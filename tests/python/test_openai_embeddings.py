"""The official `openai` SDK's embeddings.create against the real binary: the SDK asks for
base64 by default and decodes little-endian f32; the mock provider's vectors are documented
(README), so their values are checked here from that description."""

import hashlib
import math
import struct

import openai
import pytest

from conftest import KEY


def documented_mock_vector(text, dims=8):
    raw = []
    for i in range(dims):
        h = hashlib.sha256(f"{i}:{text}".encode()).digest()
        raw.append(struct.unpack("<I", h[:4])[0] / 0xFFFFFFFF * 2 - 1)
    norm = math.sqrt(sum(x * x for x in raw))
    return [x / norm for x in raw]


@pytest.fixture
def client(gateway):
    return openai.OpenAI(base_url=gateway.base_url, api_key=KEY, max_retries=0)


@pytest.mark.parametrize("encoding", [None, "float", "base64"])
def test_embeddings_create_returns_the_documented_vectors(client, encoding):
    extra = {} if encoding is None else {"encoding_format": encoding}
    result = client.embeddings.create(model="demo/embed", input=["hello", "world"], **extra)
    assert [d.index for d in result.data] == [0, 1]
    for item, text in zip(result.data, ["hello", "world"]):
        if encoding == "base64":
            # Asked for explicitly, the SDK hands the string over undecoded.
            values = list(struct.unpack("<8f", __import__("base64").b64decode(item.embedding)))
        else:
            values = item.embedding
        assert values == pytest.approx(documented_mock_vector(text), abs=1e-6)
    assert result.model == "demo/embed"
    assert result.usage.prompt_tokens == 4 and result.usage.total_tokens == 4


def test_dimensions_and_a_single_string(client):
    result = client.embeddings.create(model="demo/embed", input="sky", dimensions=32)
    assert result.data[0].embedding == pytest.approx(documented_mock_vector("sky", 32), abs=1e-6)


def test_chat_model_is_refused(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.embeddings.create(model="demo/echo", input="x")
    assert "chat model" in str(e.value)
