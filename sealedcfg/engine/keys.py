"""Where keys come from: arguments, files, SEALEDCFG_* variables, a prompt, and
the user's key directory.

Only the user's own sources are trusted (README "Security model"): a key file or
passphrase file inside a git working tree is refused, because anyone who can
write to the repository could replace it (and it would be a leak anyway), and
no path named by a file in the repository is ever read as key material.

Nothing here logs or echoes a secret; `Secret` keeps passphrases and keys out
of reprs and tracebacks.
"""

from __future__ import annotations

import base64
import getpass
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sealedcfg.base.encoding import b64e
from sealedcfg.base.secret import Secret
from sealedcfg.errors import InputError, NoKeyError
from sealedcfg.format.kdf import normalize_passphrase

ENV_KEY = "SEALEDCFG_KEY"
ENV_KEY_FILE = "SEALEDCFG_KEY_FILE"
ENV_PASSPHRASE = "SEALEDCFG_PASSPHRASE"  # noqa: S105 - a variable name
ENV_PASSPHRASE_FILE = "SEALEDCFG_PASSPHRASE_FILE"  # noqa: S105
ENV_AGE_KEY = "SEALEDCFG_AGE_KEY"
ENV_AGE_KEY_FILE = "SEALEDCFG_AGE_KEY_FILE"
ENV_KMS_KEY = "SEALEDCFG_KMS_KEY"

NO_KEY_HINTS = (
    f"set {ENV_KEY} (base64 key) or {ENV_KEY_FILE}, or pass --key-file",
    f"or set {ENV_AGE_KEY} / {ENV_AGE_KEY_FILE} (age identities), or {ENV_KMS_KEY} (AWS KMS)",
    f"or set {ENV_PASSPHRASE} / {ENV_PASSPHRASE_FILE}, or pass --passphrase-file",
)
_MAX_KEY_FILE = 64 * 1024  # a key or passphrase file is a few bytes; refuse /dev/zero
_MAX_DIR_SCAN = 256  # key files looked at in the key directory beyond `<id>.key`


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
    # 43 base64 characters (+ one pad) always decode, to exactly 32 bytes.
    return Secret(base64.b64decode(compact.rstrip("=").replace("-", "+").replace("_", "/") + "="))


