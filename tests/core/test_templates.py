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
