"""End-to-end benchmark of the sealedcfg CLI: whole processes, wall time and peak RSS.

Generates deterministic, realistic YAML profiles (nested mappings, lists,
comments, mixed value types) with 100 / 1,000 / 10,000 / 100,000 values in a
temporary directory, then times complete `python -m sealedcfg ...` processes:
encrypt, decrypt with a key, decrypt with a passphrase (default Argon2id
parameters), verify, setting one value and `--version`.  Two yardsticks parse
the same plaintext in a whole process with ruamel's C code: (a) bare parser
events from `_ruamel_yaml.CParser`, (b) a full `YAML(typ="safe", pure=False)`
load.  Peak RSS and CPU seconds (user + system) come from each child's rusage
(`os.wait4`).

    python bench/bench.py                                # all sizes, 5 runs each
    python bench/bench.py --sizes 100,1000,10000 --repeat 5 --json out.json

The 100,000-value size runs at most 3 times (it takes a while per run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

DEFAULT_SIZES = (100, 1_000, 10_000, 100_000)
LARGE_SIZE = 100_000
LARGE_MAX_REPEAT = 3
PASSPHRASE = "bench passphrase: correct horse battery staple"  # noqa: S105 - test data

OP_PARSE = "yardstick (a) C parse events"
OP_LOAD = "yardstick (b) PyYAML CSafeLoader load"
OP_ENCRYPT = "encrypt (key)"
OP_DECRYPT_KEY = "decrypt (key)"
OP_DECRYPT_PASS = "decrypt (passphrase)"  # noqa: S105 - a label
OP_VERIFY = "verify (key)"
OP_SET = "set one value (key)"
OP_EDIT = "edit, buffer unchanged (key)"
OP_VERSION = "--version"

PARSE_CODE = """\
import sys
from _ruamel_yaml import CParser
with open(sys.argv[1], encoding="utf-8") as fh:
    text = fh.read()
parser = CParser(text)
count = 0
while parser.get_event() is not None:
    count += 1
assert count > 0
"""

LOAD_CODE = """\
import sys
import yaml
with open(sys.argv[1], encoding="utf-8") as fh:
    text = fh.read()
