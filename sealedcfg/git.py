"""Running git: the one place that spawns it and turns its failures into InputError.

Blobs are read with `git cat-file blob`, never `git show`: a blob read must not
run a textconv filter (ours would decrypt).  git's stderr names revisions and
paths only, so its first line is safe to repeat in an error.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sealedcfg.base.fileio import write_atomic
from sealedcfg.errors import InputError
from sealedcfg.format import envelope

NOT_A_REPO = "not inside a git repository"


@dataclass(frozen=True)
class Commit:
    sha: str
    author: str
    date: str  # ISO 8601 (%aI)
    path: str  # the file's path (from the top level) in this commit


def run(args: list[str], cwd: str | os.PathLike[str] | None = None, *, check: bool = True) -> str:
    """Run `git ARGS`; stdout as text.  InputError when git is missing or fails."""
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, check=False, timeout=120
        )
    except FileNotFoundError:
        raise InputError("git is not installed (or not on PATH)") from None
    if check and proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"git {args[0]} failed: {lines[0] if lines else 'exit status'}")
    return proc.stdout.decode("utf-8", "surrogateescape")


def run_bytes(args: list[str], cwd: str | os.PathLike[str], data: bytes | None = None) -> bytes:
    """Run `git ARGS` with `data` on stdin; stdout as bytes (blobs, -z listings)."""
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, input=data, capture_output=True, check=False, timeout=120
        )
    except FileNotFoundError:
        raise InputError("git is not installed (or not on PATH)") from None
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"git {args[0]} failed: {lines[0] if lines else proc.returncode}")
    return proc.stdout


def _ok(args: list[str], cwd: str | os.PathLike[str] | None) -> bool:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise InputError("git is not installed (or not on PATH)") from None
    return proc.returncode == 0


def toplevel(cwd: str | os.PathLike[str] | None = None) -> Path:
    """The work tree's root; InputError (exit 3) outside a repository."""
    if not _ok(["rev-parse", "--is-inside-work-tree"], cwd):
        raise InputError(NOT_A_REPO)
    return Path(run(["rev-parse", "--show-toplevel"], cwd).strip())


def repo_path(file: str | os.PathLike[str]) -> tuple[Path, str]:
    """(top level, FILE's path relative to it in git's `/` form)."""
    p = Path(file).absolute()
    top = toplevel(p.parent if p.parent.is_dir() else None)
    try:
        rel = p.parent.resolve().relative_to(top.resolve()) / p.name
    except ValueError:
        raise InputError(f"{file}: outside the git repository at {top}") from None
    return top, rel.as_posix()


def resolve_rev(rev: str, cwd: str | os.PathLike[str]) -> str:
    if rev.startswith("-") or not _ok(["rev-parse", "--verify", "-q", f"{rev}^{{commit}}"], cwd):
        raise InputError(f"unknown revision {rev!r}")
    return run(["rev-parse", "--verify", f"{rev}^{{commit}}"], cwd).strip()


def blob(rev: str, path: str, cwd: str | os.PathLike[str]) -> bytes | None:
    """The bytes of PATH (from the top level) at REV; None when it has no such file."""
    spec = f"{rev}:{path}"
    if not _ok(["cat-file", "-e", spec], cwd):
        return None
    try:
        return subprocess.run(
            ["git", "cat-file", "blob", spec], cwd=cwd, capture_output=True, check=True
        ).stdout
    except subprocess.CalledProcessError:
        raise InputError(f"git cat-file failed for {spec}") from None


def log_follow(path: str, cwd: str | os.PathLike[str]) -> list[Commit]:
    """Commits touching PATH, newest first, following renames; each with its path then."""
    out = run(["log", "--follow", "--name-only", "--format=%x01%H%x00%an%x00%aI", "--", path], cwd)
    commits: list[Commit] = []
    for chunk in out.split("\x01")[1:]:
        head, _, names = chunk.partition("\n")
        sha, author, date = head.split("\x00")
        listed = [n for n in names.splitlines() if n.strip()]
        # A merge lists no names: it keeps the path of the next (newer) entry.
        name = listed[-1] if listed else (commits[-1].path if commits else path)
        commits.append(Commit(sha, author, date, name))
    return commits


def config_get(key: str, cwd: str | os.PathLike[str]) -> str | None:
    out = run(["config", "--local", "--get", key], cwd, check=False)
    return out.rstrip("\n") if out else None


