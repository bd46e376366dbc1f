"""Benchmark: scan 1,000 generated files of mixed types in-process.

    python bench/bench_scan.py [--files N [N ...]] [--repeat R]

Prints files, total MiB, median seconds over R runs and files/s, in process and as one
whole `sealedcfg check FILE...` process.  Targets (whole process): 1,000 files <= 2 s,
10,000 files <= 10 s.  Also the median CPU seconds (user + system) of the same runs: on a
shared machine the wall time grows with the load average (printed first), CPU time much less.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sealedcfg.scan import engine, scan_file

_ALNUM = string.ascii_letters + string.digits
_EXTS = (
    "py",
    "js",
    "ts",
    "go",
    "java",
    "rb",
    "sh",
    "yaml",
    "json",
    "toml",
    "tf",
    "xml",
    "ini",
    "properties",
    "md",
    "env",
)


def _token(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(n))


def _line(rng: random.Random, i: int) -> str:
    kind = rng.random()
    name = rng.choice(["user", "host", "port", "timeout", "region", "name", "path", "mode"])
    if kind < 0.01:
        return f'api_key = "{_token(rng, 32)}"'
    if kind < 0.02:
        return f"password: {rng.choice(['${DB_PASSWORD}', 'changeme', _token(rng, 12)])}"
    if kind < 0.06:
        return f'token = os.environ["TOKEN_{i}"]  # key lookup'
    if kind < 0.10:
        return f'  "integrity": "sha512-{_token(rng, 86)}==",'
    if kind < 0.55:
        return f"{name}_{i} = {rng.choice(['True', str(i), repr(name), 'None'])}"
    words = " ".join(
        rng.choice(
            [
                "the",
                "value",
                "is",
                "read",
                "from",
                "config",
                "and",
                "then",
                "written",
                "back",
                "to",
                "disk",
                "for",
                "each",
                "item",
            ]
        )
        for _ in range(rng.randint(3, 12))
    )
    return f"# {words}"


def make_files(root: Path, count: int, seed: int = 1234) -> list[Path]:
    rng = random.Random(seed)
    paths = []
    for i in range(count):
        ext = _EXTS[i % len(_EXTS)]
        path = root / f"d{i % 20}" / f"f{i}.{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        n_lines = int(rng.lognormvariate(4.3, 0.8)) + 5  # median ~75 lines, long tail
        path.write_text("\n".join(_line(rng, j) for j in range(n_lines)) + "\n")
        paths.append(path)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at start: {load} ({os.cpu_count()} CPUs)")
    print(
        f"{'what':<28} {'files':>6} {'MiB':>7} {'median s':>9} {'cpu s':>7} {'files/s':>9}"
        f" {'findings':>9}"
    )
    verdicts = [_bench(n, args.repeat) for n in args.files]
    for line in verdicts:
        print(line)
    return 0


def _bench(count: int, repeat: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_files(Path(tmp), count)
        total = sum(p.stat().st_size for p in paths)
        times, cpu, findings = [], [], 0
        for _ in range(repeat):
            engine.clear_memo()  # each repeat judges its lines anew, as one process would
            start, start_cpu = time.perf_counter(), time.process_time()
            findings = 0
            for p in paths:
                result = scan_file(p)
                findings += len(result) if isinstance(result, list) else 0
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        # The hook as users run it: one whole `sealedcfg check FILE...` process.
        argv = [sys.executable, "-m", "sealedcfg", "check", *(str(p) for p in paths)]
        process_times, process_cpu = [], []
        for _ in range(repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=False, cwd=tmp)
            process_times.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            process_cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    median = statistics.median(times)
    whole = statistics.median(process_times)
    print(
        f"{'scan_file, in process':<28} {len(paths):>6} {total / 2**20:>7.2f} {median:>9.3f}"
        f" {statistics.median(cpu):>7.3f} {len(paths) / median:>9.0f} {findings:>9}"
    )
    print(
        f"{'sealedcfg check, process':<28} {len(paths):>6} {total / 2**20:>7.2f} {whole:>9.3f}"
        f" {statistics.median(process_cpu):>7.3f} {len(paths) / whole:>9.0f}"
    )
    target = 2.0 if len(paths) <= 1000 else 10.0
    verdict = "PASS" if whole <= target else "MISS"
    return (
        f"target: check of {len(paths)} files <= {target:g} s whole process: {verdict}"
        f" ({whole:.3f} s)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
