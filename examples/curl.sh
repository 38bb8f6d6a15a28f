#!/usr/bin/env bash
# Chat through a local switchboard running config.example.yaml (demo key, mock provider).
set -euo pipefail
BASE=${SWITCHBOARD_URL:-http://127.0.0.1:8080}
KEY=${SWITCHBOARD_KEY:-sk-sb-demo-key}

curl -sS "$BASE/v1/chat/completions" -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
  -d '{"model": "demo/echo", "messages": [{"role": "user", "content": "Hello, switchboard!"}]}'
echo
curl -sSN "$BASE/v1/chat/completions" -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
  -d '{"model": "demo/echo", "stream": true, "messages": [{"role": "user", "content": "Stream me"}]}'
