"""The local library: listing, import (copy/link), remove, split files, a corrupt index."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFWriter

from fireside.core.context import AppContext
from fireside.core.errors import BadModelFileError, ModelNotFoundError


def _tiny_gguf(path: Path, arch: str = "llama") -> Path:
    writer = GGUFWriter(str(path), arch)
    writer.add_block_count(1)
    writer.add_context_length(256)
    writer.add_string("general.license", "mit")
    writer.add_tensor("blk.0.attn_q.weight", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_starter_listed_with_metadata(app_ctx: AppContext, installed_starter: Path) -> None:
    [model] = app_ctx.library.list()
    assert model.entry.starter and model.entry.license == "apache-2.0"
    assert model.entry.source != "" and model.meta is not None
    assert model.meta.quantization == "Q4_1"
    assert app_ctx.library.get("starter").path == installed_starter


def test_import_copy_and_remove(app_ctx: AppContext, tmp_path: Path) -> None:
    src = _tiny_gguf(tmp_path / "Tiny-Model.F32.gguf")
    model = app_ctx.library.import_file(src)
    assert model.path != src and model.path.is_relative_to(app_ctx.paths.models)
    assert model.entry.license == "mit"
    app_ctx.library.remove(model.name)
    assert not model.path.exists() and src.exists()
    assert app_ctx.library.list() == []


def test_import_link_keeps_file_on_remove(app_ctx: AppContext, tmp_path: Path) -> None:
    src = _tiny_gguf(tmp_path / "linked.gguf")
    model = app_ctx.library.import_file(src, link=True)
    assert model.path == src.resolve()
    app_ctx.library.remove(model.name)
    assert src.exists()


def test_split_files_count_as_one(app_ctx: AppContext, tmp_path: Path) -> None:
    first = _tiny_gguf(tmp_path / "Big-Q4_K_M-00001-of-00003.gguf")
    for i in (2, 3):
        shutil.copy(first, tmp_path / f"Big-Q4_K_M-{i:05d}-of-00003.gguf")
    folder = app_ctx.paths.models / "big"
    shutil.copytree(tmp_path, folder, ignore=shutil.ignore_patterns("fireside-home"))
    models = app_ctx.library.list()
    assert [m.name for m in models] == ["big-q4_k_m"]
    assert len(models[0].entry.files) == 3
    assert models[0].size_bytes == 3 * first.stat().st_size


def test_import_split_with_missing_shard(app_ctx: AppContext, tmp_path: Path) -> None:
    first = _tiny_gguf(tmp_path / "Big-00001-of-00002.gguf")
    with pytest.raises(BadModelFileError, match="missing its shard"):
        app_ctx.library.import_file(first)


def test_import_rejects_non_gguf(app_ctx: AppContext, tmp_path: Path) -> None:
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(BadModelFileError):
        app_ctx.library.import_file(bad)
    assert app_ctx.library.list() == []


def test_unknown_name(app_ctx: AppContext) -> None:
    with pytest.raises(ModelNotFoundError):
        app_ctx.library.get("no-such-model")
    with pytest.raises(ModelNotFoundError):
        app_ctx.library.remove("no-such-model")


def test_corrupt_index_loses_nothing(app_ctx: AppContext, installed_starter: Path) -> None:
    app_ctx.library.index_file.write_text("{not json")
    models = app_ctx.library.list()
    assert [m.path for m in models] == [installed_starter]
    assert installed_starter.exists()
    assert list(app_ctx.library.index_file.parent.glob("library.corrupt-*.json"))
