"""The one table of recipient kinds, and what is done over all of them.

Parsing a header (the budget, then each stanza by its `type`), opening a data
key (each kind in its order), describing recipients: every step that depends
on a kind asks the kind's class, found here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sealedcfg.base import limits
from sealedcfg.errors import InputError
from sealedcfg.format import envelope
from sealedcfg.format.envelope import Header
from sealedcfg.recipients.age import AgeRecipient
from sealedcfg.recipients.base import LABEL, Attempt, Keys, Recipient, Target, quoted_field
from sealedcfg.recipients.key import KeyRecipient
from sealedcfg.recipients.kms import KmsRecipient
from sealedcfg.recipients.passphrase import PassphraseRecipient

_ALL: tuple[type[Recipient], ...] = (KeyRecipient, AgeRecipient, KmsRecipient, PassphraseRecipient)
#: The table: every kind by its `type`, in the order opening tries them.
KINDS: dict[str, type[Recipient]] = {c.kind: c for c in sorted(_ALL, key=lambda c: c.order)}


def kind(name: str, origin: str) -> type[Recipient]:
    cls = KINDS.get(name)
    if cls is None:
        raise InputError(f"{origin}: unsupported recipient type {name!r}")
    return cls


# ---------------------------------------------------------------- the header budget


def check_budget(stanzas: Iterable[tuple[str, int]], name: str) -> None:
    """Bound what opening may cost, before any key is derived or called (FORMAT.md §5.3):
    the number of stanzas, of each kind with a limit, and the key-derivation work
    summed.  STANZAS are (kind, work); writers check the same bound before adding
    a recipient, so no file sealedcfg writes is refused."""
    stanzas = list(stanzas)
    if len(stanzas) > limits.MAX_RECIPIENTS:
        raise limits.exceeded(name, "the number of recipients", limits.MAX_RECIPIENTS)
    for cls in KINDS.values():
        count = sum(1 for k, _ in stanzas if k == cls.kind)
        if cls.max_stanzas is not None and count > cls.max_stanzas:
            raise limits.exceeded(name, f"the number of {cls.kind} recipients", cls.max_stanzas)
    if sum(work for _, work in stanzas) > limits.ARGON2_MAX_COST:
        raise limits.exceeded(
            name,
            "the argon2id cost (m*t summed over passphrase recipients)",
            limits.ARGON2_MAX_COST,
        )


def budget_of(recipients: Iterable[Recipient]) -> list[tuple[str, int]]:
    return [(r.kind, r.work()) for r in recipients]


class _Codec:
    """envelope.StanzaCodec over the table."""

    def check_budget(self, stanzas: list[Any], name: str) -> None:
        def cost(raw: Mapping[str, Any]) -> tuple[str, int]:
            cls = KINDS.get(str(raw.get("type")))
            return (str(raw.get("type")), cls.raw_work(raw) if cls else 0)

        check_budget((cost(r) for r in stanzas), name)

    def decode(self, stanza: dict[str, Any], name: str) -> Recipient:
        cls = kind(str(stanza["type"]), name)
        label = quoted_field(stanza, "label") if "label" in stanza else None
        if label is not None and not LABEL.fullmatch(label):
            raise ValueError("label")
        return cls.decode(stanza, label, name)


CODEC = _Codec()


def parse_header(text: str, name: str, first_line: int = 1) -> Header:
    """A header block parsed with every kind of this table (envelope.parse)."""
    return envelope.parse(text, name, CODEC, first_line)


# ---------------------------------------------------------------- over a header


def recipients(header: Header) -> list[Recipient]:
    out = []
    for r in header.recipients:
        assert isinstance(r, Recipient)
        out.append(r)
    return out


def by_kind(stanzas: Sequence[Recipient]) -> list[tuple[type[Recipient], list[Recipient]]]:
    """The stanzas grouped by kind, kinds in opening order, stanzas in header order."""
    return [
        (cls, group)
        for cls in KINDS.values()
        if (group := [r for r in stanzas if isinstance(r, cls)])
    ]


def open_any(header: Header, keys: Keys) -> Attempt:
    """Each kind in order, until one unwraps the data key (crypto.AuthError if a key
    that names a stanza fails).  The commitment is the caller's to check."""
    total = Attempt()
    stanzas = recipients(header)
    # Kinds that prove who wrote the file first: a file that also opens with a raw
    # key, KMS or a passphrase is never taken on an age identity's word alone.
    for cls in sorted(KINDS.values(), key=lambda c: not c.authenticates_writer):
        attempt = cls.open([r for r in stanzas if isinstance(r, cls)], keys, header.file_id)
        total.tried += attempt.tried
        total.offered = total.offered or attempt.offered
        if attempt.data_key is not None:
            total.data_key = attempt.data_key
            total.writer_unknown = not cls.authenticates_writer
            return total
    return total


def given_targets(keys: Keys) -> list[Target]:
    """Recipients for a file sealed without a creation rule: what the user gave."""
    out: list[Target] = []
    for cls in KINDS.values():
        out += cls.given(keys, out)
    return out


def hints(header: Header) -> tuple[str, ...]:
    return tuple(h for cls, group in by_kind(recipients(header)) for h in cls.hints(group))


def describe(header: Header) -> str:
    """The recipients a file accepts, for messages: public ids and parameters only."""
    return ", ".join(r.describe() for r in recipients(header))