data = yaml.load(text, Loader=yaml.CSafeLoader)
assert data
"""

SET_CODE = """\
import sys
from sealedcfg.api import set_value
from sealedcfg.engine.keys import KeySource
set_value(sys.argv[1], sys.argv[2], sys.argv[3], KeySource(prompt=None))
"""


class BenchError(RuntimeError):
    pass


# ---------------------------------------------------------------- profile generation

KEY_WORDS = (
    "host",
    "endpoint",
    "user",
    "password",
    "token",
    "api_key",
    "region",
    "bucket",
    "queue",
    "timeout",
    "retries",
    "port",
    "enabled",
    "debug",
    "replicas",
    "secret",
    "dsn",
    "webhook",
    "tls_cert",
    "cache_ttl",
)
SECTION_WORDS = (
    "service",
    "database",
    "cache",
    "payments",
    "search",
    "mailer",
    "storage",
    "auth",
    "metrics",
    "worker",
)
GROUP_WORDS = ("primary", "replica", "eu_west", "us_east", "staging", "canary", "batch", "edge")
LIST_WORDS = ("hosts", "allowed_origins", "peers", "tokens", "ports", "flags")
PLAIN_CHARS = string.ascii_letters + string.digits + "-_./"
QUOTED_CHARS = string.ascii_letters + string.digits + " -_./:#!@%+="


@dataclass
class Profile:
    text: str
    values: int
    set_path: str  # dotted path of a string value in the middle of the file


class _Gen:
    def __init__(self, size: int) -> None:
        self.rng = random.Random(f"sealedcfg-bench-{size}")
        self.left = size
        self.lines: list[str] = []
        self.string_paths: list[str] = []

    def string(self) -> str:
        rng = self.rng
        length = rng.randint(8, 40)
        style = rng.random()
        if style < 0.75:  # plain: starts with a letter, so it never reads as int/bool/null
            return rng.choice(string.ascii_letters) + "".join(
                rng.choice(PLAIN_CHARS) for _ in range(length - 1)
            )
        body = "".join(rng.choice(QUOTED_CHARS) for _ in range(length)).strip() or "x" * length
        if style < 0.9:
            return json.dumps(body)
        return "'" + body + "'"

    def scalar(self) -> tuple[str, bool]:
        """(YAML source, is a string)."""
        kind = self.rng.random()
        if kind < 0.55:
            return self.string(), True
        if kind < 0.8:
            return str(self.rng.randint(0, 10 ** self.rng.randint(1, 9))), False
        return self.rng.choice(("true", "false")), False

    def trailing_comment(self) -> str:
        if self.rng.random() >= 0.08:
            return ""
        return "  # " + self.rng.choice(("rotated quarterly", "see runbook", "TODO: tune"))

    def entry(self, path: str, index: int) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.12 and self.left >= 2:  # a block list
            name = f"{rng.choice(LIST_WORDS)}_{index:02d}"
            self.lines.append(f"    {name}:")
            for _ in range(min(self.left, rng.randint(2, 5))):
                source, _ = self.scalar()
                self.lines.append(f"      - {source}")
                self.left -= 1
        elif roll < 0.17 and self.left >= 2:  # a flow mapping
            name = f"limits_{index:02d}"
            low, high = rng.randint(1, 16), rng.randint(17, 512)
            self.lines.append(f"    {name}: {{min: {low}, max: {high}}}")
            self.left -= 2
        else:
            name = f"{rng.choice(KEY_WORDS)}_{index:02d}"
            source, is_string = self.scalar()
            comment = self.trailing_comment()
            self.lines.append(f"    {name}: {source}{comment}")
            if is_string:
                self.string_paths.append(f"{path}.{name}")
            self.left -= 1

    def build(self, size: int) -> Profile:
        rng = self.rng
        self.lines += [
            f"# sealedcfg benchmark profile: {size} values (generated, deterministic)",
            "# Keys, comments and layout stay readable once sealed.",
        ]
        section_no = 0
        while self.left > 0:
            section = f"{SECTION_WORDS[section_no % len(SECTION_WORDS)]}_{section_no:05d}"
            self.lines += ["", f"# --- {section} ---", f"{section}:"]
            for group_no in range(rng.randint(2, 5)):
                if self.left <= 0:
                    break
                group = f"{rng.choice(GROUP_WORDS)}_{group_no}"
                if rng.random() < 0.3:
                    self.lines.append(f"  # {group}: managed by the platform team")
                self.lines.append(f"  {group}:")
                for index in range(rng.randint(3, 10)):
                    if self.left <= 0:
                        break
                    self.entry(f"{section}.{group}", index)
            section_no += 1
        if not self.string_paths:
            raise BenchError(f"profile of {size} values has no string value to set")
        return Profile(
            text="\n".join(self.lines) + "\n",
            values=size,
            set_path=self.string_paths[len(self.string_paths) // 2],
        )


def make_profile(size: int) -> Profile:
    return _Gen(size).build(size)


# ---------------------------------------------------------------- running processes


@dataclass
class Sample:
    seconds: float
    maxrss_kib: int
    cpu: float = 0.0  # user + system seconds: steadier than wall time on a busy machine


def run_once(
    argv: Sequence[str],
    env: dict[str, str],
    cwd: Path,
    stdout: int | IO[bytes] = subprocess.DEVNULL,
) -> Sample:
    """Run one whole process; wall time around spawn..reap, peak RSS from wait4."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=stdout, stderr=err, env=env, cwd=cwd
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            message = err.read().decode("utf-8", "replace").strip()
            raise BenchError(
                f"{' '.join(argv[:4])} ... exited {proc.returncode}:\n{message[-2000:]}"
            )
    return Sample(elapsed, int(usage.ru_maxrss), usage.ru_utime + usage.ru_stime)


def capture(argv: Sequence[str], env: dict[str, str], cwd: Path) -> bytes:
    with tempfile.TemporaryFile() as out:
        run_once(argv, env, cwd, stdout=out)
        out.seek(0)
        return out.read()


@dataclass
class Result:
    size: int | None
    op: str
    runs: int
    seconds: list[float]
    maxrss_kib: list[int]
    cpu_seconds: list[float] = field(default_factory=list)
    median: float | None = None
    cpu_median: float | None = None
    values_per_s: float | None = None
    ratio_a: float | None = None
    ratio_b: float | None = None
    peak_rss_mib: float | None = None
    error: str | None = None

    def finish(self) -> None:
        if self.error is not None or not self.seconds:
            return
        self.median = statistics.median(self.seconds)
        if self.cpu_seconds:
            self.cpu_median = statistics.median(self.cpu_seconds)
        self.peak_rss_mib = max(self.maxrss_kib) / 1024
        if self.size is not None and self.median > 0:
            self.values_per_s = self.size / self.median


