"""Scanner result types and the two derived strings that leave the scanner.

A finding never holds the secret itself: only a redacted preview for humans and a
fingerprint for the allow file.  The fingerprint hashes the secret again (sha256 of the
sha256) together with the rule and the path, and deliberately leaves out the line
number, so an allow entry survives edits above the secret and merges that move it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One plaintext secret: 1-based position, rule, redacted message, stable fingerprint."""

    path: str
    line: int
    col: int
    rule_id: str
    message: str
    fingerprint: str


@dataclass(frozen=True)
class Skipped:
    """A file the scanner did not read, and why (never silently: the hook reports it)."""

    path: str
    reason: str


def normalize_path(path: str) -> str:
    """The path as it goes into fingerprints: forward slashes, no leading './'.

    The same file checked from Windows, or as `./x` versus `x`, keeps its fingerprint.
    """
    norm = path.replace("\\", "/")
    while norm.startswith("./"):
        norm = norm[2:]
    return norm


def fingerprint(rule_id: str, path: str, secret: str) -> str:
    return fingerprints(rule_id, path)(secret)


def fingerprints(rule_id: str, path: str) -> Callable[[str], str]:
    """`fingerprint` for one rule and file, its prefix encoded once: a hostile
    file can give a quarter of a million findings, each fingerprinted."""
    prefix = f"{rule_id}\0{normalize_path(path)}\0".encode("utf-8", "surrogatepass")
    sha256 = hashlib.sha256

    def of(secret: str) -> str:
        inner = sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
        return sha256(prefix + inner.encode("ascii")).hexdigest()

    return of


def redact(secret: str) -> str:
    """First 4 characters (usually the public prefix such as `ghp_`), an ellipsis, the length.

    Short values show no characters at all: four characters of an 8-character password
    would give away half of it.
    """
    shown = secret[:4] if len(secret) >= 16 else ""
    return f"{shown}…({len(secret)} chars)"
