"""The header block: data key envelope, key commitment and file MAC (FORMAT.md §5).

The header is generated text with one canonical form: parsing then rendering
must give back the same characters, so the only freedom left in it is what the
MAC and the key commitment authenticate.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from ruamel.yaml.events import (
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from sealedcfg.base.encoding import b64d, b64e, lp, lp_all
from sealedcfg.errors import InputError
from sealedcfg.format import crypto
from sealedcfg.yamltext.yamlparse import events

_U32 = struct.Struct(">I").pack

_SEALED_MARK = re.compile(rb"sealedcfg:\r?\n  version:")  # at a line's start (is_sealed)


def is_sealed(data: bytes) -> bool:
    """Whether bytes hold a sealedcfg header (its first field); no parse, no key.

    The one test of "is this a sealed file" for the hook, git setup and
    textconv; reading the header (`parse`) decides whether it is a valid one.
    """
    # `find` for line starts, not a multi-line regex (~30 ms per megabyte).
    if _SEALED_MARK.match(data) is not None:
        return True
    at = data.find(b"\nsealedcfg:")
    while at >= 0:
        if _SEALED_MARK.match(data, at + 1) is not None:
            return True
        at = data.find(b"\nsealedcfg:", at + 1)
    return False


class Stanza(Protocol):
    """One recipient's stanza as the header encodes it (FORMAT.md §5.1, §5.4).

    Each recipient kind is a class in `sealedcfg.recipients` (one module per kind,
    registered in one table); this module only renders and frames stanzas.
    """

    @property
    def kind(self) -> str: ...

    @property
    def label(self) -> str | None: ...

    @property
    def wrapped(self) -> bytes: ...

    def fields(self) -> list[tuple[str, str]]:
        """The kind's own `name: value` lines, between `type`/`label` and `wrapped`."""
        ...

    def canonical(self, *, with_wrapped: bool = True) -> bytes: ...


class StanzaCodec(Protocol):
    """What parsing needs from the recipient table: the budget, then each stanza."""

    def check_budget(self, stanzas: list[Any], name: str) -> None: ...

    def decode(self, stanza: dict[str, Any], name: str) -> Stanza: ...


@dataclass(frozen=True, slots=True)
class Header:
    file_id: bytes
    recipients: tuple[Stanza, ...]
    commit: bytes
    plain: str | None = None  # the plaintext-path rule, a regex over dotted paths
    join: str = ""  # text inserted between the body and this header
    mac: bytes = b""
    version: int = crypto.FORMAT_VERSION
    # Where the file lives: its path from the repository root (FORMAT.md §5.6).
    # Authenticated, so a profile copied over another one does not open there.
    bind: str = ""

    def canonical(self) -> bytes:
        """Everything but the MAC, injectively encoded."""
        return lp_all(
            [
                b"sealedcfg header",
                str(self.version).encode(),
                self.file_id,
                self.bind.encode(),
                b"1" + self.plain.encode() if self.plain is not None else b"0",
                self.join.encode(),
                lp_all(r.canonical() for r in self.recipients),
                self.commit,
            ]
        )


# ---------------------------------------------------------------- MAC


def compute_mac(data_key: bytes, header: Header, records: Iterable[bytes]) -> bytes:
    """HMAC over the header and the sorted node records: order-independent.

    HMAC(mac key, lp(canonical header) || lp_all(sorted records)), fed in
    slices so that the records are never copied into one string.
    """
    ordered = sorted(records)
    mac = hmac.new(crypto.mac_key(data_key, header.file_id), digestmod=hashlib.sha256)
    mac.update(lp(header.canonical()) + _U32(len(ordered)))
    for i in range(0, len(ordered), 4096):
        mac.update(b"".join([_U32(len(r)) + r for r in ordered[i : i + 4096]]))
    return mac.digest()


def compute_mac_ordered(
    data_key: bytes, header: Header, count: int, ordered: Iterable[bytes]
) -> bytes:
    """`compute_mac` over `count` records given already sorted, as a stream:
    for a caller that holds them in a more compact form than one bytes each."""
    mac = hmac.new(crypto.mac_key(data_key, header.file_id), digestmod=hashlib.sha256)
    mac.update(lp(header.canonical()) + _U32(count))
    batch: list[bytes] = []
    seen = 0
    for record in ordered:
        batch.append(_U32(len(record)) + record)
        if len(batch) == 4096:
            mac.update(b"".join(batch))
            seen += len(batch)
            batch.clear()
    mac.update(b"".join(batch))
    if seen + len(batch) != count:
        raise ValueError("record count mismatch")
    return mac.digest()


def check_commitment(data_key: bytes, header: Header) -> None:
    if not crypto.equal(crypto.key_commitment(data_key, header.file_id), header.commit):
        raise crypto.AuthError


def check_mac(data_key: bytes, header: Header, records: Iterable[bytes]) -> None:
    if not crypto.equal(compute_mac(data_key, header, records), header.mac):
        raise crypto.AuthError


