"""Integer ``minimum``/``maximum`` for JSON-schema grammars.

llama-cpp-python's schema-to-grammar converter drops integer bounds, so a schema asking for an
age of 0-150 let a small model write 2337 (seen with SmolLM2). The bounds are enforced here
instead: each bounded integer becomes a placeholder constant before conversion and, in the
converted grammar, a rule that spells out exactly the allowed digit strings (the classic
range-to-regex split: a shared prefix, then whole digit classes).
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DIGITS = 18  # an unbounded side still stops at 18 digits, like a 64-bit integer
_PLACEHOLDER = "__fireside_int_range_{}__"


def _alternatives(low: str, high: str) -> list[str]:
    """GBNF sequences matching the decimal strings in [low, high], both of one length."""
    if not low:
        return [""]
    if low[0] == high[0]:
        return [f'"{low[0]}" {rest}'.strip() for rest in _alternatives(low[1:], high[1:])]
    width = len(low) - 1
    if low[1:] == "0" * width and high[1:] == "9" * width:
        return [f"[{low[0]}-{high[0]}]" + " [0-9]" * width]
    out = [f'"{low[0]}" {rest}'.strip() for rest in _alternatives(low[1:], "9" * width)]
    if int(low[0]) + 1 <= int(high[0]) - 1:
        out.append(f"[{int(low[0]) + 1}-{int(high[0]) - 1}]" + " [0-9]" * width)
    out += [f'"{high[0]}" {rest}'.strip() for rest in _alternatives("0" * width, high[1:])]
    return out


def _non_negative(low: int, high: int | None) -> list[str]:
    """Sequences for the integers in [low, high] (high None: up to MAX_DIGITS digits)."""
    top = high if high is not None else 10 ** MAX_DIGITS - 1
    out: list[str] = []
    start = low
    while start <= top:
        digits = len(str(start))
        end = min(top, 10 ** digits - 1)
        if high is None and start == 10 ** (digits - 1) and digits > 1:
            out.append(f"[1-9] [0-9]{{{digits - 1},{MAX_DIGITS - 1}}}")
            break
        out += _alternatives(str(start), str(end))
        start = end + 1
    return out


def range_rule(low: int | None, high: int | None) -> str:
    """The GBNF body of a rule matching the integers from low to high (None: unbounded)."""
    alts: list[str] = []
    if low is None or low < 0:  # negatives: "-" then the magnitudes, 1 up to |low|
        neg_top = None if low is None else -low
        neg_low = 1 if high is None or high >= 0 else -high
        alts += [f'"-" {a}' for a in _non_negative(neg_low, neg_top)]
    if high is None or high >= 0:
        alts += _non_negative(max(low or 0, 0), high)
    return " | ".join(f"({a})" if " " in a else a for a in alts) or '"0"'


def _bounds(node: dict[str, Any]) -> tuple[int | None, int | None]:
    low = node.get("minimum")
    high = node.get("maximum")
    if isinstance(node.get("exclusiveMinimum"), int | float):
        low = math.floor(node["exclusiveMinimum"]) + 1
    if isinstance(node.get("exclusiveMaximum"), int | float):
        high = math.ceil(node["exclusiveMaximum"]) - 1
    return (math.ceil(low) if isinstance(low, int | float) else None,
            math.floor(high) if isinstance(high, int | float) else None)


def extract(schema: Any) -> tuple[Any, dict[str, str]]:
    """The schema with bounded integers swapped for placeholders, and each placeholder's rule."""
    rules: dict[str, str] = {}

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        if node.get("type") == "integer":
            low, high = _bounds(node)
            if low is not None or high is not None:
                if low is not None and high is not None and low > high:
                    raise ValueError(f"integer range {low}..{high} is empty")
                name = _PLACEHOLDER.format(len(rules))
                rules[name] = range_rule(low, high)
                return {"const": name}
        return {key: walk(value) if key not in ("const", "enum", "default", "examples")
                else value for key, value in node.items()}

    return walk(schema), rules


def substitute(grammar: str, rules: dict[str, str]) -> str:
    """Put each placeholder's rule where the converter wrote the placeholder as a string."""
    for index, (name, body) in enumerate(rules.items()):
        literal = json.dumps(json.dumps(name))  # the quoted JSON string, as a GBNF literal
        if literal not in grammar:
            raise ValueError("the converter did not keep an integer range placeholder")
        rule = f"int-range-{index}"
        grammar = grammar.replace(literal, rule) + f"\n{rule} ::= {body}"
    return grammar
