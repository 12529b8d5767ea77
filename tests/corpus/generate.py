"""A corpus of malformed GGUF files, made from one tiny valid llama model.

``write_model`` writes a real, loadable llama-architecture GGUF (one layer, a 280-token
SentencePiece vocabulary with byte fallback, random weights) with any key or tensor changed or
removed. ``generate`` makes the corpus from it: semantic mutations written through ``gguf``
(out-of-range token types and ids, wrong value types, bad hyperparameters, broken and hostile
chat templates, bad tensors) and byte-level ones on the written file (truncations, patched
header fields located by walking the header, huge counts, random flips). Deterministic: the
same call writes the same bytes.

``python -m tests.corpus.generate DIR`` writes it for a manual run.
"""

from __future__ import annotations

import random
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGUFValueType, GGUFWriter

V = GGUFValueType
CHATML = ("{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + "
          "'<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}"
          "{{ '<|im_start|>assistant\n' }}{% endif %}")
WORDS = ["▁", "▁h", "▁hi", "▁hello", "▁the", "▁a", "h", "i", "e", "l", "o", "user",
         "assistant", "system", "▁is"]
SPECIAL = ["<|im_start|>", "<|im_end|>"]
EMB, FF, HEADS, KV_HEADS, BLOCKS, CTX = 32, 64, 2, 2, 1, 256
Missing = object()  # an override that removes the key or tensor


def base_vocab() -> tuple[list[Any], list[float], list[int]]:
    """SentencePiece-style tokens, scores and types (unk, bos, eos, 256 bytes, words)."""
    tokens: list[Any] = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    tokens += WORDS + SPECIAL
    types += [1] * len(WORDS) + [3] * len(SPECIAL)
    scores = [0.0] * 259 + [-float(i) for i in range(len(WORDS))] + [0.0] * len(SPECIAL)
    return tokens, scores, types


def base_kv(template: str | None = CHATML) -> dict[str, tuple[Any, GGUFValueType,
                                                              GGUFValueType | None]]:
    tokens, scores, types = base_vocab()
    kv: dict[str, tuple[Any, GGUFValueType, GGUFValueType | None]] = {
        "general.name": ("corpus-base", V.STRING, None),
        "llama.context_length": (CTX, V.UINT32, None),
        "llama.embedding_length": (EMB, V.UINT32, None),
        "llama.block_count": (BLOCKS, V.UINT32, None),
        "llama.feed_forward_length": (FF, V.UINT32, None),
        "llama.attention.head_count": (HEADS, V.UINT32, None),
        "llama.attention.head_count_kv": (KV_HEADS, V.UINT32, None),
        "llama.attention.layer_norm_rms_epsilon": (1e-5, V.FLOAT32, None),
        "llama.rope.dimension_count": (EMB // HEADS, V.UINT32, None),
        "tokenizer.ggml.model": ("llama", V.STRING, None),
        "tokenizer.ggml.tokens": (tokens, V.ARRAY, V.STRING),
        "tokenizer.ggml.scores": (scores, V.ARRAY, V.FLOAT32),
        "tokenizer.ggml.token_type": (types, V.ARRAY, V.INT32),
        "tokenizer.ggml.bos_token_id": (1, V.UINT32, None),
        "tokenizer.ggml.eos_token_id": (2, V.UINT32, None),
        "tokenizer.ggml.unknown_token_id": (0, V.UINT32, None),
    }
    if template is not None:
        kv["tokenizer.chat_template"] = (template, V.STRING, None)
    return kv


def base_tensors(n_vocab: int, seed: int = 0) -> dict[str, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)

    def w(*shape: int) -> np.ndarray[Any, Any]:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    head_dim = EMB // HEADS
    tensors = {"token_embd.weight": w(n_vocab, EMB),
               "output_norm.weight": np.ones(EMB, dtype=np.float32)}
    for i in range(BLOCKS):
        tensors |= {
            f"blk.{i}.attn_norm.weight": np.ones(EMB, dtype=np.float32),
            f"blk.{i}.attn_q.weight": w(EMB, EMB),
            f"blk.{i}.attn_k.weight": w(KV_HEADS * head_dim, EMB),
            f"blk.{i}.attn_v.weight": w(KV_HEADS * head_dim, EMB),
            f"blk.{i}.attn_output.weight": w(EMB, EMB),
            f"blk.{i}.ffn_norm.weight": np.ones(EMB, dtype=np.float32),
            f"blk.{i}.ffn_gate.weight": w(FF, EMB),
            f"blk.{i}.ffn_up.weight": w(FF, EMB),
            f"blk.{i}.ffn_down.weight": w(EMB, FF),
        }
    return tensors


def write_model(path: Path, *, kv: dict[str, Any] | None = None,
                tensors: dict[str, Any] | None = None, arch: str = "llama",
                template: str | None = CHATML) -> Path:
    """The base model with ``kv`` / ``tensors`` overrides (``Missing`` removes one).

    A kv override is ``(value, type, item_type)`` or a bare value of the base key's type.
    """
    values = base_kv(template)
    for key, value in (kv or {}).items():
        if value is Missing:
            values.pop(key, None)
        elif isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], V):
            values[key] = value
        else:
            _, vtype, sub = values[key]
            values[key] = (value, vtype, sub)
    n_vocab = len(base_vocab()[0])
    arrays = base_tensors(n_vocab)
    for name, array in (tensors or {}).items():
        if array is Missing:
            arrays.pop(name, None)
        else:
            arrays[name] = array
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = GGUFWriter(str(path), arch)
    for key, (value, vtype, sub) in values.items():
        writer.add_key_value(key, value, vtype, sub_type=sub)
    for name, array in arrays.items():
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


