"""A secret byte string that never shows itself (keys, passphrases, data keys)."""

from __future__ import annotations


class Secret:
    """Bytes that never show in a repr, str or traceback local."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = value

    def reveal(self) -> bytes:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__
