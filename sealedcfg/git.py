"""Running git: the one place that spawns it and turns its failures into InputError.

Blobs are read with `git cat-file blob`, never `git show`: a blob read must not
run a textconv filter (ours would decrypt).  git's stderr names revisions and
paths only, so its first line is safe to repeat in an error.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sealedcfg.errors import InputError

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


def merge_file(
    ours: str | os.PathLike[str], base: str | os.PathLike[str], theirs: str | os.PathLike[str]
) -> tuple[bytes, int]:
    """git's own three-way text merge: (result with conflict markers, number of conflicts)."""
    args = ["merge-file", "-p", "-L", "ours", "-L", "base", "-L", "theirs", "--"]
    try:
        proc = subprocess.run(
            ["git", *args, os.fspath(ours), os.fspath(base), os.fspath(theirs)],
            capture_output=True,
            check=False,
            timeout=120,
        )
    except FileNotFoundError:
        raise InputError("git is not installed (or not on PATH)") from None
    if proc.returncode < 0 or proc.returncode > 127:  # 1..127: conflicts; above: an error
        raise InputError("git merge-file failed")
    return proc.stdout, proc.returncode


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


def ls_files(cwd: str | os.PathLike[str], *, untracked: bool = False) -> list[str]:
    """Tracked files (and with UNTRACKED, files not ignored), from the top level, unquoted."""
    extra = ["--cached", "--others", "--exclude-standard"] if untracked else []
    out = run(["ls-files", "-z", "--full-name", *extra], cwd)
    return list(dict.fromkeys(p for p in out.split("\x00") if p))


def check_attr(
    paths: list[str], attrs: list[str], cwd: str | os.PathLike[str]
) -> dict[str, dict[str, str]]:
    """{path: {attribute: value}} as git itself resolves .gitattributes for PATHS."""
    if not paths:
        return {}
    listing = "".join(p + "\x00" for p in paths).encode("utf-8", "surrogateescape")
    out = run_bytes(["check-attr", "-z", "--stdin", *attrs], cwd, listing)
    fields = out.decode("utf-8", "surrogateescape").split("\x00")
    result: dict[str, dict[str, str]] = {}
    for i in range(0, len(fields) - 2, 3):
        result.setdefault(fields[i], {})[fields[i + 1]] = fields[i + 2]
    return result


def unmerged_stages(path: str, cwd: str | os.PathLike[str]) -> dict[int, str]:
    """{stage: blob sha} of PATH's unmerged index entries (1 base, 2 ours, 3 theirs)."""
    out = run(["ls-files", "-u", "-z", "--full-name", "--", f":(literal){path}"], cwd)
    stages: dict[int, str] = {}
    for entry in out.split("\x00"):
        meta, _, name = entry.partition("\t")
        if name == path:
            _mode, sha, stage = meta.split()
            stages[int(stage)] = sha
    return stages


def object_bytes(sha: str, cwd: str | os.PathLike[str]) -> bytes:
    """A blob by its sha (cat-file: no textconv runs)."""
    return run_bytes(["cat-file", "blob", sha], cwd)
