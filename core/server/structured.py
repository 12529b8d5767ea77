"""Structured output: ``response_format`` grammars and tool calls.

``json_object``/``json_schema`` are enforced by a llama.cpp grammar, so even a tiny model's answer
parses and validates. Tools go to the chat template when it knows about them (Qwen, Llama 3.1,
Hermes…); otherwise they are described in the system prompt. ``tool_choice`` naming a function
(or ``required``) constrains the answer with a grammar built from the function's parameters, so a
forced call always comes back well-formed. Output is parsed for the common tool-call spellings.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from fireside.core.server import int_range
from fireside.core.server.params import ApiError, bad

TOOL_CALL_TAG = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
PREFIXES = ("[TOOL_CALLS]", "<|python_tag|>", "<tool_call>", "functools")


# One JSON object and nothing after it. llama-cpp-python's JSON_GBNF lets whitespace follow the
# closing brace without end, so a model that kept writing newlines ran to max_tokens ('length')
# instead of stopping; here the grammar is complete at the root's "}" (llama.cpp then allows only
# end-of-generation) and whitespace runs are bounded, as in llama.cpp's own json.gbnf.
JSON_OBJECT_GBNF = r"""
root   ::= "{" ws ( member ( "," ws member )* )? "}"
member ::= string ":" ws value
value  ::= object | array | string | number | ( "true" | "false" | "null" ) ws
object ::= "{" ws ( member ( "," ws member )* )? "}" ws
array  ::= "[" ws ( value ( "," ws value )* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} ) )* "\"" ws
number ::= "-"? ( "0" | [1-9] [0-9]{0,15} ) ( "." [0-9]+ )? ( [eE] [-+]? [0-9]{1,15} )? ws
ws     ::= | " " | "\n" [ \t]{0,20}
"""

# The schema-to-grammar converter spells a repetition out once per allowed count: one
# ``{"type": "string", "minLength": 1000000000}`` grew the process past 24 GB (OOM-killed).
MAX_REPEAT = 1000
_COUNTS = frozenset({"minLength", "maxLength", "minItems", "maxItems", "minProperties",
                     "maxProperties", "minContains", "maxContains"})
_QUANTIFIER = re.compile(r"\{\s*(\d+)\s*(?:,\s*(\d*)\s*)?\}")


def _check_schema_size(schema: Any, param: str) -> None:
    """Refuse counts the grammar would have to spell out more than MAX_REPEAT times."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if key in _COUNTS and isinstance(value, int | float) and value > MAX_REPEAT:
                raise bad(param, f"'{key}' of {value} is too large for a grammar (at most "
                          f"{MAX_REPEAT})")
            if key == "pattern" and isinstance(value, str):
                for low, high in _QUANTIFIER.findall(value):
                    if any(len(n) > 6 or int(n) > MAX_REPEAT for n in (low, high) if n):
                        raise bad(param, f"the pattern repeats more than {MAX_REPEAT} times: "
                                  f"{value[:80]!r}")
            if isinstance(value, dict | list):
                stack.append(value)


def _grammar_from_schema(schema: Any, param: str) -> Any:
    from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

    _check_schema_size(schema, param)
    try:
        schema, ranges = int_range.extract(schema)
        gbnf = int_range.substitute(json_schema_to_gbnf(json.dumps(schema)), ranges)
        return LlamaGrammar.from_string(gbnf, verbose=False)
    except Exception as exc:  # the converter raises bare Exceptions on unsupported schemas
        raise bad(param, f"this JSON schema cannot be turned into a grammar: {exc}") from exc


MAX_GRAMMAR_CHARS = 65536


def response_grammar(body: dict[str, Any]) -> Any:
    """The grammar that ``response_format`` (or llama-server's ``grammar``) asks for, or None."""
    fmt = body.get("response_format")
    own = body.get("grammar")
    if body.get("json_schema") is not None:  # llama-server's top-level schema
        if own is not None or fmt is not None:
            raise bad("json_schema", "'json_schema' cannot be combined with 'grammar' or "
                      "'response_format'")
        if not isinstance(body["json_schema"], dict):
            raise bad("json_schema", "'json_schema' must be an object")
        return _grammar_from_schema(body["json_schema"], "json_schema")
    if own is not None:
        if fmt is not None and not (isinstance(fmt, dict) and fmt.get("type") == "text"):
            raise bad("grammar", "'grammar' and 'response_format' cannot be used together")
        if not isinstance(own, str) or not own.strip() or len(own) > MAX_GRAMMAR_CHARS:
            raise bad("grammar", f"'grammar' must be GBNF text of at most {MAX_GRAMMAR_CHARS} "
                      "characters")
        from llama_cpp.llama_grammar import LlamaGrammar

        return LlamaGrammar.from_string(own, verbose=False)
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
        raise bad("response_format", "'response_format.type' must be text, json_object or "
                  "json_schema")
    if fmt["type"] == "text":
        return None
    if fmt["type"] == "json_object" and "schema" in fmt:  # llama-server's extension
        if not isinstance(fmt["schema"], dict):
            raise bad("response_format.schema", "'schema' must be a JSON schema object")
        return _grammar_from_schema(fmt["schema"], "response_format.schema")
    if fmt["type"] == "json_object":
        from llama_cpp.llama_grammar import LlamaGrammar

        return LlamaGrammar.from_string(JSON_OBJECT_GBNF, verbose=False)
    spec = fmt.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("schema", {}), dict):
        raise bad("response_format.json_schema", "'json_schema' must be an object with a "
                  "'schema' object")
    return _grammar_from_schema(spec.get("schema") or {"type": "object"},
                                "response_format.json_schema")


