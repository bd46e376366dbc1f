"""The `.sealedcfg-allow` file: accepted findings, by fingerprint, one per line.

Format: a 64-hex fingerprint first on the line, anything after it is for humans (rule
id, path, reason); `#` starts a comment line; blank lines are ignored.  Lines that do
not start with a fingerprint are ignored rather than fatal, so a merge that mangles
one line cannot stop every commit.  Fingerprints carry no line numbers: entries stay
valid when code moves, and a line-sorted file merges cleanly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from .model import Finding

ALLOW_FILE = ".sealedcfg-allow"
_FP_RE = re.compile(r"^[0-9a-f]{64}$")


def parse_allowlist(text: str) -> frozenset[str]:
    found: set[str] = set()
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        first = line.split(None, 1)[0].lower()
        if _FP_RE.match(first):
            found.add(first)
    return frozenset(found)


def load_allowlist(path: str | os.PathLike[str]) -> frozenset[str]:
    """Fingerprints from an allow file; a missing file allows nothing."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return parse_allowlist(fh.read())
    except FileNotFoundError:
        return frozenset()


def filter_allowed(findings: Iterable[Finding], allow: frozenset[str]) -> list[Finding]:
    return [f for f in findings if f.fingerprint not in allow]


def allow_line(finding: Finding) -> str:
    """The line to append to the allow file for a finding (the CLI's `--write-allow`)."""
    return f"{finding.fingerprint}  {finding.rule_id}  {finding.path}"
