"""Key-less secret scanner for the `sealedcfg check` hook (files that are not sealed profiles).

Public surface: `scan_text`, `scan_bytes`, `scan_file` return `Finding`s (or `Skipped`);
`load_allowlist` + `filter_allowed` apply the `.sealedcfg-allow` file.  Inline
`sealedcfg: allow` / `sealedcfg: allow-next-line` comments are applied by the scan itself.
No finding, message or repr ever contains a secret: only a redacted preview.
"""

from __future__ import annotations

from .allowlist import (
    ALLOW_FILE,
    allow_line,
    filter_allowed,
    fix_hint,
    load_allowlist,
    parse_allowlist,
)
from .engine import RULE_IDS, scan_text
from .files import notes, scan_bytes, scan_file
from .model import Finding, Skipped

__all__ = [
    "ALLOW_FILE",
    "RULE_IDS",
    "Finding",
    "Skipped",
    "allow_line",
    "filter_allowed",
    "fix_hint",
    "load_allowlist",
    "notes",
    "parse_allowlist",
    "scan_bytes",
    "scan_file",
    "scan_text",
]
