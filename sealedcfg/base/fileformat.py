"""What format a file name says a file is in, for import and for refusing to seal.

A profile is YAML.  Sealing rewrites a file in place as YAML (tokens, then a
`sealedcfg:` header document), so a `.json` file would silently become a YAML
stream and a `.env` file cannot be read at all: such names are refused with a
pointer to `sealedcfg import`, never converted behind the user's back.
"""

from __future__ import annotations

import os

from sealedcfg.errors import InputError

YAML, JSON, DOTENV = "yaml", "json", "dotenv"
IMPORTABLE = (DOTENV, JSON, YAML)
_BY_SUFFIX = {
    ".yaml": YAML,
    ".yml": YAML,
    ".json": JSON,
    ".env": DOTENV,
    ".jsonc": "JSONC",
    ".json5": "JSON5",
    ".toml": "TOML",
    ".ini": "INI",
    ".properties": "Java properties",
    ".xml": "XML",
    ".hcl": "HCL",
    ".tfvars": "Terraform variables",
}
_LABEL = {JSON: "JSON", DOTENV: ".env"}


def kind_of(name: str | os.PathLike[str]) -> str | None:
    """yaml, json, dotenv, another format's label, or None when the name does not say."""
    base = os.path.basename(os.fspath(name)).lower()
    if base == ".env" or base.startswith(".env.") or base.endswith(".env"):
        return DOTENV
    _, suffix = os.path.splitext(base)
    return _BY_SUFFIX.get(suffix)


def refuse_unsealable(name: str | os.PathLike[str]) -> None:
    """InputError for a file that sealing would turn into YAML (or could not read)."""
    kind = kind_of(name)
    if kind is None or kind == YAML:
        return
    label = _LABEL.get(kind, kind)
    hint = "convert it to YAML first; sealedcfg seals YAML profiles"
    if kind in (JSON, DOTENV):
        hint = (
            f"import it into a YAML profile: sealedcfg import {os.fspath(name)} "
            f"--to {yaml_name(name)}"
        )
    raise InputError(
        f"{os.fspath(name)}: {label} files are not supported as sealed profiles "
        "(sealing rewrites a file as YAML)",
        hints=(hint,),
    )


def yaml_name(name: str | os.PathLike[str]) -> str:
    """A YAML profile's name beside NAME: a.json -> a.yaml, prod.env -> prod.yaml."""
    head, base = os.path.split(os.fspath(name))
    stem = os.path.splitext(base)[0]
    if not stem or stem.lower().startswith(".env"):
        stem = "config"
    return os.path.join(head, stem + ".yaml")
