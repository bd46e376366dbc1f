"""Commands declared in `.sealedcfg.yaml`: command providers and `on_rotate` callbacks.

The rules file lives in the repository, which an attacker may write.  So a
declared command never runs unless the user approved it: `sealedcfg approve`
pins a SHA-256 over the rules file's location, the command's whole spec and
the contents of every file its words name (a script in the repository is
pinned by content), in the user's config directory, outside any repository.
Any change to the command or to such a script needs a new approval.

    providers:
      stripe:
        mint: ./scripts/stripe-mint.sh          # a string (split like a shell) or a list
        revoke: [./scripts/stripe-revoke.sh, --live]
        old_value: true                         # the old value on stdin (default: not given)
        timeout: 30                             # seconds (default 60, at most 600)
        expires: 90d                            # lifetime of a minted secret
    on_rotate:
      - command: ./scripts/notify-deploy.sh
        value: false                            # the new value on stdin only if true
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sealedcfg.errors import ExitCode, InputError, SealedcfgError

MAX_TIMEOUT = 600
DEFAULT_TIMEOUT = 60
MAX_OUTPUT = 64 * 1024
_PINNED_FILE_LIMIT = 4 << 20
_KEY_VARIABLES = frozenset(
    {"SEALEDCFG_KEY", "SEALEDCFG_PASSPHRASE", "SEALEDCFG_KEY_FILE", "SEALEDCFG_PASSPHRASE_FILE"}
)


class CommandFailed(SealedcfgError):
    """A provider or callback command failed, timed out or printed the wrong thing."""

    code = ExitCode.COMMAND


@dataclass(frozen=True)
class Command:
    """One declared command: where it was declared, what it is, and what it gets."""

    rules_file: Path
    kind: str  # "mint" | "revoke" | "on_rotate"
    name: str  # provider name, or the callback's position
    argv: tuple[str, ...]
    timeout: int = DEFAULT_TIMEOUT
    stdin_value: bool = False  # old value (mint, revoke) or new value (callback) on stdin
    extra: dict[str, str] = field(default_factory=dict)  # pinned too (e.g. expires)

    @property
    def label(self) -> str:
        return (
            f"{self.kind} of provider {self.name!r}"
            if self.kind != "on_rotate"
            else (f"on_rotate callback {self.name}")
        )

    def spec(self) -> str:
        return json.dumps(
            {
                "argv": list(self.argv),
                "extra": self.extra,
                "kind": self.kind,
                "name": self.name,
                "stdin": self.stdin_value,
                "timeout": self.timeout,
            },
            sort_keys=True,
        )

    def digest(self) -> str:
        """What an approval pins: rules file location, the spec, and named files' bytes."""
        h = hashlib.sha256()
        h.update(str(self.rules_file.resolve()).encode() + b"\0" + self.spec().encode() + b"\0")
        for word in self.argv:
            target = _named_file(word, self.rules_file.parent)
            if target is not None:
                h.update(str(target).encode() + b"\0" + _file_digest(target) + b"\0")
        return h.hexdigest()


def _named_file(word: str, cwd: Path) -> Path | None:
    import shutil

    candidate = Path(word) if os.path.isabs(word) else cwd / word
    if "/" in word and candidate.is_file():
        return candidate.resolve()
    if word == os.path.basename(word) and not word.startswith("-"):
        found = shutil.which(word)
        if found:
            return Path(found).resolve()
    return None


def _file_digest(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read(_PINNED_FILE_LIMIT)).digest()
    except OSError:
        return b"unreadable"


# ---------------------------------------------------------------- parsing


