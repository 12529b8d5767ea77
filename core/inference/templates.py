"""Chat templates from GGUF files, rendered in a sandbox.

A GGUF's ``tokenizer.chat_template`` is Jinja code written by whoever made the file. It runs in
Jinja's ImmutableSandboxedEnvironment: attribute walks such as ``''.__class__.__mro__`` to reach
``os`` or ``subprocess`` raise ``SecurityError``, which becomes a clear :class:`TemplateError`.
"""

from __future__ import annotations

import datetime
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from fireside.core.errors import TemplateError

# Used when a GGUF has no template of its own: ChatML is what most small instruct models speak.
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _raise(message: str) -> None:
    raise TemplateError(f"chat template refused the conversation: {message}")


def _strftime_now(fmt: str) -> str:
    return datetime.datetime.now().strftime(fmt)


@lru_cache(maxsize=16)
def _compile(source: str) -> jinja2.Template:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        undefined=jinja2.Undefined)
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = _strftime_now
    try:
        return env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"chat template has a syntax error: {exc}") from exc


def render(source: str | None, messages: list[dict[str, Any]], *, bos_token: str = "",
           eos_token: str = "", add_generation_prompt: bool = True,
           tools: list[dict[str, Any]] | None = None) -> str:
    """Render ``messages`` into the prompt text the model was trained on."""
    template = _compile(source or CHATML)
    try:
        return template.render(messages=messages, bos_token=bos_token, eos_token=eos_token,
                               add_generation_prompt=add_generation_prompt, tools=tools)
    except TemplateError:
        raise
    except SecurityError as exc:
        raise TemplateError(
            f"chat template tried an unsafe operation and was stopped: {exc}") from exc
    except Exception as exc:  # a template is foreign code: any failure is the template's
        raise TemplateError(f"chat template failed to render: {exc}") from exc
