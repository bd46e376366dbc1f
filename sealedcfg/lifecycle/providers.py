"""Providers: what mints a new secret for `rotate-secret`, and may revoke the old one.

Three sources, listed by `sealedcfg providers`:

- built-ins: `random` (options length, alphabet, prefix) and `manual` (asks);
- Python plug-ins: objects registered under the entry-point group
  `sealedcfg.providers` (installed packages: the user's own environment);
- `command` providers declared in `.sealedcfg.yaml` (lifecycle/commands.py),
  which run only once the user approved them.

A plug-in implements `Provider`: a class (or any callable returning one)
named by the entry point, called without arguments.
"""

from __future__ import annotations

import secrets
import string
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from sealedcfg.errors import InputError
from sealedcfg.lifecycle import commands

GROUP = "sealedcfg.providers"
MAX_SECRET = 4096


@dataclass(frozen=True)
class Request:
    """What a provider is told: never a key, and the old value only if it asks."""

    file: str
    path: str
    meta: Mapping[str, str]
    options: Mapping[str, str] = field(default_factory=dict)  # rotate-secret --option k=v
    old_value: str | None = field(default=None, repr=False)  # only when wants_old_value


@runtime_checkable
class Provider(Protocol):
    """The plug-in interface.

    `mint` returns the new secret (one line, not empty).  `revoke` is called
    only after the new value is safely written, with the old value in
    `request.old_value`; a provider that cannot revoke sets `can_revoke` False.
    """

    name: str
    wants_old_value: bool
    can_revoke: bool
    lifetime: str | None  # e.g. "90d": the `expires` of a minted secret, or None

    def mint(self, request: Request) -> str: ...

    def revoke(self, request: Request) -> None: ...


@dataclass(frozen=True)
class Available:
    name: str
    source: str  # "built-in" | "plug-in <dist> (<module:attr>)" | "command in <rules file>"
    can_revoke: bool


# ---------------------------------------------------------------- built-ins

_ALPHABETS = {
    "alnum": string.ascii_letters + string.digits,
    "hex": "0123456789abcdef",
    "base64url": string.ascii_letters + string.digits + "-_",
}


class RandomProvider:
    """A random string from the OS CSPRNG: `length` (16-1024, default 40),
    `alphabet` (alnum, hex, base64url), `prefix` (e.g. sk_)."""

    name = "random"
    wants_old_value = False
    can_revoke = False
    lifetime = None

    def mint(self, request: Request) -> str:
        opts = dict(request.options)
        unknown = set(opts) - {"length", "alphabet", "prefix"}
        if unknown:
            raise InputError(f"provider 'random': unknown option {sorted(unknown)[0]!r}")
        try:
            length = int(opts.get("length", "40"))
        except ValueError:
            raise InputError("provider 'random': length must be a number") from None
        if not 16 <= length <= 1024:
            raise InputError("provider 'random': length must be 16 to 1024")
        alphabet = _ALPHABETS.get(opts.get("alphabet", "alnum"))
        if alphabet is None:
            raise InputError(f"provider 'random': alphabet is one of {', '.join(_ALPHABETS)}")
        prefix = opts.get("prefix", "")
        if not all(c in _ALPHABETS["base64url"] + "." for c in prefix) or len(prefix) > 32:
            raise InputError("provider 'random': prefix is up to 32 of A-Z a-z 0-9 - _ .")
        return prefix + "".join(secrets.choice(alphabet) for _ in range(length))

    def revoke(self, request: Request) -> None:  # nothing was issued anywhere
        return None


class ManualProvider:
    """Asks for the new value: twice, hidden, on a terminal; else one line of stdin."""

    name = "manual"
    wants_old_value = False
    can_revoke = False
    lifetime = None

    def mint(self, request: Request) -> str:
        if request.options:
            raise InputError("provider 'manual' takes no options")
        if not sys.stdin.isatty():
            return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
        import getpass

        first = getpass.getpass(f"new value for {request.path}: ", stream=sys.stderr)
        if getpass.getpass("again: ", stream=sys.stderr) != first:
            raise InputError("the two values differ")
        return first

    def revoke(self, request: Request) -> None:
        return None


# ---------------------------------------------------------------- command providers


