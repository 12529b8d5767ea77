"""Chat templates from GGUF files, rendered in a sandbox and under a budget.

A GGUF's ``tokenizer.chat_template`` is Jinja code written by whoever made the file. It runs in
Jinja's ImmutableSandboxedEnvironment: attribute walks such as ``''.__class__.__mro__`` to reach
``os`` or ``subprocess`` raise ``SecurityError``, which becomes a clear :class:`TemplateError`.

The sandbox stops escapes, not work: ``'x' * 10**10`` or nested ``range(100000)`` loops would
freeze whichever thread renders (the engine thread: chat and API alike). So every render has a
:class:`Budget`. What a single C-level operation could blow up (repetition, powers, padding
widths, joins, replaces) is sized *before* it runs; loops over ``range`` tick a deadline; and the
render runs on a short-lived thread of its own, so a caller waits at most the time limit and a
template still spinning in a loop with no hook is stopped by an asynchronous exception.

The environment matches what Hugging Face's ``apply_chat_template`` offers: ``loopcontrols``,
``{% generation %}`` blocks, ``tojson`` as transformers defines it (no HTML escaping,
``ensure_ascii=False``, ``indent``/``separators``/``sort_keys``), ``raise_exception`` and
``strftime_now``.
"""

from __future__ import annotations

import contextvars
import ctypes
import datetime
import functools
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2
import jinja2.ext
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range

from fireside.core.errors import TemplateError

# Used when a GGUF has no template of its own: ChatML is what most small instruct models speak.
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# A width such as ``'%99999999s'`` or ``'{:99999999}'``: 8 digits or more is never a prompt.
_HUGE_WIDTH = re.compile(r"%[-#0 +]*\d{8,}|\{[^{}]*:[^{}]*\d{8,}")
_TICK_EVERY = 256  # range items between deadline checks
_GRACE_S = 0.25  # how long past the deadline the caller waits before interrupting


@dataclass(frozen=True)
class Budget:
    """What one render may spend: wall time, and characters (or items) in any one value."""

    seconds: float = 2.0
    max_chars: int = 8 * 1024 * 1024


class _OverBudget(Exception):
    """Raised inside the render; becomes a :class:`TemplateError` at the boundary."""


class _Stopped(BaseException):
    """Injected into a render thread that ran past its deadline."""


@dataclass
class _Run:
    budget: Budget
    deadline: float

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise _OverBudget(f"it took longer than {self.budget.seconds:g} s")

    def size(self, n: int, what: str = "a value") -> None:
        if n > self.budget.max_chars:
            raise _OverBudget(f"{what} of {n:,} would exceed the limit of "
                              f"{self.budget.max_chars:,}")


_active: contextvars.ContextVar[_Run | None] = contextvars.ContextVar("template_run",
                                                                      default=None)


def _run() -> _Run:
    run = _active.get()
    if run is None:  # a compiled template used outside render(): sizes still bounded
        return _Run(Budget(), time.monotonic() + Budget().seconds)
    return run


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


def _check_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse integer arguments (widths, counts, indents) no prompt ever needs."""
    run = _run()
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool):
            run.size(abs(value), "an argument")


def _check_str_method(target: Any, args: tuple[Any, ...]) -> None:
    """Size a ``str`` method's result before it allocates it."""
    owner, name, run = getattr(target, "__self__", None), getattr(target, "__name__", ""), _run()
    if not isinstance(owner, str):
        return
    if name in ("format", "format_map") and _HUGE_WIDTH.search(owner):
        raise _OverBudget("a format width is too large")
    if name == "replace" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
        old, new = args[0], args[1]
        hits = owner.count(old) if old else len(owner) + 1
        run.size(len(owner) + hits * max(0, len(new) - len(old)), "a replaced string")
    if name == "join" and args and isinstance(args[0], list | tuple):
        parts = args[0]
        run.size(sum(len(p) for p in parts if isinstance(p, str)) + len(owner) * len(parts),
                 "a joined string")


