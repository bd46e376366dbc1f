"""`--profile NAME`: from a profile's name to its file, through the rules file.

    # .sealedcfg.yaml
    profiles:
      dir: config        # --profile prod is config/prod.yaml (or config/prod.yml)

The rules file is repository content, writable by anyone who can push, so the
directory it names is checked before anything is read from it: a relative path
without `..`, inside the directory that holds the rules file, through no
symbolic link and into no other repository (a directory holding `.git`); the
profile file itself must be a regular file, not a link.
Which sealed file `--profile prod` opens is therefore always a file of this
repository named `prod.yaml`; the file must then open with the user's key and
be bound to the place it lies at (engine/place.py), like any other.

`extends: base` names a sibling of the profile that declares it (the same
directory, the same suffix), never a path through the rules file: see
ops/layering.py.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath

from sealedcfg.errors import InputError

ENV_PROFILE = "SEALEDCFG_PROFILE"
SUFFIXES = (".yaml", ".yml")
# A name, not a path: no `/`, no leading `.` (so never `..`), 1-64 characters.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


def check_name(name: str, what: str = "profile name") -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name.endswith(SUFFIXES):
        raise InputError(
            f"{what} {name!r} is not a profile name",
            hints=("a name is letters, digits, _ . - (no /, not starting with .), e.g. prod",),
        )
    return name


def profiles_dir(root: Path, directory: str, rules_name: str) -> Path:
    """The directory a rules file names, checked to lie inside ROOT through no link."""
    parts = PurePosixPath(directory.replace("\\", "/")).parts
    bad = (
        not parts
        or directory.startswith(("/", "\\"))
        or any(p in ("..", "") for p in parts)
        or ":" in directory
        or not directory.isprintable()  # a NUL made os.lstat raise ValueError (a traceback)
    )
    if bad:
        raise InputError(
            f"{rules_name}: profiles.dir {directory!r} must be a relative path inside the "
            "directory of the rules file, without '..'"
        )
    current = root
    for part in parts:  # PurePosixPath drops `.` parts
        current = current / part
        try:
            info = os.lstat(current)
        except OSError:
            raise InputError(
                f"{rules_name}: profiles.dir {directory!r}: {str(current)!r} does not exist"
            ) from None
        if stat.S_ISLNK(info.st_mode):
            raise InputError(
                f"{rules_name}: profiles.dir {directory!r}: {str(current)!r} is a symbolic "
                "link; profiles are read only at their real path in the repository"
            )
        if not stat.S_ISDIR(info.st_mode):
            raise InputError(f"{rules_name}: profiles.dir {directory!r} is not a directory")
        if os.path.lexists(current / ".git"):
            # A clone (or submodule) kept inside the work tree: its files are bound
            # to places in *that* repository, so the same `config/prod.yaml` place
            # would open there; the rules file may only name this repository's files.
            raise InputError(
                f"{rules_name}: profiles.dir {directory!r}: {str(current)!r} is another "
                "repository; profiles are read only from the rules file's own repository"
            )
    return current


def sibling(directory: Path, name: str, suffixes: tuple[str, ...] = SUFFIXES) -> Path | None:
    """The regular file NAME+suffix in DIRECTORY (first suffix that exists), or None.

    A symbolic link is refused, whatever it points to: it is repository content.
    """
    for suffix in suffixes:
        candidate = directory / f"{name}{suffix}"
        try:
            info = os.lstat(candidate)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise InputError(f"{candidate}: cannot read ({exc.strerror})") from None
        if stat.S_ISLNK(info.st_mode):
            raise InputError(
                f"{candidate}: is a symbolic link; a profile is read only at its real path"
            )
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{candidate}: not a regular file")
        return candidate
    return None


def resolve(name: str, start: str | os.PathLike[str] | None = None) -> Path:
    """The file of profile NAME, per the nearest rules file above START (default: cwd)."""
    from sealedcfg.engine import rules

    check_name(name)
    found = rules.find_rules_file(start)
    ruleset = rules.load(found) if found is not None else None
    if ruleset is None or ruleset.profiles_dir is None:
        raise InputError(
            f"--profile {name}: no {rules.RULES_NAME} with a 'profiles:' section"
            + (f" ({found})" if found is not None else " here or above (up to the repository)"),
            hints=(f"add to {rules.RULES_NAME}:  profiles: {{dir: config}}",),
        )
    rules_name = str(found)
    directory = profiles_dir(ruleset.root, ruleset.profiles_dir, rules_name)
    path = sibling(directory, name)
    if path is None:
        shown = _shown(directory / f"{name}.yaml")
        raise InputError(
            f"no profile {name!r}: {shown} does not exist",
            hints=(f"profiles are read from {ruleset.profiles_dir!r} ({rules_name})",),
        )
    return Path(_shown(path))


def _shown(path: Path) -> str:
    """PATH relative to the working directory when it lies below it (for messages)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
