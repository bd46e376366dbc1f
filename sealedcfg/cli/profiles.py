"""`--profile NAME` wherever a command takes FILE, and SEALEDCFG_PROFILE.

Done once, before a command parses its arguments: each `--profile NAME`
(`--profile=NAME`) becomes the profile's file (api.profile_path), in place for
commands taking FILE... (so the command line's order is the override order)
and as the first argument for commands taking one FILE.  SEALEDCFG_PROFILE
names FILE when a command is given neither `--profile` nor enough positional
words (so `get PATH` reads the profile, `get FILE PATH` the file).  Everything after `--` (the
command `exec` runs) is left alone.
"""

from __future__ import annotations

import os
from typing import Any

import typer
from typer.core import TyperGroup

from sealedcfg.cli.util import bug, error
from sealedcfg.errors import SealedcfgError, UsageError

OPTION = "--profile"
FILE_PARAMS = ("file", "files", "args")  # args: rotate-secret's FILE PATH / FILE...
HELP_NOTE = (
    "Wherever a command takes FILE, --profile NAME (or SEALEDCFG_PROFILE) names it "
    "through the rules file's profiles: section."
)


class ProfileGroup(TyperGroup):
    """The app's group: rewrites `--profile` into FILE for the command it resolves."""

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is None:
            return name, cmd, rest
        try:
            rest = _expand(ctx, cmd, rest)
        except SealedcfgError as exc:
            error(exc.message, exc.hints)
            raise typer.Exit(int(exc.code)) from None
        except Exception as exc:  # outside handle_errors: a bug, said as it says it
            if os.environ.get("SEALEDCFG_DEBUG"):
                raise
            raise bug(exc) from None
        return name, cmd, rest


def _expand(ctx: Any, cmd: Any, args: list[str]) -> list[str]:
    if isinstance(cmd, TyperGroup):  # `recipients list --profile prod`
        if args and not args[0].startswith("-"):
            sub = cmd.get_command(ctx, args[0])
            if sub is not None:
                return [args[0], *_expand(ctx, sub, args[1:])]
        return args
    cut = args.index("--") if "--" in args else len(args)
    head, tail = args[:cut], args[cut:]
    names, positions, head = _take_profiles(head)
    target = _file_param(cmd)
    if target is None:
        if names:
            raise UsageError(f"{OPTION}: this command takes no FILE")
        return args
    many = target.nargs == -1 and target.name != "args"
    if not names:
        env = os.environ.get("SEALEDCFG_PROFILE")
        if env and _positionals(cmd, head) < _needed(cmd):
            return [_path(env), *head, *tail]
        return args
    if not many and len(names) > 1:
        raise UsageError(f"{OPTION} given {len(names)} times; this command takes one FILE")
    files = [_path(n) for n in names]
    if many:
        for offset, (where, path) in enumerate(zip(positions, files, strict=True)):
            head.insert(where + offset, path)
        return [*head, *tail]
    if target.nargs != -1 and _positionals(cmd, head) + 1 > _most(cmd):
        raise UsageError(f"give FILE or {OPTION}, not both")
    return [files[0], *head, *tail]


def _path(name: str) -> str:
    """The profile's file as an argument word that no parser reads as an option.

    The directory comes from the rules file (attacker-writable): a `-oleak`
    directory made `-oleak/prod.yaml`, which click read as `-o leak/prod.yaml`.
    """
    from sealedcfg import api

    path = str(api.profile_path(name))
    return f"./{path}" if path.startswith("-") else path


def _take_profiles(args: list[str]) -> tuple[list[str], list[int], list[str]]:
    """The names given with --profile, where each stood, and the other arguments."""
    names: list[str] = []
    positions: list[int] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == OPTION:
            if i + 1 >= len(args):
                raise UsageError(f"{OPTION} needs a profile name")
            names.append(args[i + 1])
            positions.append(len(rest))
            i += 2
            continue
        if arg.startswith(OPTION + "="):
            names.append(arg[len(OPTION) + 1 :])
            positions.append(len(rest))
        else:
            rest.append(arg)
        i += 1
    return names, positions, rest


def _file_param(cmd: Any) -> Any:
    arguments = [p for p in cmd.params if p.param_type_name == "argument"]
    if arguments and arguments[0].name in FILE_PARAMS:
        return arguments[0]
    return None


def _needed(cmd: Any) -> int:
    """How many positional words the command needs at least."""
    return sum(
        (1 if p.nargs == -1 else p.nargs)
        for p in cmd.params
        if p.param_type_name == "argument" and p.required
    )


def _most(cmd: Any) -> int:
    """How many positional words the command takes at most (FILE... counts as many)."""
    counts = [p.nargs for p in cmd.params if p.param_type_name == "argument"]
    return 1 << 30 if -1 in counts else sum(counts)


def _positionals(cmd: Any, args: list[str]) -> int:
    """How many positional words ARGS holds, skipping options and their values."""
    takes_value: set[str] = set()
    for p in cmd.params:
        if p.param_type_name == "option" and not p.is_flag and not p.count:
            takes_value.update(p.opts)
    count, i = 0, 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-") and arg != "-":
            if "=" not in arg and arg in takes_value:
                i += 1
        else:
            count += 1
        i += 1
    return count
