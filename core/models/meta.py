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
    # Per-layer KV head counts where the header has an array (OpenELM); () = uniform.
    head_count_kv_layers: tuple[int, ...] = ()
    feed_forward_length: int = 0  # the largest layer's, for the compute-buffer estimate
    # Which layers use the sliding window: the header's pattern, or llama.cpp's built-in one
    # for the architecture (gemma2/gemma3 GGUFs carry no pattern key); () = none.
    swa_layer_flags: tuple[bool, ...] = ()

    def kv_heads(self, layer: int) -> int:
        if 0 <= layer < len(self.head_count_kv_layers):
            return self.head_count_kv_layers[layer]
        return self.head_count_kv

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("chat_template", "layer_bytes", "head_count_kv_layers", "swa_layer_flags"):
            data.pop(key)
        return data


#: llama.cpp's hard-coded sliding-window patterns (src/models/<arch>.cpp, ``load_swa_pattern``):
#: arch -> (period n, dense first, window when the header has none). Layer il slides when
#: ``il % n < n - 1`` (or, dense first, when ``il % n != 0``).
BUILTIN_SWA: dict[str, tuple[int, bool, int]] = {
    "gemma2": (2, False, 4096), "gemma3": (6, False, 0), "gemma3n": (5, False, 0),
    "gemma-embedding": (6, False, 0), "cohere2": (4, False, 0), "gpt-oss": (2, False, 0),
    "exaone4": (4, False, 0), "afmoe": (4, False, 0),
}


def swa_flags(arch: str, blocks: int, window: int, pattern: Any) -> tuple[bool, ...]:
    """Per-layer sliding-window flags, as llama.cpp derives them (``set_swa_pattern``)."""
    if not window or not blocks:
        return ()
    if isinstance(pattern, list):
        return tuple(bool(v) for v in pattern[:blocks]) + (False,) * (blocks - len(pattern))
    period, dense_first, _ = BUILTIN_SWA.get(arch, (0, False, 0))
    if isinstance(pattern, int | float) and not isinstance(pattern, bool):
        period = int(pattern)
    if period <= 0 and not isinstance(pattern, int | float):
        return ()
    if dense_first:
        return tuple(period == 0 or il % period != 0 for il in range(blocks))
    return tuple(period == 0 or il % period < period - 1 for il in range(blocks))


def _ints(meta: dict[str, Any], key: str, blocks: int) -> tuple[int, ...]:
    """A per-layer array (OpenELM's head counts) as a tuple; () for a scalar or none."""
    value = meta.get(key)
    if not isinstance(value, list) or not value:
        return ()
    ints = [int(v) for v in value[:blocks] if isinstance(v, int | float)]
    return tuple(ints) if len(ints) == blocks else ()


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
    swa = _int(m, p + "attention.sliding_window", BUILTIN_SWA.get(arch, (0, False, 0))[2])
    flags = swa_flags(arch, blocks, swa, swa_pattern)
    swa_layers = sum(flags)
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
        head_count_kv_layers=_ints(m, p + "attention.head_count_kv", blocks),
        feed_forward_length=_int(m, p + "feed_forward_length"),
        swa_layer_flags=flags,
    )


def read_meta(path: Path) -> ModelMeta:
    return meta_from_header(read_header(path))
