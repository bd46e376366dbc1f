"""Where a sealed file belongs: its path from the repository root (FORMAT.md §5.6).

The header's `bind` field holds it, authenticated with the rest of the header,
so `cp staging.yaml prod.yaml` gives a prod.yaml that refuses to open.  The
place is the file's path from the nearest directory holding `.git` (a clone,
worktree or submodule), `/`-separated, so it is the same in every clone; a
file in no repository is bound to its name alone.
"""

from __future__ import annotations

import os
from pathlib import Path

from sealedcfg.errors import InputError


def place_of(path: str | os.PathLike[str]) -> str:
    """The place of the file at `path` (it need not exist yet).

    A directory on the way up that is a symbolic link is refused, since a
    committed link (`prod -> .`) would give another file's place: symlinks are
    ordinary repository content, an attacker's to write.
    """
    full = Path(os.path.abspath(path))
    for directory in full.parents:
        if directory.is_symlink() and _in_repository(directory):
            raise InputError(
                f"{path}: its directory {str(directory)!r} is a symbolic link inside a "
                "repository; a sealed file is read only at its real path",
            )
        marker = directory / ".git"
        if marker.exists():
            if marker.is_file() and _in_repository(directory):
                # A submodule's checkout: its content is whatever commit the outer
                # repository (anyone who can push) points it at, so its paths say
                # nothing about which file this is.
                raise InputError(
                    f"{path}: it lies in a submodule of another repository; sealed files "
                    "are read only in the repository they were sealed in",
                )
            return full.relative_to(directory).as_posix()
    return full.name


def _in_repository(directory: Path) -> bool:
    parent = directory.parent
    return any((d / ".git").exists() for d in (parent, *parent.parents))


def check(bind: str, place: str | None, name: str) -> None:
    """Refuse a file that was sealed for another place; None: no place to check."""
    if place is None or bind == place:
        return
    raise InputError(
        f"{name}: sealed for {bind!r}, not for {place!r}: a sealed file is bound to its path "
        "so that one profile cannot be copied over another",
        hints=(
            f"if you moved or renamed it yourself, bind it to its path: sealedcfg rebind {name}",
        ),
    )
