"""`sealedcfg check`: the pre-commit hook.  Needs no key.

Sealed profiles (a sealedcfg header, or a path matched by a creation rule)
must hold only well-formed tokens where the rules say so; every other text file
goes through the secret scanner.  Exactly the files given are scanned, and the
summary says how many, so a hook can never pass by scanning nothing.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sealedcfg import git, scan
from sealedcfg.engine import rules, sealing
from sealedcfg.errors import InputError, SealedcfgError, UsageError
from sealedcfg.format import envelope
from sealedcfg.scan import Finding, Skipped
from sealedcfg.scan.model import fingerprint, fingerprints
from sealedcfg.yamltext import document

MAX_BYTES = 1 << 20  # the secret scanner's limit on files that are not sealed profiles
_CHUNK = 1 << 20


#: Findings listed per file; the rest are counted, and the count is shown in
#: every format ("N more finding(s) not shown").  One hostile profile can hold a
#: quarter of a million unsealed values; `verify` lists 100 problems per file too.
MAX_FINDINGS_PER_FILE = 100


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[Skipped] = field(default_factory=list)  # files scanned, but read in part
    scanned: int = 0
    profiles: int = 0
    #: path -> findings past MAX_FINDINGS_PER_FILE: counted, not listed
    not_shown: dict[str, int] = field(default_factory=dict)
    #: fingerprints accepted in the allow file: dropped before the cap counts
    allowed: frozenset[str] = frozenset()
    _listed: dict[str, int] = field(default_factory=dict, repr=False)

    def add(self, path: str, found: Iterable[Finding]) -> None:
        """One file's findings: accepted ones dropped, at most MAX_FINDINGS_PER_FILE
        listed, the rest only counted (so a cap never hides that a file has findings)."""
        for finding in found:
            if finding.fingerprint not in self.allowed:
                self.list_or_count(finding)

    def full(self, path: str) -> bool:
        """Whether `path` has all the findings it may list: a caller may then count
        one more (`count`) without building it, unless it could be accepted."""
        return self._listed.get(path, 0) >= MAX_FINDINGS_PER_FILE

    def list_or_count(self, finding: Finding) -> None:
        if self.full(finding.path):
            self.count(finding.path)
        else:
            self.findings.append(finding)
            self._listed[finding.path] = self._listed.get(finding.path, 0) + 1

    def count(self, path: str) -> None:
        self.not_shown[path] = self.not_shown.get(path, 0) + 1

    @property
    def total(self) -> int:
        """Every finding, listed or not."""
        return len(self.findings) + sum(self.not_shown.values())

    def render(self, fmt: str, version: str) -> str:
        return render(self, fmt, version)

    def summary(self) -> str:
        return summary(self)

    def write_allow(self, cwd: Path) -> Path:
        return write_allow(self, cwd)


def not_shown_message(count: int) -> str:
    return f"{count:,} more finding(s) not shown (at most {MAX_FINDINGS_PER_FILE} listed per file)"


def _finding(path: str, line: int, rule_id: str, message: str, subject: str = "") -> Finding:
    fp = fingerprint(rule_id, path, subject)
    return Finding(path=path, line=line, col=1, rule_id=rule_id, message=message, fingerprint=fp)


def check_profile(data: bytes, path: str, has_header: bool, report: Report) -> None:
    """Key-less checks of a sealed profile, plus the scanner over its plaintext parts.

    A hostile profile can hold a quarter of a million unsealed values: past the
    per-file cap a problem is only counted, and built into a finding only when
    the allow file could accept it.
    """
    if not has_header:
        message = "matches a creation rule but is not sealed (run: sealedcfg encrypt)"
        report.add(path, [_finding(path, 1, "unsealed-profile", message)])
        return
    try:
        profile = sealing.read_profile(data, path)
    except SealedcfgError as exc:
        message = exc.message.removeprefix(f"{path}: ")
        report.add(path, [_finding(path, 1, "invalid-sealed-file", message)])
        return
    documents = profile.body.documents
    prints: dict[str, Callable[[str], str]] = {}
    for problem in sealing.keyless_problems(profile):
        if not report.allowed and report.full(path):
            report.count(path)
            continue
        node, rule_id = problem.node, problem.rule_id
        if rule_id not in prints:
            prints[rule_id] = fingerprints(rule_id, path)
        shown = document.format_path(node.path, documents)
        fp = prints[rule_id](shown)
        if fp in report.allowed:
            continue
        if report.full(path):
            report.count(path)
            continue
        hint = "" if rule_id == "malformed-token" else " (run: sealedcfg encrypt)"
        message = f"{shown}: {problem.message}{hint}"
        report.list_or_count(Finding(path, node.line, 1, rule_id, message, fp))
    # Comments and plain-by-rule values can still leak a pasted key.
    report.add(path, scan.scan_text(profile.body.text, path))
    report.notes += [Skipped(path, note) for note in scan.notes(data)]  # its lines are the file's


def check_bytes(
    data: bytes, path: str, ruleset: rules.Rules | None, report: Report, where: Path | None = None
) -> None:
    """Check one file's bytes; `path` is how findings name it, `where` where it lives.

    A sealed profile is checked whatever its size (parsing is bounded by
    limits.py); the scanner's size limit applies only to other files.  Every
    file is scanned for secrets, `.sealedcfg.yaml` and `.sealedcfg-allow` too:
    only the repository's own rules file configures the hook, and a key pasted
    into it is as leaked as anywhere else.
    """
    has_header = envelope.is_sealed(data)
    matched = ruleset is not None and ruleset.match(where or path) is not None
    if (has_header or matched) and b"\0" not in data[:8192]:
        report.scanned += 1
        report.profiles += 1
        check_profile(data, path, has_header, report)
        return
    config = ruleset.scan if ruleset is not None else None
    result = scan.scan_bytes(data, path, max_bytes=MAX_BYTES, config=config)
    if isinstance(result, Skipped):
        report.skipped.append(result)
    else:
        report.scanned += 1
        report.add(path, result)
        report.notes += [Skipped(path, note) for note in scan.notes(data)]


def check_files(
    files: Iterable[str | os.PathLike[str]],
    ruleset: rules.Rules | None,
    allowed: frozenset[str] = frozenset(),
) -> Report:
    report = Report(allowed=allowed)
    for f in files:
        path = f if isinstance(f, Path) else Path(f)  # the CLI's are Paths already
        name = str(path)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except OSError as exc:
            report.skipped.append(Skipped(name, f"unreadable: {exc.strerror}"))
            continue
        if stat.S_ISDIR(mode):
            raise InputError(f"{path}: is a directory (give files, or use --all)")
        if not stat.S_ISREG(mode):
            # A device or pipe has no size to check first (/dev/zero never ends, a FIFO
            # blocks on open): never read, never silent.
            report.skipped.append(Skipped(name, "not a regular file"))
            continue
        try:
            data = read_for_check(path, ruleset)
            if data is None:
                report.skipped.append(Skipped(name, f"larger than {MAX_BYTES >> 20} MiB"))
                continue
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except OSError as exc:
            report.skipped.append(Skipped(name, f"unreadable: {exc.strerror}"))
            continue
        check_bytes(data, name, ruleset, report)
    return report


def _is_profile(data: bytes, ruleset: rules.Rules | None, where: Path) -> bool:
    return envelope.is_sealed(data) or (ruleset is not None and ruleset.match(where) is not None)


def read_for_check(path: Path, ruleset: rules.Rules | None) -> bytes | None:
    """The file's bytes; None for a file over the scanner's limit that is no
    sealed profile.  Whether a large file holds a header is found by reading
    it in chunks, so a large binary file never sits in memory whole."""
    with path.open("rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            data = fh.read(MAX_BYTES + 1)  # no size to trust: read no more than the limit
            return data if len(data) <= MAX_BYTES else None
        if st.st_size <= MAX_BYTES or (ruleset is not None and ruleset.match(path) is not None):
            return fh.read()
        tail = b""
        while chunk := fh.read(_CHUNK):
            if envelope.is_sealed(tail + chunk):
                fh.seek(0)
                return fh.read()
            tail = chunk[-32:]
    return None


def repo_top(cwd: Path) -> Path:
    try:
        return Path(git.run_bytes(["rev-parse", "--show-toplevel"], cwd).decode().strip())
    except InputError:
        raise InputError("not inside a git repository") from None


def check_staged(
    cwd: Path, ruleset: rules.Rules | None, allowed: frozenset[str] = frozenset()
) -> Report:
    """The staged version of every added or modified file, read from the index."""
    top = repo_top(cwd)
    names = [
        n
        for n in git.run_bytes(["diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR"], top)
        .decode("utf-8", "surrogateescape")
        .split("\0")
        if n
    ]
    report = Report(allowed=allowed)
    if not names:
        return report
    listing = git.run_bytes(["ls-files", "-s", "-z", "--", *names], top).decode(
        "utf-8", "surrogateescape"
    )
    blobs = []
    for entry in filter(None, listing.split("\0")):
        meta, name = entry.split("\t", 1)
        mode, sha, _stage = meta.split()
        if mode.startswith("160"):  # a submodule: nothing to read
            continue
        blobs.append((name, sha))
    batch = git.run_bytes(
        ["cat-file", "--batch"], top, "".join(f"{sha}\n" for _, sha in blobs).encode()
    )
    pos = 0
    for name, _sha in blobs:
        header_end = batch.index(b"\n", pos)
        size = int(batch[pos:header_end].split()[2])
        data = batch[header_end + 1 : header_end + 1 + size]
        pos = header_end + 1 + size + 1
        if size > MAX_BYTES and not _is_profile(data, ruleset, top / name):
            report.skipped.append(Skipped(name, f"larger than {MAX_BYTES >> 20} MiB"))
            continue
        check_bytes(data, name, ruleset, report, top / name)
    return report


def check_all(
    cwd: Path, ruleset: rules.Rules | None, allowed: frozenset[str] = frozenset()
) -> Report:
    """Every tracked file of the repository, as it is in the working tree."""
    top = repo_top(cwd)
    names = [
        n
        for n in git.run_bytes(["ls-files", "-z"], top)
        .decode("utf-8", "surrogateescape")
        .split("\0")
        if n
    ]
    report = Report(allowed=allowed)
    for name in names:
        path = top / name
        if path.is_symlink() or not path.is_file():
            continue
        try:
            data = read_for_check(path, ruleset)
        except OSError as exc:
            report.skipped.append(Skipped(name, f"unreadable: {exc.strerror}"))
            continue
        if data is None:
            report.skipped.append(Skipped(name, f"larger than {MAX_BYTES >> 20} MiB"))
            continue
        check_bytes(data, name, ruleset, report, path)
    return report


def config_root(cwd: Path) -> Path:
    """Where the hook's configuration lives: the repository's top directory.

    A `.sealedcfg.yaml` in a subdirectory is an ordinary (scanned) file: anyone
    can add one, so it must not change which files are profiles or what the
    allowlist accepts.  Outside a repository: the nearest rules file's directory.
    """
    try:
        return repo_top(cwd)
    except InputError:
        found = rules.find_rules_file(cwd)
        return found.parent if found else cwd


def load_rules(cwd: Path) -> rules.Rules | None:
    candidate = config_root(cwd) / rules.RULES_NAME
    return rules.load(candidate) if candidate.is_file() else None


def load_allowed(cwd: Path) -> frozenset[str]:
    """The fingerprints accepted in the allow file at the repository's top."""
    return scan.load_allowlist(config_root(cwd) / scan.ALLOW_FILE)


