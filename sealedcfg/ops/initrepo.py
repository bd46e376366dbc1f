"""`sealedcfg init`: creation rules, a key outside the repository, ignore lines.

The rules file names the key by id only: keys are found in the user's key
directory (or given by the environment), never at a path the repository names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sealedcfg import git
from sealedcfg.base.encoding import b64e
from sealedcfg.base.fileio import write_atomic
from sealedcfg.base.secret import Secret
from sealedcfg.engine.keys import format_key, key_dir, key_from_file, refuse_in_worktree
from sealedcfg.engine.rules import RULES_NAME
from sealedcfg.errors import InputError
from sealedcfg.format import crypto
from sealedcfg.recipients.key import key_id

IGNORE_BLOCK = (
    "# sealedcfg: key files and decrypted copies never get committed",
    "*.key",
    "*.plain.yaml",
)


@dataclass
class InitResult:
    rules_file: Path
    key_file: Path | None
    key_id: str | None
    created_key: bool
    ignore_file: Path
    next_steps: list[str] = field(default_factory=list)


def repo_root(start: Path) -> Path:
    """The work tree's root, or `start` outside a repository (init works anywhere)."""
    try:
        return git.toplevel(start)
    except InputError:
        return start


def default_key_dir() -> Path:
    return key_dir()


def _yaml_str(value: str) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def init(
    start: str | os.PathLike[str] | None = None,
    *,
    pattern: str = "config/*.yaml",
    plain: str | None = None,
    passphrase: bool = False,
    key_file: str | os.PathLike[str] | None = None,
    force: bool = False,
) -> InitResult:
    root = repo_root(Path(start or os.getcwd()).resolve())
    rules_file = root / RULES_NAME
    if rules_file.exists() and not force:
        raise InputError(f"{rules_file}: already exists", hints=("use --force to replace it",))
    lines = [
        "# sealedcfg creation rules: which files are sealed, for whom, what stays plain.",
        "creation_rules:",
        f"  - path: {_yaml_str(pattern)}",
    ]
    if plain:
        lines.append(f"    plain: {_yaml_str(plain)}")
    lines.append("    recipients:")
    key_path: Path | None = None
    kid: str | None = None
    created = False
    if passphrase:
        lines.append("      - passphrase: true")
    else:
        key_path, kid, created = _key(key_file)
        lines.append(f"      - key_id: {_yaml_str(kid)}   # found by id in your key directory")
    write_atomic(rules_file, ("\n".join(lines) + "\n").encode("utf-8"), mode=0o644)
    if plain:  # the user wrote this rule here: approved (sealedcfg.engine.approvals)
        from sealedcfg.engine import approvals
        from sealedcfg.engine.rules import glob_to_regex

        approvals.pin_plain_rule(rules_file, glob_to_regex(pattern).source, plain, pattern)
    ignore = root / ".gitignore"
    _append_missing(ignore, list(IGNORE_BLOCK))
    steps = [
        f"seal a profile:  sealedcfg encrypt {pattern.replace('*', 'prod')}",
        "or create one:   sealedcfg set config/prod.yaml database.password",
        "edit later:      sealedcfg edit config/prod.yaml",
        "hook and diffs:  sealedcfg git setup   (and add the pre-commit hook, see README)",
    ]
    if key_path is not None:
        steps.insert(
            0,
            f"share the key with your team out of band (each puts it in {key_dir()}/); "
            f"in CI set SEALEDCFG_KEY to the contents of {key_path}",
        )
        if key_path.parent.resolve() != key_dir().resolve():
            steps.insert(
                1,
                f"sealedcfg finds keys by id in {key_dir()}/ only: copy {key_path} there "
                f"as {kid}.key, or set SEALEDCFG_KEY_FILE={key_path}",
            )
    return InitResult(rules_file, key_path, kid, created, ignore, steps)


def _key(key_file: str | os.PathLike[str] | None) -> tuple[Path, str, bool]:
    """An existing key file (outside any repository), or a new key written 0600."""
    if key_file is not None and Path(key_file).exists():
        path = Path(key_file)
        key = key_from_file(path)
        return path, b64e(key_id(key)), False
    key = Secret(crypto.random_bytes(crypto.KEY_SIZE))
    kid = b64e(key_id(key))
    path = Path(key_file) if key_file is not None else key_dir() / f"{kid}.key"
    if key_file is not None:
        refuse_in_worktree(path, "key file")
    else:
        refuse_in_worktree(key_dir(), "the key directory")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(f"# sealedcfg key {kid}: keep it out of version control\n")
        fh.write(format_key(key.reveal()) + "\n")
    return path, kid, True


def _append_missing(file: Path, lines: list[str]) -> None:
    existing = file.read_text(encoding="utf-8").splitlines() if file.exists() else []
    missing = [ln for ln in lines if ln not in existing]
    if not missing:
        return
    text = file.read_text(encoding="utf-8") if file.exists() else ""
    if text and not text.endswith("\n"):
        text += "\n"
    mode = None if file.exists() else 0o644
    write_atomic(file, (text + "\n".join(missing) + "\n").encode("utf-8"), mode=mode)
