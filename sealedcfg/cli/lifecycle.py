"""Key lifecycle commands: meta, status, history, rollback, rotate-secret, providers,
approve, audit.  Options in, one lifecycle call, errors out (cliutil.handle_errors)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sealedcfg import api
from sealedcfg.cli.util import (
    Files,
    Json,
    KeyFile,
    PassFile,
    emit_json,
    handle_errors,
    key_source,
)
from sealedcfg.errors import ExitCode, InputError

if TYPE_CHECKING:
    from sealedcfg.api import StatusRow as Row

File = Annotated[Path, typer.Argument(help="A sealed profile.", show_default=False)]
DottedPath = Annotated[str, typer.Argument(help="Dotted path, e.g. stripe.api_key.")]
Provider = Annotated[
    str | None, typer.Option("--provider", help="Who issued the secret (e.g. stripe).")
]
Expires = Annotated[
    str | None,
    typer.Option("--expires", metavar="DATE|DURATION", help="2027-03-01, or 90d / 12w / 6m / 1y."),
]
Note = Annotated[
    str | None,
    typer.Option("--note", help="A short note: letters, digits, _ . - (up to 64)."),
]
MetaItems = Annotated[
    list[str] | None,
    typer.Option("--meta", metavar="NAME=VALUE", help="Any metadata item; NAME= removes it."),
]

_COLOURS = {"expired": "31", "expiring": "33", "ok": "32"}


def _colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def meta(
    file: File,
    path: DottedPath,
    provider: Provider = None,
    expires: Expires = None,
    note: Note = None,
    items: MetaItems = None,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
    as_json: Json = False,
) -> int:
    """Show a value's metadata, or change it (the value is re-sealed: needs the key).

    Without options it prints the metadata and needs no key.

    Examples:
      sealedcfg meta config/prod.yaml stripe.api_key
      sealedcfg meta config/prod.yaml stripe.api_key --expires 90d --provider stripe
      sealedcfg meta config/prod.yaml stripe.api_key --meta note=
    """

    changes = api.meta_changes(provider, expires, note, items)
    if changes:
        result = api.change_meta(file, path, changes, key_source(key_file, passphrase_file))
        shown = result.meta
        verb = "metadata updated" if result.changed else "metadata unchanged"
        print(f"{file}: {path} {verb}", file=sys.stderr)
    else:
        shown = api.versions(file, path)[0].meta
    if as_json:
        emit_json(shown)
    else:
        for k, v in shown.items():
            print(f"{k}={v}")
    return 0


def status(
    files: Files,
    as_json: Json = False,
    summary: Annotated[bool, typer.Option("--summary", help="One summary line only.")] = False,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            metavar="expired|expiring[:14d]",
            help="Exit 1 if any value is expired, or expires within the window.",
        ),
    ] = None,
    warn: Annotated[
        str, typer.Option("--warn", metavar="DURATION", help="What counts as expiring.")
    ] = "30d",
) -> int:
    """Provider, age, expiry and state of every sealed value, most urgent first; no key.

    States: expired, expiring (within --warn, default 30d), ok, no expiry.
    SEALEDCFG_TODAY=2027-01-01 evaluates as of another day.

    Examples:
      sealedcfg status config/*.yaml
      sealedcfg status config/*.yaml --fail-on expiring:14d --summary   # scheduled CI
      sealedcfg status config/prod.yaml --json | jq '.[] | select(.state != "ok")'
    """

    window = api.parse_duration(warn, "--warn")
    rule = api.parse_fail_on(fail_on) if fail_on else None
    rows = api.status(list(files), warn=window)
    if as_json:
        emit_json(rows)
    elif summary:
        print(api.status_summary(rows, window))
    else:
        _table(rows)
        print(api.status_summary(rows, window), file=sys.stderr)
    bad = api.status_failing(rows, rule, window) if rule else []
    if bad and not as_json:
        sys.stderr.write("".join(f"sealedcfg: {r.file}: {r.path}: {r.state}\n" for r in bad))
    return int(ExitCode.FINDINGS) if bad else 0


def _table(rows: list[Row]) -> None:
    colour = _colour()
    header = ("STATE", "EXPIRES", "LEFT", "AGE", "PROVIDER", "FILE", "PATH")
    lines = [header]
    for r in rows:
        lines.append(
            (
                r.state,
                r.expires or "-",
                "-" if r.days_left is None else f"{r.days_left}d",
                "-" if r.age_days is None else f"{r.age_days}d",
                r.provider or "-",
                r.file,
                r.path,
            )
        )
    widths = [max(map(len, column)) for column in list(zip(*lines, strict=True))[:-1]]
    out = []
    for line in lines:
        cells = [c.ljust(w) for c, w in zip(line, widths, strict=False)]
        code = _COLOURS.get(line[0]) if colour else None
        if code:
            cells[0] = f"\x1b[{code}m{cells[0]}\x1b[0m"
        cells.append(line[-1])
        out.append("  ".join(cells))
    sys.stdout.write("\n".join(out) + "\n")


def history(file: File, path: DottedPath, as_json: Json = False) -> int:
    """List the current and kept versions of a value: metadata only, no key needed.

    Examples:
      sealedcfg history config/prod.yaml stripe.api_key
    """

    found = api.versions(file, path)
    if as_json:
        emit_json(found)
        return 0
    for v in found:
        label = "current" if v.version == 0 else f"-{v.version}"
        items = " ".join(f"{k}={val}" for k, val in v.meta.items())
        print(f"{label:<8} line {v.line:<5} {items}".rstrip())
    return 0


def rollback(
    file: File, path: DottedPath, key_file: KeyFile = None, passphrase_file: PassFile = None
) -> int:
    """Restore the previous value and its metadata; the current one is kept instead,
    so a second rollback undoes the first.

    Examples:
      sealedcfg rollback config/prod.yaml stripe.api_key
    """

    api.rollback(file, path, key_source(key_file, passphrase_file))
    print(f"{file}: {path} rolled back (run again to undo)", file=sys.stderr)
    return 0


def rotate_secret(
    args: Annotated[
        list[str],
        typer.Argument(metavar="FILE PATH | FILE...", help="A file and a path, or files."),
    ],
    via: Annotated[
        str | None, typer.Option("--via", help="The provider (default: the value's provider).")
    ] = None,
    expiring: Annotated[
        str | None,
        typer.Option("--expiring", metavar="DURATION", help="Every value expiring within it."),
    ] = None,
    options: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", metavar="NAME=VALUE", help="Passed to the provider."),
    ] = None,
    expires: Expires = None,
    keep: Annotated[int, typer.Option("--keep", help="Previous values kept as history.")] = 1,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
    as_json: Json = False,
) -> int:
    """Mint a new secret with a provider, seal it, keep the old one as history, then revoke
    the old secret and run the on_rotate callbacks.

    A provider that fails, hangs or prints nothing leaves the file byte-identical.
    With --expiring, values that name no provider (and no --via) are skipped: exit 1.
    Commands declared in .sealedcfg.yaml run only once approved (sealedcfg approve).

    Examples:
      sealedcfg rotate-secret config/prod.yaml stripe.api_key
      sealedcfg rotate-secret config/prod.yaml app.session_key --via random -o length=64
      sealedcfg rotate-secret config/*.yaml --expiring 14d
    """

    opts = api.provider_options(options)
    keys = key_source(key_file, passphrase_file)
    targets, skipped = api.rotation_targets(args, expiring, via)
    done = []
    for file, path in targets:
        result = api.rotate_secret(
            file, path, keys, via=via, options=opts, expires=expires, keep=keep
        )
        done.append(result)
        if not as_json:
            until = result.meta.get(api.EXPIRES)
            print(
                f"{file}: {path} rotated via {result.provider}"
                + (f", expires {until}" if until else "")
                + (", old secret revoked" if result.revoked else ""),
                file=sys.stderr,
            )
    if as_json:
        emit_json(done)
    elif not targets and not skipped:
        print("nothing expiring", file=sys.stderr)
    for file, path in skipped:
        print(
            f"sealedcfg: {file}: {path} skipped: it names no provider (use --via)", file=sys.stderr
        )
    return int(ExitCode.FINDINGS) if skipped else 0


def providers(as_json: Json = False) -> int:
    """List the providers rotate-secret can use and where each comes from.

    Built-ins (random, manual), plug-ins (entry-point group sealedcfg.providers)
    and command providers declared in the nearest .sealedcfg.yaml.

    Examples:
      sealedcfg providers
      sealedcfg providers --json
    """

    found = api.providers_available()
    if as_json:
        emit_json(found)
        return 0
    width = max(len(a.name) for a in found)
    for a in found:
        print(f"{a.name:<{width}}  {a.source}" + ("  (revokes)" if a.can_revoke else ""))
    return 0


def approve(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve without asking.")] = False,
) -> int:
    """Review and approve what the nearest .sealedcfg.yaml asks you to trust.

    Providers' mint/revoke commands and on_rotate callbacks never run until
    approved; an approval pins the command and the contents of every script it
    names, so any change needs a new approval.  A creation rule's plaintext
    pattern (values of a new file it matches are never sealed) is used only once
    approved too.  Exit 1 if some stay unapproved.

    Examples:
      sealedcfg approve          # shows each new or changed command, asks
      sealedcfg approve --yes
    """
    pending = api.approval_review()
    for line in pending.lines():
        print(line)
    if not pending.pending:
        return 0
    if not yes:
        if not sys.stdin.isatty():
            print("sealedcfg: not approved (run on a terminal, or with --yes)", file=sys.stderr)
            return int(ExitCode.FINDINGS)
        if not typer.confirm(
            f"approve {pending.pending} item(s) from {pending.rules_file}?", err=True
        ):
            return int(ExitCode.FINDINGS)
    api.approve_review(pending)
    print(f"approved {pending.pending} item(s)", file=sys.stderr)
    return 0


def audit(
    verify: Annotated[
        bool, typer.Option("--verify", help="Check the hash chain; exit 1 if broken.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="DATE|DURATION", help="2026-11-01, or 7d for a week."),
    ] = None,
    path: Annotated[str | None, typer.Option("--path", help="Only this dotted path.")] = None,
    op: Annotated[str | None, typer.Option("--op", help="Only this operation, e.g. get.")] = None,
    as_json: Json = False,
) -> int:
    """Read the audit trail of operations that revealed or changed secrets (never values).

    The log is $XDG_STATE_HOME/sealedcfg/audit.log, or SEALEDCFG_AUDIT_LOG
    (off to disable).  --verify checks that no line was edited or removed
    (except at the end: keep the printed head hash to check that).

    Examples:
      sealedcfg audit --since 7d --path stripe.api_key
      sealedcfg audit --op rotate-secret --json
      sealedcfg audit --verify
    """

    where = api.audit_log_path()
    if where is None:
        raise InputError(f"auditing is off ({api.AUDIT_LOG_ENV}=off)")
    if verify:
        result = api.audit_verify(where)
        if as_json:
            emit_json(result)
        elif result.ok:
            print(f"{where}: {result.lines} line(s), chain intact, head {result.head}")
        if not result.ok:
            print(f"sealedcfg: {where}: {result.problem}", file=sys.stderr)
            return int(ExitCode.FINDINGS)
        return 0
    first = None
    if since is not None:
        try:
            first = api.today() - api.parse_duration(since, "--since")
        except InputError:
            first = api.parse_date(since, "--since")
    items = api.audit_read(where, since=first, dotted=path, op=op)
    if as_json:
        emit_json(items)
        return 0
    for item in items:
        files = ",".join(item.get("files", []))
        paths = ",".join(item.get("paths", []))
        print(
            f"{item.get('time')}  {item.get('user')}@{item.get('host')}  {item.get('op')}  "
            f"{files}  {paths}  {item.get('outcome')}"
        )
    return 0


def register(app: typer.Typer) -> None:
    names = {getattr(c, "name", None) for c in app.registered_commands}
    if "status" in names:
        return
    for func, name in (
        (meta, "meta"),
        (status, "status"),
        (history, "history"),
        (rollback, "rollback"),
        (rotate_secret, "rotate-secret"),
        (providers, "providers"),
        (approve, "approve"),
        (audit, "audit"),
    ):
        app.command(name)(handle_errors(func))


__all__ = ["InputError", "register"]
