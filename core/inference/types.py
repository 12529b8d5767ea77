"""Plain data passed between the engine and its fronts (CLI, window, server)."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fireside.core.inference.probs import TokenProb

KV_CACHE_TYPES = {"f16": 1, "q8_0": 8, "q4_0": 2}
# ``parallel`` 0 picks the slot count. 8 where slots cost no memory (the KV cache is unified):
# 16 clients on 2 cores got ~13% more tok/s from 8 slots than from llama-server's 4 (the
# weights are read once per step for more tokens), and 16 slots no more than 8. A
# sliding-window model keeps llama-server's 4: its window cache grows by a window per slot
# (a gemma3-12b at 32k would hold ~1.3 GiB more with 8).
AUTO_SLOTS = 8
AUTO_SLOTS_SWA = 4


@dataclass
class LoadSettings:
    """How a model is loaded; remembered per model by the settings store."""

    n_ctx: int = 4096
    n_threads: int | None = None
    n_gpu_layers: int = 0
    # On by default: llama-bench's "auto" picks it on CPU too, and it decodes ~10% faster here.
    flash_attn: bool = True
    kv_cache_type: str = "f16"
    use_mmap: bool = True
    use_mlock: bool = False
    n_batch: int = 512
    seed: int = -1
    # Requests decoded together (llama-server's -np); 0: ``slots()`` picks. The KV cache is
    # shared, not split, so one request alone still gets the whole context.
    parallel: int = 0
    # Sliding-window layers keep only their window (+ one batch per sequence), as llama-server
    # does by default; True keeps them full-size (llama.cpp's Llama() default): a gemma3 at 32k
    # then holds 1,536 MiB of KV instead of ~300 MiB. Full size only matters for context
    # shifting and prompt-cache reuse beyond the window.
    swa_full: bool = False
    # The vision projector (mmproj) that lets the model read images: "" looks for one beside
    # the model file (media.find_projector), "off" loads none, anything else is its path.
    projector: str = ""

    def slots(self, sliding_window: int) -> int:
        """The requests decoded together for a model with this sliding window (0: none)."""
        if self.parallel > 0:
            return self.parallel
        return AUTO_SLOTS_SWA if sliding_window > 0 else AUTO_SLOTS

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SamplingParams:
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    max_tokens: int | None = 512
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    # token id (or text: each of its tokens) -> added to the logit
    logit_bias: dict[int | str, float] = field(default_factory=dict)
    # token probabilities (probs.py): None off, else how many alternatives per token
    logprobs: int | None = None
    post_sampling_probs: bool = False  # the sampler's distribution, not the model's

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Stats:
    """Per-request figures; llama.cpp's own perf counters where it keeps them."""

    ttft_s: float = 0.0
    prefill_tokens_per_s: float = 0.0
    decode_tokens_per_s: float = 0.0
    prompt_tokens: int = 0
    prefill_tokens: int = 0
    completion_tokens: int = 0
    context_used: int = 0
    context_limit: int = 0
    total_s: float = 0.0
    queue_s: float = 0.0  # waited for the engine before its prompt was read
    preempted: int = 0  # times it was paused to make room for others, then recomputed

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Completion:
    text: str
    finish_reason: str  # "stop", "length" or "cancelled"
    stats: Stats
    model: str = ""  # the name of the model that produced it (set by the engine)
    opens_thinking: bool = False  # the prompt opened a <think> block: the text starts inside it
    stop_sequence: str | None = None  # the stop string that ended it (Anthropic reports it)
    probs: list[TokenProb] = field(default_factory=list)  # per token, when logprobs were asked
    tokens: list[int] = field(default_factory=list)  # the ids of the text's tokens
    prompt: str = ""  # the prompt as the model read it (a chat's rendered template)


@dataclass
class ChatRequest:
    """A conversation to answer with the model's own chat template."""

    messages: list[dict[str, Any]]
    params: SamplingParams = field(default_factory=SamplingParams)
    tools: list[dict[str, Any]] | None = None  # offered to the template (tool calling)
    grammar: Any = None  # a LlamaGrammar constraining the answer (JSON schema, tools)
    priority: int = 0  # the person's own chat is 1: API requests make way for it
    # the last message is the assistant's, to be continued (vLLM's continue_final_message)
    continue_final: bool = False
    # Message content may be a list of parts: {"type": "text", "text": str} and
    # {"type": "image", "data": bytes} (an encoded JPEG/PNG/…) or {"type": "image", "path": str},
    # read by the model's projector.


@dataclass
class TextRequest:
    """Raw text (or token ids) to continue, no chat template."""

    prompt: str | list[int]
    params: SamplingParams = field(default_factory=SamplingParams)
    grammar: Any = None
    priority: int = 0


Request = ChatRequest | TextRequest


class CancelToken:
    """A thread-safe stop flag, set from any thread, checked by the engine between tokens."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()