def format_key(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def age_identity_file() -> Path:
    """The default age identity file: `$XDG_CONFIG_HOME/sealedcfg/age/keys.txt`.

    age itself has no default location; this mirrors sops' `sops/age/keys.txt`
    under sealedcfg's own directory (point SEALEDCFG_AGE_KEY_FILE at sops' file
    to share it)."""
    return key_dir().parent / "age" / "keys.txt"


def key_dir() -> Path:
    """The user's key directory: `$XDG_CONFIG_HOME/sealedcfg/keys` (~/.config by default)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "sealedcfg" / "keys"


def worktree_of(path: str | os.PathLike[str]) -> Path | None:
    """The git working tree PATH lies in (a directory above it holds `.git`), or None.

    Both the path as given and its resolved form are checked: a symlink inside
    a repository is as replaceable as a file there, wherever it points.
    """
    seen: set[Path] = set()
    for start in (Path(os.path.abspath(path)), Path(os.path.realpath(path))):
        for directory in (start, *start.parents):
            if directory in seen:
                continue
            seen.add(directory)
            if os.path.lexists(directory / ".git"):  # a directory, or a file (worktree, submodule)
                return directory
    return None


def refuse_in_worktree(path: str | os.PathLike[str], what: str) -> None:
    """InputError if PATH (a key file, passphrase file or the key directory) is in a repository."""
    tree = worktree_of(path)
    if tree is None:
        return
    if what == "the key directory":
        move = "set XDG_CONFIG_HOME to a directory outside every repository"
    else:
        move = f"move it outside the repository, e.g. into {key_dir()}/ (found there by key id)"
    raise InputError(
        f"{what} {os.fspath(path)!r} is inside the git working tree {str(tree)!r}; "
        "keys are never read from a repository",
        hints=(
            "anyone who can write to the repository could replace it, and committing it leaks it",
            move,
        ),
    )


def read_user_file(path: str | os.PathLike[str], what: str) -> str:
    """A key or passphrase file the user named: outside any working tree, small, UTF-8."""
    refuse_in_worktree(path, what)
    return _read_text(path, what)


def key_from_file(path: str | os.PathLike[str]) -> Secret:
    return parse_key(read_user_file(path, "key file"), f"key file {os.fspath(path)!r}")


def dir_keys(wanted: set[bytes], key_id: Callable[[Secret], bytes]) -> list[Secret]:
    """Keys in the user's key directory whose id is in WANTED: `<id>.key` first, then
    any other `*.key` there (so `keygen -o ~/.config/sealedcfg/keys/prod.key` is found).

    Files that are not keys are skipped in the scan; `<id>.key` must be the key
    it is named after.  KEY_ID is passed in to keep this module free of crypto.
    """
    directory = key_dir()
    if not wanted or not directory.is_dir():
        return []
    refuse_in_worktree(directory, "the key directory")
    found: dict[bytes, Secret] = {}
    for kid in sorted(wanted):
        named = directory / f"{b64e(kid)}.key"
        if named.is_file():
            refuse_in_worktree(named, "key file")  # a symlink into a repository
            key = parse_key(_read_text(named, "key file"), f"key file {str(named)!r}")
            if key_id(key) != kid:
                raise InputError(f"key file {str(named)!r} does not hold the key it is named after")
            found[kid] = key
    if len(found) < len(wanted):
        others = sorted(p for p in directory.glob("*.key") if p.is_file())
        for file in others[:_MAX_DIR_SCAN]:
            if worktree_of(file) is not None:
                continue
            try:
                key = parse_key(_read_text(file, "key file"), "key file")
            except InputError:
                continue
            kid = key_id(key)
            if kid in wanted and kid not in found:
                found[kid] = key
    return [found[k] for k in sorted(found)]


def _read_text(path: str | os.PathLike[str], what: str) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read(_MAX_KEY_FILE + 1)
        if len(data) > _MAX_KEY_FILE:
            raise InputError(f"{what} {os.fspath(path)!r} is too large to hold a key")
        return data.decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} {os.fspath(path)!r} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"{what} {os.fspath(path)!r} is a directory") from None
    except PermissionError:
        raise InputError(f"cannot read {what} {os.fspath(path)!r}: permission denied") from None
    except UnicodeDecodeError:
        raise InputError(f"{what} {os.fspath(path)!r} is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {os.fspath(path)!r}: {exc.strerror}") from None


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
    age_key_file: str | None = None
    _pass_cache: Secret | None = field(default=None, repr=False)
    _age_cache: list[Any] | None = field(default=None, repr=False)

    def raw_keys(self) -> list[Secret]:
        keys: list[Secret] = []
        if isinstance(self.key, bytes):
            if len(self.key) != 32:
                raise InputError("a raw key must be 32 bytes")
            keys.append(Secret(self.key))
        elif isinstance(self.key, str):
            keys.append(parse_key(self.key, "the key"))
        if self.key_file:
            keys.append(key_from_file(self.key_file))
        if self.env.get(ENV_KEY):
            keys.append(parse_key(self.env[ENV_KEY], ENV_KEY))
        if self.env.get(ENV_KEY_FILE):
            keys.append(key_from_file(self.env[ENV_KEY_FILE]))
        return keys

    def found_keys(self, wanted: set[bytes]) -> list[Secret]:
        """Keys in the user's key directory whose id is in WANTED."""
        from sealedcfg.recipients.key import key_id

        return dir_keys(wanted, key_id)

    def age_identities(self) -> list[Any]:
        """age identities: SEALEDCFG_AGE_KEY, the file given or SEALEDCFG_AGE_KEY_FILE,
        else the default identity file if it exists (never one inside a repository)."""
        if self._age_cache is not None:
            return self._age_cache
        from sealedcfg.recipients import age

        out = []
        if self.env.get(ENV_AGE_KEY):
            out += age.parse_identities(self.env[ENV_AGE_KEY], ENV_AGE_KEY, given=True)
        for path in (self.age_key_file, self.env.get(ENV_AGE_KEY_FILE)):
            if path:
                text = read_user_file(path, "age identity file")
                out += age.parse_identities(text, f"age identity file {path!r}", given=True)
        default = age_identity_file()
        if not out and default.is_file():
            text = read_user_file(default, "age identity file")
            out += age.parse_identities(text, f"age identity file {str(default)!r}", given=False)
        self._age_cache = out
        return out

    def kms_keys(self) -> list[str]:
        """KMS keys the user trusts for opening: SEALEDCFG_KMS_KEY, comma-separated."""
        from sealedcfg.recipients.kms import check_key

        text = self.env.get(ENV_KMS_KEY) or ""
        return [check_key(k, ENV_KMS_KEY) for k in text.split(",") if k.strip()]

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
            text = read_user_file(self.passphrase_file, "passphrase file")
            secret = check_passphrase(_strip_one_newline(text), f"{self.passphrase_file!r}")
        elif self.env.get(ENV_PASSPHRASE) is not None:
            secret = check_passphrase(self.env[ENV_PASSPHRASE], ENV_PASSPHRASE)
        elif self.env.get(ENV_PASSPHRASE_FILE):
            path = self.env[ENV_PASSPHRASE_FILE]
            secret = check_passphrase(
                _strip_one_newline(read_user_file(path, "passphrase file")), f"{path!r}"
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
