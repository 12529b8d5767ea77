"""Chat templates run sandboxed: a hostile GGUF template executes nothing."""

from __future__ import annotations

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
