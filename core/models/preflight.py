"""Check a GGUF where a crash costs nothing, before the first in-process load.

llama.cpp trusts its files more than it should: a token-type array that points past the
vocabulary, or a special-token id beyond it, makes its C++ code throw ``std::out_of_range``
where nothing catches it, and the runtime aborts the whole process (every open chat with it).
Python cannot catch a ``SIGABRT``. So before a file is first loaded, a short child process
(``python -m fireside.core.models.preflight FILE``) loads its vocabulary only and walks it the
way a load and a chat will (every token's text, attributes and piece, the special tokens, a
tokenize round trip) and compiles its chat templates. A child that dies, hangs or fails turns
into one clear :class:`BadModelFileError`; a file that passes keeps the fast in-process engine.
Verdicts are cached per (path, size, mtime) in the cache folder, so the check costs one child
per file version, not one per load.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from fireside.core import paths
from fireside.core.atomic import locked, write_json_atomic
from fireside.core.errors import BadModelFileError, FiresideError

log = logging.getLogger("fireside.preflight")
CACHE_NAME = "preflight.json"
CACHE_VERSION = 2
MAX_CACHED = 512
DEFAULT_TIMEOUT_S = 60.0
CHILD_MEMORY_LIMIT = 8 * 1024**3  # heap (RLIMIT_DATA, not address space: GPU runtimes reserve lots)
_SAMPLE = "Hello, world! <|im_start|>user\nhi<|im_end|> 123 ünïcødé 日本語 🙂"
_lock = threading.Lock()


class PreflightError(BadModelFileError):
    """The file crashed, hung or failed the vocabulary check: llama.cpp must not load it."""


def _key(path: Path) -> tuple[str, dict[str, int]]:
    stat = path.stat()
    return str(path.resolve()), {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _cache_file() -> Path:
    return paths.resolve().cache / CACHE_NAME


def _read_cache(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION or \
            not isinstance(data.get("files"), dict):
        return {}
    return dict(data["files"])


def _write_cache(file: Path, files: dict[str, Any]) -> None:
    """Best effort: a cache that cannot be written only costs another child next time."""
    while len(files) > MAX_CACHED:
        files.pop(next(iter(files)))
    try:
        write_json_atomic(file, {"version": CACHE_VERSION, "files": files}, mode=0o644)
    except OSError as exc:
        log.warning("could not write the preflight cache %s: %s", file, exc)


def cached_verdict(path: Path) -> dict[str, Any] | None:
    """The stored verdict for this exact file version, if any."""
    name, version = _key(path)
    entry = _read_cache(_cache_file()).get(name)
    if isinstance(entry, dict) and all(entry.get(k) == v for k, v in version.items()):
        return entry
    return None


def check(path: Path, *, timeout: float = DEFAULT_TIMEOUT_S, fatal_only: bool = False) -> None:
    """Raise :class:`PreflightError` unless ``path`` survived (or once survived) the child.

    ``fatal_only`` (an import) refuses only what crashed or hung the child; a file llama.cpp
    merely cannot load is still added, and refused when it is loaded. A file that passes may
    be loaded in this process; so that ``Llama()`` cannot run its templates unbounded here,
    its own template compiler is disarmed too.
    """
    try:
        name, version = _key(path)
    except OSError as exc:
        raise BadModelFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    entry = cached_verdict(path)
    if entry is None:
        entry = _run_child(path, timeout)
        if entry.pop("final"):  # a timeout may be a busy machine: asked again next time
            cache = _cache_file()
            try:
                with _lock, locked(cache):  # the window and `fireside serve` share it
                    files = _read_cache(cache)
                    files.pop(name, None)
                    files[name] = {**version, **entry}
                    _write_cache(cache, files)
            except OSError as exc:
                log.warning("could not lock the preflight cache %s: %s", cache, exc)
    if not entry.get("ok") and (entry.get("fatal") or not fatal_only):
        message = " ".join(str(entry.get("message") or "it failed the check").split())
        raise PreflightError(f"{path.name}: {message}")
    disarm_library_templates()


def _verdict(ok: bool, message: str = "", *, fatal: bool = False,
             final: bool = True) -> dict[str, Any]:
    return {"ok": ok, "message": message, "fatal": fatal, "final": final}


def _run_child(path: Path, timeout: float) -> dict[str, Any]:
    """The child's verdict on ``path``: ok, message, fatal (it crashed or hung), final."""
    cmd = [sys.executable, "-m", "fireside.core.models.preflight", str(path)]
    # ggml's abort handler runs gdb for a backtrace when it can: slow, and nobody reads it
    env = {**os.environ, "GGML_NO_BACKTRACE": "1"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                              timeout=timeout, stdin=subprocess.DEVNULL, check=False, env=env)
    except subprocess.TimeoutExpired:
        return _verdict(False, f"reading its vocabulary did not finish in {timeout:g} s; the "
                        "file is probably malformed", fatal=True, final=False)
    except OSError as exc:
        raise FiresideError(f"could not start the model check: {exc.strerror or exc}") from exc
    if proc.returncode < 0:
        try:
            sig = signal.Signals(-proc.returncode).name
        except ValueError:
            sig = f"signal {-proc.returncode}"
        detail = _crash_detail(proc.stderr)
        log.info("preflight child for %s died of %s: %s", path, sig, proc.stderr[-2000:])
        return _verdict(False, f"llama.cpp crashed ({sig}) reading its vocabulary or "
                        f"hyperparameters{': ' + detail if detail else ''}; the file is "
                        "malformed", fatal=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    try:
        verdict = json.loads(lines[-1])
        return _verdict(bool(verdict["ok"]), str(verdict.get("message", "")))
    except (IndexError, ValueError, KeyError, TypeError):
        detail = _crash_detail(proc.stderr)
        log.info("preflight child for %s exited %d: %s", path, proc.returncode,
                 proc.stderr[-2000:])
        return _verdict(False, f"the vocabulary check failed (exit status {proc.returncode})"
                        f"{': ' + detail if detail else ''}", fatal=True)


def _crash_detail(stderr: str) -> str:
    """The C++ exception's ``what()`` or the failed ggml assertion, shortened to one line."""
    for raw in reversed(stderr.splitlines()):
        line = raw.strip()
        if line.startswith("what():"):
            return line.removeprefix("what():").strip()[:200]
        if "GGML_ASSERT(" in line or "fatal error" in line:
            return line.rsplit(": ", 1)[-1][:200] if ": " in line else line[-200:]
    return ""


class _UnusedChatFormatter:
    """Stands in for llama-cpp-python's ``Jinja2ChatFormatter`` inside ``Llama()``.

    ``Llama()`` compiles every chat template in the file with an unbounded Jinja environment
    that folds constants at compile time (``{{ 'x' * 10**10 }}`` allocates 10 GB right there,
    in the app's process). Fireside never uses those handlers (``templates`` renders every
    chat, under a budget), so they are never built.
    """

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        pass

    def to_chat_handler(self) -> Any:
        def unused(*_args: Any, **_kwargs: Any) -> Any:
            raise FiresideError("llama-cpp-python's chat handlers are disabled in Fireside")

        return unused


def disarm_library_templates() -> None:
    """Make ``Llama()`` skip compiling the file's templates (idempotent)."""
    from llama_cpp import llama_chat_format

    llama_chat_format.Jinja2ChatFormatter = _UnusedChatFormatter  # type: ignore[misc,assignment]


# -- the child ---------------------------------------------------------------------------------
def _probe(path: Path) -> str:
    """Everything a load and a chat will ask of the vocabulary; '' when all of it worked."""
    import ctypes

    import llama_cpp

    from fireside.core.errors import TemplateError
    from fireside.core.inference import templates

    @llama_cpp.llama_log_callback
    def quiet(_level: int, _text: bytes, _user: ctypes.c_void_p) -> None:
        return None

    llama_cpp.llama_log_set(quiet, ctypes.c_void_p(0))
    llama_cpp.llama_backend_init()
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    model = llama_cpp.llama_model_load_from_file(str(path).encode("utf-8"), params)
    if not model:
        return "llama.cpp cannot read its vocabulary or hyperparameters"
    try:
        problem = _header_rules(path, llama_cpp.llama_vocab_n_tokens(
            llama_cpp.llama_model_get_vocab(model))) or _walk_vocab(llama_cpp, model)
        if problem:
            return problem
        for key, value in _metadata(llama_cpp, model).items():
            if key.startswith("tokenizer.chat_template"):
                try:
                    templates.validate(value)
                except TemplateError as exc:
                    return str(exc)
    finally:
        llama_cpp.llama_model_free(model)
    return _load_without_weights(llama_cpp, path)


def _load_without_weights(llama_cpp: Any, path: Path) -> str:
    """The rest of a load (hyperparameters, tensor table) with nothing allocated or read:
    llama.cpp asserts on some hyperparameters (a layer count of 0 or over 512) instead of
    failing, and only a full load reads them."""
    params = llama_cpp.llama_model_default_params()
    params.no_alloc = True
    params.load_mode = 0  # LLAMA_LOAD_MODE_NONE: no_alloc refuses a mapping
    params.n_gpu_layers = 0
    params.use_extra_bufts = False  # repacking would read every weight
    model = llama_cpp.llama_model_load_from_file(str(path).encode("utf-8"), params)
    if not model:
        return "llama.cpp cannot load it (its hyperparameters or tensor table are invalid)"
    llama_cpp.llama_model_free(model)
    return ""


def _header_rules(path: Path, n_vocab: int) -> str:
    """Values llama.cpp accepts at load but that abort later: a norm epsilon that asserts at
    the first decode, and bos/eos ids past the vocabulary (llama.cpp ignores them, but
    Fireside reads them from the header to render templates, and asking llama.cpp for the
    text of such a token is an uncaught ``std::out_of_range``)."""
    from fireside.core.models.gguf_meta import read_header

    meta = read_header(path).metadata
    arch = meta.get("general.architecture")
    for name in ("layer_norm_rms_epsilon", "layer_norm_epsilon"):
        value = meta.get(f"{arch}.attention.{name}")
        if isinstance(value, float) and not (math.isfinite(value) and value >= 0):
            return f"its {name} is {value}: llama.cpp would abort at the first token"
    context = meta.get(f"{arch}.context_length")
    if isinstance(context, int) and not 0 <= context < 2**31:
        return f"its context_length {context} is out of range"  # llama.cpp reads an int32
    for name in ("bos", "eos"):
        value = meta.get(f"tokenizer.ggml.{name}_token_id")
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            return f"its {name} token id {value!r} is not a number"
        if value >= n_vocab:
            return f"its {name} token id {value} is outside the vocabulary of {n_vocab}"
    return ""


def _limit_memory(limit: int = CHILD_MEMORY_LIMIT) -> None:
    """Make a runaway allocation a quick MemoryError in the child, not swap for the user."""
    try:
        import resource
    except ImportError:  # Windows: the timeout still bounds the child
        return
    try:
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    except (ValueError, OSError):
        pass


def _metadata(llama_cpp: Any, model: Any) -> dict[str, str]:
    """The key/values as llama-cpp-python's ``Llama`` reads them (it reads them all)."""
    import ctypes

    out: dict[str, str] = {}
    size = 1 << 16
    buf = ctypes.create_string_buffer(size)
    for i in range(llama_cpp.llama_model_meta_count(model)):
        n = llama_cpp.llama_model_meta_key_by_index(model, i, buf, size)
        key = buf.value.decode("utf-8", errors="replace") if n >= 0 else ""
        n = llama_cpp.llama_model_meta_val_str_by_index(model, i, buf, size)
        if n > size:
            big = ctypes.create_string_buffer(n + 1)
            llama_cpp.llama_model_meta_val_str_by_index(model, i, big, n + 1)
            value = big.value
        else:
            value = buf.value if n >= 0 else b""
        out[key] = value.decode("utf-8", errors="replace")
    return out


def _walk_vocab(llama_cpp: Any, model: Any) -> str:
    import ctypes

    vocab = llama_cpp.llama_model_get_vocab(model)
    n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
    if n_vocab <= 0:
        return "its vocabulary is empty"
    piece = ctypes.create_string_buffer(512)
    for token in range(n_vocab):
        llama_cpp.llama_vocab_get_text(vocab, token)
        llama_cpp.llama_vocab_get_attr(vocab, token)
        llama_cpp.llama_token_to_piece(vocab, token, piece, len(piece), 0, True)
    for name in ("bos", "eos", "eot", "sep", "nl", "pad"):
        getter = getattr(llama_cpp, f"llama_vocab_{name}", None)
        token = getter(vocab) if getter else -1
        if token == -1:
            continue
        if not 0 <= token < n_vocab:
            return f"its {name} token id {token} is outside the vocabulary of {n_vocab}"
        text = llama_cpp.llama_vocab_get_text(vocab, token)
        try:
            text.decode("utf-8")
        except UnicodeDecodeError:
            return f"its {name} token's text is not UTF-8"
        llama_cpp.llama_vocab_is_eog(vocab, token)
    sample = _SAMPLE.encode("utf-8")
    tokens = (llama_cpp.llama_token * (len(sample) + 8))()
    count = llama_cpp.llama_tokenize(vocab, sample, len(sample), tokens, len(tokens), True, True)
    if count < 0:
        return "it cannot tokenize a sample text"
    for token in tokens[:count]:
        if not 0 <= token < n_vocab:
            return f"tokenizing gave the token id {token}, outside the vocabulary"
        llama_cpp.llama_token_to_piece(vocab, token, piece, len(piece), 0, True)
    text = ctypes.create_string_buffer(len(sample) * 8 + 64)
    llama_cpp.llama_detokenize(vocab, tokens, count, text, len(text), False, True)
    return ""


def main(argv: list[str]) -> int:
    """Child entry point: one JSON verdict line on stdout; a crash speaks for itself."""
    if len(argv) != 1:
        print("usage: python -m fireside.core.models.preflight FILE.gguf", file=sys.stderr)
        return 2
    _limit_memory()
    try:
        problem = _probe(Path(argv[0]))
    except MemoryError:
        problem = "checking it needed more memory than any vocabulary or chat template should"
    except Exception as exc:  # noqa: BLE001 - any failure here is the file's verdict
        text = " ".join(str(exc).split())[:300]
        problem = f"the vocabulary check failed: {type(exc).__name__}: {text}"
    print(json.dumps({"ok": not problem, "message": problem}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