def _ticking(items: Iterator[int]) -> Iterator[int]:
    run = _run()
    for i, value in enumerate(items):
        if i % _TICK_EVERY == 0:
            run.tick()
        yield value


class _Range:
    """``range`` for templates: Jinja's size cap, plus a deadline tick while it is walked."""

    def __init__(self, *args: int) -> None:
        self._range = safe_range(*args)

    def __iter__(self) -> Iterator[int]:
        return _ticking(iter(self._range))

    def __reversed__(self) -> Iterator[int]:
        return _ticking(reversed(self._range))

    def __len__(self) -> int:
        return len(self._range)

    def __getitem__(self, index: Any) -> Any:
        return self._range[index]

    def __contains__(self, value: object) -> bool:
        return value in self._range


class _GenerationTags(jinja2.ext.Extension):
    """``{% generation %}...{% endgeneration %}`` (transformers' assistant mask): kept as text."""

    tags = {"generation"}

    def parse(self, parser: Any) -> Any:
        parser.stream.skip(1)
        return parser.parse_statements(("name:endgeneration",), drop_needle=True)


class _BudgetedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with every hook it offers spent on checking the budget."""

    intercepted_binops = frozenset({"*", "+", "**", "%"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        run = _run()
        run.tick()
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                n = _sized(seq)
                if n is not None and isinstance(times, int):
                    run.size(n * max(0, times), "a repeated value")
        elif operator == "+":
            a, b = _sized(left), _sized(right)
            if a is not None and b is not None:
                run.size(a + b, "a concatenation")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
                run.size(int(right * math.log2(abs(left)) / 8), "a power (bytes)")
        elif operator == "%" and isinstance(left, str):
            if _HUGE_WIDTH.search(left):
                raise _OverBudget("a format width is too large")
            _check_args(right if isinstance(right, tuple) else (right,), {})
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any,  # noqa: N805
             **kwargs: Any) -> Any:
        _run().tick()
        _check_args(args, kwargs)
        _check_str_method(getattr(__obj, "__wrapped__", __obj), args)
        result = super().call(__context, __obj, *args, **kwargs)
        n = _sized(result)
        if n is not None:
            _run().size(n, "a call's result")
        return result

    def getattr(self, obj: Any, attribute: str) -> Any:
        _run().tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _run().tick()
        return super().getitem(obj, argument)


def _budgeted_filter(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A built-in filter that checks its arguments before and its result after."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        run = _run()
        run.tick()
        value_at = 1 if hasattr(fn, "jinja_pass_arg") else 0  # after the context, if passed
        _check_args(args[value_at + 1:], kwargs)
        value = args[value_at] if len(args) > value_at else None
        if fn.__name__ == "do_format" and isinstance(value, str) and _HUGE_WIDTH.search(value):
            raise _OverBudget("a format width is too large")
        if fn.__name__ == "do_replace" and len(args) >= value_at + 3:
            _check_str_method(str(value).replace, (str(args[value_at + 1]),
                                                   str(args[value_at + 2])))
        result = fn(*args, **kwargs)
        n = _sized(result)
        if n is not None:
            run.size(n, "a filter's result")
        return result

    return wrapper


def _bounded_join(original: Callable[[Any], str]) -> Callable[[Any], str]:
    """Jinja's ``~`` operator: sized before the string is built (doubling in a loop)."""

    def join(seq: Any) -> str:
        parts = list(seq)
        _run().size(sum(len(p) if isinstance(p, str) else 32 for p in parts), "a concatenation")
        return original(parts)

    return join


def _raise(message: str) -> None:
    raise TemplateError(f"chat template refused the conversation: {message}")


def _strftime_now(fmt: str) -> str:
    return datetime.datetime.now().strftime(fmt)


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None,
            separators: tuple[str, str] | None = None, sort_keys: bool = False) -> str:
    """transformers' ``tojson``: plain JSON, not Jinja's HTML-escaped Markup."""
    if isinstance(indent, int):
        _run().size(abs(indent), "an indent")
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