# -- where the header's fields are, to patch them in place -------------------------------------
@dataclass(frozen=True)
class Field:
    key: str
    type_at: int  # offset of the uint32 value type
    count_at: int = -1  # arrays: offset of the uint64 count; strings: of the uint64 length
    value_at: int = -1  # scalars: offset of the value; arrays: of the first item


_SCALAR = {V.UINT8: 1, V.INT8: 1, V.UINT16: 2, V.INT16: 2, V.UINT32: 4, V.INT32: 4,
           V.FLOAT32: 4, V.BOOL: 1, V.UINT64: 8, V.INT64: 8, V.FLOAT64: 8}


def header_fields(data: bytes) -> tuple[list[Field], list[int], int]:
    """(kv fields, offsets of each tensor-info record, end of the tensor infos)."""
    pos = 24
    n_tensors, n_kv = struct.unpack_from("<QQ", data, 8)

    def string_end(at: int) -> int:
        return at + 8 + struct.unpack_from("<Q", data, at)[0]

    fields: list[Field] = []
    for _ in range(n_kv):
        key_end = string_end(pos)
        key = data[pos + 8:key_end].decode()
        vtype = V(struct.unpack_from("<I", data, key_end)[0])
        at = key_end + 4
        if vtype == V.STRING:
            fields.append(Field(key, key_end, at, at + 8))
            pos = string_end(at)
        elif vtype == V.ARRAY:
            item = V(struct.unpack_from("<I", data, at)[0])
            count = struct.unpack_from("<Q", data, at + 4)[0]
            fields.append(Field(key, key_end, at + 4, at + 12))
            pos = at + 12
            for _ in range(count):
                pos = string_end(pos) if item == V.STRING else pos + _SCALAR[item]
        else:
            fields.append(Field(key, key_end, -1, at))
            pos = at + _SCALAR[vtype]
    infos = []
    for _ in range(n_tensors):
        infos.append(pos)
        pos = string_end(pos)
        n_dims = struct.unpack_from("<I", data, pos)[0]
        pos += 4 + 8 * n_dims + 4 + 8
    return fields, infos, pos


def _patch(data: bytes, at: int, fmt: str, value: Any) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, at, value)
    return bytes(out)


