"""`sealedcfg status`: every sealed value's provider, age and expiry, without a key.

Reads only the token's metadata field: no key, no base64, no decryption, so
scheduled CI jobs can warn before keys lapse without holding any secret.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from sealedcfg.base.fileio import read_bytes
from sealedcfg.engine import sealing
from sealedcfg.errors import InputError
from sealedcfg.format import token as tokens
from sealedcfg.lifecycle import meta as m
from sealedcfg.lifecycle.store import is_history
from sealedcfg.yamltext import document

EXPIRED, EXPIRING, OK, NO_EXPIRY = "expired", "expiring", "ok", "no expiry"
_RANK = {EXPIRED: 0, EXPIRING: 1, OK: 2, NO_EXPIRY: 3}
DEFAULT_WARN = timedelta(days=30)


@dataclass(frozen=True)
class Row:
    file: str
    path: str
    provider: str | None
    age_days: int | None  # since `rotated`, else `created`
    expires: str | None
    days_left: int | None
    state: str
    line: int


def _day(meta: dict[str, str], name: str) -> date | None:
    text = meta.get(name)
    return None if text is None else _parse_day(text)


@lru_cache(maxsize=4096)  # a few hundred distinct days across thousands of values
def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:  # authenticated only with a key; here it is just unreadable
        return None


def rows_of(file: str | os.PathLike[str], now: date, warn: timedelta) -> list[Row]:
    name = str(file)
    profile = sealing.read_profile(read_bytes(file), name)
    if profile.header is None:
        raise InputError(f"{name}: not a sealed file (no sealedcfg header)")
    docs = profile.body.documents
    out = []
    prefix = tokens.PREFIX
    for node in profile.body.nodes:
        if node.kind != "scalar" or node.style or not node.value.startswith(prefix):
            continue
        if is_history(node.path):
            continue
        fields = node.value.split(";")
        meta: dict[str, str] = {}
        if len(fields) == 5 and fields[3]:
            meta = dict(item.partition("=")[::2] for item in fields[3].split("+"))
        since = _day(meta, m.ROTATED) or _day(meta, m.CREATED)
        expires = _day(meta, m.EXPIRES)
        left = (expires - now).days if expires else None
        if left is None:
            state = NO_EXPIRY
        elif left < 0:
            state = EXPIRED
        elif left <= warn.days:
            state = EXPIRING
        else:
            state = OK
        out.append(
            Row(
                name,
                document.format_path(node.path, docs),
                meta.get(m.PROVIDER),
                (now - since).days if since else None,
                expires.isoformat() if expires else None,
                left,
                state,
                node.line,
            )
        )
    return out


def status(
    files: list[str | os.PathLike[str]], *, now: date | None = None, warn: timedelta = DEFAULT_WARN
) -> list[Row]:
    """Every sealed value of `files`, most urgent first."""
    now = now or m.today()
    rows = [r for f in files for r in rows_of(f, now, warn)]
    big = 1 << 30
    rows.sort(
        key=lambda r: (
            _RANK[r.state],
            r.days_left if r.days_left is not None else big,
            r.file,
            r.line,
        )
    )
    return rows


def parse_fail_on(text: str) -> tuple[str, timedelta | None]:
    """`expired`, `expiring` (the warning window) or `expiring:14d`."""
    kind, _, window = text.partition(":")
    if kind == EXPIRED and not window:
        return EXPIRED, None
    if kind == EXPIRING:
        return EXPIRING, m.parse_duration(window, "--fail-on window") if window else None
    raise InputError(f"bad --fail-on {text!r}: expected expired, expiring or expiring:14d")


def failing(rows: list[Row], fail_on: tuple[str, timedelta | None], warn: timedelta) -> list[Row]:
    kind, window = fail_on
    if kind == EXPIRED:
        return [r for r in rows if r.state == EXPIRED]
    limit = (window or warn).days
    return [r for r in rows if r.days_left is not None and r.days_left <= limit]


def summary(rows: list[Row], warn: timedelta) -> str:
    counts = {s: sum(1 for r in rows if r.state == s) for s in _RANK}
    files = len({r.file for r in rows})
    return (
        f"{len(rows)} sealed value(s) in {files} file(s): {counts[EXPIRED]} expired, "
        f"{counts[EXPIRING]} expiring within {warn.days} days, {counts[OK]} ok, "
        f"{counts[NO_EXPIRY]} without expiry"
    )
