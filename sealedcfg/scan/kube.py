"""Kubernetes Secret manifests: every `data:` value is a base64-encoded secret.

The values carry no secret-like names (`tls.key`, `config.json`, `DB_URL`), so the name
heuristic never fires; what marks them is the manifest itself (`kind: Secret`).
"""

from __future__ import annotations

import base64
import binascii
import re

from . import values

RULE = "kubernetes-secret-data"
_KIND_RE = re.compile(r"""(?m)^kind:\s*["']?Secret["']?\s*$""")
_DATA_RE = re.compile(r"^data:\s*$")
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


def hits(lines: list[str], text: str) -> list[tuple[int, int, str, str]]:
    """(line index, column, rule, value) for each base64 value under a Secret's `data:`."""
    if "Secret" not in text or _KIND_RE.search(text) is None:
        return []
    out: list[tuple[int, int, str, str]] = []
    for i, line in enumerate(lines):
        if not _DATA_RE.match(line):
            continue
        for j in range(i + 1, min(len(lines), i + 1 + _MAX_ENTRIES)):
            m = _ENTRY_RE.match(lines[j])
            if m is None:
                if lines[j].strip() and not lines[j][:1].isspace():
                    break  # the next top-level key ends the block
                continue
            if _secret_value(m.group("v")):
                out.append((j, m.start("v"), RULE, m.group("v")))
    return out