def _env(request: Request, provider: str) -> dict[str, str]:
    env = {
        "SEALEDCFG_FILE": request.file,
        "SEALEDCFG_PATH": request.path,
        "SEALEDCFG_PROVIDER": provider,
    }
    for k, v in request.meta.items():
        env[f"SEALEDCFG_META_{k.upper()}"] = v
    return env


class CommandProvider:
    """A provider declared in the rules file: runs its approved mint/revoke commands."""

    wants_old_value = False
    can_revoke = False

    def __init__(self, mint: commands.Command, revoke: commands.Command | None) -> None:
        self.name = mint.name
        self._mint = mint
        self._revoke = revoke
        self.wants_old_value = mint.stdin_value
        self.can_revoke = revoke is not None
        self.lifetime = mint.extra.get("expires")

    def commands(self) -> list[commands.Command]:
        return [self._mint, *([self._revoke] if self._revoke else [])]

    def mint(self, request: Request) -> str:
        stdin = request.old_value if self._mint.stdin_value else None
        return commands.run(self._mint, _env(request, self.name), stdin)

    def revoke(self, request: Request) -> None:
        if self._revoke is not None:
            stdin = request.old_value if self._revoke.stdin_value else None
            commands.run(self._revoke, _env(request, self.name), stdin)


# ---------------------------------------------------------------- registry

_BUILTINS: dict[str, type] = {"random": RandomProvider, "manual": ManualProvider}


def _plugins() -> dict[str, tuple[object, str]]:
    from importlib.metadata import entry_points

    found: dict[str, tuple[object, str]] = {}
    for ep in entry_points(group=GROUP):
        dist = ep.dist.name if ep.dist is not None else "?"
        found.setdefault(ep.name, (ep, f"plug-in {dist} ({ep.value})"))
    return found


def available(rules_file: Path | None) -> list[Available]:
    out = [Available(n, "built-in", False) for n in _BUILTINS]
    for name, (_, source) in sorted(_plugins().items()):
        if name not in _BUILTINS:
            out.append(Available(name, source, True))
    declared = commands.load(rules_file)
    if declared is not None:
        for name, (_, revoke) in sorted(declared.providers.items()):
            out.append(Available(name, f"command in {declared.rules_file}", revoke is not None))
    return out


def get(name: str, rules_file: Path | None) -> Provider:
    """The provider called `name`; built-ins, then plug-ins, then the rules file's."""
    declared = commands.load(rules_file)
    taken = set(_BUILTINS) | set(_plugins())
    if declared is not None:
        for clash in taken & set(declared.providers):
            raise InputError(
                f"{declared.rules_file}: provider {clash!r} is already a built-in or a plug-in; "
                "rename it"
            )
    if name in _BUILTINS:
        return _BUILTINS[name]()  # type: ignore[no-any-return]
    plugins = _plugins()
    if name in plugins:
        ep, source = plugins[name]
        try:
            factory = ep.load()  # type: ignore[attr-defined]
            provider = factory()
        except Exception as exc:  # a broken plug-in: name it, without its message
            raise InputError(
                f"provider {name!r} ({source}) failed to load: {type(exc).__name__}"
            ) from None
        if not isinstance(provider, Provider):
            raise InputError(f"provider {name!r} ({source}) does not implement the interface")
        return provider
    if declared is not None and name in declared.providers:
        return CommandProvider(*declared.providers[name])
    known = ", ".join(a.name for a in available(rules_file))
    raise InputError(f"unknown provider {name!r}", hints=(f"available: {known}",))


def check_secret(value: str, name: str) -> str:
    """One non-empty line, printable, bounded: what a minted secret must be."""
    text = value.removesuffix("\n").removesuffix("\r")
    if not text.strip():
        raise commands.CommandFailed(f"provider {name!r} gave no value; nothing was changed")
    if "\n" in text or "\r" in text:
        raise commands.CommandFailed(
            f"provider {name!r} gave several lines; expected one; nothing was changed"
        )
    if len(text) > MAX_SECRET or not text.isprintable():
        raise commands.CommandFailed(
            f"provider {name!r} gave a value that is too long or not printable; nothing was changed"
        )
    return text


def available_here() -> list[Available]:
    """The providers usable from the current directory (its nearest rules file)."""
    from sealedcfg.engine import rules

    return available(rules.find_rules_file())
