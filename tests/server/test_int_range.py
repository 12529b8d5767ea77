"""Integer bounds in JSON-schema grammars: the rule admits exactly the allowed numbers."""

from __future__ import annotations

import re

import pytest

from fireside.core.server import int_range
from fireside.core.server.structured import _grammar_from_schema


def _as_regex(body: str) -> re.Pattern[str]:
    """The GBNF subset range_rule writes (literals, classes, {m,n}, |, groups) as a regex."""
    pattern = re.sub(r'"([^"]*)"', lambda m: re.escape(m.group(1)), body).replace(" ", "")
    return re.compile(f"(?:{pattern})")


@pytest.mark.parametrize(("low", "high"), [
    (0, 150), (0, 0), (7, 7), (5, 23), (18, 1234), (-40, 40), (-300, -12), (99, 100),
    (1, 9999), (-1, 0)])
def test_bounded_ranges_admit_exactly_their_numbers(low: int, high: int) -> None:
    rule = _as_regex(int_range.range_rule(low, high))
    for n in range(low - 120, high + 120):
        assert bool(rule.fullmatch(str(n))) == (low <= n <= high), n
    assert not rule.fullmatch("007") and not rule.fullmatch("-0")


def test_one_sided_ranges() -> None:
    at_least = _as_regex(int_range.range_rule(12, None))
    assert [n for n in range(-5, 200) if at_least.fullmatch(str(n))] == list(range(12, 200))
    assert at_least.fullmatch("123456789012")
    at_most = _as_regex(int_range.range_rule(None, -3))
    assert [n for n in range(-50, 50) if at_most.fullmatch(str(n))] == list(range(-50, -2))


def test_exclusive_bounds_and_empty_ranges() -> None:
    schema, rules = int_range.extract({"type": "integer", "exclusiveMinimum": 0,
                                       "exclusiveMaximum": 10})
    rule = _as_regex(next(iter(rules.values())))
    assert [n for n in range(-3, 14) if rule.fullmatch(str(n))] == list(range(1, 10))
    assert "const" in schema
    with pytest.raises(ValueError):
        int_range.extract({"type": "integer", "minimum": 5, "maximum": 1})


def test_llama_cpp_parses_the_grammar_with_nested_ranges() -> None:
    schema = {"type": "object", "required": ["age", "scores"], "properties": {
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "scores": {"type": "array", "items": {"type": "integer", "minimum": -5, "maximum": 5}},
        "id": {"type": "integer"}}}
    assert _grammar_from_schema(schema, "response_format") is not None
