"""Read a GGUF header — metadata and tensor table — without touching the weights.

``gguf.GGUFReader`` decodes every array element into numpy objects (3 s for a 49k-token
vocabulary), too slow for listing a library, and it needs the whole file, which rules it out for
the remote-header fit check. This parser walks the same format with the ``gguf`` package's own
type tables, skips token arrays, and works on a byte prefix: :class:`TruncatedHeaderError` tells
the caller how many bytes it needs.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType, LlamaFileType

from fireside.core.errors import BadModelFileError

GGUF_MAGIC = b"GGUF"
# Keys whose values are large arrays that nothing here needs: skipped, not decoded.
_SKIP_ARRAYS = ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
                "tokenizer.ggml.merges")
_SCALAR_FORMATS: dict[GGUFValueType, str] = {
    GGUFValueType.UINT8: "<B", GGUFValueType.INT8: "<b", GGUFValueType.UINT16: "<H",
    GGUFValueType.INT16: "<h", GGUFValueType.UINT32: "<I", GGUFValueType.INT32: "<i",
    GGUFValueType.FLOAT32: "<f", GGUFValueType.BOOL: "<?", GGUFValueType.UINT64: "<Q",
    GGUFValueType.INT64: "<q", GGUFValueType.FLOAT64: "<d",
}
_MAX_STRING = 64 * 1024 * 1024
SPLIT_RE = re.compile(r"^(?P<stem>.+)-(?P<idx>\d{5})-of-(?P<total>\d{5})\.gguf$", re.IGNORECASE)


class TruncatedHeaderError(BadModelFileError):
    """The bytes end before the header does."""

    def __init__(self, message: str, needed: int) -> None:
        super().__init__(message)
        self.needed = needed


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int

    @property
    def n_bytes(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        try:
            block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(self.ggml_type)]
        except (ValueError, KeyError):
            return 0
        return n * type_size // block

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass
class GGUFHeader:
    """Raw key/values and tensor table of one GGUF file (one shard of a split model)."""

    version: int
    metadata: dict[str, Any]
    tensors: list[TensorInfo]
    header_bytes: int
    array_lengths: dict[str, int] = field(default_factory=dict)


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise TruncatedHeaderError("GGUF header is truncated", needed=end)
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.unpack("<Q")
        if n > _MAX_STRING:
            raise BadModelFileError(f"GGUF string of {n} bytes: the file is corrupt")
        return self.take(n).decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        n = self.unpack("<Q")
        if n > _MAX_STRING:
            raise BadModelFileError(f"GGUF string of {n} bytes: the file is corrupt")
        self.take(n)


def _value(cur: _Cursor, vtype: GGUFValueType, key: str, lengths: dict[str, int]) -> Any:
    if vtype == GGUFValueType.STRING:
        return cur.string()
    if vtype in _SCALAR_FORMATS:
        return cur.unpack(_SCALAR_FORMATS[vtype])
    if vtype == GGUFValueType.ARRAY:
        item_type = GGUFValueType(cur.unpack("<I"))
        count = cur.unpack("<Q")
        lengths[key] = count
        if key in _SKIP_ARRAYS:
            if item_type == GGUFValueType.STRING:
                for _ in range(count):
                    cur.skip_string()
            elif item_type in _SCALAR_FORMATS:
                cur.take(struct.calcsize(_SCALAR_FORMATS[item_type]) * count)
            else:
                raise BadModelFileError(f"unsupported array in {key}")
            return None
        return [_value(cur, item_type, key, lengths) for _ in range(count)]
    raise BadModelFileError(f"unknown GGUF value type {vtype} for {key}")


def parse_header(data: bytes) -> GGUFHeader:
    """Parse a GGUF header from its leading bytes (the whole file is never needed)."""
    cur = _Cursor(data)
    if cur.take(4) != GGUF_MAGIC:
        raise BadModelFileError("not a GGUF file (bad magic number)")
    version = cur.unpack("<I")
    if version not in (2, 3):
        raise BadModelFileError(f"unsupported GGUF version {version}")
    n_tensors = cur.unpack("<Q")
    n_kv = cur.unpack("<Q")
    if n_tensors > 1_000_000 or n_kv > 1_000_000:
        raise BadModelFileError("GGUF header counts are implausible: the file is corrupt")
    metadata: dict[str, Any] = {}
    lengths: dict[str, int] = {}
    try:
        for _ in range(n_kv):
            key = cur.string()
            vtype = GGUFValueType(cur.unpack("<I"))
            metadata[key] = _value(cur, vtype, key, lengths)
        tensors = []
        for _ in range(n_tensors):
            name = cur.string()
            n_dims = cur.unpack("<I")
            shape = tuple(cur.unpack("<Q") for _ in range(n_dims))
            ggml_type = cur.unpack("<I")
            cur.unpack("<Q")  # data offset
            tensors.append(TensorInfo(name, shape, ggml_type))
    except ValueError as exc:  # an enum value out of range
        raise BadModelFileError(f"corrupt GGUF header: {exc}") from exc
    return GGUFHeader(version, metadata, tensors, cur.pos, lengths)


def read_header(path: Path, *, chunk: int = 4 * 1024 * 1024) -> GGUFHeader:
    """Read just enough of ``path`` to parse its header."""
    try:
        with path.open("rb") as fh:
            return _read_growing(fh, chunk)
    except OSError as exc:
        raise BadModelFileError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _read_growing(fh: BinaryIO, chunk: int) -> GGUFHeader:
    data = fh.read(chunk)
    while True:
        try:
            return parse_header(data)
        except TruncatedHeaderError as exc:
            more = fh.read(max(chunk, exc.needed - len(data))) \
                if exc.needed <= os.fstat(fh.fileno()).st_size else b""  # a corrupt count
            if not more:
                raise TruncatedHeaderError(
                    "the file ends inside its GGUF header: it is truncated", exc.needed
                ) from None
            data += more


def file_type_name(file_type: int | None, tensors: list[TensorInfo]) -> str:
    """Quantization label, e.g. ``Q4_K_M``; from general.file_type, else the commonest type."""
    if file_type is not None:
        try:
            name = LlamaFileType(file_type).name
            return name.removeprefix("MOSTLY_").replace("ALL_F32", "F32")
        except ValueError:
            pass
    counts: dict[int, int] = {}
    for t in tensors:
        if len(t.shape) >= 2:
            counts[t.ggml_type] = counts.get(t.ggml_type, 0) + t.n_elements
    if not counts:
        return "unknown"
    best = max(counts, key=counts.__getitem__)
    try:
        return GGMLQuantizationType(best).name
    except ValueError:
        return "unknown"