def _argv(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        try:
            words = shlex.split(value)
        except ValueError:
            raise InputError(f"{where}: cannot split the command") from None
    elif isinstance(value, list) and all(isinstance(w, (str, int)) for w in value):
        words = [str(w) for w in value]
    else:
        raise InputError(f"{where}: a command is a string or a list of words")
    if not words:
        raise InputError(f"{where}: empty command")
    return tuple(words)


def _timeout(value: Any, where: str) -> int:
    if value is None:
        return DEFAULT_TIMEOUT
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_TIMEOUT:
        raise InputError(f"{where}: timeout must be 1 to {MAX_TIMEOUT} seconds")
    return value


def _mapping(node: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise InputError(f"{where}: expected a mapping")
    for key in node:
        if key not in allowed:
            raise InputError(
                f"{where}: unknown field {str(key)!r}",
                hints=(f"allowed: {', '.join(sorted(allowed))}",),
            )
    return dict(node)


@dataclass(frozen=True)
class Declared:
    rules_file: Path
    providers: dict[str, tuple[Command, Command | None]]  # name -> (mint, revoke)
    callbacks: tuple[Command, ...]


def load(rules_file: Path | None) -> Declared | None:
    """The commands of a rules file (None when there is no rules file)."""
    if rules_file is None:
        return None
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    name = str(rules_file)
    try:
        data = YAML(typ="safe", pure=True).load(rules_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        raise InputError(f"{name}: cannot read the rules file") from None
    except YAMLError:
        raise InputError(f"{name}: not valid YAML") from None
    if not isinstance(data, dict):
        return Declared(rules_file, {}, ())
    providers: dict[str, tuple[Command, Command | None]] = {}
    raw = data.get("providers") or {}
    if not isinstance(raw, dict):
        raise InputError(f"{name}: 'providers' must be a mapping of names")
    from sealedcfg.lifecycle import meta as m

    for pname, spec in raw.items():
        where = f"{name}: provider {str(pname)!r}"
        m.check_value(m.PROVIDER, str(pname))
        item = _mapping(spec, {"mint", "revoke", "old_value", "timeout", "expires"}, where)
        if "mint" not in item:
            raise InputError(f"{where}: needs a 'mint' command")
        extra = {}
        if item.get("expires") is not None:
            m.parse_duration(str(item["expires"]), f"{where} expires")
            extra["expires"] = str(item["expires"])
        timeout = _timeout(item.get("timeout"), where)
        stdin_value = bool(item.get("old_value", False))
        mint = Command(
            rules_file, "mint", str(pname), _argv(item["mint"], where), timeout, stdin_value, extra
        )
        revoke = None
        if item.get("revoke") is not None:
            revoke = Command(
                rules_file,
                "revoke",
                str(pname),
                _argv(item["revoke"], where),
                timeout,
                stdin_value,
                extra,
            )
        providers[str(pname)] = (mint, revoke)
    callbacks = []
    raw_cb = data.get("on_rotate") or []
    if not isinstance(raw_cb, list):
        raise InputError(f"{name}: 'on_rotate' must be a list")
    for i, spec in enumerate(raw_cb, start=1):
        where = f"{name}: on_rotate item {i}"
        if isinstance(spec, (str, list)):
            spec = {"command": spec}
        item = _mapping(spec, {"command", "value", "timeout"}, where)
        if "command" not in item:
            raise InputError(f"{where}: needs a 'command'")
        callbacks.append(
            Command(
                rules_file,
                "on_rotate",
                str(i),
                _argv(item["command"], where),
                timeout=_timeout(item.get("timeout"), where),
                stdin_value=bool(item.get("value", False)),
            )
        )
    return Declared(rules_file, providers, tuple(callbacks))


# ---------------------------------------------------------------- approvals


def approvals_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "sealedcfg" / "approved-commands"


def approved() -> set[str]:
    try:
        text = approvals_file().read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    except (OSError, UnicodeDecodeError):
        raise InputError(f"{approvals_file()}: cannot read the approved commands") from None
    return {
        line.split()[0] for line in text.splitlines() if line.strip() and not line.startswith("#")
    }


def approve(commands: list[Command]) -> None:
    """Pin `commands`: one line each, appended to a 0600 file in the user's config dir."""
    path = approvals_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        for c in commands:
            fh.write(f"{c.digest()} {c.rules_file.resolve()} {c.kind}:{c.name}\n")


def require_approved(commands: list[Command]) -> None:
    pins = approved()
    for c in commands:
        if c.digest() not in pins:
            raise InputError(
                f"the {c.label} in {c.rules_file} is not approved (new, or changed since approved)",
                hints=(
                    f"it would run: {' '.join(shlex.quote(w) for w in c.argv)}",
                    "review it and any script it names, then run: sealedcfg approve",
                ),
            )


# ---------------------------------------------------------------- running


def run(command: Command, env: dict[str, str], stdin: str | None) -> str:
    """Run an approved command; its stdout, or CommandFailed.  Never shows a value."""
    require_approved([command])
    child_env = {k: v for k, v in os.environ.items() if k not in _KEY_VARIABLES}
    child_env.update(env)
    try:
        proc = subprocess.Popen(
            list(command.argv),
            cwd=command.rules_file.parent,
            env=child_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # so a timeout can kill its whole process group
        )
    except OSError as exc:
        raise CommandFailed(f"cannot run the {command.label}: {exc.strerror}") from None
    data = (stdin + "\n").encode() if stdin is not None else b""
    try:
        out, _ = proc.communicate(data, timeout=command.timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise CommandFailed(
            f"the {command.label} timed out after {command.timeout} s; nothing was changed"
            if command.kind == "mint"
            else f"the {command.label} timed out after {command.timeout} s"
        ) from None
    if proc.returncode != 0:
        raise CommandFailed(f"the {command.label} failed (exit status {proc.returncode})")
    if len(out) > MAX_OUTPUT:
        raise CommandFailed(f"the {command.label} printed more than {MAX_OUTPUT} bytes")
    return out.decode("utf-8", errors="replace")


def _kill(proc: subprocess.Popen[bytes]) -> None:
    import contextlib

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.communicate(timeout=5)


@dataclass(frozen=True)
class Review:
    """What the rules file asks the user to trust, and which of it is not approved yet."""

    rules_file: Path
    commands: list[Command]
    new_commands: list[Command]
    plains: list[tuple[str, str, str]]  # (rule source, path regex, plaintext pattern)
    new_plains: list[tuple[str, str, str]]

    @property
    def pending(self) -> int:
        return len(self.new_commands) + len(self.new_plains)

    def lines(self) -> list[str]:
        import shlex

        out = []
        for c in self.commands:
            mark = "new/changed" if c in self.new_commands else "approved"
            out.append(f"{mark:<12} {c.label}: {' '.join(shlex.quote(w) for w in c.argv)}")
        for src, regex, pat in self.plains:
            mark = "new/changed" if (src, regex, pat) in self.new_plains else "approved"
            out.append(
                f"{mark:<12} plaintext rule for {src!r}: {pat!r} (matching values stay unsealed)"
            )
        return out


def review() -> Review:
    """Commands and plaintext rules of the nearest rules file, against the user's pins."""
    from sealedcfg.engine import approvals, rules

    rules_file = rules.find_rules_file()
    declared = load(rules_file)
    if declared is None or rules_file is None:
        raise InputError("no .sealedcfg.yaml here or above (up to the repository root)")
    every = [c for pair in declared.providers.values() for c in pair if c is not None]
    every += list(declared.callbacks)
    pins = approved()
    # Plaintext patterns of creation rules: values they match in a new file stay unsealed.
    ruleset = rules.load(rules_file)
    plains = [
        (r.source, r.pattern.source, r.plain) for r in (ruleset.rules if ruleset else ()) if r.plain
    ]
    plain_pins = approvals.pinned(approvals.PLAIN_RULES)
    new_plains = [
        (src, regex, pat)
        for src, regex, pat in plains
        if approvals.plain_rule_digest(rules_file, regex, pat) not in plain_pins
    ]
    return Review(
        rules_file, every, [c for c in every if c.digest() not in pins], plains, new_plains
    )


def approve_review(done: Review) -> None:
    """Pin everything the review found new (the user said yes)."""
    from sealedcfg.engine import approvals

    approve(done.new_commands)
    for src, regex, pat in done.new_plains:
        approvals.pin_plain_rule(done.rules_file, regex, pat, src)
