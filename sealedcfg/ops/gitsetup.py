"""`sealedcfg git setup`: the drivers in per-clone git config, and .gitattributes.

git runs a driver's config value with `sh -c`, from the top of the work tree,
with whatever PATH the caller has (a GUI client, a hook, an unactivated venv).
So the value names this interpreter by absolute path, shell-quoted, with `-P`:
`python -m` would otherwise put the working directory, which the repository
controls, first on sys.path, and a committed `sealedcfg/` package would run
in place of ours.  A venv that moves or is rebuilt leaves that path behind:
`setup --check` reports it (exit 1) and `setup` rewrites it.

Coverage is asked of git itself (`git check-attr`), not guessed: every
tracked sealed file must get `diff=sealedcfg merge=sealedcfg` whatever other
.gitattributes say, and the creation rules' globs cover files not made yet.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sealedcfg import git as gitio
from sealedcfg.base.fileio import write_atomic
from sealedcfg.errors import InputError
from sealedcfg.format import envelope

DEFAULT_PATTERNS = ("config/*.yaml", "config/*.yml")  # when there is no rules file
ATTRIBUTES = "diff=sealedcfg merge=sealedcfg"
_WANT = {"diff": "sealedcfg", "merge": "sealedcfg"}
# A sealed file ends with its header; 64 KiB holds the largest one the limits allow.
_TAIL = 64 * 1024
_PRINTABLE = re.compile(r"[\x21-\x7e]+")


@dataclass
class Report:
    changed: list[str] = field(default_factory=list)  # what setup wrote (or --check: would)
    problems: list[str] = field(default_factory=list)  # what is still wrong afterwards
    notes: list[str] = field(default_factory=list)


def command() -> str:
    """The shell command git runs for us: this interpreter, absolute and quoted."""
    exe = sys.executable
    if not exe or not os.path.isabs(exe):
        raise InputError("cannot tell which Python runs sealedcfg (sys.executable is not set)")
    return f"{shlex.quote(exe)} -P -m sealedcfg"


def wanted_config(cmd: str) -> dict[str, str]:
    return {
        "diff.sealedcfg.textconv": f"{cmd} git textconv",
        # Cached plaintext would sit in .git/refs/notes: plaintext on disk.
        "diff.sealedcfg.cachetextconv": "false",
        "merge.sealedcfg.name": "sealedcfg per-key merge",
        "merge.sealedcfg.driver": f"{cmd} git merge-driver %O %A %B %P",
    }


def _program(value: str) -> str | None:
    """The program a configured command runs (its first shell word), if readable."""
    try:
        words = shlex.split(value)
    except ValueError:
        return None
    return words[0] if words else None


def _config_drift(key: str, have: str | None, want: str) -> str:
    if have is None:
        return f"git config {key}: not set"
    program = _program(have)
    if program and "/" in program and not os.access(program, os.X_OK):
        return f"git config {key}: runs {program!r}, which does not exist (a moved venv?)"
    if program and "/" not in program:
        return f"git config {key}: runs {program!r} from PATH (git's PATH may not hold it)"
    return f"git config {key}: runs another sealedcfg ({program!r}, this is {_program(want)!r})"


# ---------------------------------------------------------------- which files


def sealed_files(top: Path) -> list[str]:
    """Regular files, tracked or about to be (not ignored), that end with a
    sealedcfg header, whatever their name."""
    found = []
    for rel in gitio.ls_files(top, untracked=True):
        path = top / rel
        try:
            if path.is_symlink() or not path.is_file():
                continue
            with path.open("rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(0, size - _TAIL))
                tail = fh.read()
        except OSError:
            continue
        if envelope.is_sealed(tail):
            found.append(rel)
    return found


def _rules_files(top: Path) -> list[str]:
    """The top-level rules file and every tracked one below (encrypt finds the nearest)."""
    from sealedcfg.engine.rules import RULES_NAME

    found = [r for r in gitio.ls_files(top) if r.rsplit("/", 1)[-1] == RULES_NAME]
    if RULES_NAME not in found and (top / RULES_NAME).is_file():
        found.insert(0, RULES_NAME)
    return found


def gitattributes_glob(rule_glob: str, directory: str) -> str | None:
    """A creation rule's glob as a .gitattributes pattern meaning the same; None if none does.

    Rule globs match the whole path from the rules file's directory, so the
    pattern is anchored there.  `**` means the same only as a whole segment.
    """
    if "\\" in rule_glob or not rule_glob.isprintable() or rule_glob.startswith("/"):
        return None  # a backslash escapes in git's globs, not in ours
    if rule_glob.endswith("/") or any("**" in s and s != "**" for s in rule_glob.split("/")):
        return None
    prefix = f"{_escape(directory)}/" if directory else ""
    if not prefix and rule_glob.startswith("**/"):
        return _quote(rule_glob)  # a leading `**/` is relative to the .gitattributes already
    return _quote(f"/{prefix}{rule_glob}")


def rule_patterns(top: Path, report: Report) -> list[str] | None:
    """Patterns for every creation rule; None when no rules file exists."""
    from sealedcfg.engine import rules

    files = _rules_files(top)
    if not files:
        return None
    out: list[str] = []
    for rel in files:
        directory = rel.rpartition("/")[0]
        try:
            ruleset = rules.load(top / rel)
        except InputError as exc:
            report.notes.append(f"{exc.message}: its rules are not covered")
            continue
        for rule in ruleset.rules if ruleset else ():
            is_glob = rule.pattern.source == rules.glob_to_regex(rule.source).source
            pattern = gitattributes_glob(rule.source, directory) if is_glob else None
            if pattern is None:
                report.notes.append(
                    f"{rel}: the rule {rule.source!r} cannot be written as a git attribute "
                    "pattern; the files it seals are covered once tracked "
                    "(run `sealedcfg git setup` again after adding one)"
                )
            elif pattern not in out:
                out.append(pattern)
    return out


def exact_pattern(rel: str) -> str:
    """A .gitattributes pattern matching exactly the path REL (from the top).

    Glob characters are escaped; a path with spaces, quotes or other special
    characters is C-quoted, which git reads in .gitattributes."""
    return _quote("/" + _escape(rel))


def _escape(path: str) -> str:
    """PATH with git's glob characters escaped (matched literally)."""
    return re.sub(r"([\\*?\[])", r"\\\1", path)