@dataclass
class ToolPlan:
    """How one request's tools reach the model and how its answer is read back."""

    tools: list[dict[str, Any]]
    names: set[str]
    for_template: bool  # tools handed to the chat template (it knows the format)
    grammar: Any = None  # set when tool_choice forces a call
    forced: str | None = None  # the one function named by tool_choice


def plan_tools(body: dict[str, Any], template: str | None) -> ToolPlan | None:
    tools = body.get("tools")
    choice = body.get("tool_choice", "auto")
    if not tools or choice == "none":
        return None
    if not isinstance(tools, list) or not all(
            isinstance(t, dict) and t.get("type") == "function"
            and isinstance(t.get("function"), dict)
            and isinstance(t["function"].get("name"), str) and t["function"]["name"]
            and isinstance(t["function"].get("parameters", {}), dict | None)
            for t in tools):
        raise bad("tools", "'tools' must be a list of {type: function, function: {name: "
                  "string, parameters: object}}")
    by_name = {t["function"]["name"]: t["function"] for t in tools}
    plan = ToolPlan(tools=tools, names=set(by_name),
                    for_template="tools" in (template or ""))
    if isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or name not in by_name:
            raise bad("tool_choice", f"tool_choice names an unknown function {name!r}")
        plan.forced = name
        plan.grammar = _grammar_from_schema(_call_schema(name, by_name[name]), "tools")
    elif choice == "required":
        plan.grammar = _grammar_from_schema(
            {"anyOf": [_call_schema(n, f) for n, f in by_name.items()]}, "tools")
    elif choice != "auto":
        raise bad("tool_choice", "'tool_choice' must be none, auto, required or a function")
    return plan


def _call_schema(name: str, function: dict[str, Any]) -> dict[str, Any]:
    params = function.get("parameters") or {"type": "object", "properties": {}}
    return {"type": "object", "properties": {"name": {"const": name}, "arguments": params},
            "required": ["name", "arguments"]}


def prepare_messages(messages: list[dict[str, Any]], plan: ToolPlan | None
                     ) -> list[dict[str, Any]]:
    """History in a shape the template can render; the tools spelled out if it can't."""
    out = []
    for original in messages:
        message = dict(original)
        calls = message.get("tool_calls")
        if calls and isinstance(calls, list):
            if plan is not None and plan.for_template:
                message["tool_calls"] = [_call_for_template(c) for c in calls]
            else:
                message["content"] = (message.get("content") or "") + json.dumps(
                    [_call_for_template(c)["function"] for c in calls])
                message.pop("tool_calls")
        out.append(message)
    if plan is None or plan.for_template:
        return out
    described = "\n".join(json.dumps(t["function"]) for t in plan.tools)
    instruction = ("You can call these functions. To call one, answer with only a JSON object "
                   '{"name": <function name>, "arguments": <arguments object>}.\n'
                   f"Functions:\n{described}")
    if out and out[0]["role"] == "system":
        out[0] = {**out[0], "content": f"{out[0]['content']}\n\n{instruction}"}
    else:
        out.insert(0, {"role": "system", "content": instruction})
    return out


def _call_for_template(call: Any) -> dict[str, Any]:
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        raise ApiError(400, "tool_calls entries need a 'function' object", param="messages")
    fn = dict(call["function"])
    args = fn.get("arguments")
    if isinstance(args, str):
        try:
            fn["arguments"] = json.loads(args)
        except ValueError:
            pass
    return {**call, "function": fn}


def parse_tool_calls(text: str, plan: ToolPlan) -> tuple[str | None, list[dict[str, Any]]]:
    """(remaining content, OpenAI tool_calls) from what the model wrote."""
    candidates: list[Any] = []
    rest = text
    tagged = TOOL_CALL_TAG.findall(text)
    if tagged:
        candidates = [_loads(t) for t in tagged]
        rest = TOOL_CALL_TAG.sub("", text)
    else:
        stripped = text.strip()
        for prefix in PREFIXES:
            if stripped.startswith(prefix):
                stripped = stripped[len(prefix):].strip()
        parsed = _loads(stripped)
        if parsed is not None:
            candidates = parsed if isinstance(parsed, list) else [parsed]
            rest = ""
    calls = []
    for item in candidates:
        if not isinstance(item, dict):
            continue
        name = item.get("name") or plan.forced
        args = item.get("arguments", item.get("parameters"))
        if plan.forced and "name" not in item:
            args = item  # a forced call may be just the arguments
        if name not in plan.names or args is None:
            continue
        calls.append({"id": "call_" + secrets.token_hex(12), "type": "function",
                      "function": {"name": name, "arguments": args if isinstance(args, str)
                                   else json.dumps(args)}})
    if not calls:
        return text, []
    return (rest.strip() or None), calls


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
