"""`sealedcfg import`: options in, one api call, a summary out (key names, never values)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from sealedcfg.cli.util import Json, KeyFile, PassFile, handle_errors, key_source
from sealedcfg.errors import InputError


def import_(
    source: Annotated[
        str,
        typer.Argument(
            help="A .env, JSON or YAML file, plain or sops-encrypted; - for stdin (with --format)."
        ),
    ],
    to: Annotated[
        Path,
        typer.Option("--to", help="The sealed YAML profile to create or merge into."),
    ],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="dotenv, json or yaml; default: from the file's name."),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace keys the profile already holds (listed)."),
    ] = False,
    age_identity: Annotated[
        list[Path] | None,
        typer.Option(
            "--age-identity",
            help="age identity file for a sops file (also SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, "
            "~/.config/sops/age/keys.txt).",
            dir_okay=False,
        ),
    ] = None,
    pgp_key: Annotated[
        list[Path] | None,
        typer.Option(
            "--pgp-key",
            help="Armored PGP secret key for a sops file (gpg --export-secret-keys --armor); "
            "passphrase from SEALEDCFG_PGP_PASSPHRASE.",
            dir_okay=False,
        ),
    ] = None,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
    as_json: Json = False,
) -> int:
    """Seal the values of a .env, JSON or YAML file (or a sops-encrypted one) into a profile.

    A new profile gets its recipients from the creation rules, like `set`; an
    existing one is opened with its key and merged.  Keys it already holds with
    other values are refused, named, unless --overwrite.  A sops file's MAC is
    checked before anything is written.  Values never appear in the output.

    Examples:
      sealedcfg import .env --to config/dev.yaml
      sealedcfg import settings.json --to config/prod.yaml --overwrite
      sealedcfg import secrets.enc.yaml --to config/prod.yaml --age-identity ~/age.txt
      sealedcfg import secrets.enc.json --to config/prod.yaml --pgp-key private.asc
    """
    from sealedcfg import api

    if source == "-" and fmt is None:
        raise InputError("reading stdin needs --format dotenv, json or yaml")
    sops_keys = api.SopsKeys(
        age_identity_files=tuple(str(p) for p in age_identity or ()),
        pgp_key_files=tuple(str(p) for p in pgp_key or ()),
    )
    result = api.import_file(
        source,
        to,
        key_source(key_file, passphrase_file),
        fmt=fmt,
        overwrite=overwrite,
        sops_keys=sops_keys,
    )
    if as_json:
        print(json.dumps(result.__dict__, indent=2))
        return 0
    origin = f"{result.source} ({'sops ' if result.sops else ''}{result.format})"
    if not result.written:
        print(f"{result.path}: nothing new to import from {origin}", file=sys.stderr)
        return 0
    what = "new file" if result.created else f"{result.unchanged} unchanged"
    print(
        f"{result.path}: imported {len(result.added)} new and {len(result.changed)} changed "
        f"key(s) from {origin} ({what})",
        file=sys.stderr,
    )
    if result.changed:
        print(f"changed: {', '.join(result.changed)}", file=sys.stderr)
    return 0


def register(app: typer.Typer) -> None:
    app.command("import")(handle_errors(import_))
