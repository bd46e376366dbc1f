"""The command line: options in, one api call, errors out as exit codes.

No logic lives here; errors are mapped in `cliutil.handle_errors`.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from sealedcfg import __version__, api
from sealedcfg.cli import stdout
from sealedcfg.cli.util import (
    Files,
    Json,
    KeyFile,
    PassFile,
    each,
    handle_errors,
    key_source,
    output_failed,
    report_interrupt,
    safe_streams,
)
from sealedcfg.errors import ExitCode, InputError


def _version(value: bool) -> None:
    if value:
        print(f"sealedcfg {__version__}")
        raise typer.Exit(0)


def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
    audit_required: Annotated[
        bool,
        typer.Option(
            "--audit-required",
            envvar="SEALEDCFG_AUDIT_REQUIRED",
            help="Refuse any operation that cannot be written to the audit log.",
        ),
    ] = False,
) -> None:
    """Seal secret values of YAML profiles in place; decrypt them at deploy time.

    Keys come from --key-file, SEALEDCFG_KEY / SEALEDCFG_KEY_FILE (a base64 256-bit
    key) or a passphrase (--passphrase-file, SEALEDCFG_PASSPHRASE /
    SEALEDCFG_PASSPHRASE_FILE, or a prompt on a terminal).  Wherever a command
    takes FILE, --profile NAME (or SEALEDCFG_PROFILE) names it through the rules
    file's profiles: section.
    """
    api.audit_set_required(audit_required)


@handle_errors
def keygen(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the key to this file (0600); to DIR/<key id>.key if a directory "
            "or the key directory.",
        ),
    ] = None,
    age: Annotated[
        bool,
        typer.Option(
            "--age",
            help="An age identity instead: the public key (age1…) is what teammates add.",
        ),
    ] = False,
) -> int:
    """Print a new random 256-bit key (base64), or write it to a 0600 file; its id
    goes to stderr.  With --age, a new age identity (default file:
    ~/.config/sealedcfg/age/keys.txt), its public key on stdout.

    A key written into your key directory (~/.config/sealedcfg/keys) is named by
    its id and found there by it; a key file inside a git working tree is refused.

    Examples:
      sealedcfg keygen -o ~/.config/sealedcfg/keys/
      export SEALEDCFG_KEY="$(sealedcfg keygen)"
      sealedcfg keygen --age
    """

    if age:
        text, public = api.age_keygen()
        written = api.write_age_identity(output or api.default_age_identity_file(), text)
        print(f"wrote a new age identity to {written}", file=sys.stderr)
        print(public)
        return 0
    key = api.keygen()
    kid = api.key_id_of(key)
    if output is None:
        print(key)
        print(f"key id: {kid}", file=sys.stderr)
        return 0
    written = api.write_key_file(output, key)
    print(f"wrote key {kid} to {written}", file=sys.stderr)
    return 0


@handle_errors
def encrypt(
    files: Files,
    plain: Annotated[
        str | None,
        typer.Option(
            "--plain",
            metavar="REGEX",
            help="Dotted paths matching this regex stay plaintext (recorded in the header).",
        ),
    ] = None,
    argon2: Annotated[
        str | None,
        typer.Option(
            "--argon2",
            metavar="m=KiB,t=N,p=N",
            envvar="SEALEDCFG_ARGON2",
            help="Argon2id parameters for a new passphrase recipient (default m=65536,t=3,p=4).",
        ),
    ] = None,
    adopt: Annotated[
        bool,
        typer.Option(
            "--adopt",
            help="On a sealed file, seal new plaintext values you added (listed), "
            "instead of refusing them.",
        ),
    ] = False,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
    as_json: Json = False,
) -> int:
    """Seal every plaintext value of each FILE in place.

    Keys and comments stay readable; each value becomes one token.  A sealed
    file with plaintext values at new paths is refused, naming them (anyone who
    can write to the repository could have put them there); --adopt seals them
    when you added them yourself.

    Examples:
      sealedcfg encrypt config/prod.yaml --plain '(^|\\.)(host|port)$'
      SEALEDCFG_KEY_FILE=prod.key sealedcfg encrypt config/*.yaml
      sealedcfg encrypt --adopt config/prod.yaml   # after adding values in a text editor
    """

    keys = key_source(key_file, passphrase_file)
    params = api.Argon2Params.parse(argon2) if argon2 else None
    results = [
        api.encrypt_file(f, keys, plain=plain, kdf=params, adopt=adopt)
        for f in each(files, "sealing")
    ]
    if as_json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        for r in results:
            what = f"sealed {r.sealed} value(s)" if r.written else "nothing new to seal"
            if r.adopted:
                what += f" (adopted: {', '.join(r.adopted)})"
            print(f"{r.path}: {what}", file=sys.stderr)
    return 0


@handle_errors
def decrypt(
    file: Annotated[Path, typer.Argument(help="A sealed file, or - for stdin.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the plaintext here.")
    ] = None,
    in_place: Annotated[
        bool, typer.Option("--in-place", "-i", help="Replace FILE with its plaintext.")
    ] = False,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
) -> int:
    """Write the original plaintext of FILE (byte for byte) to stdout.

    Examples:
      sealedcfg decrypt config/prod.yaml > /run/secrets/prod.yaml
      sealedcfg decrypt config/prod.yaml -o prod.plain.yaml
    """

    keys = key_source(key_file, passphrase_file)
    if in_place and output is not None:
        raise InputError("--in-place and --output cannot be used together")
    if str(file) == "-":
        if in_place:
            raise InputError("--in-place needs a file, not stdin")
        plain = api.decrypt_bytes(sys.stdin.buffer.read(), keys)
        if output is not None:
            api.write_plain(output, plain)
            return 0
    else:
        plain = api.decrypt_file(file, keys, output=output, in_place=in_place)
    if output is None and not in_place:
        sys.stdout.buffer.write(plain)
        sys.stdout.buffer.flush()
    return 0


@handle_errors
def verify(
    files: Files,
    no_decrypt: Annotated[
        bool, typer.Option("--no-decrypt", help="Check structure only; needs no key.")
    ] = False,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
    as_json: Json = False,
) -> int:
    """Check that each FILE is intact: every value opens, MAC and key commitment hold.

    Exit 0 only when every file passes, 1 when any fails.

    Examples:
      sealedcfg verify config/*.yaml
      sealedcfg verify --no-decrypt config/*.yaml    # in CI without a key
    """

    keys = None if no_decrypt else key_source(key_file, passphrase_file)
    results = [api.verify_file(f, keys, decrypt=not no_decrypt) for f in each(files, "verifying")]
    if as_json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        for r in results:
            print(f"{r.path}: ok" if r.ok else f"{r.path}: FAILED")
            for problem in r.problems:
                print(f"  {problem}")
    return 0 if all(r.ok for r in results) else int(ExitCode.FINDINGS)


_CORE: dict[str, Callable[..., Any]] = {
    "keygen": keygen,
    "encrypt": encrypt,
    "decrypt": decrypt,
    "verify": verify,
}
_GROUPS = {
    "edit": "sealedcfg.cli.edit",
    "git": "sealedcfg.cli.git",
    "check": "sealedcfg.cli.check",
    "run": "sealedcfg.cli.run",
    "lifecycle": "sealedcfg.cli.lifecycle",
    "importing": "sealedcfg.cli.importing",
}
_GROUP_OF = {
    **dict.fromkeys(
        (
            "init",
            "set",
            "get",
            "unset",
            "ls",
            "edit",
            "rotate",
            "rebind",
            "recipients",
            "updatekeys",
        ),
        "edit",
    ),
    **dict.fromkeys(("git", "diff", "log"), "git"),
    "check": "check",
    "import": "importing",
    **dict.fromkeys(("exec", "export"), "run"),
    **dict.fromkeys(
        (
            "meta",
            "status",
            "history",
            "rollback",
            "rotate-secret",
            "providers",
            "approve",
            "audit",
        ),
        "lifecycle",
    ),
}


def make_app(group: str | None = None) -> typer.Typer:
    """The app with the core commands and one command group, or (None) all of them."""
    from sealedcfg.cli.profiles import ProfileGroup

    app = typer.Typer(
        cls=ProfileGroup,
        name="sealedcfg",
        help="Git-friendly encrypted YAML config: every secret value sealed in place.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        add_completion=True,
    )
    app.callback()(_main)
    for name, func in _CORE.items():
        app.command(name)(func)
    for key, module in _GROUPS.items():
        if group is None or group == key:
            importlib.import_module(module).register(app)
    return app


def __getattr__(name: str) -> Any:
    """`sealedcfg.cli.main.app`, the whole app, built on first use (tests, docs)."""
    if name == "app":
        return make_app()
    raise AttributeError(name)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI in this process; return the exit code.

    typer builds every registered command before dispatching, which costs
    start-up time on each run; so only the group the command belongs to is
    registered (all of them for --help, completion or an unknown word).
    """
    args = sys.argv[1:] if argv is None else argv
    first = next((a for a in args if not a.startswith("-")), None)
    group: str | None = None
    if first in _CORE and not os.environ.get("_SEALEDCFG_COMPLETE"):
        group = "core"
    elif first in _GROUP_OF and not os.environ.get("_SEALEDCFG_COMPLETE"):
        group = _GROUP_OF[first]
    stdout.install()
    safe_streams()
    code = 0
    try:
        try:
            make_app(group)(args=args, prog_name="sealedcfg", standalone_mode=True)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        sys.stdout.flush()  # what is still buffered, while its failure can be reported
    except stdout.OutputError as exc:  # typer's own output (help, usage, completion)
        return output_failed(exc)
    return code


__all__ = ["make_app", "report_interrupt", "run"]  # and `app`, built lazily
