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


# Findings of the sealed-profile checks (sealedcfg.ops.check), and how to clear them.
_PROFILE_FIXES = {
    "unsealed-value": "seal it: sealedcfg encrypt {path}",
    "unsealed-profile": "seal the file: sealedcfg encrypt {path}",
    "malformed-token": "restore the value from git, or set it again: sealedcfg set {path} KEY",
    "invalid-sealed-file": "restore the file from git (git checkout -- {path})",
}


def fix_hint(finding: Finding) -> str:
    """One line saying how to clear a finding: seal it, move it, or accept it exactly."""
    if finding.rule_id in _PROFILE_FIXES:
        return _PROFILE_FIXES[finding.rule_id].format(path=finding.path)
    return (
        "move the value into a sealed profile (sealedcfg set PROFILE KEY --stdin) and read it "
        "from there (sealedcfg exec); revoke it if it was ever pushed. Not a secret? append "
        f"`# sealedcfg: allow` to the line, or add to {ALLOW_FILE}: {allow_line(finding)}"
    )


def allow_line(finding: Finding) -> str:
    """The line to append to the allow file for a finding (the CLI's `--write-allow`)."""
    return f"{finding.fingerprint}  {finding.rule_id}  {finding.path}"
