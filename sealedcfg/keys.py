"""Where keys come from: arguments, files, SEALEDCFG_* variables, a prompt.

Nothing here logs or echoes a secret; `Secret` keeps passphrases and keys out
of reprs and tracebacks.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sealedcfg.errors import InputError, NoKeyError
from sealedcfg.kdf import normalize_passphrase

ENV_KEY = "SEALEDCFG_KEY"
ENV_KEY_FILE = "SEALEDCFG_KEY_FILE"
ENV_PASSPHRASE = "SEALEDCFG_PASSPHRASE"  # noqa: S105 - a variable name
ENV_PASSPHRASE_FILE = "SEALEDCFG_PASSPHRASE_FILE"  # noqa: S105

NO_KEY_HINTS = (
    f"set {ENV_KEY} (base64 key) or {ENV_KEY_FILE}, or pass --key-file",
    f"or set {ENV_PASSPHRASE} / {ENV_PASSPHRASE_FILE}, or pass --passphrase-file",
)


class Secret:
    """Bytes that never show in a repr, str or traceback local."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = value

    def reveal(self) -> bytes:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__


def parse_key(text: str, origin: str) -> Secret:
    """A raw key: base64 (standard or URL alphabet, padding optional) of 32 bytes.

    Lines starting with '#' are comments, so key files can say what they are.
    """
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]
    compact = "".join(lines)
    if not re.fullmatch(r"[A-Za-z0-9+/_-]{43}=?", compact):
        raise InputError(f"{origin} is not a base64 256-bit key")
    try:
        raw = base64.b64decode(
            compact.replace("-", "+").replace("_", "/") + "=" * (-len(compact) % 4)
        )
    except binascii.Error:
        raise InputError(f"{origin} is not a base64 256-bit key") from None
    if len(raw) != 32:
        raise InputError(f"{origin} is not a base64 256-bit key")
    return Secret(raw)


def format_key(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _read_text(path: str | os.PathLike[str], what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} {os.fspath(path)!r} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"{what} {os.fspath(path)!r} is a directory") from None
    except PermissionError:
        raise InputError(f"cannot read {what} {os.fspath(path)!r}: permission denied") from None
    except UnicodeDecodeError:
        raise InputError(f"{what} {os.fspath(path)!r} is not UTF-8 text") from None


def check_passphrase(value: str, origin: str) -> Secret:
    if not value.strip():
        raise InputError(f"the passphrase from {origin} is empty")
    return Secret(normalize_passphrase(value))


def _strip_one_newline(text: str) -> str:
    for ending in ("\r\n", "\n"):
        if text.endswith(ending):
            return text[: -len(ending)]
    return text


@dataclass
class KeySource:
    """Every key the user made available, resolved lazily.

    Raw keys are cheap and tried first; a passphrase is asked for (on a TTY)
    only when a file can be opened by nothing else, and only once.
    """

    passphrase: str | None = None
    passphrase_file: str | None = None
    key: str | bytes | None = None
    key_file: str | None = None
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    prompt: Callable[[str], str] | None = None  # None: getpass when stdin is a TTY
    _pass_cache: Secret | None = field(default=None, repr=False)

    def raw_keys(self) -> list[Secret]:
        keys: list[Secret] = []
        if isinstance(self.key, bytes):
            if len(self.key) != 32:
                raise InputError("a raw key must be 32 bytes")
            keys.append(Secret(self.key))
        elif isinstance(self.key, str):
            keys.append(parse_key(self.key, "the key"))
        if self.key_file:
            keys.append(
                parse_key(_read_text(self.key_file, "key file"), f"key file {self.key_file!r}")
            )
        if self.env.get(ENV_KEY):
            keys.append(parse_key(self.env[ENV_KEY], ENV_KEY))
        if self.env.get(ENV_KEY_FILE):
            path = self.env[ENV_KEY_FILE]
            keys.append(parse_key(_read_text(path, "key file"), f"key file {path!r}"))
        return keys

    def has_passphrase(self) -> bool:
        """A passphrase is available without prompting."""
        return bool(
            self.passphrase is not None
            or self.passphrase_file
            or self.env.get(ENV_PASSPHRASE) is not None
            or self.env.get(ENV_PASSPHRASE_FILE)
        )

    def can_prompt(self) -> bool:
        return self.prompt is not None or sys.stdin.isatty()

    def get_passphrase(self, *, confirm: bool = False) -> Secret:
        """The passphrase, prompting once on a TTY if no other source has one."""
        if self._pass_cache is not None:
            return self._pass_cache
        if self.passphrase is not None:
            secret = check_passphrase(self.passphrase, "the argument")
        elif self.passphrase_file:
            text = _read_text(self.passphrase_file, "passphrase file")
            secret = check_passphrase(_strip_one_newline(text), f"{self.passphrase_file!r}")
        elif self.env.get(ENV_PASSPHRASE) is not None:
            secret = check_passphrase(self.env[ENV_PASSPHRASE], ENV_PASSPHRASE)
        elif self.env.get(ENV_PASSPHRASE_FILE):
            path = self.env[ENV_PASSPHRASE_FILE]
            secret = check_passphrase(
                _strip_one_newline(_read_text(path, "passphrase file")), f"{path!r}"
            )
        elif self.can_prompt():
            ask = self.prompt or (lambda text: getpass.getpass(text, stream=sys.stderr))
            first = ask("Passphrase: ")
            secret = check_passphrase(first, "the prompt")
            if confirm and ask("Passphrase (again): ") != first:
                raise InputError("the two passphrases differ")
        else:
            raise NoKeyError("no key or passphrase available", hints=NO_KEY_HINTS)
        self._pass_cache = secret
        return secret
