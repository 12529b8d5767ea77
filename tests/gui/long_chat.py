"""A long conversation written straight into the store, as if the app had been closed."""

from __future__ import annotations

from pathlib import Path

from fireside.core.store import Conversation, Message, Store, new_id

CODE = "```python\ndef area(r: float) -> float:\n    return 3.14159 * r * r\n```\n"
TABLE = "| planet | moons |\n|---|---|\n| Mars | 2 |\n| Jupiter | 95 |\n"


def message_text(i: int) -> str:
    """~400 bytes of Markdown: prose, sometimes a code block, sometimes a table."""
    prose = (f"Message **{i}**: the keeper wrote about the lamp, the tide and the gulls, "
             "and about *why* a light needs care every single night of the year. ")
    extra = CODE if i % 3 == 0 else TABLE if i % 3 == 1 else "- one\n- two\n- three\n"
    return f"{prose}\n\n{extra}\nAnd that was message {i}."


def seed(database: Path, count: int, title: str = "A very long chat",
         marker: tuple[int, str] | None = None) -> str:
    """Insert ``count`` alternating messages; ``marker`` puts a findable word in one."""
    store = Store(database)
    try:
        conv = Conversation(id=new_id(), title=title, model="smollm2-135m-instruct-q4_1")
        store.save_conversation(conv)
        for i in range(count):
            text = message_text(i)
            if marker is not None and marker[0] == i:
                text += f" {marker[1]}"
            role = "user" if i % 2 == 0 else "assistant"
            stats = {"decode_tokens_per_s": 150.0, "completion_tokens": 80} \
                if role == "assistant" else {}
            store.add_message(Message(new_id(), conv.id, i, role, text, stats=stats))
        return conv.id
    finally:
        store.close()
