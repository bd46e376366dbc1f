"""`sealedcfg check`: the pre-commit hook entry.  Exit 0 clean, 1 findings, 2 error."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sealedcfg import __version__

if TYPE_CHECKING:
    from sealedcfg.ops import check
from sealedcfg.cli.util import error, handle_errors
from sealedcfg.errors import SealedcfgError

FINDINGS, ERROR = 1, 2


def _sarif(report: check.Report) -> dict[str, object]:
    rule_ids = sorted({f.rule_id for f in report.findings})
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "sealedcfg",
                        "version": __version__,
                        "rules": [{"id": r, "name": r} for r in rule_ids],
                    }
                },
                # A skipped file is never silent: SARIF's place for what the
                # tool could not do is a notification of the invocation.
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": [
                            {
                                "level": "warning",
                                "descriptor": {"id": "skipped"},
                                "message": {"text": f"{s.path}: skipped ({s.reason})"},
                                "locations": [
                                    {"physicalLocation": {"artifactLocation": {"uri": s.path}}}
                                ],
                            }
                            for s in report.skipped
                        ],
                    }
                ],
                "results": [
                    {
                        "ruleId": f.rule_id,
                        "level": "error",
                        "message": {"text": f.message},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": f.path},
                                    "region": {"startLine": f.line, "startColumn": f.col},
                                }
                            }
                        ],
                        "partialFingerprints": {"sealedcfg/v1": f.fingerprint},
                    }
                    for f in report.findings
                ],
            }
        ],
    }


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
    from sealedcfg import scan
    from sealedcfg.ops import check

    if import_gitleaks is not None:
        return _import_gitleaks(import_gitleaks, bool(files or staged or all_files))
    try:
        if fmt not in ("text", "json", "sarif"):
            raise SealedcfgError(f"unknown format {fmt!r} (text, json or sarif)")
        if sum((bool(files), staged, all_files)) != 1:
            raise SealedcfgError("give files, or --staged, or --all (exactly one)")
        cwd = Path.cwd()
        ruleset = check.load_rules(cwd)
        if staged:
            report = check.check_staged(cwd, ruleset)
        elif all_files:
            report = check.check_all(cwd, ruleset)
        else:
            report = check.check_files(files or [], ruleset)
        check.apply_allowlist(report, cwd)
    except SealedcfgError as exc:
        error(exc.message, exc.hints)
        return ERROR
    if fmt == "json":
        print(
            json.dumps(
                {
                    "findings": [{**f.__dict__, "fix": scan.fix_hint(f)} for f in report.findings],
                    "skipped": [s.__dict__ for s in report.skipped],
                    "scanned": report.scanned,
                },
                indent=2,
            )
        )
    elif fmt == "sarif":
        print(json.dumps(_sarif(report), indent=2))
    else:
        for f in report.findings:
            print(f"{f.path}:{f.line}:{f.col}: {f.rule_id}: {f.message}")
            print(f"    fix: {scan.fix_hint(f)}")
    for s in report.skipped:
        print(f"sealedcfg: note: {s.path}: skipped ({s.reason})", file=sys.stderr)
    print(
        f"sealedcfg check: {report.scanned} file(s) scanned ({report.profiles} sealed "
        f"profile(s)), {len(report.findings)} finding(s), {len(report.skipped)} skipped",
        file=sys.stderr,
    )
    if write_allow and report.findings:
        allow = Path(scan.ALLOW_FILE)
        with allow.open("a", encoding="utf-8") as fh:
            fh.writelines(scan.allow_line(f) + "\n" for f in report.findings)
        print(f"sealedcfg: added {len(report.findings)} fingerprint(s) to {allow}", file=sys.stderr)
    return FINDINGS if report.findings else 0


def _import_gitleaks(path: Path, other: bool) -> int:
    from sealedcfg.scan import gitleaks_import

    if other:
        error("--import-gitleaks takes no files, --staged or --all")
        return ERROR
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        error(f"{path}: cannot read ({type(exc).__name__})")
        return ERROR
    try:
        section, notes = gitleaks_import.convert(text, str(path))
    except SealedcfgError as exc:
        error(exc.message, exc.hints)
        return ERROR
    print(gitleaks_import.to_yaml(section), end="")
    for note in notes:
        print(f"sealedcfg: note: {note}", file=sys.stderr)
    rules, allow = len(section.get("rules", [])), len(section.get("allowlist", []))
    print(
        f"sealedcfg: converted {rules} rule(s) and {allow} allowlist(s); "
        "add the section to .sealedcfg.yaml",
        file=sys.stderr,
    )
    return 0


def register(app: typer.Typer) -> None:
    if not any(getattr(c, "name", None) == "check" for c in app.registered_commands):
        app.command("check")(handle_errors(check_command))
