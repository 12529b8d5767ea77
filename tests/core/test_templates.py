"""Chat templates run sandboxed: a hostile GGUF template executes nothing."""

from __future__ import annotations

import datetime
import json
import threading
import time
from pathlib import Path

import pytest

from fireside.core.errors import TemplateError
from fireside.core.inference import templates

MESSAGES = [{"role": "user", "content": "hi"}]


def test_chatml_fallback() -> None:
    out = templates.render(None, MESSAGES)
    assert out == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


@pytest.mark.parametrize("payload", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.system('touch {marker}') }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('touch {marker}')"
    ".read() }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{% if c.__name__ == 'Popen' %}"
    "{{ c(['touch', '{marker}']) }}{% endif %}{% endfor %}",
])
def test_malicious_template_executes_nothing(tmp_path: Path, payload: str) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(TemplateError, match="unsafe"):
        templates.render(payload.replace("{marker}", str(marker)), MESSAGES)
    assert not marker.exists()


def test_raise_exception_is_a_clear_error() -> None:
    with pytest.raises(TemplateError, match="roles must alternate"):
        templates.render("{{ raise_exception('roles must alternate') }}", MESSAGES)


def test_syntax_error() -> None:
    with pytest.raises(TemplateError, match="syntax"):
        templates.render("{% for %}", MESSAGES)


# -- the budget: hostile templates stop, with a clear error, and free the caller -------------
FAST = templates.Budget(seconds=0.5, max_chars=1_000_000)


@pytest.mark.parametrize(("source", "why"), [
    ("{{ 'x' * 10**10 }}", "repeated value"),
    ("{{ [0] * 10**9 }}", "repeated value"),
    ("{{ 10 ** (10 ** 10) }}", "power"),
    ("{{ '%999999999s' % 'x' }}", "format width"),
    ("{{ '{:999999999}'.format(1) }}", "format width"),
    ("{{ 'x'|center(10**9) }}", "argument"),
    ("{{ 'ab'.ljust(10**9) }}", "argument"),
    ("{{ ('x' * 100000)|replace('x', 'y' * 1000) }}", "replaced string"),
    ("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
     "{% endfor %}{{ ns.s }}", "concatenation"),
    ("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}"
     "{% endfor %}", "concatenation"),
    ("{% for i in range(100000) %}{{ 'yyyyyyyyyyyy' }}{% endfor %}", "rendered prompt"),
    ("{{ {'a': 1}|tojson(indent=10**9) }}", "indent"),
])
def test_a_value_too_big_is_refused_before_it_is_built(source: str, why: str) -> None:
    with pytest.raises(TemplateError, match=f"budget.*{why}"):
        templates.render(source, MESSAGES, budget=FAST)


@pytest.mark.parametrize("source", [
    # loops whose bodies call no hook: only the deadline (or the interrupt) stops them
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% set s = 'x' * 100000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}",
    "{% for m in messages * 100000 %}{% for n in messages * 100000 %}{% endfor %}{% endfor %}",
])
def test_a_template_that_never_ends_is_stopped_at_the_deadline(source: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateError, match="budget"):
        templates.render(source, MESSAGES, budget=FAST)
    assert time.monotonic() - started < 30  # bounded: the caller got its answer back
    # the render thread was stopped, not left spinning: it is gone soon after
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
            t.name == "fireside-template" for t in threading.enumerate()):
        time.sleep(0.05)
    assert not [t for t in threading.enumerate() if t.name == "fireside-template"]
    assert templates.render(None, MESSAGES) == templates.render(None, MESSAGES)  # still works


def test_a_hostile_render_does_not_hold_up_another_thread() -> None:
    """The engine thread is never the one spinning: another render runs meanwhile."""
    hostile = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    errors: list[BaseException] = []

    def spin() -> None:
        try:
            templates.render(hostile, MESSAGES, budget=templates.Budget(seconds=3))
        except TemplateError as exc:
            errors.append(exc)

    thread = threading.Thread(target=spin)
    thread.start()
    quick = templates.render(None, MESSAGES)
    assert thread.is_alive()  # the hostile one is still running while the quick one is done
    thread.join(30)
    assert quick.endswith("<|im_start|>assistant\n")
    assert len(errors) == 1


def test_recursion_and_division_are_clear_errors() -> None:
    with pytest.raises(TemplateError, match="RecursionError"):
        templates.render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", MESSAGES)
    with pytest.raises(TemplateError, match="failed to render"):
        templates.render("{{ 1 // 0 }}", MESSAGES)