# -- the corpus ----------------------------------------------------------------------------
def _semantic() -> dict[str, Callable[[Path], Path]]:
    """Mutations written through the gguf writer: name -> writer of that file."""
    tokens, scores, types = base_vocab()
    n = len(tokens)
    cases: dict[str, dict[str, Any]] = {}
    for label, bad_types in {
        "types-99": [99] * n, "types-minus1": [-1] * n, "types-zero": [0] * n,
        "types-huge": [1 << 30] * n, "types-all-control": [3] * n,
        "types-all-byte": [6] * n, "types-bytes-normal": [2, 3, 3] + [1] * (n - 3),
        "types-long": types + [1] * n, "types-short": types[:10], "types-plus1": types + [1],
        "types-one": [1],
    }.items():
        cases[label] = {"tokenizer.ggml.token_type": bad_types}
    for label, sub in {"types-float": V.FLOAT32, "types-uint8": V.UINT8, "types-int64": V.INT64,
                       "types-uint16": V.UINT16}.items():
        values = [float(t) for t in types] if sub == V.FLOAT32 else types
        cases[label] = {"tokenizer.ggml.token_type": (values, V.ARRAY, sub)}
    cases["types-string"] = {"tokenizer.ggml.token_type": ([str(t) for t in types], V.ARRAY,
                                                          V.STRING)}
    cases["types-missing"] = {"tokenizer.ggml.token_type": Missing}
    cases["types-scalar"] = {"tokenizer.ggml.token_type": (1, V.INT32, None)}
    for key in ("bos", "eos", "unknown", "padding", "seperator", "eot", "eom"):
        for value in (n, n + 1000, 2**31 - 1, 2**32 - 1, 1 << 20):
            cases[f"id-{key}-{value}"] = {f"tokenizer.ggml.{key}_token_id":
                                          (value, V.UINT32, None)}
        cases[f"id-{key}-neg"] = {f"tokenizer.ggml.{key}_token_id": (-7, V.INT32, None)}
        cases[f"id-{key}-string"] = {f"tokenizer.ggml.{key}_token_id": ("2", V.STRING, None)}
    cases["id-eos-float"] = {"tokenizer.ggml.eos_token_id": (2.5, V.FLOAT32, None)}
    cases["tokens-empty-strings"] = {"tokenizer.ggml.tokens": [""] * n}
    cases["tokens-dupes"] = {"tokenizer.ggml.tokens": ["<s>"] * n}
    cases["tokens-bad-utf8"] = {"tokenizer.ggml.tokens": (
        [t.encode() if i != 2 else b"\xff\xfe" for i, t in enumerate(tokens)], V.ARRAY,
        V.STRING)}
    cases["tokens-ints"] = {"tokenizer.ggml.tokens": (list(range(n)), V.ARRAY, V.INT32)}
    cases["tokens-short"] = {"tokenizer.ggml.tokens": tokens[:5]}
    cases["tokens-no-bytes"] = {"tokenizer.ggml.tokens": tokens[:3] + [f"x{i}" for i in
                                                                       range(n - 3)]}
    cases["tokens-missing"] = {"tokenizer.ggml.tokens": Missing}
    cases["scores-short"] = {"tokenizer.ggml.scores": scores[:3]}
    cases["scores-ints"] = {"tokenizer.ggml.scores": ([0] * n, V.ARRAY, V.INT32)}
    cases["scores-nan"] = {"tokenizer.ggml.scores": [float("nan")] * n}
    for model in ("bogus", "", "gpt2", "bert", "t5", "rwkv", "ugm", "none", "plamo2"):
        cases[f"tokenizer-{model or 'empty'}"] = {"tokenizer.ggml.model": model}
    cases["tokenizer-missing"] = {"tokenizer.ggml.model": Missing}
    cases["tokenizer-gpt2-bad-merges"] = {
        "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": ("default", V.STRING, None),
        "tokenizer.ggml.merges": (["a", "x y z", "", "▁ ▁", "\0 \0"], V.ARRAY, V.STRING)}
    cases["tokenizer-add-bos-string"] = {"tokenizer.ggml.add_bos_token": ("yes", V.STRING,
                                                                          None)}
    for key, values in {
        "llama.block_count": (0, 1000, 2**31), "llama.embedding_length": (0, 7, 2**31),
        "llama.attention.head_count": (0, 3, 1 << 20),
        "llama.attention.head_count_kv": (0, 5, 1 << 20),
        "llama.context_length": (0, 1, 2**32 - 1), "llama.feed_forward_length": (0, 1 << 30),
        "llama.rope.dimension_count": (0, 1 << 20),
    }.items():
        for value in values:
            cases[f"hp-{key.split('.', 1)[1]}-{value}"] = {key: value}
        cases[f"hp-{key.split('.', 1)[1]}-missing"] = {key: Missing}
    for value in (0.0, float("nan"), float("inf"), -1.0):
        cases[f"hp-rms-eps-{value}"] = {"llama.attention.layer_norm_rms_epsilon": value}
    cases["hp-heads-string"] = {"llama.attention.head_count": ("2", V.STRING, None)}
    cases["hp-heads-array"] = {"llama.attention.head_count": ([2, 0, 2], V.ARRAY, V.INT32)}
    cases["hp-kv-heads-array-short"] = {"llama.attention.head_count_kv": ([2], V.ARRAY,
                                                                         V.INT32)}
    for value in (0, 3, 2**31):
        cases[f"alignment-{value}"] = {"general.alignment": (value, V.UINT32, None)}
    out: dict[str, Callable[[Path], Path]] = {
        name: (lambda p, kv=kv: write_model(p, kv=kv)) for name, kv in cases.items()}
    out |= _templates() | _tensor_cases()
    out["arch-bogus"] = lambda p: write_model(p, arch="bogus")
    out["arch-empty"] = lambda p: write_model(p, arch="")
    return out


