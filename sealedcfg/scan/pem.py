"""Private key blocks: a finding needs key material after the header, not just the header.

A comment that names `-----BEGIN RSA PRIVATE KEY-----` (a Helm chart explaining what to
paste, a code constant for the marker) is not a key.  The body must be base64 lines,
as a file, an indented YAML block, or one string with `\\n` escapes.  OpenSSH keys are
not required to carry their `openssh-key-v1` magic: hand-made test keys and truncated
pastes are still reported (a missed key costs more than a fixture allow-listed once).
"""

from __future__ import annotations

import re

from . import values

BEGIN_RE = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----")
_B64_LINE_RE = re.compile(r"^[A-Za-z0-9+/=]+$")
_MIN_MATERIAL = 64
_WINDOW = 12
_MAX_READ = 8192  # lines read after the header: enough for 64 characters in any layout


def body(lines: list[str], idx: int, start: int) -> str | None:
    """The key material after a header at (idx, start); None when there is none."""
    # Bounded: a header repeated through a one-line file must not re-read the line each time.
    head = lines[idx][start : start + _MAX_READ]
    window = head + "\n" + "\n".join(ln[:_MAX_READ] for ln in lines[idx + 1 : idx + _WINDOW])
    window = window.replace("\\r", "").replace("\\n", "\n")
    material = ""
    for raw in window.split("-----", 1)[0].split("\n"):
        part = raw.strip().strip("\"',;|").strip()
        if not part or ":" in part:  # blank, or Proc-Type / DEK-Info / Version headers
            continue
        if not _B64_LINE_RE.match(part):
            break  # prose or code: the header was only named
        material += part
        if len(material) >= 256:
            break
    if len(material) < _MIN_MATERIAL or values.is_placeholder(material[:64]):
        return None
    return material


# PuTTY's key files (`.ppk`, PuTTY manual appendix C): a `PuTTY-User-Key-File-N:` header,
# then `Private-Lines: N` and N base64 lines of the private key (48 characters for ed25519).
PPK_HEADER = "PuTTY-User-Key-File-"
_PPK_PRIVATE_RE = re.compile(r"^\s*Private-Lines:\s*(\d{1,3})\s*$")
_PPK_WINDOW = 60


def ppk_body(lines: list[str], idx: int) -> str | None:
    """The private lines of a PuTTY key whose header is on line idx; None without them."""
    for j in range(idx + 1, min(len(lines), idx + _PPK_WINDOW)):
        m = _PPK_PRIVATE_RE.match(lines[j])
        if m is None:
            continue
        material = "".join(ln.strip() for ln in lines[j + 1 : j + 1 + int(m.group(1))])
        if len(material) >= 40 and _B64_LINE_RE.match(material):
            return None if values.is_placeholder(material[:64]) else material
        return None
    return None