FORMATS = ("text", "json", "sarif")


def run(files: list[Path], *, staged: bool, all_files: bool, cwd: Path) -> Report:
    """The hook: exactly the files given, or the staged versions, or every tracked file."""
    if sum((bool(files), staged, all_files)) != 1:
        raise UsageError("give files, or --staged, or --all (exactly one)")
    ruleset = load_rules(cwd)
    # Accepted findings are dropped as each file is checked, before the per-file
    # cap counts: an accepted finding never takes the place of a listed one.
    allowed = load_allowed(cwd)
    if staged:
        return check_staged(cwd, ruleset, allowed)
    if all_files:
        return check_all(cwd, ruleset, allowed)
    return check_files(files, ruleset, allowed)


def render(report: Report, fmt: str, version: str) -> str:
    """The report on stdout: `path:line:col: rule: message` lines, JSON or SARIF 2.1.0."""
    if fmt == "json":
        findings = [{**f.__dict__, "fix": scan.fix_hint(f)} for f in report.findings]
        skipped = [s.__dict__ for s in report.skipped]
        notes = [s.__dict__ for s in report.notes]
        not_shown = [
            {"path": path, "count": count, "message": not_shown_message(count)}
            for path, count in report.not_shown.items()
        ]
        data = {
            "findings": findings,
            "not_shown": not_shown,
            "skipped": skipped,
            "notes": notes,
            "scanned": report.scanned,
        }
        return json.dumps(data, indent=2) + "\n"
    if fmt == "sarif":
        return json.dumps(sarif(report, version), indent=2) + "\n"
    out = []
    for i, f in enumerate(report.findings):
        out.append(
            f"{f.path}:{f.line}:{f.col}: {f.rule_id}: {f.message}\n    fix: {scan.fix_hint(f)}\n"
        )
        last_of_file = i + 1 == len(report.findings) or report.findings[i + 1].path != f.path
        if last_of_file and f.path in report.not_shown:
            out.append(f"{f.path}: {not_shown_message(report.not_shown[f.path])}\n")
    return "".join(out)


