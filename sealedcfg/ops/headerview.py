"""Header facts as readable lines for reviewers, and the events between two headers.

Who can open a file and what stays plaintext are decided by its header; a
reviewer of `git diff` or `sealedcfg log` must see changes to them as plainly
as a changed key.  Everything here is public header data (key ids, Argon2id
parameters, the plaintext rule), never a secret, and needs no key.

Strings from the file (the plaintext rule, `bind`) are shown JSON-quoted with
non-ASCII escaped, so a crafted rule cannot forge extra lines or hide behind
control or bidirectional characters.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from sealedcfg.base.encoding import b64e
from sealedcfg.format.envelope import Header, Stanza
from sealedcfg.recipients.base import Recipient

TRAILER_TITLE = "sealedcfg header (shown for review; not part of the file)"


def _quoted(value: str | None) -> str:
    return "none" if value is None else json.dumps(value, ensure_ascii=True)


def _bind(header: Header) -> str | None:
    # `bind` (the repository path a file is sealed for) is newer than this module.
    value = getattr(header, "bind", None)
    return value if isinstance(value, str) else None


def recipient(r: Stanza) -> str:
    """A recipient's identity: kind, key id or public key or Argon2id parameters, and
    its label (recipients.base.Recipient.describe).

    The passphrase salt is left out: every re-wrap draws a new one, so it would
    show each rotation as a passphrase removed and another added.
    """
    return r.describe() if isinstance(r, Recipient) else r.kind


def facts(header: Header) -> list[str]:
    """`name: value` lines: format version, each recipient, the plaintext rule, bind, file id."""
    lines = [f"version: {header.version}"]
    lines += [f"recipient: {recipient(r)}" for r in header.recipients]
    lines.append(f"plain: {_quoted(header.plain)}")
    bind = _bind(header)
    if bind is not None:
        lines.append(f"bind: {_quoted(bind)}")
    lines.append(f"file id: {b64e(header.file_id)}")  # a new one means a new data key
    return lines


def trailer(header: Header, newline: str = "\n") -> str:
    """The facts as YAML comment lines, appended to the textconv view."""
    lines = [TRAILER_TITLE, *facts(header)]
    return "".join(f"# {line}{newline}" for line in lines)


@dataclass(frozen=True)
class Event:
    event: str
    detail: str = ""

    def line(self) -> str:
        return f"{self.event}: {self.detail}" if self.detail else self.event

    def as_dict(self) -> dict[str, str]:
        return {"event": self.event, "detail": self.detail}


def rotated(old: Header | None, new: Header | None) -> bool:
    """A new data key: the key commitment (over data key and file id) changed."""
    return old is not None and new is not None and old.commit != new.commit


def _rewrapped(old: Header, new: Header) -> bool:
    """A recipient in both versions whose wrapped data key changed (e.g. a new passphrase)."""
    kept = {recipient(r) for r in new.recipients}
    wrapped = {r.wrapped for r in new.recipients}
    return any(recipient(r) in kept and r.wrapped not in wrapped for r in old.recipients)


def events(old: Header | None, new: Header | None) -> list[Event]:
    """What changed in the header from OLD to NEW (None: the version had no header)."""
    if old is None and new is None:
        return []
    if new is None:
        return [Event("header removed", "the file is no longer sealed")]
    out: list[Event] = []
    if old is None:
        out.append(Event("sealed", f"format version {new.version}"))
    elif old.version != new.version:
        out.append(Event("format version changed", f"{old.version} -> {new.version}"))
    before = Counter(recipient(r) for r in old.recipients) if old else Counter()
    after = Counter(recipient(r) for r in new.recipients)
    out += [Event("recipient added", r) for r in sorted((after - before).elements())]
    out += [Event("recipient removed", r) for r in sorted((before - after).elements())]
    if old is None:
        if new.plain is not None:
            out.append(Event("plain rule", _quoted(new.plain)))
        if _bind(new) is not None:
            out.append(Event("bind", _quoted(_bind(new))))
        return out
    if old.plain != new.plain:
        out.append(Event("plain rule changed", f"{_quoted(old.plain)} -> {_quoted(new.plain)}"))
    if _bind(old) != _bind(new):
        out.append(Event("bind changed", f"{_quoted(_bind(old))} -> {_quoted(_bind(new))}"))
    if rotated(old, new):
        out.append(Event("data key rotated", "every sealed value re-sealed"))
    elif _rewrapped(old, new):
        out.append(Event("recipients re-wrapped", "same data key"))
    return out
