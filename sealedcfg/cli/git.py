"""Git commands: `git setup|textconv|merge-driver|remac`, `diff` and `log`.

Thin like cli.py: options in, one library call, errors mapped by handle_errors.
`register(app)` adds them to the main app; calling it twice adds nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from sealedcfg import api
from sealedcfg.cli.util import Json, KeyFile, PassFile, emit_json, handle_errors, key_source
from sealedcfg.errors import ExitCode, InputError

_MARK = "_sealedcfg_git_registered"

git_app = typer.Typer(
    name="git",
    help="Git integration: textconv for git diff, a per-key merge driver, setup.",
    no_args_is_help=True,
)


def _quiet_keys(key_file: Path | None = None) -> api.KeySource:
    """Keys from options and env, never a prompt: git runs these without a user."""
    return api.KeySource(key_file=str(key_file) if key_file else None, prompt=api.no_prompt)


@git_app.command("setup")
@handle_errors
def setup(
    pattern: Annotated[
        list[str] | None,
        typer.Option(
            "--pattern",
            "-p",
            metavar="GLOB",
            help="One more .gitattributes pattern (repeatable), written unquoted: "
            "sealedcfg quotes it for git when it holds a space or a quote.",
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Only report what is missing or out of date; exit 1 if any."),
    ] = False,
) -> int:
    """Configure this clone: textconv and merge driver in git config, .gitattributes lines.

    git config gets this Python's absolute path (`'/path/to/python' -P -m
    sealedcfg ...`), so the drivers work whatever PATH git runs with; run setup
    again after moving or rebuilding the venv (--check says so).
    .gitattributes gets the creation rules' globs (config/*.yaml and
    config/*.yml without a rules file), every --pattern, and the exact path of
    each tracked sealed file git would not otherwise route to the drivers.
    Running it twice changes nothing.

    Examples:
      sealedcfg git setup
      sealedcfg git setup --pattern 'deploy/**/*.yaml'
      sealedcfg git setup --check    # in CI: exit 1 if not configured
    """
    report = api.git_setup(Path.cwd(), pattern or None, check=check)
    for item in report.changed:
        print(f"{'missing' if check else 'fixed'}: {item}", file=sys.stderr)
    for item in report.notes:
        print(f"note: {item}", file=sys.stderr)
    for item in report.problems:
        print(f"problem: {item}", file=sys.stderr)
    if not report.changed and not report.problems:
        print("git integration: up to date", file=sys.stderr)
    failed = report.problems or (check and report.changed)
    return int(ExitCode.FINDINGS) if failed else 0


@git_app.command("textconv")
@handle_errors
def textconv(
    file: Annotated[Path, typer.Argument(help="The file git wants shown.")],
    key_file: KeyFile = None,
) -> int:
    """Print FILE decrypted for `git diff`; as it is when no key is available.

    Then the header's facts as `# ` comment lines (format version, each
    recipient, the plaintext rule, the file id), so a diff shows recipients
    added or removed and rule changes, with or without a key.  Git runs this
    (diff.sealedcfg.textconv); it never prompts and never fails for lack of a
    key.  Plaintext goes to stdout only.

    Examples:
      git config diff.sealedcfg.textconv 'sealedcfg git textconv'
      SEALEDCFG_KEY_FILE=prod.key git diff config/prod.yaml
    """
    out = api.textconv_file(file, _quiet_keys(key_file))
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()
    return 0


@git_app.command("merge-driver")
@handle_errors
def merge_driver(
    base: Annotated[Path, typer.Argument(help="%O: the common ancestor.")],
    ours: Annotated[Path, typer.Argument(help="%A: ours; the result is written here.")],
    theirs: Annotated[Path, typer.Argument(help="%B: theirs.")],
    pathname: Annotated[str | None, typer.Argument(help="%P: the path in the tree.")] = None,
    key_file: KeyFile = None,
) -> int:
    """Merge a sealed file per key; exit 1 on a conflict, leaving OURS untouched.

    Different keys changed on each side merge cleanly (adjacent lines too); the
    MAC is recomputed.  Needs a key (SEALEDCFG_KEY, SEALEDCFG_KEY_FILE, ...).

    Examples:
      git config merge.sealedcfg.driver 'sealedcfg git merge-driver %O %A %B %P'
      echo 'config/*.yaml merge=sealedcfg' >> .gitattributes
    """
    api.merge_driver(base, ours, theirs, pathname, _quiet_keys(key_file))
    print(f"sealedcfg: merged {pathname or ours} per key", file=sys.stderr)
    return 0


@git_app.command("remac")
@handle_errors
def remac(
    file: Annotated[Path, typer.Argument(help="A sealed file git left conflicted.")],
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
) -> int:
    """Finish a merge made without the merge driver: only the header conflicts.

    Branches that changed different keys merge line by line, but each side's
    `mac:` line (and recipients, if one side changed them) conflict.  remac
    authenticates the base, ours and theirs versions git recorded for FILE
    (with your key), merges them per key like the merge driver, and writes
    that merge's header under the work-tree text, only if every value there
    then opens and the MAC holds.  Anything else (a conflict on a value, a
    side that does not open, text that is not the merge) is refused, nothing
    written; exit 1 for a conflict.  Then `git add FILE`.

    Examples:
      git merge feature          # CONFLICT (content): Merge conflict in config/prod.yaml
      sealedcfg git remac config/prod.yaml && git add config/prod.yaml
    """
    result = api.git_remac(file, key_source(key_file, passphrase_file))
    done = "merged header written" if result.changed else "already the merge"
    print(f"{result.name}: {done}; every value verified", file=sys.stderr)
    print(f"hint: git add {result.name}", file=sys.stderr)
    return 0


def diff(
    files: Annotated[list[Path], typer.Argument(help="FILE, or OLD NEW.", show_default=False)],
    rev: Annotated[
        str | None, typer.Option("--rev", "-r", help="Compare FILE with it at REV (HEAD).")
    ] = None,
    show: Annotated[bool, typer.Option("--show", help="Show values (needs a key).")] = False,
    key_file: KeyFile = None,
    passphrase_file: PassFile = None,
    as_json: Json = False,
) -> int:
    """Key-level diff: `+ path` added, `- path` removed, `~ path` changed; exit 1 if any.

    With one FILE, compare it with its committed version at REV (default HEAD).
    Without a key, a sealed value counts as changed when its token did; with a
    key, only real value changes count.  Values are masked unless --show.

    Examples:
      sealedcfg diff config/prod.yaml
      sealedcfg diff config/prod.yaml --rev main --json
      sealedcfg diff old.yaml new.yaml --show
    """
    changes = api.diff_files(files, rev, key_source(key_file, passphrase_file), show=show)
    if as_json:
        emit_json([c.as_dict() for c in changes])
    else:
        sys.stdout.write("".join(change.line() + "\n" for change in changes))
    return int(ExitCode.FINDINGS) if changes else 0


def log(
    file: Annotated[Path, typer.Argument(help="A tracked profile file.")],
    path: Annotated[str | None, typer.Argument(help="Only this dotted path (and below).")] = None,
    as_json: Json = False,
) -> int:
    """Per-key history from git: for each commit, keys added (+), changed (~), removed (-).

    Header changes come first as `!` events: recipient added or removed, plain
    rule or format version changed, header removed; a data-key rotation is one
    event, not every value changed.  Needs no key: versions are compared by
    their tokens.

    Examples:
      sealedcfg log config/prod.yaml
      sealedcfg log config/prod.yaml stripe.api_key --json
    """
    if not file.exists() and not file.parent.is_dir():
        raise InputError(f"{file}: no such file")
    entries = api.key_log(file, path)
    if as_json:
        print(json.dumps([e.as_dict() for e in entries], indent=2))
    else:
        print("\n".join(line for e in entries for line in e.lines()))
    return 0


def register(app: typer.Typer) -> None:
    """Add the git sub-commands and `diff`/`log` to APP (once)."""
    if getattr(app, _MARK, False):
        return
    setattr(app, _MARK, True)
    app.add_typer(git_app, name="git")
    app.command("diff")(handle_errors(diff))
    app.command("log")(handle_errors(log))