HOSTILE_TEMPLATES = {
    "tpl-syntax-for": "{% for %}",
    "tpl-syntax-unclosed": "{% if messages %}{{ messages[0]['content'] }}",
    "tpl-syntax-endfor": "{{ 'a' }}{% endfor %}",
    "tpl-syntax-brace": "{{ messages[0]['content'] }",
    "tpl-syntax-unknown-tag": "{% frobnicate %}",
    "tpl-raise": "{{ raise_exception('this template refuses everything') }}",
    "tpl-undefined-call": "{{ nothing_here() }}",
    "tpl-unsafe": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "tpl-nested-range": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                        "{% endfor %}",
    "tpl-big-repeat": "{{ 'x' * 10**10 }}",
    "tpl-big-power": "{{ 10 ** 10 ** 10 }}",
    "tpl-doubling": "{% set ns = namespace(s='x') %}{% for i in range(64) %}"
                    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
    "tpl-recursive-macro": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "tpl-huge-width": "{{ '%999999999s' % 'x' }}",
    "tpl-empty": "",
    "tpl-div-zero": "{{ 1 // 0 }}",
    "tpl-loopcontrols": "{% for m in messages %}{% if loop.index > 1 %}{% break %}{% endif %}"
                        "{{ m['content'] }}{% endfor %}",
}


def _templates() -> dict[str, Callable[[Path], Path]]:
    out: dict[str, Callable[[Path], Path]] = {
        name: (lambda p, t=text: write_model(p, template=t))
        for name, text in HOSTILE_TEMPLATES.items()}
    out["tpl-not-a-string"] = lambda p: write_model(
        p, kv={"tokenizer.chat_template": (42, V.UINT32, None)})
    out["tpl-named-broken"] = lambda p: write_model(
        p, kv={"tokenizer.chat_template.tool_use": ("{% if %}", V.STRING, None)})
    out["tpl-bad-utf8"] = lambda p: write_model(
        p, kv={"tokenizer.chat_template": (b"{{ '\xff' }}", V.STRING, None)})
    return out