@dataclass
class Target:
    label: str
    limit: str
    measured: float | None
    ok: bool | None
    unit: str = "s"


@dataclass
class Report:
    meta: dict[str, Any]
    results: list[Result] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)


def measure(
    size: int | None,
    op: str,
    argv: Sequence[str],
    env: dict[str, str],
    cwd: Path,
    repeat: int,
    prepare: Callable[[], None] | None = None,
) -> Result:
    """Run `argv` `repeat` times; a failing run marks the whole operation FAILED."""
    result = Result(size, op, repeat, [], [])
    try:
        for _ in range(repeat):
            if prepare is not None:
                prepare()
            sample = run_once(argv, env, cwd)
            result.seconds.append(sample.seconds)
            result.maxrss_kib.append(sample.maxrss_kib)
            result.cpu_seconds.append(sample.cpu)
    except BenchError as exc:
        result.error = str(exc)
    result.finish()
    label = f"{size:>7}" if size is not None else "      -"
    shown = "FAILED" if result.median is None else f"{result.median:8.3f} s"
    print(f"  {label}  {op:<30} {shown}", file=sys.stderr, flush=True)
    return result


def compile_package(py: str, env: dict[str, str], cwd: Path) -> None:
    """Byte-compile the installed sealedcfg package (compileall writes even
    where PYTHONDONTWRITEBYTECODE is set)."""
    code = (
        "import compileall, importlib.util, os, sys; "
        "spec = importlib.util.find_spec('sealedcfg'); "
        "sys.exit(not compileall.compile_dir(os.path.dirname(spec.origin), quiet=1))"
    )
    run_once([py, "-c", code], env, cwd)


def find_cli(py: str, env: dict[str, str], cwd: Path) -> list[str]:
    """`python -m sealedcfg`, or the console script next to the interpreter."""
    candidates = [[py, "-m", "sealedcfg"], [str(Path(py).parent / "sealedcfg")]]
    for cli in candidates:
        try:
            out = capture([*cli, "--version"], env, cwd)
        except (BenchError, OSError):
            continue
        if out.decode("utf-8", "replace").startswith("sealedcfg"):
            return cli
    raise BenchError("cannot run sealedcfg: neither `python -m sealedcfg` nor the script works")


def has_set_command(cli: list[str], env: dict[str, str], cwd: Path) -> bool:
    try:
        run_once([*cli, "set", "--help"], env, cwd)
    except BenchError:
        return False
    return True


# ---------------------------------------------------------------- the benchmark


