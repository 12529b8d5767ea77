"""Errors a user can act on.

Every front (CLI, window, server) shows ``FiresideError`` as one clear line; anything else is a
bug and gets a traceback in the log.
"""

from __future__ import annotations


class FiresideError(Exception):
    """An expected failure with a message meant for the user."""


class ModelNotFoundError(FiresideError):
    """A model name or path that does not resolve to a local model."""


class BadModelFileError(FiresideError):
    """A file that is not a usable GGUF (wrong magic, truncated, unreadable)."""


class ModelNotLoadedError(FiresideError):
    """A request that needs a loaded model while none is loaded."""


class ContextOverflowError(FiresideError):
    """The prompt does not fit in the loaded context."""

    def __init__(self, message: str, prompt_tokens: int, n_ctx: int) -> None:
        super().__init__(message)
        self.prompt_tokens = prompt_tokens
        self.n_ctx = n_ctx


class RequestError(FiresideError):
    """A request the engine found unusable once it read it (an API client gets a 400)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class GrammarError(RequestError):
    """A grammar (a request's own GBNF, or one built from a schema) llama.cpp cannot parse."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "grammar")


class TemplateError(FiresideError):
    """A chat template that failed to render or tried to escape the sandbox."""


class DownloadError(FiresideError):
    """A download that failed in a way the user must know about."""


class StorageError(FiresideError, OSError):
    """A file Fireside keeps could not be written (disk full, read-only, no permission).

    Also an ``OSError``, so callers that already guard their saves with ``except OSError``
    keep catching it.
    """