def summary(report: Report) -> str:
    hidden = sum(report.not_shown.values())
    more = f" ({hidden:,} not shown)" if hidden else ""
    return (
        f"sealedcfg check: {report.scanned} file(s) scanned ({report.profiles} sealed "
        f"profile(s)), {report.total} finding(s){more}, {len(report.skipped)} skipped"
        + (f", {len(report.notes)} read in part" if report.notes else "")
    )


def sarif(report: Report, version: str) -> dict[str, object]:
    rule_ids = sorted({f.rule_id for f in report.findings})
    # A skipped file is never silent: SARIF's place for what the tool could not
    # do is a notification of the invocation.
    notes = [
        {
            "level": "warning",
            "descriptor": {"id": "skipped"},
            "message": {"text": f"{s.path}: skipped ({s.reason})"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": s.path}}}],
        }
        for s in report.skipped
    ] + [
        {
            "level": "note",
            "descriptor": {"id": "read-in-part"},
            "message": {"text": f"{s.path}: {s.reason}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": s.path}}}],
        }
        for s in report.notes
    ]
    notes += [
        {
            "level": "warning",
            "descriptor": {"id": "findings-not-shown"},
            "message": {"text": f"{path}: {not_shown_message(count)}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": path}}}],
        }
        for path, count in report.not_shown.items()
    ]
    results = [
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
    ]
    driver = {
        "name": "sealedcfg",
        "version": version,
        "rules": [{"id": r, "name": r} for r in rule_ids],
    }
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notes}],
                "results": results,
            }
        ],
    }


def write_allow(report: Report, cwd: Path) -> Path:
    """Accept every listed finding: append its fingerprint line to the allow file.

    Findings past the per-file cap are not listed, so not accepted either: the
    next run lists them."""
    allow = cwd / scan.ALLOW_FILE
    with allow.open("a", encoding="utf-8") as fh:
        fh.writelines(scan.allow_line(f) + "\n" for f in report.findings)
    return allow


@dataclass(frozen=True)
class Imported:
    section: str  # the `scan:` section as YAML text
    notes: list[str]
    rules: int
    allowlists: int


def import_gitleaks(path: Path) -> Imported:
    """A .gitleaks.toml's custom rules and allowlists as our `scan:` section."""
    from sealedcfg.scan import gitleaks_import

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({type(exc).__name__})") from None
    section, notes = gitleaks_import.convert(text, str(path))
    return Imported(
        gitleaks_import.to_yaml(section),
        notes,
        len(section.get("rules", [])),
        len(section.get("allowlist", [])),
    )
