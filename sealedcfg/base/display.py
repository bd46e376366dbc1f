"""Text from a repository made safe to print on a terminal."""

from __future__ import annotations

import re

# C0 and C1 controls (ESC starts terminal sequences that move the cursor and erase
# lines), DEL, line and paragraph separators, and bidirectional overrides.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """TEXT with every character that could rewrite a terminal line shown as an escape.

    File names and rule text come from whoever can write the repository: printed
    raw, `ESC[1A ESC[2K` in a name erases the line above it (a `+ recipient`
    line of `updatekeys`, say).
    """
    return _UNSAFE.sub(lambda m: _escape(m.group()), text)


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