def config_set(key: str, value: str, cwd: str | os.PathLike[str]) -> None:
    run(["config", "--local", key, value], cwd)


def ls_files(cwd: str | os.PathLike[str]) -> list[str]:
    """Tracked files, paths from the top level, unquoted (-z)."""
    out = run(["ls-files", "-z", "--full-name"], cwd)
    return [p for p in out.split("\x00") if p]


# ---------------------------------------------------------------- setup

DEFAULT_PATTERNS = ("config/*.yaml", "config/*.yml")
ATTRIBUTES = "diff=sealedcfg merge=sealedcfg"


def command() -> str:
    """How git should run us.

    `sealedcfg` when it is on PATH: the config then survives venv rebuilds and
    works for every clone user.  Otherwise this interpreter's absolute path,
    so the drivers work from a venv that is not activated when git runs.
    """
    if shutil.which("sealedcfg"):
        return "sealedcfg"
    return f"{shlex.quote(sys.executable)} -m sealedcfg"


def wanted_config(cmd: str) -> dict[str, str]:
    return {
        "diff.sealedcfg.textconv": f"{cmd} git textconv",
        # Cached plaintext would sit in .git/refs/notes: plaintext on disk.
        "diff.sealedcfg.cachetextconv": "false",
        "merge.sealedcfg.name": "sealedcfg per-key merge",
        "merge.sealedcfg.driver": f"{cmd} git merge-driver %O %A %B %P",
    }


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """gitattributes matching, enough for our patterns: `*` stays within a directory."""
    anchored = "/" in pattern.rstrip("/")
    body = re.escape(pattern.lstrip("/")).replace(r"\*\*/", "(?:.*/)?")
    body = body.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
    return re.compile(body if anchored else f"(?:.*/)?{body}")


def sealed_files(top: Path) -> list[str]:
    """Tracked *.yaml/*.yml files that hold a sealedcfg header."""
    found = []
    for rel in ls_files(top):
        if rel.endswith((".yaml", ".yml")):
            try:
                data = (top / rel).read_bytes()
            except OSError:
                continue
            if envelope.is_sealed(data):
                found.append(rel)
    return found


def rule_patterns(top: Path) -> list[str]:
    """The `path` globs of the creation rules in `.sealedcfg.yaml` at the top, if any.

    A rule glob without `/` names files in the rules file's directory only, so
    it is anchored with a leading `/` (a bare gitattributes glob matches anywhere).
    """
    from sealedcfg.engine import rules

    ruleset = rules.load(top / rules.RULES_NAME) if (top / rules.RULES_NAME).is_file() else None
    if ruleset is None:
        return []
    out = []
    for rule in ruleset.rules:
        glob = rule.source
        if rule.pattern.source == rules.glob_to_regex(glob).source:  # a glob, not a regex
            out.append(glob if "/" in glob else "/" + glob)
    return out


def attribute_lines(top: Path, patterns: list[str] | None) -> list[str]:
    """The .gitattributes lines setup wants: given patterns, else defaults + sealed files."""
    if patterns:
        wanted = list(patterns)
    else:
        wanted = rule_patterns(top) or list(DEFAULT_PATTERNS)
        for rel in sealed_files(top):
            special = any(c in rel for c in ' \t*?[\\"')
            if not special and not any(_glob_regex(p).fullmatch(rel) for p in wanted):
                wanted.append(rel)
    return [f"{p} {ATTRIBUTES}" for p in wanted]


def setup(cwd: str | os.PathLike[str], patterns: list[str] | None, *, check: bool) -> list[str]:
    """Make the per-clone config and .gitattributes; return what was (or is) missing."""
    top = toplevel(cwd)
    missing = []
    for key, value in wanted_config(command()).items():
        if config_get(key, top) != value:
            missing.append(f"git config {key}")
            if not check:
                config_set(key, value, top)
    attributes = top / ".gitattributes"
    try:
        current = attributes.read_text("utf-8") if attributes.exists() else ""
    except (OSError, UnicodeDecodeError):
        raise InputError(f"{attributes}: cannot read") from None
    have = {line.strip() for line in current.splitlines()}
    new = [line for line in attribute_lines(top, patterns) if line not in have]
    missing += [f".gitattributes: {line}" for line in new]
    if new and not check:
        sep = "" if not current or current.endswith("\n") else "\n"
        write_atomic(
            attributes,
            (current + sep + "\n".join(new) + "\n").encode("utf-8"),
            mode=None if attributes.exists() else 0o644,
        )
    return missing