# -- what Hugging Face templates use -------------------------------------------------------
def test_hf_extensions_and_helpers() -> None:
    out = templates.render(
        "{% for m in messages %}{% if loop.index > 1 %}{% break %}{% endif %}{{ m.content }}"
        "{% endfor %}|{% for i in range(4) %}{% if i == 1 %}{% continue %}{% endif %}{{ i }}"
        "{% endfor %}|{% generation %}kept{% endgeneration %}|{{ strftime_now('%Y') }}",
        [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    assert out == f"a|023|kept|{datetime.date.today().year}"


def test_tojson_as_transformers_defines_it() -> None:
    value = {"b": "ü <tag> & 'q'", "a": [1, 2]}
    assert templates.render("{{ v|tojson }}", MESSAGES, extra={"v": value}) == \
        json.dumps(value, ensure_ascii=False)  # no HTML escaping, no \u escapes
    assert templates.render("{{ v|tojson(indent=2) }}", MESSAGES, extra={"v": value}) == \
        json.dumps(value, ensure_ascii=False, indent=2)
    assert templates.render("{{ v|tojson(separators=(',', ':'), sort_keys=true) }}", MESSAGES,
                            extra={"v": value}) == \
        json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def test_range_behaves_like_range() -> None:
    out = templates.render("{{ range(3)|list }}{{ range(5)|length }}"
                           "{% for i in range(3)|reverse %}{{ i }}{% endfor %}"
                           "{{ 2 in range(3) }}{{ range(10)[4] }}", MESSAGES)
    assert out == "[0, 1, 2]5210True4"
    with pytest.raises(TemplateError):
        templates.render("{{ range(10**9)|list }}", MESSAGES)


def test_validate_catches_syntax_only() -> None:
    templates.validate("{{ raise_exception('only at render time') }}")
    with pytest.raises(TemplateError, match="syntax"):
        templates.validate("{% if %}")


# -- real Hugging Face templates (tests/core/data/chat_templates.txt) ----------------------
DATA = Path(__file__).parent / "data" / "chat_templates.txt"
CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "4."},
    {"role": "user", "content": "And 3+3?"},
]
# how each family's prompt must end: ready for the assistant's turn
ENDINGS = {
    "llama3": "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "llama3.1": "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "llama3.2": "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "llama2": "[INST] And 3+3? [/INST]",
    "qwen2.5": "<|im_start|>assistant\n",
    "qwen3": "<|im_start|>assistant\n",
    "gemma2": "<start_of_turn>model\n",
    "gemma3": "<start_of_turn>model\n",
    "mistral-v0.1": "[INST] And 3+3? [/INST]",
    "mistral-v0.3": "And 3+3?[/INST]",
    "phi3": "<|assistant|>\n",
    "phi4": "<|im_start|>assistant<|im_sep|>",
    "deepseek-r1-distill": "<｜Assistant｜><think>\n",
    "smollm2": "<|im_start|>assistant\n",
}
# templates that refuse a system message, as their authors wrote them
NO_SYSTEM = {"gemma2": "System role not supported",
             "mistral-v0.1": "roles must alternate"}


def real_templates() -> dict[str, str]:
    out: dict[str, str] = {}
    name = ""
    for line in DATA.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("### "):
            name = line[4:].strip()
            out[name] = ""
        elif name:
            out[name] += line
    return {k: v.removesuffix("\n") for k, v in out.items()}


def test_the_data_file_holds_a_dozen_families() -> None:
    assert set(real_templates()) == set(ENDINGS)


@pytest.mark.parametrize("name", sorted(ENDINGS))
def test_a_real_template_renders_a_conversation(name: str) -> None:
    source = real_templates()[name]
    messages = CONVERSATION
    if name in NO_SYSTEM:
        with pytest.raises(TemplateError, match=NO_SYSTEM[name]):
            templates.render(source, messages, bos_token="<s>", eos_token="</s>")
        messages = CONVERSATION[1:]
    out = templates.render(source, messages, bos_token="<s>", eos_token="</s>")
    assert out.endswith(ENDINGS[name]), out[-80:]
    if name not in NO_SYSTEM:
        assert "You are terse." in out
    positions = [out.find(text) for text in ("What is 2+2?", "4.", "And 3+3?")]
    assert -1 not in positions and positions == sorted(positions), out  # in order, once each
    assert out.count("And 3+3?") == 1


@pytest.mark.parametrize("name", ["llama3.1", "llama3.2", "qwen2.5", "qwen3", "mistral-v0.3"])
def test_real_tool_templates_render_tools_and_calls(name: str) -> None:
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather in a city, in °C",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}}]
    messages = [{"role": "user", "content": "Weather in Zürich?"},
                {"role": "assistant", "content": "", "tool_calls": [{
                    "id": "call12345", "type": "function",
                    "function": {"name": "get_weather", "arguments": {"city": "Zürich"}}}]},
                {"role": "tool", "tool_call_id": "call12345", "content": '{"temp": 21}'},
                {"role": "assistant", "content": "It is 21 °C."},
                {"role": "user", "content": "Thanks"}]
    out = templates.render(real_templates()[name], messages, bos_token="<s>",
                           eos_token="</s>", tools=tools)
    assert "get_weather" in out and "°C" in out  # tojson kept non-ASCII (ensure_ascii=False)
    assert "Zürich" in out and "temp" in out and "21" in out
    if name.startswith("llama3"):
        assert '"name": "get_weather"' in out and "    " in out  # tojson(indent=4)


def test_qwen3_thinking_switch() -> None:
    source = real_templates()["qwen3"]
    off = templates.render(source, CONVERSATION, extra={"enable_thinking": False})
    assert off.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert templates.render(source, CONVERSATION).endswith("<|im_start|>assistant\n")


def test_llama32_dates_with_strftime_now() -> None:
    out = templates.render(real_templates()["llama3.2"], CONVERSATION)
    assert f"Today Date: {datetime.date.today().strftime('%d %b %Y')}" in out


@pytest.mark.slow
def test_real_templates_written_into_gguf_files_load_and_render(tmp_path: Path) -> None:
    """The same templates as a GGUF's own: the preflight passes them, the engine renders."""
    from corpus.generate import write_model

    from fireside.core.inference.engine import Engine
    from fireside.core.inference.types import LoadSettings

    engine = Engine()
    try:
        for name, source in real_templates().items():
            path = write_model(tmp_path / f"{name}.gguf", template=source)
            engine.load(path, LoadSettings(n_ctx=256))
            messages = CONVERSATION[1:] if name in NO_SYSTEM else CONVERSATION
            out = engine.render_chat(messages)
            assert out.endswith(ENDINGS[name]) and "And 3+3?" in out
            if name in ("llama3", "gemma2", "mistral-v0.1", "llama2", "deepseek-r1-distill"):
                assert out.startswith("<s>")  # bos_token is the model's own token text
    finally:
        engine.unload()
