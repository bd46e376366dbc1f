"""The line prefilter: which lines can hold a finding at all.

One regex over the lower-cased text.  It is built as a trie (`a(?:kia|sia|uth|ws)|p(?:...)`)
because `re` tries every branch of a flat alternation at every position; with the trie
it tests one character per position and the scan runs at a few hundred MB/s.
"""

from __future__ import annotations

import re

from .catalog import RULES

# Literal starts of provider tokens, lower-cased, from the catalogue.  `re` runs the trie
# fastest when few characters can start a term, so each token is represented by a piece
# of its prefix that starts on a character rare in code (`_v1_` for `dop_v1_`, `_api_`
# for `lin_api_`); a prefix with no such piece and a common first letter (`dapi`, `oy2`)
# is left to the keyword terms: those tokens are found on lines that name a key or token.
_FIRST = frozenset("aghxsrnpe:-tkcbji qzkx0123456789_.~$")


def _piece(term: str) -> str | None:
    if term[0] in _FIRST:
        return term
    for i in range(1, len(term) - 2):
        piece = term[i:]
        # a short piece that starts a word (`api`, `tai`) would match ordinary code
        if piece[0] in _FIRST and (len(piece) >= 4 or not piece[0].isalpha()):
            return piece
    return None


PROVIDER_TERMS = tuple(
    sorted(
        {p for r in RULES for t in r.terms if t != "sk" and (p := _piece(t)) is not None}
        | {"://", "-----begin"}
    )
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
