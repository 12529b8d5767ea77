"""A tiny vision model: a synthetic llama text model and a LLaVA-style projector (``mmproj``).

The projector is a two-block CLIP ViT over 32x32 images in 8x8 patches (16 image tokens) with
LLaVA's two-layer MLP into the text model's embedding width. Random weights, so what the model
"sees" is noise, but llama.cpp's mtmd library loads, preprocesses, encodes and decodes through
it exactly as it does a real LLaVA projector: what is under test is the path an image takes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gguf import GGUFValueType, GGUFWriter

from .synthetic import EMB, write

V = GGUFValueType
V_EMB, V_FF, V_HEADS, V_BLOCKS, IMAGE, PATCH = 32, 64, 4, 2, 32, 8
IMAGE_TOKENS = (IMAGE // PATCH) ** 2
CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
          "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def write_projector(path: Path, *, text_emb: int = EMB, tiles: bool = False) -> Path:
    """The ``mmproj`` file: clip.* keys and v.* / mm.* tensors as llama.cpp's converter
    writes them for LLaVA (``clip.projector_type`` "mlp"). ``tiles``: LLaVA-1.6's grid
    pinpoints, so an image is read as an overview and tiles (several mtmd chunks)."""
    rng = np.random.default_rng(1)

    def w(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    def zeros(n: int) -> np.ndarray:
        return np.zeros(n, dtype=np.float32)

    writer = GGUFWriter(str(path), "clip")
    kv = writer.add_key_value
    kv("general.name", "synthetic-llava-projector", V.STRING)
    kv("general.file_type", 0, V.UINT32)
    kv("clip.projector_type", "mlp", V.STRING)
    kv("clip.has_vision_encoder", True, V.BOOL)
    kv("clip.use_gelu", True, V.BOOL)
    kv("clip.vision.image_size", IMAGE, V.UINT32)
    kv("clip.vision.patch_size", PATCH, V.UINT32)
    kv("clip.vision.embedding_length", V_EMB, V.UINT32)
    kv("clip.vision.feed_forward_length", V_FF, V.UINT32)
    kv("clip.vision.projection_dim", text_emb, V.UINT32)
    kv("clip.vision.block_count", V_BLOCKS, V.UINT32)
    kv("clip.vision.attention.head_count", V_HEADS, V.UINT32)
    kv("clip.vision.attention.layer_norm_epsilon", 1e-5, V.FLOAT32)
    kv("clip.vision.image_mean", [0.5, 0.5, 0.5], V.ARRAY, sub_type=V.FLOAT32)
    kv("clip.vision.image_std", [0.5, 0.5, 0.5], V.ARRAY, sub_type=V.FLOAT32)
    if tiles:
        kv("clip.vision.image_grid_pinpoints", [IMAGE, 2 * IMAGE, 2 * IMAGE, IMAGE,
                                                2 * IMAGE, 2 * IMAGE], V.ARRAY, sub_type=V.INT32)
        kv("clip.vision.mm_patch_merge_type", "spatial_unpad", V.STRING)
    writer.add_tensor("v.patch_embd.weight", w(V_EMB, 3, PATCH, PATCH))
    writer.add_tensor("v.class_embd", w(V_EMB))
    writer.add_tensor("v.position_embd.weight", w(IMAGE_TOKENS + 1, V_EMB))
    writer.add_tensor("v.pre_ln.weight", np.ones(V_EMB, dtype=np.float32))
    writer.add_tensor("v.pre_ln.bias", zeros(V_EMB))
    for i in range(V_BLOCKS):
        b = f"v.blk.{i}."
        for name in ("attn_q", "attn_k", "attn_v", "attn_out"):
            writer.add_tensor(b + name + ".weight", w(V_EMB, V_EMB))
            writer.add_tensor(b + name + ".bias", zeros(V_EMB))
        for name in ("ln1", "ln2"):
            writer.add_tensor(b + name + ".weight", np.ones(V_EMB, dtype=np.float32))
            writer.add_tensor(b + name + ".bias", zeros(V_EMB))
        writer.add_tensor(b + "ffn_up.weight", w(V_FF, V_EMB))
        writer.add_tensor(b + "ffn_up.bias", zeros(V_FF))
        writer.add_tensor(b + "ffn_down.weight", w(V_EMB, V_FF))
        writer.add_tensor(b + "ffn_down.bias", zeros(V_EMB))
    writer.add_tensor("mm.0.weight", w(text_emb, V_EMB))
    writer.add_tensor("mm.0.bias", zeros(text_emb))
    writer.add_tensor("mm.2.weight", w(text_emb, text_emb))
    writer.add_tensor("mm.2.bias", zeros(text_emb))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def write_vision_pair(folder: Path, *, tiles: bool = False) -> tuple[Path, Path]:
    """``folder/tiny-vision.gguf`` (a ChatML template) and ``folder/mmproj-tiny-vision.gguf``
    beside it, where LM Studio and Fireside look for a model's projector."""
    folder.mkdir(parents=True, exist_ok=True)
    model = write(folder / "tiny-vision.gguf", "llama", blocks=2,
                  extra={"tokenizer.chat_template": (CHATML, V.STRING, None)})
    return model, write_projector(folder / "mmproj-tiny-vision.gguf", tiles=tiles)
