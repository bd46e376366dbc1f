"""`sealedcfg check`: the pre-commit hook entry.  Exit 0 clean, 1 findings, 2 error."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sealedcfg import __version__, api
from sealedcfg.cli.util import error, handle_errors
from sealedcfg.errors import SealedcfgError

FINDINGS, ERROR = 1, 2


def check_command(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Files to check (exactly these).", show_default=False),
    ] = None,
    staged: Annotated[
        bool, typer.Option("--staged", help="Check the staged (index) version of changed files.")
    ] = False,
    all_files: Annotated[
        bool, typer.Option("--all", help="Check every tracked file of the repository.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="text, json or sarif.")] = "text",
    write_allow: Annotated[
        bool,
        typer.Option("--write-allow", help="Append every finding to .sealedcfg-allow (accept)."),
    ] = False,
    import_gitleaks: Annotated[
        Path | None,
        typer.Option(
            "--import-gitleaks",
            help="Print a .gitleaks.toml's custom rules and allowlists as a `scan:` section.",
            show_default=False,
        ),
    ] = None,
) -> int:
    """Refuse plaintext secrets: unsealed values in sealed profiles, keys pasted anywhere.

    Needs no key.  Output: `path:line:col: rule-id: message`, secrets redacted.
    Accept a finding with an inline `sealedcfg: allow` comment (or
    `sealedcfg: allow-next-line` on the line above), or its fingerprint in
    .sealedcfg-allow.  Exit 0 clean, 1 findings, 2 error.

    Examples:
      sealedcfg check config/prod.yaml src/settings.py
      sealedcfg check --staged          # as a plain git pre-commit hook
      sealedcfg check --all --format sarif > sealedcfg.sarif
      sealedcfg check --import-gitleaks .gitleaks.toml >> .sealedcfg.yaml
    """
    if import_gitleaks is not None:
        return _import_gitleaks(import_gitleaks, bool(files or staged or all_files))
    try:
        if fmt not in api.CHECK_FORMATS:
            raise SealedcfgError(f"unknown format {fmt!r} ({', '.join(api.CHECK_FORMATS)})")
        report = api.check(files or [], staged=staged, all_files=all_files, cwd=Path.cwd())
        sys.stdout.write(report.render(fmt, __version__))
        for s in report.skipped:
            print(f"sealedcfg: note: {s.path}: skipped ({s.reason})", file=sys.stderr)
        for s in report.notes:
            print(f"sealedcfg: note: {s.path}: {s.reason}", file=sys.stderr)
        print(report.summary(), file=sys.stderr)
        if write_allow and report.findings:
            allow = report.write_allow(Path.cwd())
            print(
                f"sealedcfg: added {len(report.findings)} fingerprint(s) to {allow}",
                file=sys.stderr,
            )
            if report.not_shown:
                print(
                    "sealedcfg: note: findings not shown were not added; run again to list them",
                    file=sys.stderr,
                )
    except SealedcfgError as exc:
        error(exc.message, exc.hints)
        return ERROR
    return FINDINGS if report.total else 0


def _import_gitleaks(path: Path, other: bool) -> int:
    if other:
        error("--import-gitleaks takes no files, --staged or --all")
        return ERROR
    try:
        done = api.import_gitleaks(path)
    except SealedcfgError as exc:
        error(exc.message, exc.hints)
        return ERROR
    print(done.section, end="")
    for note in done.notes:
        print(f"sealedcfg: note: {note}", file=sys.stderr)
    print(
        f"sealedcfg: converted {done.rules} rule(s) and {done.allowlists} allowlist(s); "
        "add the section to .sealedcfg.yaml",
        file=sys.stderr,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """The hook as a function: `sealedcfg check ARGV...`, returning the exit code."""
    app = typer.Typer(add_completion=False)
    register(app)
    app.command("_")(lambda: None)  # two commands: typer keeps `check` as a sub-command
    try:
        app(args=["check", *(sys.argv[1:] if argv is None else argv)], prog_name="sealedcfg")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else ERROR
    return 0


def register(app: typer.Typer) -> None:
    if not any(getattr(c, "name", None) == "check" for c in app.registered_commands):
        app.command("check")(handle_errors(check_command))
