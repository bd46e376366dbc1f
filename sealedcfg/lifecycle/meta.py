"""Lifecycle metadata items (FORMAT.md §4.1, §9.1): names, dates, durations.

Metadata is authenticated with its value but readable without a key, so it
holds facts, not secrets: `provider`, `created`, `expires`, `rotated`, `note`,
and `superseded` on history entries.  Dates are ISO days (2027-03-01);
durations (`90d`, `12w`, `6m`, `1y`) are resolved to a date when set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date, timedelta

from sealedcfg.errors import InputError
from sealedcfg.format import token as tokens

Meta = tuple[tuple[str, str], ...]

PROVIDER, CREATED, EXPIRES, ROTATED, NOTE = "provider", "created", "expires", "rotated", "note"
SUPERSEDED = "superseded"  # only on history entries (§9.2); never set by a user
DATES = frozenset({CREATED, EXPIRES, ROTATED, SUPERSEDED})
RESERVED = frozenset({SUPERSEDED})
TODAY_ENV = "SEALEDCFG_TODAY"

_DURATION = re.compile(r"([1-9][0-9]{0,4})([dwmy])")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_VALUE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_VALUE_HINT = "metadata values are 1-64 of: letters, digits, _ . - (no spaces)"


def today() -> date:
    """The current day (UTC), or SEALEDCFG_TODAY: the clock tests and reports inject."""
    fixed = os.environ.get(TODAY_ENV)
    if fixed:
        return parse_date(fixed, TODAY_ENV)
    from datetime import UTC, datetime

    return datetime.now(UTC).date()


def parse_date(text: str, what: str = "date") -> date:
    if not _DATE.fullmatch(text):
        raise InputError(f"bad {what} {text!r}: expected a day like 2027-03-01")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"bad {what} {text!r}: no such day") from None


def parse_duration(text: str, what: str = "duration") -> timedelta:
    """`14d`, `12w`, `6m` (30 days each), `1y` (365 days)."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise InputError(f"bad {what} {text!r}: expected a number and d, w, m or y, e.g. 90d")
    count, unit = int(match.group(1)), match.group(2)
    return timedelta(days=count * {"d": 1, "w": 7, "m": 30, "y": 365}[unit])


def resolve_expiry(text: str, now: date) -> date:
    """`--expires 90d` or `--expires 2027-03-01`: a day strictly after `now`."""
    when = now + parse_duration(text, "expiry") if _DURATION.fullmatch(text) else None
    if when is None:
        when = parse_date(text, "expiry date")
    if when <= now:
        raise InputError(
            f"expiry {when.isoformat()} is not in the future (today is {now.isoformat()})"
        )
    return when


def check_value(name: str, value: str) -> str:
    if not _NAME.fullmatch(name):
        raise InputError(
            f"bad metadata name {name!r}", hints=("names are [a-z][a-z0-9_]*, up to 32 characters",)
        )
    if not _VALUE.fullmatch(value):
        raise InputError(f"bad value for metadata {name!r}", hints=(_VALUE_HINT,))
    if name in DATES:
        parse_date(value, name)
    return value


def normalise(items: Mapping[str, str]) -> Meta:
    """Sorted, checked items (FORMAT.md §4.1: names strictly increasing)."""
    meta = tuple(sorted((k, check_value(k, v)) for k, v in items.items()))
    try:
        tokens.check_meta(meta)
    except tokens.TokenError as exc:
        raise InputError(f"bad metadata: {exc}") from None
    return meta


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """`name=value` options; an empty value means: remove the item."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise InputError(f"bad metadata {pair!r}: expected name=value")
        if name in RESERVED:
            raise InputError(f"metadata {name!r} is reserved for kept history")
        if value:
            check_value(name, value)
        out[name] = value
    return out


def apply_changes(old: Mapping[str, str], changes: Mapping[str, str]) -> dict[str, str]:
    merged = dict(old)
    for name, value in changes.items():
        if value:
            merged[name] = value
        else:
            merged.pop(name, None)
    return merged


def changes_from_options(
    provider: str | None, expires: str | None, note: str | None, items: list[str] | None
) -> dict[str, str]:
    """The metadata options of `set` and `meta` as item changes (dates resolved today)."""
    changes = parse_assignments(items or [])
    if provider is not None:
        changes[PROVIDER] = check_value(PROVIDER, provider)
    if note is not None:
        changes[NOTE] = check_value(NOTE, note)
    if expires is not None:
        changes[EXPIRES] = resolve_expiry(expires, today()).isoformat()
    return changes
