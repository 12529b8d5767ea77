"""llama.cpp's own reason for a failed load is kept, not only llama-cpp-python's sentence.

Seen before: a context too large for memory failed with "Failed to create llama_context" while
llama.cpp's log (on a stderr llama-cpp-python silences during the load) held the cause.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fireside.core import llama_log
from fireside.core.errors import FiresideError
from fireside.core.hardware.measure import LlamaLogCapture
from fireside.core.inference.engine import Engine
from fireside.core.inference.types import LoadSettings
from fireside.core.llama_log import LlamaLog

HUGE_CONTEXT = 20_000_000  # ~440 GB of KV cache for the starter: no machine here has it


def test_reason_takes_the_last_error_and_the_root_cause() -> None:
    log = LlamaLog()
    log.feed(3, "llama_context: n_ctx_seq > n_ctx_train -- possible overflow\n")
    mark = log.mark()
    log.feed(2, "llama_context: constructing\n")  # info: not kept
    log.feed(4, "ggml_aligned_malloc: insufficient memory ")  # a line in two calls
    log.feed(4, "(attempted to allocate 439453.12 MB)\n")
    log.feed(4, "alloc_tensor_range: failed to allocate CPU buffer of size 460800000000\n")
    log.feed(4, "llama_init_from_model: failed to initialize the context: failed to allocate "
                "buffer for kv cache\n")
    assert log.reason(mark) == ("failed to initialize the context: failed to allocate buffer "
                                "for kv cache (insufficient memory (attempted to allocate "
                                "439453.12 MB))")
    assert log.reason(log.mark()) == ""  # nothing since: no stale reason


def test_a_failed_load_leaves_llamas_reason(starter_file: Path) -> None:
    """Also with the hardware panel's listener attached (two listeners, one callback)."""
    buffers = LlamaLogCapture()
    assert buffers.install()
    shared = llama_log.shared()
    shared.install()
    mark = shared.mark()
    engine = Engine()
    with pytest.raises(FiresideError):  # saying "...: Failed to create llama_context"
        engine.load(starter_file, LoadSettings(n_ctx=HUGE_CONTEXT))
    assert "failed to allocate buffer for kv cache" in shared.reason(mark)
    assert "insufficient memory" in shared.reason(mark)
    assert buffers.buffers()  # the panel's listener heard the same load ("CPU model" ...)
    engine.release_thread(10)
