"""The line prefilter: which lines can hold a finding at all, found in one pass per file.

One RE2 pattern (a DFA: the cost per byte does not grow with the number of terms) over the
ASCII-lower-cased UTF-8 bytes of the file matches any provider prefix or secret-ish
keyword; lines without a match (most of them) cost nothing more.  Python's `re` tries
the alternatives at every position and ran the same union at ~15 MB/s, a fifth of the
whole scan; RE2 runs it at ~200 MB/s.  The terms are literals, like gitleaks' keywords:
each provider rule names the literal its token starts with (`catalog.Rule.terms`).

Two passes, so that a candidate line is known to hold a provider prefix (the provider
regexes run) or not; a small Python regex on the line then tells whether the name
heuristics run (`KEYWORD_RE`).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from .catalog import RULES

# Literal starts of provider tokens, lower-cased, from the catalogue; `sk` (Twilio API
# keys: `SK` + 32 hex) is too short a literal and is matched with its body instead.
PROVIDER_TERMS = tuple(sorted({t for r in RULES if not r.scan for t in r.terms if t != "sk"}))
# Rules whose literal is common text are looked for by their shape (`catalog.Rule.scan`).
_PROVIDER_SHAPES = tuple(sorted({r.scan for r in RULES if r.scan}))
_TWILIO_SK = r"sk[0-9a-f]{32}"
# Discord bot tokens start with the bot's numeric id in base64 and carry no literal: each
# 4-character group of base64 over ASCII digits is [MNO][DTjz][AEIMQUYcgk][w-z0-5]
# (lower-cased here), and 17-19 digits give 6 groups before the first dot.
_DISCORD_ID = r"(?:[mno][dtjz][aeimquycgk][w-z0-5]){5}[a-z0-9_-]{3,6}\.[a-z0-9_-]{6}\."
# Not provider tokens, but the start of a finding: URL credentials and key blocks.
_MARKERS = ("://", "-----begin", "putty-user-key-file-")
# Words in the names the generic, connection-string and AWS-secret rules look at.
KEYWORD_TERMS = (
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "auth",
    "cred",
    "bearer",
    "jwt",
    "twilio",
    "aws",
    "private",
    # Session cookies: `session`, `sessionid`, `PHPSESSID`, `Cookie:` (`sid`: see _SHORT_WORDS).
    "session",
    "sessid",
    "cookie",
    # Short flags that carry a password (mysql -p, docker login -p, redis-cli -a, curl -u):
    # the leading space keeps `sha512-p...` integrity hashes out.  SQL `IDENTIFIED BY`.
    " -p",
    " -u",
    " -a",
    "--user",
    "identified",
)
_PAT = r"pat(?:[^a-z\n]|$)"  # `GITHUB_PAT=...` but not `path` (`$`: (?m), before a newline)
# Short words, bounded: `connect.sid`, `"sid":`, `pin_code`, not `inside` or `spinner`.
_SHORT_WORDS = r"(?:^|[^a-z\n])(?:sid|pin(?:code)?)(?:[^a-z\n]|$)"

_Node = dict[str, "_Node"]


def trie_pattern(words: tuple[str, ...]) -> str:
    """An alternation of literal words, factored by common prefix (fast in Python's `re`)."""
    tree: _Node = {}
    for word in sorted(set(words)):
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: _Node) -> str:
        if "" in node:  # a word ends here: the shorter match is enough for a prefilter
            return ""
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items())]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(tree)


# Per candidate line (short, lower-cased): does it hold a keyword for the name heuristics.
KEYWORD_RE = re.compile(
    trie_pattern(KEYWORD_TERMS) + "|pat(?![a-z])|(?<![a-z])(?:sid|pin(?:code)?)(?![a-z])"
)
# Two RE2 passes: lines with a provider prefix (the provider regexes run on these only) and
# lines with a keyword or marker.  Provider prefixes are rare, so the first pass costs a DFA
# scan and little else.
_PROVIDER_UNION = "|".join(
    (trie_pattern(PROVIDER_TERMS), _TWILIO_SK, _DISCORD_ID, *_PROVIDER_SHAPES)
)
_OTHER_UNION = "(?m)" + "|".join((trie_pattern(_MARKERS + KEYWORD_TERMS), _PAT, _SHORT_WORDS))
_MAX_MEM = 32 << 20  # each DFA needs well under 1 MiB; RE2 falls back to an NFA past this


def _compile(pattern: str) -> Any:
    re2 = importlib.import_module("re2")  # untyped: used through this one seam
    options = re2.Options()
    options.max_mem = _MAX_MEM
    options.log_errors = False
    return re2.compile(pattern.encode("ascii"), options)


_PROVIDER_RE2 = _compile(_PROVIDER_UNION)
_OTHER_RE2 = _compile(_OTHER_UNION)


def _finder(regex: Any) -> Callable[[bytes, int], int | None]:
    """`find(data, pos)`: the end of the first match at or after pos, or None.

    The binding's own `search` wraps each call in a generator and a match object, half
    the cost of a search here; its compiled `Match` is called directly when present.
    """
    raw = getattr(regex, "_regexp", None)
    anchor = getattr(getattr(importlib.import_module("re2"), "_Anchor", None), "UNANCHORED", None)
    if raw is not None and anchor is not None and hasattr(raw, "Match"):

        def find_raw(data: bytes, pos: int) -> int | None:
            end: int = raw.Match(anchor, data, pos, len(data))[0][1]
            return None if end < 0 else end

        return find_raw

    def find(data: bytes, pos: int) -> int | None:
        m = regex.search(data, pos)
        return None if m is None else int(m.end())

    return find


_FIND_PROVIDER = _finder(_PROVIDER_RE2)
_FIND_OTHER = _finder(_OTHER_RE2)


def _lines_matching(find: Callable[[bytes, int], int | None], data: bytes) -> list[int]:
    """0-based indices of the lines of `data` holding a match, one search per such line."""
    out: list[int] = []
    pos, last, line = 0, 0, 0
    while True:
        end = find(data, pos)
        if end is None:
            return out
        # No term holds a newline (`pat` before one ends on `$`), so the match ends on its
        # own line: the newlines before its end are those before it.
        line += data.count(b"\n", last, end)
        out.append(line)
        nl = data.find(b"\n", end)
        if nl == -1:
            return out
        pos = last = nl  # the next search starts on the following line


def candidate_lines(text: str) -> tuple[list[int], frozenset[int]]:
    """Lines of `text` (split on "\\n") holding any term, in order; those with a provider prefix."""
    # Bytes keep "\n" where the text has it, so counting them gives the same line numbers;
    # lower() on bytes folds ASCII only, which is all the terms are.
    data = text.encode("utf-8", "surrogatepass").lower()
    provider = _lines_matching(_FIND_PROVIDER, data)
    other = _lines_matching(_FIND_OTHER, data)
    if not provider:
        return other, frozenset()
    return sorted(set(provider).union(other)), frozenset(provider)