def _tensor_cases() -> dict[str, Callable[[Path], Path]]:
    n = len(base_vocab()[0])
    rng = np.random.default_rng(1)
    f32 = np.float32
    cases: dict[str, dict[str, Any]] = {
        "tensor-embd-missing": {"token_embd.weight": Missing},
        "tensor-embd-short": {"token_embd.weight": rng.random((n - 1, EMB), dtype=f32)},
        "tensor-embd-wide": {"token_embd.weight": rng.random((n, EMB + 1), dtype=f32)},
        "tensor-norm-missing": {"output_norm.weight": Missing},
        "tensor-q-missing": {"blk.0.attn_q.weight": Missing},
        "tensor-q-shape": {"blk.0.attn_q.weight": rng.random((EMB, 3), dtype=f32)},
        "tensor-down-3d": {"blk.0.ffn_down.weight": rng.random((2, EMB, FF // 2), dtype=f32)},
        "tensor-extra": {"blk.7.attn_q.weight": rng.random((EMB, EMB), dtype=f32)},
        "tensor-f16": {"blk.0.attn_q.weight": rng.random((EMB, EMB)).astype(np.float16)},
        "tensor-nan": {"blk.0.attn_q.weight": np.full((EMB, EMB), np.nan, dtype=f32)},
        "tensor-output-short": {"output.weight": rng.random((3, EMB), dtype=f32)},
    }
    return {name: (lambda p, t=t: write_model(p, tensors=t)) for name, t in cases.items()}


def _byte_level(base: bytes) -> dict[str, bytes]:
    """Truncations, patched header fields and random flips of the base file's bytes."""
    fields, infos, infos_end = header_fields(base)
    out: dict[str, bytes] = {}
    size = len(base)
    cuts = sorted({0, 1, 3, 4, 7, 8, 12, 16, 20, 24, 25, 40, infos_end - 1, infos_end,
                   size // 2, size - 4, size - 1,
                   *range(64, infos_end, max(1, infos_end // 24))})
    for cut in cuts:
        out[f"trunc-{cut:07d}"] = base[:cut]
    out["version-1"] = _patch(base, 4, "<I", 1)
    out["version-big"] = _patch(base, 4, "<I", 0xFFFFFFFF)
    for label, at in (("tensors", 8), ("kv", 16)):
        original = struct.unpack_from("<Q", base, at)[0]
        for value in (0, original + 1, original - 1, 2**40, 2**63, 2**64 - 1):
            out[f"count-{label}-{value}"] = _patch(base, at, "<Q", value)
    by_key = {f.key: f for f in fields}
    wanted = ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.scores",
              "tokenizer.ggml.bos_token_id", "tokenizer.chat_template",
              "llama.context_length", "llama.attention.head_count", "general.architecture",
              "tokenizer.ggml.model")
    for key in wanted:
        f = by_key[key]
        short = key.rsplit(".", 1)[1]
        for vtype in (99, 0, 8, 9, 12):
            out[f"type-{short}-{vtype}"] = _patch(base, f.type_at, "<I", vtype)
        if f.count_at >= 0:
            original = struct.unpack_from("<Q", base, f.count_at)[0]
            for value in (0, original + 1, original - 1, 2**31, 2**62, 2**64 - 1):
                out[f"len-{short}-{value}"] = _patch(base, f.count_at, "<Q", value)
        if key.endswith("token_type"):
            for index in (0, 1, 2, 100, 258, 270):
                for value in (99, -1, 1761607681):
                    out[f"tt-{index}-{value}"] = _patch(base, f.value_at + 4 * index, "<i",
                                                        value)
            out["tt-array-item-type-str"] = _patch(base, f.type_at + 4, "<I", 8)
            out["tt-array-item-type-bad"] = _patch(base, f.type_at + 4, "<I", 77)
        if key.endswith("bos_token_id"):
            for value in (281, 0xFFFFFFFF, 1761607681):
                out[f"bos-raw-{value}"] = _patch(base, f.value_at, "<I", value)
    for i, at in enumerate(infos[:3]):
        name_end = at + 8 + struct.unpack_from("<Q", base, at)[0]
        out[f"tinfo-{i}-ndims-0"] = _patch(base, name_end, "<I", 0)
        out[f"tinfo-{i}-ndims-9"] = _patch(base, name_end, "<I", 9)
        out[f"tinfo-{i}-dim-huge"] = _patch(base, name_end + 4, "<Q", 2**40)
        out[f"tinfo-{i}-dim-0"] = _patch(base, name_end + 4, "<Q", 0)
        n_dims = struct.unpack_from("<I", base, name_end)[0]
        type_at = name_end + 4 + 8 * n_dims
        out[f"tinfo-{i}-type-99"] = _patch(base, type_at, "<I", 99)
        out[f"tinfo-{i}-type-q4"] = _patch(base, type_at, "<I", 2)
        out[f"tinfo-{i}-offset-huge"] = _patch(base, type_at + 4, "<Q", 2**40)
        out[f"tinfo-{i}-offset-odd"] = _patch(base, type_at + 4, "<Q", 3)
    rng = random.Random(1234)
    for i in range(60):
        data = bytearray(base)
        for _ in range(rng.choice((1, 2, 4, 8))):
            data[rng.randrange(4, infos_end)] ^= 1 << rng.randrange(8)
        out[f"flip-{i:03d}"] = bytes(data)
    for i in range(6):  # flips in the weights: a model that still loads
        data = bytearray(base)
        data[rng.randrange(infos_end, size)] ^= 0xFF
        out[f"flip-weights-{i}"] = bytes(data)
    return out


def generate(folder: Path) -> list[Path]:
    """Write the whole corpus into ``folder`` (the base model first); returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    base = write_model(folder / "000-base.gguf")
    paths = [base]
    for name, write in _semantic().items():
        paths.append(write(folder / f"sem-{name}.gguf"))
    for name, data in _byte_level(base.read_bytes()).items():
        target = folder / f"raw-{name}.gguf"
        target.write_bytes(data)
        paths.append(target)
    return paths


if __name__ == "__main__":
    written = generate(Path(sys.argv[1] if len(sys.argv) > 1 else "corpus"))
    print(f"{len(written)} files")  # noqa: T201 - a developer tool's one line of output
