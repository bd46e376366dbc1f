"""Everyday editing commands: init, set, get, unset, ls, edit, rotate, recipients."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from sealedcfg import api
from sealedcfg.cli.lifecycle import Expires, MetaItems, Note, Provider
from sealedcfg.cli.util import (
    Files,
    Json,
    KeyFile,
    PassFile,
    dumps_json,
    each,
    emit_json,
    handle_errors,
    key_source,
)
from sealedcfg.errors import InputError, UsageError

File = Annotated[Path, typer.Argument(help="A sealed profile.", show_default=False)]
DottedPath = Annotated[
    str, typer.Argument(help="Dotted path, e.g. database.password or servers.0.token.")
]
Argon2 = Annotated[
    str | None,
    typer.Option(
        "--argon2",
        metavar="m=KiB,t=N,p=N",
        envvar="SEALEDCFG_ARGON2",
        help="Argon2id parameters for a new passphrase recipient.",
    ),
]
recipients_app = typer.Typer(help="List, add or remove who can open a file.", no_args_is_help=True)


def _params(text: str | None) -> api.Argon2Params | None:
    return api.Argon2Params.parse(text) if text else None


def _new_passphrase(path: Path | None, what: str) -> api.Secret:
    if path is not None:  # the user's own file: refused inside a repository, like a key file
        text = api.read_user_file(path, "passphrase file").splitlines()
        return api.check_passphrase(text[0] if text else "", str(path))
    if not sys.stdin.isatty():
        raise InputError(f"{what}: give --new-passphrase-file, or run on a terminal")
    first = getpass.getpass(f"{what}: ", stream=sys.stderr)
    if getpass.getpass(f"{what} (again): ", stream=sys.stderr) != first:
        raise InputError("the two passphrases differ")
    return api.check_passphrase(first, "the prompt")


def init(
    path: Annotated[
        str, typer.Option("--path", help="Glob of the profiles the rule covers.")
    ] = "config/*.yaml",
    plain: Annotated[
        str | None, typer.Option("--plain", metavar="REGEX", help="Paths that stay plaintext.")
    ] = None,
    passphrase: Annotated[
        bool, typer.Option("--passphrase", help="A passphrase recipient instead of a key.")
    ] = False,
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", help="Use this key file (created if missing)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing rules file.")] = False,
) -> int:
    """Write .sealedcfg.yaml at the repository root, create a key, add ignore lines.

    Examples:
      sealedcfg init
      sealedcfg init --path 'config/**/*.yaml' --plain '(^|\\.)(host|port)$'
      sealedcfg init --passphrase
    """

    result = api.init(
        pattern=path, plain=plain, passphrase=passphrase, key_file=key_file, force=force
    )
    print(f"wrote {result.rules_file}")
    if result.key_file is not None:
        verb = "created" if result.created_key else "using"
        print(f"{verb} key {result.key_id} in {result.key_file} (0600, outside git)")
    print(f"ignore lines in {result.ignore_file}")
    print("next steps:")
    for step in result.next_steps:
        print(f"  {step}")
    return 0


def set_(
    file: File,
    path: DottedPath,
    value: Annotated[str | None, typer.Argument(help="The value; omit to be prompted.")] = None,
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the value from stdin.")] = False,
    vtype: Annotated[
        str | None,
        typer.Option(
            "--type", help=f"One of {', '.join(api.VALUE_TYPES)}; default: as YAML reads it."
        ),
    ] = None,
    provider: Provider = None,
    expires: Expires = None,
    note: Note = None,
    items: MetaItems = None,
    argon2: Argon2 = None,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
) -> int:
    """Set one value (sealed unless a plain rule matches); create paths and the file.

    Metadata (--provider, --expires, --note, --meta) is sealed with the value;
    `created` and `rotated` are set automatically.

    Examples:
      sealedcfg set config/prod.yaml database.password          # prompts, hidden
      printf %s "$TOKEN" | sealedcfg set config/prod.yaml stripe.api_key --stdin
      sealedcfg set config/prod.yaml stripe.api_key --stdin --provider stripe --expires 90d
      sealedcfg set config/prod.yaml service.replicas 6 --type int
    """

    if stdin and value is not None:
        raise InputError("give the value as an argument or with --stdin, not both")
    changes = api.meta_changes(provider, expires, note, items)  # bad options before a prompt
    if stdin:
        value = sys.stdin.read().removesuffix("\n")
    elif value is None:
        if not sys.stdin.isatty():
            raise InputError("no value given", hints=("pass it as an argument or use --stdin",))
        value = getpass.getpass(f"value for {path}: ", stream=sys.stderr)
    changed = api.set_with_meta(
        file,
        path,
        value,
        key_source(key_file, passphrase_file),
        vtype=vtype,
        kdf=_params(argon2),
        changes=changes,
    )
    print(f"{file}: {path} {'set' if changed else 'unchanged'}", file=sys.stderr)
    return 0


def get(
    file: File,
    path: DottedPath,
    as_json: Json = False,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
) -> int:
    """Print one decrypted value (a subtree prints as JSON).

    Examples:
      sealedcfg get config/prod.yaml database.password
      sealedcfg get config/prod.yaml database --json
    """

    value = api.get(file, path, key_source(key_file, passphrase_file))
    if as_json or isinstance(value, (dict, list)):
        print(json.dumps(value, indent=2, default=str, ensure_ascii=False))
    elif value is None:
        print("null" if as_json else "")
    else:
        print(value if not isinstance(value, bool) else str(value).lower())
    return 0


def unset(
    file: File, path: DottedPath, key_file: KeyFile = None, passphrase_file: PassFile = None
) -> int:
    """Remove a key or list item (and everything below it).

    Examples:
      sealedcfg unset config/prod.yaml stripe.webhook_secret
      sealedcfg unset config/prod.yaml servers.2
    """

    api.unset(file, path, key_source(key_file, passphrase_file))
    print(f"{file}: {path} removed", file=sys.stderr)
    return 0


def ls(
    files: Files,
    as_json: Json = False,
    resolved: Annotated[
        bool,
        typer.Option(
            "--resolved",
            help="Every key of the merged view (extends chain) and the file it comes from; "
            "needs a key.",
        ),
    ] = False,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
) -> int:
    """List paths with sealed/plain marks and metadata; never values, no key needed.

    With --resolved, the merged view of a profile that extends others: each key
    with the file it comes from and the files it overrides (this opens every
    profile of the chain, so it needs a key; values are still never shown).

    Examples:
      sealedcfg ls config/prod.yaml
      sealedcfg ls config/*.yaml --json
      sealedcfg ls --profile prod --resolved
    """

    if resolved:
        keys = key_source(key_file, passphrase_file)
        origins = {str(f): api.resolved(f, keys) for f in files}
        if as_json:
            emit_json(origins)
            return 0
        for name, entries in origins.items():
            if len(files) > 1:
                print(f"{name}:")
            width = max((len(o.path) for o in entries), default=0)
            for o in entries:
                over = f"  (overrides {', '.join(o.overrides)})" if o.overrides else ""
                print(f"{o.path:<{width}}  {o.source}{over}")
        return 0
    listing = {str(f): api.ls(f) for f in files}
    if as_json:
        sys.stdout.write(ls_json(listing) + "\n")
        return 0
    for name, entries in listing.items():
        lines = [f"{name}:"] if len(files) > 1 else []
        for e in entries:
            if e.kind in ("map", "seq"):
                continue
            extra = " ".join(f"{k}={v}" for k, v in e.meta.items()) if e.meta else ""
            line = f"{e.kind:<7} {(e.type or ''):<9} {e.path}"
            lines.append(f"{line}  {extra}" if extra else line)
        lines += api.recipient_lines(name)
        sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


def ls_json(listing: dict[str, list[api.Entry]]) -> str:
    """`json.dumps(listing, indent=2)` of `ls` entries, byte for byte, one
    f-string per entry: a file can have 250,000 of them (`dumps_json` is generic,
    so ten times slower)."""
    enc = json.encoder.encode_basestring_ascii
    pad = " " * 6

    def entry(e: api.Entry) -> str:
        vtype = "null" if e.type is None else enc(e.type)
        meta = dumps_json(e.meta).replace("\n", "\n" + pad) if e.meta else "{}"
        return (
            f'    {{\n{pad}"path": {enc(e.path)},\n{pad}"kind": {enc(e.kind)},\n'
            f'{pad}"type": {vtype},\n{pad}"line": {e.line},\n{pad}"meta": {meta}\n    }}'
        )

    files = [
        f"  {enc(name)}: " + ("[\n" + ",\n".join(map(entry, rows)) + "\n  ]" if rows else "[]")
        for name, rows in listing.items()
    ]
    return "{\n" + ",\n".join(files) + "\n}" if files else "{}"


def edit(
    files: Files,
    argon2: Argon2 = None,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
) -> int:
    """Open the decrypted file in $VISUAL/$EDITOR; re-seal only what changed.

    The plaintext lives only in a private 0600 file on tmpfs while the editor
    runs.  A missing file that matches a creation rule starts empty.

    Examples:
      sealedcfg edit config/prod.yaml
      EDITOR='code --wait' sealedcfg edit config/staging.yaml
    """

    keys = key_source(key_file, passphrase_file)
    for f in files:
        changed = api.edit_file(f, keys, kdf=_params(argon2))
        print(f"{f}: {'re-sealed' if changed else 'no changes'}", file=sys.stderr)
    return 0


def rebind(
    files: Files,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
) -> int:
    """Bind sealed files that you moved or renamed to their new paths.

    A sealed file is bound to its path from the repository root, so that one
    profile copied over another is refused.  After `git mv`, run this (it needs a
    key and verifies every value first).

    Examples:
      git mv config/prod.yaml config/eu/prod.yaml
      sealedcfg rebind config/eu/prod.yaml
    """

    keys = key_source(key_file, passphrase_file)
    for f in files:
        old, new = api.rebind(f, keys)
        said = f"bound to {new!r} (was {old!r})" if old != new else f"already bound to {new!r}"
        print(f"{f}: {said}", file=sys.stderr)
    return 0


def rotate(
    files: Files,
    rewrap_only: Annotated[
        bool, typer.Option("--rewrap-only", help="Keep the data key; re-wrap the header only.")
    ] = False,
    new_passphrase_file: Annotated[
        Path | None,
        typer.Option("--new-passphrase-file", help="A new passphrase for passphrase recipients."),
    ] = None,
    change_passphrase: Annotated[
        bool, typer.Option("--change-passphrase", help="Prompt for a new passphrase.")
    ] = False,
    argon2: Argon2 = None,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
    as_json: Json = False,
) -> int:
    """A new data key and every value re-sealed (or --rewrap-only: new header only).

    Examples:
      sealedcfg rotate config/*.yaml
      sealedcfg rotate --rewrap-only --change-passphrase config/prod.yaml
    """

    keys = key_source(key_file, passphrase_file)
    new = None
    if new_passphrase_file is not None or change_passphrase:
        new = _new_passphrase(new_passphrase_file, "new passphrase")
    for f in each(files, "rotating"):
        api.rotate(f, keys, rewrap_only=rewrap_only, new_passphrase=new, kdf=_params(argon2))
    if as_json:
        emit_json([{"path": str(f), "rotated": not rewrap_only, "rewrapped": True} for f in files])
    else:
        for f in files:
            print(f"{f}: {'re-wrapped' if rewrap_only else 'rotated'}", file=sys.stderr)
    return 0


@recipients_app.command("list")
@handle_errors
def recipients_list(files: Files, as_json: Json = False) -> int:
    """List the recipients of each file, with their labels (no key needed).

    Examples:
      sealedcfg recipients list config/prod.yaml
    """

    listing = api.recipients_listing(files)
    if as_json:
        emit_json(listing)
        return 0
    print(api.format_recipients(listing), end="")
    return 0


@recipients_app.command("add")
@handle_errors
def recipients_add(
    files: Files,
    add_key_file: Annotated[
        Path | None, typer.Option("--add-key-file", help="Add the key in this file.")
    ] = None,
    add_passphrase: Annotated[
        bool, typer.Option("--add-passphrase", help="Add a passphrase (prompted twice).")
    ] = False,
    new_passphrase_file: Annotated[
        Path | None, typer.Option("--new-passphrase-file", help="The passphrase to add.")
    ] = None,
    age: Annotated[
        str | None,
        typer.Option("--age", metavar="PUBKEY", help="Add an age (age1…) or ssh-ed25519 key."),
    ] = None,
    kms: Annotated[
        str | None,
        typer.Option("--kms", metavar="ARN", help="Add an AWS KMS key (ARN or alias/NAME)."),
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="A name shown to reviewers (alice, ci-prod).")
    ] = None,
    argon2: Argon2 = None,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
) -> int:
    """Let one more key, passphrase or public key open each file.

    Examples:
      sealedcfg recipients add config/prod.yaml --age age1… --label alice
      sealedcfg recipients add config/prod.yaml --add-key-file ci.key
      sealedcfg recipients add config/prod.yaml --add-passphrase
    """

    keys = key_source(key_file, passphrase_file)
    key = api.key_from_file(add_key_file) if add_key_file else None
    passphrase = None
    if add_passphrase or new_passphrase_file is not None:
        passphrase = _new_passphrase(new_passphrase_file, "passphrase to add")
    target = api.recipient_target(age=age, kms=kms, label=label)
    for f in each(files, "adding"):
        api.add_recipient(
            f,
            keys,
            key=key,
            passphrase=passphrase,
            target=target,
            label=label,
            kdf=_params(argon2),
        )
        print(f"{f}: recipient added", file=sys.stderr)
    return 0


@recipients_app.command("remove")
@handle_errors
def recipients_remove(
    files: Files,
    key_id: Annotated[
        str | None,
        typer.Option(
            "--key-id",
            "--recipient",
            help="The recipient to remove: key id, age public key, KMS key or label "
            "(see: recipients list).",
        ),
    ] = None,
    passphrase: Annotated[
        bool, typer.Option("--passphrase", help="Remove the passphrase recipient(s).")
    ] = False,
    no_rotate: Annotated[
        bool,
        typer.Option("--no-rotate", help="Keep the data key (the removed holder still knows it)."),
    ] = False,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
) -> int:
    """Remove a recipient; the data key is rotated, since the removed holder knew it.

    Examples:
      sealedcfg recipients remove config/prod.yaml --key-id 3q2-7wAbCdE
      sealedcfg recipients remove config/prod.yaml --recipient alice
      sealedcfg recipients remove config/prod.yaml --passphrase --no-rotate
    """

    if no_rotate:
        print(
            "sealedcfg: warning: --no-rotate: the removed recipient can still open every "
            "value sealed under the current data key",
            file=sys.stderr,
        )
    keys = key_source(key_file, passphrase_file)
    for f in each(files, "removing"):
        api.remove_recipient(
            f, keys, key_id=key_id, passphrase=passphrase, rotate_key=not no_rotate
        )
        print(f"{f}: recipient removed{'' if no_rotate else ', data key rotated'}", file=sys.stderr)
    return 0


def updatekeys(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Sealed files (default: every file a rule with recipients matches)."),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", "-y", help="Write without asking (CI: only on a reviewed rules file)."
        ),
    ] = False,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
) -> int:
    """Make each file's recipients those its creation rule lists; show, ask, write.

    Recipients the rule drops are removed and the data key rotated; recipients
    it adds get the current data key.  The rules file is part of the
    repository: read every `+` line before you confirm.

    Examples:
      sealedcfg updatekeys
      sealedcfg updatekeys config/prod.yaml --yes
    """

    def ask(question: str) -> bool:
        if not sys.stdin.isatty():
            raise UsageError(
                "updatekeys changes who can open files: confirm on a terminal, or pass --yes",
                hints=(
                    "in CI, pass --yes only where the rules file is reviewed (README, Team setup)",
                ),
            )
        return typer.confirm(question, default=False, err=True)

    changed = api.updatekeys(
        files or [],
        key_source(key_file, passphrase_file),
        confirm=None if yes else ask,
        show=print,
    )
    for c in changed:
        rotated = ", data key rotated" if c.removed else ""
        print(f"{c.path}: recipients updated{rotated}", file=sys.stderr)
    return 0


def register(app: typer.Typer) -> None:
    """Add these commands to the main app (idempotent)."""
    if any(getattr(c, "name", None) == "unset" for c in app.registered_commands):
        return
    for func, name in (
        (init, "init"),
        (set_, "set"),
        (get, "get"),
        (unset, "unset"),
        (ls, "ls"),
        (edit, "edit"),
        (rotate, "rotate"),
        (rebind, "rebind"),
        (updatekeys, "updatekeys"),
    ):
        app.command(name)(handle_errors(func))
    app.add_typer(recipients_app, name="recipients")
