"""What the user approved of a repository's rules file, pinned outside it.

The rules file is written by anyone who can push, so what in it can weaken
secrecy or run code takes effect only once the user approved that exact text
(`sealedcfg approve`, or `init` for the rule it writes), as direnv's `allow`
does: a plaintext pattern of a creation rule (it decides which values of a
new file are never sealed) and lifecycle commands.  Pins are SHA-256 digests,
one per line, in a 0600 file of the user's config directory.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sealedcfg.errors import InputError


def store(name: str) -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "sealedcfg" / name


def pinned(name: str) -> set[str]:
    path = store(name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    except (OSError, UnicodeDecodeError):
        raise InputError(f"{path}: cannot read the approvals") from None
    return {ln.split()[0] for ln in text.splitlines() if ln.strip() and not ln.startswith("#")}


def pin(name: str, entries: list[tuple[str, str]]) -> None:
    """Append (digest, label) lines to the 0600 store `name`."""
    path = store(name)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        for digest, label in entries:
            fh.write(f"{digest} {label}\n")


PLAIN_RULES = "approved-rules"


def plain_rule_digest(rules_file: Path, pattern: str, plain: str) -> str:
    """`pattern` is the regex the rule matches paths with (a glob's translation), so
    `path: X` and `path_regex: X` differ; the rules file's path is taken as found,
    not resolved, so a link to an approved rules file elsewhere is not approved."""
    text = "\0".join(("plain", os.path.abspath(rules_file), pattern, plain))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def plain_rule_label(rules_file: Path, pattern: str, plain: str) -> str:
    return f"the plaintext rule {plain!r} of the creation rule {pattern!r} in {rules_file}"


def require_plain_rule(rules_file: Path, pattern: str, plain: str, shown: str) -> None:
    """Refuse to seal a new file with a rule's plaintext pattern the user never approved."""
    if plain_rule_digest(rules_file, pattern, plain) in pinned(PLAIN_RULES):
        return
    raise InputError(
        f"{plain_rule_label(rules_file, shown, plain)} is not approved (new, or changed "
        "since approved): values it matches would be written unsealed",
        hints=(
            "anyone who can push can edit the rules file; review it, then: sealedcfg approve",
            "or give the plaintext rule yourself: --plain REGEX (encrypt)",
        ),
    )


def pin_plain_rule(rules_file: Path, pattern: str, plain: str, shown: str) -> None:
    label = plain_rule_label(rules_file, shown, plain)
    pin(PLAIN_RULES, [(plain_rule_digest(rules_file, pattern, plain), label)])
