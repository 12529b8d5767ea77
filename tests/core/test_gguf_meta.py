"""GGUF header reading: real metadata, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from fireside.core.errors import BadModelFileError
from fireside.core.models.gguf_meta import TruncatedHeaderError, parse_header, read_header
from fireside.core.models.meta import read_meta


def test_starter_metadata(starter_file: Path) -> None:
    meta = read_meta(starter_file)
    assert meta.architecture == "llama"
    assert meta.quantization == "Q4_1"
    assert meta.context_length == 8192
    assert meta.block_count == 30
    assert (meta.head_count, meta.head_count_kv, meta.key_length) == (9, 3, 64)
    assert meta.license == "apache-2.0"
    assert meta.has_chat_template and "<|im_start|>" in (meta.chat_template or "")
    assert 130e6 < meta.parameter_count < 140e6
    assert meta.vocab_size == 49152
    assert 0 < meta.weights_bytes < starter_file.stat().st_size


def test_prefix_parse_reports_bytes_needed(starter_file: Path) -> None:
    data = starter_file.read_bytes()[:4096]
    with pytest.raises(TruncatedHeaderError) as info:
        parse_header(data)
    assert info.value.needed > 4096
    header = read_header(starter_file)
    assert parse_header(starter_file.read_bytes()[: header.header_bytes]).metadata[
        "general.architecture"] == "llama"


def test_not_gguf(tmp_path: Path) -> None:
    bad = tmp_path / "notes.gguf"
    bad.write_text("hello, not a model")
    with pytest.raises(BadModelFileError, match="not a GGUF"):
        read_meta(bad)


def test_truncated_file(tmp_path: Path, starter_file: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(starter_file.read_bytes()[:100_000])
    with pytest.raises(BadModelFileError, match="truncated"):
        read_meta(cut)


def test_corrupt_counts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + (2**62).to_bytes(8, "little") * 2)
    with pytest.raises(BadModelFileError, match="corrupt"):
        read_meta(bad)
