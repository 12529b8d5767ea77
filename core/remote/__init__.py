"""Remote models: OpenAI-compatible providers (Groq, OpenRouter, another Fireside, vLLM…).

A remote model is named ``PROVIDER:MODEL_ID`` and answers through the same
:class:`~fireside.core.inference.handle.Handle` a local one does, so the window, the CLI and the
server treat both alike. Nothing here imports Qt.
"""