def bench_size(
    size: int,
    repeat: int,
    cli: list[str],
    use_set_cli: bool,
    base_env: dict[str, str],
    key: str,
    root: Path,
) -> list[Result]:
    py = sys.executable
    work = root / f"size-{size}"
    work.mkdir()
    profile = make_profile(size)
    plain = work / "plain.yaml"
    plain.write_text(profile.text, encoding="utf-8")
    plain_bytes = plain.read_bytes()
    key_env = {**base_env, "SEALEDCFG_KEY": key}
    pass_env = {**base_env, "SEALEDCFG_PASSPHRASE": PASSPHRASE}

    # Sealed inputs (untimed): one under the key, one under the passphrase.
    sealed_key = work / "sealed-key.yaml"
    sealed_pass = work / "sealed-pass.yaml"
    shutil.copyfile(plain, sealed_key)
    shutil.copyfile(plain, sealed_pass)
    run_once([*cli, "encrypt", str(sealed_key)], key_env, work)
    run_once([*cli, "encrypt", str(sealed_pass)], pass_env, work)
    for sealed, env in ((sealed_key, key_env), (sealed_pass, pass_env)):
        if capture([*cli, "decrypt", str(sealed)], env, work) != plain_bytes:
            raise BenchError(f"{sealed.name}: decrypt does not give back the plaintext")

    enc_target = work / "encrypt-me.yaml"
    set_target = work / "set-me.yaml"
    new_value = "bench-new-value-0123456789"
    if use_set_cli:
        set_argv = [*cli, "set", str(set_target), profile.set_path, new_value]
    else:
        set_argv = [py, "-c", SET_CODE, str(set_target), profile.set_path, new_value]

    # A sealed file opens only at the path it was sealed for (its `bind`), so
    # the file that `set` rewrites is sealed under its own name, once.
    shutil.copyfile(plain, set_target)
    run_once([*cli, "encrypt", str(set_target)], key_env, work)
    set_sealed = set_target.read_bytes()
    # Sanity check of "set" once (untimed): the new value is there after a decrypt.
    run_once(set_argv, key_env, work)
    if new_value.encode() not in capture([*cli, "decrypt", str(set_target)], key_env, work):
        raise BenchError(f"set {profile.set_path}: the new value does not decrypt back")

    def fresh_plain() -> None:
        shutil.copyfile(plain, enc_target)

    def fresh_sealed() -> None:
        set_target.write_bytes(set_sealed)

    null = os.devnull
    ops: list[tuple[str, list[str], dict[str, str], Callable[[], None] | None]] = [
        (OP_PARSE, [py, "-c", PARSE_CODE, str(plain)], base_env, None),
        (OP_LOAD, [py, "-c", LOAD_CODE, str(plain)], base_env, None),
        (OP_ENCRYPT, [*cli, "encrypt", str(enc_target)], key_env, fresh_plain),
        (OP_DECRYPT_KEY, [*cli, "decrypt", str(sealed_key), "-o", null], key_env, None),
        (OP_DECRYPT_PASS, [*cli, "decrypt", str(sealed_pass), "-o", null], pass_env, None),
        (OP_VERIFY, [*cli, "verify", str(sealed_key)], key_env, None),
        (OP_SET, set_argv, key_env, fresh_sealed),
        # EDITOR=true leaves the buffer as it was: decrypt, temp file, editor, compare.
        (OP_EDIT, [*cli, "edit", str(sealed_key)], {**key_env, "EDITOR": "true"}, None),
    ]
    results = [measure(size, op, argv, env, work, repeat, prep) for op, argv, env, prep in ops]
    parse_s, load_s = results[0].median, results[1].median
    for result in results[2:]:
        if result.median is not None and parse_s:
            result.ratio_a = result.median / parse_s
        if result.median is not None and load_s:
            result.ratio_b = result.median / load_s
    shutil.rmtree(work, ignore_errors=True)
    return results


def _find(results: list[Result], size: int | None, op: str) -> Result | None:
    return next((r for r in results if r.size == size and r.op == op), None)


def check_targets(results: list[Result]) -> list[Target]:
    targets: list[Target] = []

    def seconds(label: str, size: int | None, op: str, limit: float) -> None:
        r = _find(results, size, op)
        m = r.median if r is not None else None
        targets.append(Target(label, f"<= {limit:g} s", m, None if m is None else m <= limit))

    seconds("decrypt 10k with key", 10_000, OP_DECRYPT_KEY, 0.5)
    r = _find(results, 10_000, OP_DECRYPT_KEY)
    ratio = r.ratio_a if r else None
    targets.append(
        Target(
            "decrypt 10k with key vs bare C parse (a)",
            "<= 3x",
            ratio,
            None if ratio is None else ratio <= 3.0,
            unit="x",
        )
    )
    ratio_b = r.ratio_b if r else None
    targets.append(
        Target(
            "decrypt 10k with key vs PyYAML CSafeLoader (b)",
            "<= 3x",
            ratio_b,
            None if ratio_b is None else ratio_b <= 3.0,
            unit="x",
        )
    )
    seconds("encrypt 10k", 10_000, OP_ENCRYPT, 1.0)
    seconds("--version", None, OP_VERSION, 0.15)
    seconds("set one value in 10k", 10_000, OP_SET, 0.6)
    seconds("edit, unchanged buffer, 10k", 10_000, OP_EDIT, 1.0)
    return targets


# ---------------------------------------------------------------- output


