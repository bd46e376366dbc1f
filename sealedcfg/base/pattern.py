"""Regular expressions read from files an attacker may write, matched in linear time.

The plaintext rule (`plain:` in a header or a creation rule) and a creation
rule's `path_regex` come from the repository.  Python's backtracking `re`
takes exponential time on patterns like `^(.+)+#$`, which would hang the
key-less hook; RE2 (the `google-re2` package) guarantees time linear in the
text and bounds the memory of compiling.  Its syntax is Python's minus
backreferences and lookaround; `\\d`, `\\w` and `\\s` are ASCII-only.  A pattern
RE2 cannot compile is refused with its reason, never handed to `re`.
"""

from __future__ import annotations

from typing import Any

from sealedcfg.base import limits
from sealedcfg.errors import InputError

_options: Any = None


def _re2_options() -> Any:
    global _options
    if _options is None:
        import re2

        _options = re2.Options()
        _options.max_mem = limits.RE2_MAX_MEM
        _options.log_errors = False  # RE2 would print to stderr itself
    return _options


def _utf8(text: str) -> bytes:
    # A YAML key may hold a lone surrogate ("\ud800"): match it as bytes, never fail.
    return text.encode("utf-8", "surrogatepass")


class Pattern:
    """A compiled RE2 pattern over text (matched as UTF-8)."""

    __slots__ = ("_regex", "source")

    def __init__(self, regex: Any, source: str) -> None:
        self._regex = regex
        self.source = source

    def search(self, text: str) -> bool:
        return self._regex.search(_utf8(text)) is not None

    def fullmatch(self, text: str) -> bool:
        return self._regex.fullmatch(_utf8(text)) is not None


def compile_pattern(source: str, what: str) -> Pattern:
    """Compile `source` with RE2; InputError naming `what` when it cannot be."""
    if len(source) > limits.MAX_RULE_CHARS:
        raise InputError(
            f"{what} is {len(source):,} characters long, over the limit of "
            f"{limits.MAX_RULE_CHARS:,}"
        )
    import re2

    try:
        return Pattern(re2.compile(_utf8(source), _re2_options()), source)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid pattern"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise InputError(
            f"{what} is not a valid RE2 regular expression: {reason}",
            hints=("RE2 is Python's syntax without backreferences or lookaround",),
        ) from None