@lru_cache(maxsize=16)
def _compile(source: str) -> jinja2.Template:
    env = _BudgetedEnvironment(trim_blocks=True, lstrip_blocks=True, undefined=jinja2.Undefined,
                               extensions=[jinja2.ext.loopcontrols, _GenerationTags])
    for name in ("join", "replace", "center", "indent", "format", "wordwrap", "truncate",
                 "list", "string"):
        env.filters[name] = _budgeted_filter(env.filters[name])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = _strftime_now
    env.globals["range"] = _Range
    try:
        template = env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"chat template has a syntax error: {exc}") from exc
    namespace = template.root_render_func.__globals__
    for name in ("str_join", "markup_join"):
        if name in namespace:
            namespace[name] = _bounded_join(namespace[name])
    return template


def _render_now(source: str, variables: dict[str, Any]) -> str:
    template = _compile(source)
    run, out, total = _run(), [], 0
    for chunk in template.generate(**variables):
        total += len(chunk)
        run.size(total, "the rendered prompt")
        run.tick()
        out.append(chunk)
    return "".join(out)


def _interrupt(thread: threading.Thread) -> None:
    """Raise :class:`_Stopped` in ``thread`` at its next bytecode (it only runs a template)."""
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident),
                                                   ctypes.py_object(_Stopped))


def _budgeted(fn: Callable[[], str], budget: Budget) -> str:
    """``fn()`` on a thread of its own, returned within the budget or a TemplateError."""
    box: dict[str, Any] = {}

    def work() -> None:
        _active.set(_Run(budget, time.monotonic() + budget.seconds))
        try:
            box["out"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            box["error"] = exc

    thread = threading.Thread(target=work, name="fireside-template", daemon=True)
    thread.start()
    thread.join(budget.seconds + _GRACE_S)
    if thread.is_alive():
        _interrupt(thread)
        raise TemplateError(f"chat template ran past its budget and was stopped: it took "
                            f"longer than {budget.seconds:g} s")
    error = box.get("error")
    if error is None:
        return str(box["out"])
    if isinstance(error, TemplateError):
        raise error
    if isinstance(error, _OverBudget | _Stopped):
        raise TemplateError(
            f"chat template ran past its budget and was stopped: {error or 'time'}") from None
    if isinstance(error, SecurityError):
        raise TemplateError(
            f"chat template tried an unsafe operation and was stopped: {error}") from error
    if isinstance(error, MemoryError | RecursionError):
        raise TemplateError(f"chat template failed to render: {type(error).__name__}") from None
    # a template is foreign code: any failure is the template's
    raise TemplateError(f"chat template failed to render: {error}") from error


def validate(source: str, budget: Budget | None = None) -> None:
    """Compile ``source`` (a load refuses a template that cannot even parse)."""
    _budgeted(lambda: (_compile(source), "")[1], budget or Budget())


def render(source: str | None, messages: list[dict[str, Any]], *, bos_token: str = "",
           eos_token: str = "", add_generation_prompt: bool = True,
           tools: list[dict[str, Any]] | None = None, budget: Budget | None = None,
           extra: dict[str, Any] | None = None) -> str:
    """Render ``messages`` into the prompt text the model was trained on."""
    variables: dict[str, Any] = {**(extra or {}), "messages": messages, "bos_token": bos_token,
                                 "eos_token": eos_token, "tools": tools,
                                 "add_generation_prompt": add_generation_prompt}
    return _budgeted(lambda: _render_now(source or CHATML, variables), budget or Budget())


def open_final(rendered: str, messages: list[dict[str, Any]]) -> str:
    """Cut a rendered conversation just after its last message's text, so the model continues
    that message (what transformers does for ``continue_final_message``): the template's
    end-of-turn markup after it goes."""
    last = messages[-1].get("content") if messages else None
    if not isinstance(last, str) or not last:
        return rendered
    at = rendered.rfind(last)
    return rendered[:at + len(last)] if at >= 0 else rendered
