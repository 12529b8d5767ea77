"""Ready-to-paste client snippets for the server panel (pure text, so they are testable)."""

from __future__ import annotations

import json
import shlex


def curl(base_url: str, model: str, api_key: str = "") -> str:
    messages = json.dumps([{"role": "user", "content": "Hello!"}])
    auth = f' \\\n  -H "Authorization: Bearer {api_key}"' if api_key else ""
    return (f"curl {base_url}/chat/completions \\\n  -H \"Content-Type: application/json\""
            f"{auth} \\\n  -d '{{\"model\": {json.dumps(model)},\n"
            f"       \"messages\": {messages}}}'")


def python(base_url: str, model: str, api_key: str = "") -> str:
    return ("from openai import OpenAI\n\n"
            f'client = OpenAI(base_url="{base_url}", api_key="{api_key or "fireside"}")\n'
            "reply = client.chat.completions.create(\n"
            f'    model="{model}",\n'
            '    messages=[{"role": "user", "content": "Hello!"}],\n'
            ")\n"
            "print(reply.choices[0].message.content)")


def claude_code(base_url: str, model: str, api_key: str = "") -> str:
    """Environment for Claude Code (and the ``anthropic`` SDK), which speak Anthropic's
    Messages API: its base URL has no ``/v1``, and every model it asks for, the small one
    included, must be one this server has."""
    root = base_url.removesuffix("/").removesuffix("/v1")
    return (f"export ANTHROPIC_BASE_URL={root}\n"
            f"export ANTHROPIC_AUTH_TOKEN={api_key or 'fireside'}"
            "  # or ANTHROPIC_API_KEY (sent as x-api-key)\n"
            f"export ANTHROPIC_MODEL={shlex.quote(model)}\n"
            f"export ANTHROPIC_DEFAULT_HAIKU_MODEL={shlex.quote(model)}\n"
            "claude")