def _quote(pattern: str) -> str:
    """PATTERN as .gitattributes reads it: C-quoted when it holds a space, a quote,
    or a byte outside printable ASCII (otherwise it would be cut or misread), or
    starts with `#` (a comment line unless quoted)."""
    if _PRINTABLE.fullmatch(pattern) and '"' not in pattern and not pattern.startswith("#"):
        return pattern
    raw = pattern.encode("utf-8", "surrogateescape")
    out = []
    for byte in raw:
        ch = chr(byte)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def _uncovered(top: Path, files: list[str]) -> list[str]:
    attrs = gitio.check_attr(files, list(_WANT), top)
    return [f for f in files if any(attrs.get(f, {}).get(a) != v for a, v in _WANT.items())]


# ---------------------------------------------------------------- setup


def _read_attributes(path: Path) -> str:
    try:
        return path.read_text("utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError):
        raise InputError(f"{path}: cannot read") from None


def _append(path: Path, lines: list[str]) -> None:
    current = _read_attributes(path)
    sep = "" if not current or current.endswith("\n") else "\n"
    data = (current + sep + "\n".join(lines) + "\n").encode("utf-8", "surrogateescape")
    write_atomic(path, data, mode=None if path.exists() else 0o644)


def setup(cwd: str | os.PathLike[str], patterns: list[str] | None, *, check: bool) -> Report:
    """Make (or with CHECK, only inspect) the per-clone config and .gitattributes."""
    top = gitio.toplevel(cwd)
    report = Report()
    _setup_config(top, report, check=check)
    attributes = top / ".gitattributes"
    have_lines = {line.strip() for line in _read_attributes(attributes).splitlines()}
    _setup_patterns(top, attributes, have_lines, patterns, report, check=check)
    _setup_sealed(top, attributes, have_lines, report, check=check)
    return report


def _setup_config(top: Path, report: Report, *, check: bool) -> None:
    """The drivers in per-clone git config."""
    for key, value in wanted_config(command()).items():
        have = gitio.config_get(key, top)
        if have != value:
            report.changed.append(_config_drift(key, have, value))
            if not check:
                gitio.config_set(key, value, top)


def _setup_patterns(
    top: Path,
    attributes: Path,
    have_lines: set[str],
    patterns: list[str] | None,
    report: Report,
    *,
    check: bool,
) -> None:
    """The given patterns and the creation rules' globs (or the defaults) in .gitattributes."""
    # A --pattern is a glob as the user means it: quoted as git reads it, so a
    # space or a line break cannot cut it or add attributes.
    wanted = [_quote(p) for p in patterns or []]
    from_rules = rule_patterns(top, report)
    wanted += DEFAULT_PATTERNS if from_rules is None else from_rules
    new = [f"{p} {ATTRIBUTES}" for p in dict.fromkeys(wanted)]
    new = [line for line in new if line not in have_lines]
    report.changed += [f".gitattributes: {line}" for line in new]
    if new and not check:
        _append(attributes, new)


def _setup_sealed(
    top: Path, attributes: Path, have_lines: set[str], report: Report, *, check: bool
) -> None:
    """Every sealed file git would not give the drivers: an exact pattern of its own."""
    sealed = sealed_files(top)
    missing = _uncovered(top, sealed)
    if not missing or check:
        report.changed += [f"{rel}: a tracked sealed file without the drivers" for rel in missing]
        return
    exact = [f"{exact_pattern(rel)} {ATTRIBUTES}" for rel in missing]
    exact = [line for line in exact if line not in have_lines]
    if exact:
        _append(attributes, exact)
        report.changed += [f".gitattributes: {line}" for line in exact]
    missing = _uncovered(top, sealed)
    report.problems += [
        f"{rel}: still not diff=sealedcfg merge=sealedcfg "
        "(another .gitattributes, e.g. in its directory, overrides the top one)"
        for rel in missing
    ]
