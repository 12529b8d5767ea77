"""What Fireside knows about a model file, derived from its GGUF header."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fireside.core.errors import BadModelFileError
from fireside.core.models.gguf_meta import GGUFHeader, file_type_name, read_header

MAX_BLOCKS = 65_536  # llama.cpp itself stops at 512 layers


@dataclass(frozen=True)
class ModelMeta:
    architecture: str
    name: str
    parameter_count: int
    quantization: str
    context_length: int
    block_count: int
    embedding_length: int
    head_count: int
    head_count_kv: int
    key_length: int
    value_length: int
    sliding_window: int
    sliding_window_layers: int
    license: str
    has_chat_template: bool
    chat_template: str | None
    bos_token_id: int | None
    eos_token_id: int | None
    vocab_size: int
    header_bytes: int
    weights_bytes: int
    output_bytes: int
    layer_bytes: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("chat_template")
        data.pop("layer_bytes")
        return data


def _int(meta: dict[str, Any], key: str, default: int = 0) -> int:
    value = meta.get(key)
    if isinstance(value, list):  # per-layer arrays (e.g. head_count_kv): take the largest
        ints = [int(v) for v in value if isinstance(v, int | float)]
        return max(ints) if ints else default
    return int(value) if isinstance(value, int | float) else default


def meta_from_header(header: GGUFHeader) -> ModelMeta:
    m = header.metadata
    arch = str(m.get("general.architecture", "unknown"))
    p = f"{arch}."
    heads = _int(m, p + "attention.head_count")
    emb = _int(m, p + "embedding_length")
    head_dim = emb // heads if heads else 0
    kv_heads = _int(m, p + "attention.head_count_kv", heads)
    blocks = _int(m, p + "block_count")
    if blocks > MAX_BLOCKS:  # a per-layer list of 2**31 entries would exhaust memory first
        raise BadModelFileError(f"GGUF block_count {blocks} is implausible: the file is corrupt")
    layer_bytes = [0] * blocks
    output_bytes = 0
    params = 0
    for t in header.tensors:
        params += t.n_elements
        if t.name.startswith("blk."):
            try:
                idx = int(t.name.split(".")[1])
            except ValueError:
                continue
            if 0 <= idx < blocks:
                layer_bytes[idx] += t.n_bytes
        else:
            output_bytes += t.n_bytes
    template = m.get("tokenizer.chat_template")
    lic = m.get("general.license")
    swa_pattern = m.get(p + "attention.sliding_window_pattern")
    swa = _int(m, p + "attention.sliding_window")
    swa_layers = 0
    if swa and isinstance(swa_pattern, list):
        swa_layers = sum(1 for v in swa_pattern if v)
    elif swa and isinstance(swa_pattern, int) and swa_pattern > 1:
        swa_layers = blocks - blocks // swa_pattern
    return ModelMeta(
        architecture=arch,
        name=str(m.get("general.name") or ""),
        parameter_count=params,
        quantization=file_type_name(m.get("general.file_type"), header.tensors),
        context_length=_int(m, p + "context_length"),
        block_count=blocks,
        embedding_length=emb,
        head_count=heads,
        head_count_kv=kv_heads,
        key_length=_int(m, p + "attention.key_length", head_dim),
        value_length=_int(m, p + "attention.value_length", head_dim),
        sliding_window=swa,
        sliding_window_layers=swa_layers,
        license=str(lic) if lic else "",
        has_chat_template=isinstance(template, str) and bool(template.strip()),
        chat_template=template if isinstance(template, str) else None,
        bos_token_id=m.get("tokenizer.ggml.bos_token_id"),
        eos_token_id=m.get("tokenizer.ggml.eos_token_id"),
        vocab_size=header.array_lengths.get("tokenizer.ggml.tokens", _int(m, p + "vocab_size")),
        header_bytes=header.header_bytes,
        weights_bytes=sum(layer_bytes) + output_bytes,
        output_bytes=output_bytes,
        layer_bytes=tuple(layer_bytes),
    )


def read_meta(path: Path) -> ModelMeta:
    return meta_from_header(read_header(path))
