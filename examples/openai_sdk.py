"""The official OpenAI Python SDK, unchanged, pointed at switchboard (pip install openai)."""

import os

from openai import OpenAI

client = OpenAI(
    base_url=os.environ.get("SWITCHBOARD_URL", "http://127.0.0.1:8080") + "/v1",
    api_key=os.environ.get("SWITCHBOARD_KEY", "sk-sb-demo-key"),
)

reply = client.chat.completions.create(model="demo/echo", messages=[{"role": "user", "content": "Hello!"}])
print(reply.choices[0].message.content, "| served by", reply.model, "| cost", reply.usage.cost)

for chunk in client.chat.completions.create(
    model="demo/echo", messages=[{"role": "user", "content": "Stream this"}], stream=True
):
    if chunk.choices:
        print(chunk.choices[0].delta.content or "", end="", flush=True)
print()
