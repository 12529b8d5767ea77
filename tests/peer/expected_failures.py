"""llama.cpp server tests that fail against Fireside, each with its reason.

Matched by prefix of ``file::test`` (a test id without parameters covers all of them).
"""

EXPECTED: dict[str, str] = {}
