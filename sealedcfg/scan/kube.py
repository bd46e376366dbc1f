"""Kubernetes Secret manifests: every `data:` value is a base64-encoded secret.

The values carry no secret-like names (`tls.key`, `config.json`, `DB_URL`), so the name
heuristic never fires; what marks them is the manifest itself (`kind: Secret`, matched in
any case: Helm charts and hand-written manifests spell it `kind: secret` too).  `stringData:`
holds the same values in plaintext; there a value counts when it looks random, since
`username: admin` sits beside the password.
"""

from __future__ import annotations

import base64
import binascii
import re

from . import values

RULE = "kubernetes-secret-data"
Hit = tuple[int, int, str, str]
_KIND_RE = re.compile(r"""(?mi)^kind:\s*["']?secret["']?\s*$""")
_DATA_RE = re.compile(r"^(?P<block>data|stringData):\s*$")
_PLAIN_RE = re.compile(
    r"""^(?P<indent>\s+)[\w.-]+:\s+(?P<q>["']?)(?P<v>[^\s"'#|>]{10,})(?P=q)\s*$"""
)
_ENTRY_RE = re.compile(
    r"""^(?P<indent>\s+)[\w.-]+:\s+["']?(?P<v>[A-Za-z0-9+/]{8,}={0,2})["']?\s*$"""
)
_MAX_ENTRIES = 500


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


def hits(lines: list[str], text: str) -> tuple[list[Hit], list[Hit]]:
    """(line index, column, rule, value) for each value under a Secret's `data:`, and under
    its `stringData:` (second: a more specific rule on the same value names it better)."""
    # `kind:` is the literal the pattern needs (a key is case-sensitive; its value is not)
    if "kind:" not in text or _KIND_RE.search(text) is None:
        return [], []
    out: list[Hit] = []
    plain_out: list[Hit] = []
    for i, line in enumerate(lines):
        block = _DATA_RE.match(line)
        if block is None:
            continue
        plain = block.group("block") == "stringData"
        entry_re, ok = (_PLAIN_RE, _plain_value) if plain else (_ENTRY_RE, _secret_value)
        for j in range(i + 1, min(len(lines), i + 1 + _MAX_ENTRIES)):
            m = entry_re.match(lines[j])
            if m is None:
                if lines[j].strip() and not lines[j][:1].isspace():
                    break  # the next top-level key ends the block
                continue
            if ok(m.group("v")):
                (plain_out if plain else out).append((j, m.start("v"), RULE, m.group("v")))
    return out, plain_out