# ---------------------------------------------------------------- text form


def render(header: Header, newline: str = "\n") -> str:
    lines = [
        "sealedcfg:",
        f"  version: {header.version}",
        f"  file_id: {b64e(header.file_id)}",
        f"  bind: {quoted(header.bind)}",
        f"  plain: {quoted(header.plain)}",
        f"  join: {quoted(header.join)}",
        "  recipients:",
    ]
    for r in header.recipients:
        lines.append(f"  - type: {r.kind}")
        if r.label is not None:
            lines.append(f"    label: {quoted(r.label)}")
        lines += [f"    {field}: {value}" for field, value in r.fields()]
        lines.append(f"    wrapped: {b64e(r.wrapped)}")
    lines += [f"  commit: {b64e(header.commit)}", f"  mac: {b64e(header.mac)}"]
    return newline.join(lines) + newline


_SURROGATE_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})")


def quoted(value: str | None) -> str:
    """A YAML double-quoted ASCII string: JSON's escapes, and `\\UXXXXXXXX` for a
    character outside the BMP (YAML reads JSON's surrogate pair as two characters)."""
    if value is None:
        return "null"

    def pair(m: re.Match[str]) -> str:
        high, low = int(m.group(1), 16), int(m.group(2), 16)
        return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08x}"

    return _SURROGATE_PAIR.sub(pair, json.dumps(value, ensure_ascii=True))


def header_start(text: str) -> int | None:
    """Where the last line that starts with `sealedcfg:` starts (the header), if any.

    `rfind`, not a multi-line regex (which costs ~30 ms per megabyte).
    """
    at = text.rfind("\nsealedcfg:")
    if at >= 0:
        return at + 1
    return 0 if text.startswith("sealedcfg:") else None


def split(text: str) -> tuple[str, str | None]:
    """(body, header text) where the header is the last `sealedcfg:` block."""
    start = header_start(text)
    if start is None:
        return text, None
    return text[:start], text[start:]


def _tree(text: str, name: str, first_line: int = 1) -> Any:
    """Plain Python tree from YAML events; scalars stay strings (no resolution)."""
    stack: list[Any] = []
    keys: list[Any] = []
    root: Any = None
    for ev in events(text, name, line_offset=first_line - 1):
        cls = type(ev)
        if cls in (ScalarEvent, MappingStartEvent, SequenceStartEvent):
            if cls is ScalarEvent:
                node: Any = ev.value if ev.style != "" or ev.value not in ("null", "~") else None
                if ev.style in ("'", '"'):
                    node = ("quoted", ev.value)
            else:
                node = {} if cls is MappingStartEvent else []
            if not stack:
                root = node
            elif isinstance(stack[-1], dict):
                if keys[-1] is None:
                    keys[-1] = node
                    continue
                stack[-1][keys[-1]] = node
                keys[-1] = None
            else:
                stack[-1].append(node)
            if cls is not ScalarEvent:
                stack.append(node)
                keys.append(None)
        elif cls in (MappingEndEvent, SequenceEndEvent):
            stack.pop()
            keys.pop()
    return root


def parse(text: str, name: str, codec: StanzaCodec, first_line: int = 1) -> Header:
    """Parse and validate a header block; InputError unless canonical.

    `first_line` is the header's line in the file: errors name lines as on disk.

    CODEC (the recipient table) checks the header budget on the raw stanzas
    before any is decoded, then decodes each by its `type`."""
    bad = InputError(
        f"{name}: malformed sealedcfg header",
        hints=("the header is written by sealedcfg; restore it from version control",),
    )
    newline = "\r\n" if "\r\n" in text else "\n"
    try:
        tree = _tree(text, name, first_line)
        top = tree["sealedcfg"]
        version = int(top["version"])
        if version != crypto.FORMAT_VERSION:
            raise InputError(
                f"{name}: unsupported sealedcfg format version {version}",
                hints=("upgrade sealedcfg to open this file",),
            )
        plain = top["plain"]
        join = top["join"]
        stanzas = top["recipients"]
        if not isinstance(stanzas, list) or not all(isinstance(r, dict) for r in stanzas):
            raise bad
        codec.check_budget(stanzas, name)
        header = Header(
            file_id=b64d(top["file_id"]),
            recipients=tuple(codec.decode(r, name) for r in stanzas),
            commit=b64d(top["commit"]),
            plain=plain[1] if isinstance(plain, tuple) else None,
            bind=bind[1] if isinstance(bind := top["bind"], tuple) else "\x00",
            join=join[1] if isinstance(join, tuple) else "\x00",
            mac=b64d(top["mac"]),
            version=version,
        )
    except InputError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        raise bad from None
    sizes_ok = (
        len(header.file_id) == 16
        and len(header.commit) == 32
        and len(header.mac) == 32
        and header.recipients
    )
    if not sizes_ok or render(header, newline) != text:
        raise bad
    return header