def _fmt(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def render_table(report: Report) -> str:
    header = [
        "size",
        "operation",
        "median s",
        "CPU s",
        "values/s",
        "x (a)",
        "x (b)",
        "peak RSS MiB",
        "n",
    ]
    rows = [
        [
            "-" if r.size is None else f"{r.size:,}",
            r.op,
            "FAILED" if r.median is None else f"{r.median:.3f}",
            _fmt(r.cpu_median, ".3f"),
            _fmt(r.values_per_s, ",.0f"),
            _fmt(r.ratio_a, ".2f"),
            _fmt(r.ratio_b, ".2f"),
            _fmt(r.peak_rss_mib, ".1f"),
            str(r.runs),
        ]
        for r in report.results
    ]
    left = {1}
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(widths[i]) if i in left else c.rjust(widths[i]) for i, c in enumerate(cells)
        ).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out += [line(row) for row in rows]
    out += ["", "targets:"]
    label_w = max(len(t.label) for t in report.targets)
    for t in report.targets:
        if t.measured is None:
            measured, verdict = "not measured", "----"
        else:
            measured = f"{t.measured:.3f} s" if t.unit == "s" else f"{t.measured:.2f}x"
            verdict = "PASS" if t.ok else "MISS"
        out.append(f"  {verdict}  {t.label.ljust(label_w)}  {t.limit:>9}  {measured}")
    failed = [r for r in report.results if r.error is not None]
    if failed:
        out += ["", "failures:"]
        for r in failed:
            first = (r.error or "").strip().splitlines()[-1:] or ["?"]
            out.append(f"  {r.size if r.size is not None else '-'} {r.op}: {first[0]}")
    return "\n".join(out)


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad --sizes {text!r}") from None
    if not sizes or any(s < 10 for s in sizes):
        raise argparse.ArgumentTypeError("sizes must be integers >= 10")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=list(DEFAULT_SIZES),
        help="comma-separated value counts (default 100,1000,10000,100000)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=5,
        help=f"runs per operation (default 5; {LARGE_SIZE:,}+ values: at most {LARGE_MAX_REPEAT})",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write raw results here")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")

    base_env = {k: v for k, v in os.environ.items() if not k.startswith("SEALEDCFG_")}
    with tempfile.TemporaryDirectory(prefix="sealedcfg-bench-") as tmp:
        root = Path(tmp)
        cli = find_cli(sys.executable, base_env, root)
        use_set_cli = has_set_command(cli, base_env, root)
        key = capture([*cli, "keygen"], base_env, root).decode("ascii").strip()
        # Warm-up (untimed): bytecode caches and the page cache for every import.
        # The bytecode is written explicitly, as installing a wheel does: with
        # PYTHONDONTWRITEBYTECODE set (or an editable install in a read-only
        # tree), every run would compile ~100 modules again (~0.06 s).
        compile_package(sys.executable, base_env, root)
        run_once([*cli, "--version"], base_env, root)
        run_once([sys.executable, "-c", "import sealedcfg.api, sealedcfg.cli.main"], base_env, root)

        from importlib.metadata import version

        report = Report(
            meta={
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                "cpu_count": os.cpu_count(),
                "sealedcfg": version("sealedcfg"),
                "ruamel.yaml": version("ruamel.yaml"),
                "cli": cli,
                "set_via": "sealedcfg set" if use_set_cli else "python -c api.set_value",
                "repeat": args.repeat,
                "sizes": args.sizes,
            }
        )
        print(
            f"sealedcfg {report.meta['sealedcfg']}, Python {report.meta['python']}, "
            f"cli: {' '.join(Path(c).name if i == 0 else c for i, c in enumerate(cli))}, "
            f"set via: {report.meta['set_via']}",
            file=sys.stderr,
        )
        report.results.append(
            measure(None, OP_VERSION, [*cli, "--version"], base_env, root, args.repeat)
        )
        for size in args.sizes:
            repeat = min(args.repeat, LARGE_MAX_REPEAT) if size >= LARGE_SIZE else args.repeat
            try:
                report.results += bench_size(size, repeat, cli, use_set_cli, base_env, key, root)
            except BenchError as exc:  # the sealed inputs could not be prepared
                failed = Result(size, "setup (seal inputs, check round trip)", 1, [], [])
                failed.error = str(exc)
                report.results.append(failed)
                print(f"  {size:>7}  setup FAILED: {exc}", file=sys.stderr, flush=True)

    report.targets = check_targets(report.results)
    print(render_table(report))
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
    return 1 if any(r.error is not None for r in report.results) else 0


if __name__ == "__main__":
    sys.exit(main())
