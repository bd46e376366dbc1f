"""`sealedcfg export` and `sealedcfg exec`: decrypted values for deploy scripts.

Nothing is written to disk: `export` prints to stdout, `exec` hands the values
to the command through its environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from sealedcfg import api
from sealedcfg.cli.util import Files, KeyFile, PassFile, handle_errors, key_source
from sealedcfg.errors import InputError, UsageError

_ARGV = "sealedcfg.exec.argv"

Prefix = Annotated[
    str,
    typer.Option("--prefix", help="Put this before every variable name, e.g. APP_."),
]
Doc = Annotated[
    int | None,
    typer.Option("--doc", metavar="N", help="Use document N (from 0) of a multi-document file."),
]


class _CommandAfterDashes(TyperCommand):
    """Everything after the first `--` is the command to run, never parsed as our options."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's vendored Context
        if "--" in args:
            cut = args.index("--")
            ctx.meta[_ARGV] = args[cut + 1 :]
            args = args[:cut]
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [*super().collect_usage_pieces(ctx), "-- COMMAND [ARGS]..."]


def export_command(
    file: Annotated[Path, typer.Argument(help="A sealed profile file.", show_default=False)],
    fmt: Annotated[str, typer.Option("--format", "-f", help="dotenv, shell or json.")] = "dotenv",
    prefix: Prefix = "",
    doc: Doc = None,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
) -> int:
    """Print the decrypted values of FILE as variables (dotenv, shell) or as JSON.

    Nested keys and list items become one variable each: `database.password` is
    DATABASE_PASSWORD, `servers.0.token` is SERVERS_0_TOKEN (characters outside
    A-Z, 0-9 and _ become _).  Two keys that give the same name are refused.
    dotenv: NAME="value" with \\\\ \\" \\$ \\n \\r escaped (Ruby dotenv, godotenv,
    docker compose env_file).  shell: export NAME='value', safe to eval.  json:
    the typed values, a list of every document unless --doc is given.  A
    multi-document file needs --doc for dotenv and shell.

    Examples:
      sealedcfg export config/prod.yaml > .env
      eval "$(sealedcfg export config/prod.yaml --format shell --prefix APP_)"
      sealedcfg export config/prod.yaml --format json --doc 0 | jq .database
    """
    text = api.export_text(file, fmt, key_source(key_file, passphrase_file), prefix, doc)
    sys.stdout.write(text)
    return 0


def exec_command(
    ctx: typer.Context,
    files: Files,
    prefix: Prefix = "",
    no_override: Annotated[
        bool,
        typer.Option("--no-override", help="Keep variables already set in the environment."),
    ] = False,
    doc: Doc = None,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
) -> int:
    """Run COMMAND (after --) with the decrypted values of each FILE in its environment.

    Variables are named as by `sealedcfg export`; a later FILE overrides an
    earlier one, and the values override the environment unless --no-override.
    On POSIX sealedcfg replaces itself with COMMAND, so signals and the exit
    code are COMMAND's own.  Nothing is written to disk.

    Examples:
      sealedcfg exec config/prod.yaml -- ./deploy.sh --verbose
      sealedcfg exec config/base.yaml config/prod.yaml --prefix APP_ -- make up
      sealedcfg exec -k prod.key config/prod.yaml -- sh -c 'echo "$DATABASE_HOST"'
    """
    argv: list[str] | None = ctx.meta.get(_ARGV)
    if argv is None:
        raise UsageError("put -- before the command: sealedcfg exec FILE... -- COMMAND [ARGS...]")
    if not argv:
        raise UsageError("no command after --")
    added = api.environment(files, key_source(key_file, passphrase_file), prefix, doc)
    return _run(argv, child_environment(os.environ, added, no_override=no_override))


def child_environment(
    current: Mapping[str, str], added: Mapping[str, str], *, no_override: bool
) -> dict[str, str]:
    """The command gets the values, never a key: no SEALEDCFG_* variable at all.

    Not the key or passphrase, not the paths to key files (a deploy script's
    logs or its children would learn where the keys live, and a nested
    sealedcfg would open files with them); a value whose exported name would
    start with SEALEDCFG_ is refused rather than silently dropped.
    """
    for name in added:
        if name.upper().startswith(_RESERVED):
            raise InputError(
                f"a value would be exported as {name}, but {_RESERVED}* variables are "
                "never passed to the command",
                hints=("rename the key, or use --prefix",),
            )
    env = {k: v for k, v in current.items() if not k.upper().startswith(_RESERVED)}
    env.update({k: v for k, v in added.items() if not (no_override and k in env)})
    return env


_RESERVED = "SEALEDCFG_"


def _run(argv: list[str], env: dict[str, str]) -> int:
    import shutil

    if shutil.which(argv[0], path=env.get("PATH", os.defpath)) is None:
        raise InputError(f"command not found (or not executable): {argv[0]}")
    api.audit_finish("ok")  # the values are handed over now; exec never returns
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name != "posix":  # no exec that keeps the process: wait and pass the code on
        import subprocess

        return subprocess.run(argv, env=env, check=False).returncode
    import signal

    # Python ignores SIGPIPE (and SIGXFSZ); an ignored signal stays ignored across
    # exec, so restore the defaults as subprocess does (restore_signals=True).
    for name in ("SIGPIPE", "SIGXFSZ"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    try:
        os.execvpe(argv[0], argv, env)  # noqa: S606 - running COMMAND is the point
    except OSError as exc:
        raise InputError(f"cannot run {argv[0]}: {exc.strerror}") from None
    return 0  # not reached: the process is now COMMAND


def register(app: typer.Typer) -> None:
    names = {getattr(c, "name", None) for c in app.registered_commands}
    if "export" not in names:
        app.command("export")(handle_errors(export_command))
    if "exec" not in names:
        app.command("exec", cls=_CommandAfterDashes)(handle_errors(exec_command))
