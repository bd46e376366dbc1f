"""`sealedcfg export` and `sealedcfg exec`: decrypted values for deploy scripts.

Nothing is written to disk unless asked: `export` prints to stdout (or `-o`,
0600), `exec` hands the values to the command through its environment (and
`--file` through a tmpfs file or FIFO that is removed afterwards).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from sealedcfg import api
from sealedcfg.cli.util import Files, KeyFile, PassFile, handle_errors, key_source
from sealedcfg.errors import UsageError

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


Only = Annotated[
    list[str] | None,
    typer.Option(
        "--only", metavar="PATH", help="Only the subtree at PATH (repeatable); names stay full."
    ),
]


def export_command(
    files: Annotated[list[Path], typer.Argument(help="Sealed profile files.", show_default=False)],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="dotenv, shell, json, yaml or github.")
    ] = "dotenv",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file (0600; github: appended)."),
    ] = None,
    mask: Annotated[
        bool,
        typer.Option("--mask", help="github: print ::add-mask:: for each line of each value."),
    ] = False,
    prefix: Prefix = "",
    only: Only = None,
    doc: Doc = None,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
) -> int:
    """Print the decrypted values of each FILE (later files win, key by key).

    A profile that declares `extends: base` is merged with its chain.  Nested
    keys and list items become one variable each: `database.password` is
    DATABASE_PASSWORD, `servers.0.token` is SERVERS_0_TOKEN (characters outside
    A-Z, 0-9 and _ become _); two keys that give the same name are refused.
    dotenv: for python-dotenv.  shell: export NAME='value', safe to eval.  json,
    yaml: one mapping with typed values.  github: the $GITHUB_ENV syntax
    (NAME<<DELIMITER form); with --mask, ::add-mask:: lines go to stdout and
    the variables to -o.  A multi-document file needs --doc.

    Examples:
      sealedcfg export config/prod.yaml -o .env
      eval "$(sealedcfg export --profile prod --format shell --prefix APP_)"
      sealedcfg export --profile prod --format json --only database | jq .
      sealedcfg export --profile prod --format github --mask -o "$GITHUB_ENV"
    """
    result = api.export(
        files,
        key_source(key_file, passphrase_file),
        fmt=fmt,
        prefix=prefix,
        doc=doc,
        only=only or (),
        output=output,
        mask=mask,
    )
    sys.stdout.write(result.masks + (result.text or ""))
    return 0


def exec_command(
    ctx: typer.Context,
    files: Files,
    prefix: Prefix = "",
    only: Only = None,
    no_override: Annotated[
        bool,
        typer.Option("--no-override", help="Keep variables already set in the environment."),
    ] = False,
    pristine: Annotated[
        bool,
        typer.Option(
            "--pristine",
            help="Start from an empty environment: the values plus PATH, HOME, USER, "
            "LOGNAME, SHELL, LANG, LC_ALL, TERM, TZ, TMPDIR.",
        ),
    ] = False,
    file_value: Annotated[
        str | None,
        typer.Option(
            "--file",
            metavar="PATH",
            help="Also put the value at PATH (`.`: everything, as YAML) in a private tmpfs "
            "file or FIFO; {} in the command is its path.",
        ),
    ] = None,
    fifo: Annotated[
        bool, typer.Option("--fifo", help="With --file: a FIFO rather than a tmpfs file.")
    ] = False,
    doc: Doc = None,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
) -> int:
    """Run COMMAND (after --) with the decrypted values of each FILE in its environment.

    Variables are named as by `sealedcfg export`; a later FILE overrides an
    earlier one (key by key), and the values override the environment unless
    --no-override.  No SEALEDCFG_* variable reaches COMMAND.  sealedcfg
    replaces itself with COMMAND, so signals and the exit code are COMMAND's
    own; with --file it waits for COMMAND, forwards SIGTERM, SIGINT and SIGHUP
    to it, removes the file and exits with COMMAND's status.  A missing
    COMMAND exits 127, one that cannot run 126, as in a shell.

    Examples:
      sealedcfg exec --profile prod -- ./deploy.sh --verbose
      sealedcfg exec config/base.yaml config/prod.yaml --prefix APP_ -- make up
      sealedcfg exec --profile prod --only database --pristine -- ./migrate
      sealedcfg exec --profile prod --file tls.key -- nginx -g 'ssl_certificate_key {};'
    """
    argv: list[str] | None = ctx.meta.get(_ARGV)
    if argv is None:
        raise UsageError("put -- before the command: sealedcfg exec FILE... -- COMMAND [ARGS...]")
    return api.exec_command(
        argv,
        files,
        key_source(key_file, passphrase_file),
        prefix=prefix,
        doc=doc,
        only=only or (),
        no_override=no_override,
        pristine=pristine,
        file_value=file_value,
        fifo=fifo,
    )


def register(app: typer.Typer) -> None:
    names = {getattr(c, "name", None) for c in app.registered_commands}
    if "export" not in names:
        app.command("export")(handle_errors(export_command))
    if "exec" not in names:
        app.command("exec", cls=_CommandAfterDashes)(handle_errors(exec_command))
