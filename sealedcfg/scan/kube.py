"""Kubernetes Secret manifests: every `data:` value is a base64-encoded secret.

The values carry no secret-like names (`tls.key`, `config.json`, `DB_URL`), so the name
heuristic never fires; what marks them is the manifest itself (`kind: Secret`, matched in
any case: Helm charts and hand-written manifests spell it `kind: secret` too).  `stringData:`
holds the same values in plaintext; there a value counts when it looks random, since
`username: admin` sits beside the password.

A manifest need not start at column 0: an item of a `kind: List`, a Helm template indented
under `{{ if }}`, a chart's values listing Secrets.  The `data:` block belongs to a Secret
when a sibling key of the same mapping says `kind: Secret`; a ConfigMap's `data:` in the
same file (another document, another list item) does not.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import re
from collections.abc import Iterator

from . import values

RULE = "kubernetes-secret-data"
Hit = tuple[int, int, str, str]
_KIND_RE = re.compile(r"""(?mi)^[ \t-]*kind:\s*["']?secret["']?\s*$""")
# A mapping key, maybe as the first key of a list item (`- kind: Secret`).
_KEY_RE = re.compile(r"""^(?P<lead>[ \t]*(?:-[ \t]+)*)(?P<key>[\w.-]+|"[^"]*"|'[^']*'):(?:\s|$)""")
_DATA_RE = re.compile(r"^(?P<lead>[ \t]*(?:-[ \t]+)*)(?P<block>data|stringData):\s*$")
_SECRET_KIND_RE = re.compile(r"""^kind:\s*["']?secret["']?\s*$""", re.IGNORECASE)
_PLAIN_RE = re.compile(
    r"""^(?P<indent>\s+)[\w.-]+:\s+(?P<q>["']?)(?P<v>[^\s"'#|>]{10,})(?P=q)\s*$"""
)
_ENTRY_RE = re.compile(
    r"""^(?P<indent>\s+)[\w.-]+:\s+["']?(?P<v>[A-Za-z0-9+/]{8,}={0,2})["']?\s*$"""
)
_MAX_ENTRIES = 500
_MAX_SIBLINGS = 200  # lines read each way for the `kind:` of a `data:` block


def _secret_value(v: str) -> bool:
    try:
        raw = base64.b64decode(v, validate=True)
    except (ValueError, binascii.Error):
        return False
    text = raw.decode("utf-8", "replace").strip()
    if len(text) < 4 or values.is_placeholder(text) or values.is_reference(text):
        return False
    return not values.is_encrypted(text)


def _plain_value(v: str) -> bool:
    return (
        values.looks_random(v)
        and not values.is_hash_or_id(v)
        and not values.is_non_secret_shape(v)
        and not values.is_placeholder(v)
        and not values.is_reference(v)
        and not values.is_encrypted(v)
    )


def _transparent(line: str) -> bool:
    """Blank lines, comments and Helm template lines: no part of the mapping."""
    bare = line.strip()
    return not bare or bare.startswith(("#", "{{"))


def _key_at(line: str) -> tuple[int, bool] | None:
    """(column of the mapping key on `line`, whether a list item starts with it)."""
    m = _KEY_RE.match(line)
    if m is None:
        return None
    lead = m.group("lead")
    return len(lead), "-" in lead


def _in_secret(lines: list[str], i: int, col: int, item: bool, seen: dict[int, bool]) -> bool:
    """Whether the mapping whose key `data:` sits at (i, col) has `kind: Secret`.

    Its sibling keys are the lines with a key at the same column, up to a line less
    indented (the parent), a document separator, or a list item's first key (`- key:`,
    the start of this mapping above, the next item's below).  `seen`: the answer for
    each `data:` line above; one met as a sibling is the same mapping, so its answer
    stands (else 10^5 `data:` lines each read 400 lines: 94 s for 1 MiB)."""
    for step in (-1, 1):
        if step == -1 and item:
            continue  # `- data:` opens the mapping: nothing of it above
        j = i + step
        while 0 <= j < len(lines) and abs(j - i) <= _MAX_SIBLINGS:
            line = lines[j]
            if line.startswith(("---", "...")):
                break
            if _transparent(line):
                j += step
                continue
            key = _key_at(line)
            if key is None:
                if len(line) - len(line.lstrip()) < col:
                    break  # less indented text: out of the mapping
            else:
                at, starts_item = key
                if at == col and j in seen:
                    return seen[j]
                if at < col or (step == 1 and at == col and starts_item):
                    break  # the parent, or the next list item
                if at == col and _SECRET_KIND_RE.match(line[at:]):
                    return True
                if at == col and starts_item:
                    break  # this item's first key: the mapping starts here
            j += step
    return False


def hits(lines: list[str], text: str) -> tuple[list[Hit], list[Hit]]:
    """(line index, column, rule, value) for each value under a Secret's `data:`, and under
    its `stringData:` (second: a more specific rule on the same value names it better)."""
    # `kind:` is the literal the pattern needs (a key is case-sensitive; its value is not)
    if "kind:" not in text or _KIND_RE.search(text) is None:
        return [], []
    out: list[Hit] = []
    plain_out: list[Hit] = []
    seen: dict[int, bool] = {}
    for i, line in enumerate(lines):
        if "ata:" not in line:
            continue
        block = _DATA_RE.match(line)
        if block is None:
            continue
        col = len(block.group("lead"))
        seen[i] = _in_secret(lines, i, col, "-" in block.group("lead"), seen)
        if not seen[i]:
            continue
        plain = block.group("block") == "stringData"
        entry_re, ok = (_PLAIN_RE, _plain_value) if plain else (_ENTRY_RE, _secret_value)
        for j in range(i + 1, min(len(lines), i + 1 + _MAX_ENTRIES)):
            if _transparent(lines[j]):
                continue
            if len(lines[j]) - len(lines[j].lstrip()) <= col:
                break  # a sibling or parent key ends the block
            m = entry_re.match(lines[j])
            if m is not None and ok(m.group("v")):
                (plain_out if plain else out).append((j, m.start("v"), RULE, m.group("v")))
    return out, plain_out


_JSON_KIND_RE = re.compile(r""""kind"\s*:\s*"secret\"""", re.IGNORECASE)
_MAX_JSON = 4 << 20  # a manifest, or a `kubectl get -o json` list of them


def _json_secrets(node: object, depth: int = 0) -> Iterator[tuple[str, dict[str, object]]]:
    """(block, mapping) for each `data`/`stringData` object of a Secret in parsed JSON."""
    if depth > 64:
        return
    if isinstance(node, list):
        for item in node:
            yield from _json_secrets(item, depth + 1)
    elif isinstance(node, dict):
        kind = node.get("kind")
        if isinstance(kind, str) and kind.lower() == "secret":
            for block in ("data", "stringData"):
                inner = node.get(block)
                if isinstance(inner, dict):
                    yield block, inner
        for child in node.values():
            if isinstance(child, (dict, list)):
                yield from _json_secrets(child, depth + 1)


# A JSON string literal: in text json.loads accepted, quotes occur in strings only, so the
# matches in order are exactly its strings.  A key is one followed by a colon.
_JSON_STRING_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_JSON_COLON_RE = re.compile(r"\s*:")


def _string_positions(text: str, wanted: set[str]) -> dict[str, list[tuple[int, int, int]]]:
    """(offset, line index, column) of each string value written without escapes whose
    text is in `wanted`, in file order: one pass, lines counted as it goes."""
    found: dict[str, list[tuple[int, int, int]]] = {}
    line = start = last = 0
    for m in _JSON_STRING_RE.finditer(text):
        value = m.group()[1:-1]
        if value not in wanted or _JSON_COLON_RE.match(text, m.end()):
            continue
        breaks = text.count("\n", last, m.start())
        if breaks:
            line += breaks
            start = text.rindex("\n", last, m.start()) + 1
        last = m.start()
        found.setdefault(value, []).append((m.start(), line, m.start() + 1 - start))
    return found


def json_hits(text: str) -> tuple[list[Hit], list[Hit]]:
    """`hits` for manifests written as JSON (`kubectl get secret -o json`)."""
    if '"kind"' not in text or len(text) > _MAX_JSON or _JSON_KIND_RE.search(text) is None:
        return [], []
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: ~1,000 nested brackets
        return [], []
    chosen: list[tuple[str, str]] = []
    for block, mapping in _json_secrets(doc):
        plain = block == "stringData"
        ok = _plain_value if plain else _secret_value
        for value in mapping.values():
            if isinstance(value, str) and "\\" not in value and ok(value):
                chosen.append((block, value))
    # Each value at its first place after the previous one's (else its first place):
    # located in one pass over the text, not a search of it per value.
    places = _string_positions(text, {value for _, value in chosen})
    out: list[Hit] = []
    plain_out: list[Hit] = []
    pos = 0
    for block, value in chosen:
        spots = places.get(value)
        if not spots:
            continue  # written with escapes: not where the line rules can point
        k = bisect.bisect_left(spots, (pos,))
        at, line, col = spots[k] if k < len(spots) else spots[0]
        pos = at + 1
        (plain_out if block == "stringData" else out).append((line, col, RULE, value))
    return out, plain_out
