"""The line prefilter: which lines can hold a finding at all.

One regex over the lower-cased text.  It is built as a trie (`a(?:kia|sia|uth|ws)|p(?:...)`)
because `re` tries every branch of a flat alternation at every position; with the trie
it tests one character per position and the scan runs at a few hundred MB/s.
"""

from __future__ import annotations

import re

from .catalog import RULES

# Literal starts of provider tokens, lower-cased, from the catalogue.  `sk` alone would
# match `task` and `ask`: Twilio keys get their own pattern below.
_COMMON = frozenset({"sk"})
PROVIDER_TERMS = (
    *sorted({t for r in RULES for t in r.terms if t not in _COMMON}),
    "://",
    "-----begin",
)
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
    # Short flags that carry a password (mysql -p, docker login -p, redis-cli -a, curl -u):
    # four literals cost less in the trie than the command names, and the leading space
    # keeps `sha512-p...` integrity hashes out.  SQL `IDENTIFIED BY`.
    " -p",
    " -u",
    " -a",
    "--user",
    "identified",
)
_EXTRA = (r"pat(?![a-z])",)  # `GITHUB_PAT=...` but not `path`
_TWILIO_SK = r"sk[0-9a-f]{32}"  # Twilio API keys have no keyword around them


_Node = dict[str, "_Node"]


def trie_pattern(words: tuple[str, ...]) -> str:
    """An alternation of literal words, factored by common prefix."""
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


PREFILTER_RE = re.compile(
    "|".join((trie_pattern(PROVIDER_TERMS + KEYWORD_TERMS), *_EXTRA, _TWILIO_SK))
)
KEYWORD_RE = re.compile("|".join((trie_pattern(KEYWORD_TERMS), *_EXTRA)))
