"""Tiny synthetic GGUFs of several architectures (random f32 weights, written with ``gguf``).

They load in llama.cpp like real checkpoints, so the estimator's KV/compute predictions can be
held against llama.cpp's own buffer sizes in a fresh process. Shapes are tiny (a few MiB) so a
load takes well under a second; what is under test is the *shape* logic: per-layer head
counts (OpenELM), built-in sliding-window patterns (gemma2/gemma3 files carry no pattern key),
grouped-query attention (qwen2/llama).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from corpus.generate import base_vocab
from gguf import GGUFValueType, GGUFWriter

V = GGUFValueType
EMB, FF, HEAD_DIM = 64, 128, 16


def _w(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return (rng.standard_normal(shape) * 0.02).astype(np.float32)


def _ones(n: int) -> np.ndarray:
    return np.ones(n, dtype=np.float32)


def write(path: Path, arch: str, *, blocks: int = 6, heads: int | list[int] = 4,
          kv_heads: int | list[int] = 2, ctx: int = 8192, window: int | None = None,
          extra: dict[str, tuple[Any, GGUFValueType, GGUFValueType | None]] | None = None,
          ) -> Path:
    """A ``blocks``-layer model of ``arch``; list head counts give per-layer arrays."""
    rng = np.random.default_rng(0)
    tokens, scores, types = base_vocab()
    n_vocab = len(tokens)
    w = GGUFWriter(str(path), arch)
    p = f"{arch}."
    w.add_key_value("general.name", f"synthetic-{arch}", V.STRING)
    w.add_key_value(p + "context_length", ctx, V.UINT32)
    w.add_key_value(p + "embedding_length", EMB, V.UINT32)
    w.add_key_value(p + "block_count", blocks, V.UINT32)
    ff: Any = FF
    if isinstance(heads, list):
        w.add_key_value(p + "attention.head_count", heads, V.ARRAY, V.INT32)
        ff = [FF] * blocks
        w.add_key_value(p + "feed_forward_length", ff, V.ARRAY, V.INT32)
    else:
        w.add_key_value(p + "attention.head_count", heads, V.UINT32)
        w.add_key_value(p + "feed_forward_length", FF, V.UINT32)
    if isinstance(kv_heads, list):
        w.add_key_value(p + "attention.head_count_kv", kv_heads, V.ARRAY, V.INT32)
    else:
        w.add_key_value(p + "attention.head_count_kv", kv_heads, V.UINT32)
    w.add_key_value(p + "attention.key_length", HEAD_DIM, V.UINT32)
    w.add_key_value(p + "attention.value_length", HEAD_DIM, V.UINT32)
    w.add_key_value(p + "attention.layer_norm_rms_epsilon", 1e-6, V.FLOAT32)
    w.add_key_value(p + "rope.dimension_count", HEAD_DIM, V.UINT32)
    if window is not None:
        w.add_key_value(p + "attention.sliding_window", window, V.UINT32)
    for key, (value, vtype, sub) in (extra or {}).items():
        w.add_key_value(key, value, vtype, sub_type=sub)
    w.add_key_value("tokenizer.ggml.model", "llama", V.STRING)
    w.add_key_value("tokenizer.ggml.tokens", tokens, V.ARRAY, V.STRING)
    w.add_key_value("tokenizer.ggml.scores", scores, V.ARRAY, V.FLOAT32)
    w.add_key_value("tokenizer.ggml.token_type", types, V.ARRAY, V.INT32)
    w.add_key_value("tokenizer.ggml.bos_token_id", 1, V.UINT32)
    w.add_key_value("tokenizer.ggml.eos_token_id", 2, V.UINT32)
    w.add_key_value("tokenizer.ggml.unknown_token_id", 0, V.UINT32)

    w.add_tensor("token_embd.weight", _w(rng, n_vocab, EMB))
    w.add_tensor("output_norm.weight", _ones(EMB))
    for i in range(blocks):
        nh = heads[i] if isinstance(heads, list) else heads
        nkv = kv_heads[i] if isinstance(kv_heads, list) else kv_heads
        b = f"blk.{i}."
        w.add_tensor(b + "attn_norm.weight", _ones(EMB))
        if arch == "openelm":
            w.add_tensor(b + "attn_qkv.weight", _w(rng, (nh + 2 * nkv) * HEAD_DIM, EMB))
        else:
            w.add_tensor(b + "attn_q.weight", _w(rng, nh * HEAD_DIM, EMB))
            w.add_tensor(b + "attn_k.weight", _w(rng, nkv * HEAD_DIM, EMB))
            w.add_tensor(b + "attn_v.weight", _w(rng, nkv * HEAD_DIM, EMB))
        if arch == "qwen2":
            w.add_tensor(b + "attn_q.bias", np.zeros(nh * HEAD_DIM, dtype=np.float32))
            w.add_tensor(b + "attn_k.bias", np.zeros(nkv * HEAD_DIM, dtype=np.float32))
            w.add_tensor(b + "attn_v.bias", np.zeros(nkv * HEAD_DIM, dtype=np.float32))
        if arch in ("openelm", "gemma3"):
            w.add_tensor(b + "attn_q_norm.weight", _ones(HEAD_DIM))
            w.add_tensor(b + "attn_k_norm.weight", _ones(HEAD_DIM))
        w.add_tensor(b + "attn_output.weight", _w(rng, EMB, nh * HEAD_DIM))
        if arch in ("gemma2", "gemma3"):
            w.add_tensor(b + "post_attention_norm.weight", _ones(EMB))
            w.add_tensor(b + "post_ffw_norm.weight", _ones(EMB))
        w.add_tensor(b + "ffn_norm.weight", _ones(EMB))
        w.add_tensor(b + "ffn_gate.weight", _w(rng, FF, EMB))
        w.add_tensor(b + "ffn_up.weight", _w(rng, FF, EMB))
        w.add_tensor(b + "ffn_down.weight", _w(rng, EMB, FF))
    if arch in ("llama", "qwen2"):
        w.add_tensor("output.weight", _w(rng, n_vocab, EMB))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


#: name -> (arch, write() keyword arguments): the shapes the estimator tests cover.
SHAPES: dict[str, tuple[str, dict[str, Any]]] = {
    "llama-gqa": ("llama", {}),
    "qwen2": ("qwen2", {"kv_heads": 1}),
    "openelm-per-layer-heads": ("openelm", {"heads": [2, 2, 4, 4, 8, 8],
                                            "kv_heads": [1, 1, 2, 2, 4, 4]}),
    "gemma2-builtin-pattern": ("gemma2", {"window": 256}),
    "gemma3-builtin-pattern": ("gemma3", {"window": 512}),
}
