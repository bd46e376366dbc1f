"""`rotate-secret` and the `on_rotate` callbacks: mint, write, then revoke and notify.

The order is what keeps a failure harmless:
1. authenticate the file (and read the old value only if the provider asks);
2. check every command that will run is approved, before any runs;
3. mint: a failure, a timeout or bad output stops here, the file untouched;
4. write the new value, the old one kept as history (one atomic write);
5. only then revoke the old secret, then run the callbacks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

from sealedcfg.engine import rules
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError, SealedcfgError
from sealedcfg.lifecycle import commands, providers, store
from sealedcfg.lifecycle import meta as m
from sealedcfg.lifecycle.providers import Provider, Request

T = TypeVar("T")


@dataclass(frozen=True)
class Rotated:
    file: str
    path: str
    provider: str
    meta: dict[str, str]
    revoked: bool


def rules_file_for(file: str | os.PathLike[str]) -> Path | None:
    return rules.find_rules_file(os.path.dirname(os.path.abspath(file)))


def _new_expiry(old: Mapping[str, str], lifetime: str | None, now: date) -> str | None:
    """A minted secret's expiry: the provider's lifetime, else the old value's lifetime."""
    if lifetime:
        return (now + m.parse_duration(lifetime, "provider lifetime")).isoformat()
    try:
        expires = date.fromisoformat(old[m.EXPIRES])
        since = date.fromisoformat(old.get(m.ROTATED) or old[m.CREATED])
    except (KeyError, ValueError):
        return None
    span = expires - since
    return (now + span).isoformat() if span > timedelta(0) else None


def _callbacks(rules_file: Path | None) -> list[commands.Command]:
    declared = commands.load(rules_file)
    return list(declared.callbacks) if declared is not None else []


def _all_commands(provider: Provider, callbacks: list[commands.Command]) -> list[commands.Command]:
    own = provider.commands() if isinstance(provider, providers.CommandProvider) else []
    return [*own, *callbacks]


def run_callbacks(
    callbacks: list[commands.Command],
    event: str,
    file: str,
    path: str,
    meta: Mapping[str, str],
    value: str | None,
) -> None:
    """Run each callback (all of them, even after one fails); raise the first failure."""
    env = {"SEALEDCFG_EVENT": event, "SEALEDCFG_FILE": file, "SEALEDCFG_PATH": path}
    env.update({f"SEALEDCFG_META_{k.upper()}": v for k, v in meta.items()})
    first: commands.CommandFailed | None = None
    for cb in callbacks:
        try:
            commands.run(cb, env, value if cb.stdin_value else None)
        except commands.CommandFailed as exc:
            first = first or exc
    if first is not None:  # a new error: str() and .message both say what was written
        raise commands.CommandFailed(
            f"{first.message}; the {event} itself is written", hints=first.hints
        )


def _call(method: Callable[[Request], T], request: Request, what: str, name: str) -> T:
    """A provider call; a plug-in's exception is its failure, named without its message."""
    try:
        return method(request)
    except SealedcfgError:
        raise
    except Exception as exc:
        raise commands.CommandFailed(
            f"provider {name!r} failed to {what} ({type(exc).__name__})"
            + ("; nothing was changed" if what == "mint" else "")
        ) from None


def rotate_secret(
    file: str | os.PathLike[str],
    dotted: str,
    keys: KeySource,
    *,
    via: str | None = None,
    options: Mapping[str, str] | None = None,
    expires: str | None = None,
    keep: int = 1,
    now: date | None = None,
) -> Rotated:
    name = str(file)
    now = now or m.today()
    current = store.versions(file, dotted)[0].meta  # key-less: path and token exist
    provider_name = via or current.get(m.PROVIDER)
    if not provider_name:
        raise InputError(
            f"{name}: {dotted!r} names no provider",
            hints=("give --via PROVIDER, or record one: sealedcfg meta FILE PATH --provider NAME",),
        )
    rules_file = rules_file_for(file)
    provider = providers.get(provider_name, rules_file)
    callbacks = _callbacks(rules_file)
    commands.require_approved(_all_commands(provider, callbacks))
    old = store.current_value(file, dotted, keys, reveal=provider.wants_old_value)
    request = Request(name, dotted, current, dict(options or {}), old)
    new_value = providers.check_secret(
        _call(provider.mint, request, "mint", provider_name), provider_name
    )
    changes = {m.PROVIDER: provider_name}
    expiry = m.resolve_expiry(expires, now).isoformat() if expires else None
    expiry = expiry or _new_expiry(current, provider.lifetime, now)
    changes[m.EXPIRES] = expiry or ""
    outcome = store.rotate(file, dotted, new_value, keys, changes=changes, keep=keep, now=now)
    if provider.can_revoke:
        try:
            revoke = Request(name, dotted, current, dict(options or {}), outcome.old_value)
            _call(provider.revoke, revoke, "revoke", provider_name)
        except commands.CommandFailed as exc:
            raise commands.CommandFailed(
                f"{exc.message}; the new value is written and the old one kept in history",
                hints=exc.hints,
            ) from None
    run_callbacks(callbacks, "rotate-secret", name, dotted, outcome.meta, new_value)
    return Rotated(name, dotted, provider_name, outcome.meta, provider.can_revoke)


def rollback(file: str | os.PathLike[str], dotted: str, keys: KeySource) -> store.Outcome:
    """`store.rollback`, then the `on_rotate` callbacks (a restored value is a change too)."""
    callbacks = _callbacks(rules_file_for(file))
    commands.require_approved(callbacks)
    outcome = store.rollback(file, dotted, keys)
    if callbacks:
        value = None
        if any(cb.stdin_value for cb in callbacks):
            value = store.current_value(file, dotted, keys, reveal=True)
        run_callbacks(callbacks, "rollback", str(file), dotted, outcome.meta, value)
    return outcome


def expiring(
    files: list[str | os.PathLike[str]], within: timedelta, now: date | None = None
) -> list[tuple[str, str, str | None]]:
    """(file, path, provider) of every sealed value expired or expiring within `within`."""
    from sealedcfg.lifecycle import status

    rows = status.status(files, now=now, warn=within)
    limit = within.days
    return [
        (r.file, r.path, r.provider)
        for r in rows
        if r.days_left is not None and r.days_left <= limit
    ]


def parse_options(items: list[str] | None) -> dict[str, str]:
    """`-o NAME=VALUE` items for the provider."""
    opts = {}
    for item in items or []:
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise InputError(f"bad --option {item!r}: expected NAME=VALUE")
        opts[k] = v
    return opts


def targets(
    args: list[str], expiring_within: str | None, via: str | None
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(to rotate, skipped): FILE PATH, or every value of FILES... expiring within a duration.

    With --expiring, a value that names no provider (and no --via) is skipped.
    """
    if expiring_within is not None:
        from sealedcfg.lifecycle.meta import parse_duration

        found = expiring(list(args), parse_duration(expiring_within, "--expiring"))
        return (
            [(f, p) for f, p, provider in found if provider or via],
            [(f, p) for f, p, provider in found if not (provider or via)],
        )
    if len(args) == 2:
        return [(args[0], args[1])], []
    raise InputError(
        "give FILE PATH, or files with --expiring DURATION",
        hints=("sealedcfg rotate-secret config/prod.yaml stripe.api_key",),
    )
