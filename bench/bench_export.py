"""Benchmark: many files, one unlock (target: export of 10 profiles x 1,000 values
with one passphrase, <= 1.5 s for the whole process, one Argon2id derivation per
distinct salt).

Three repositories of the same profiles, sealed with one passphrase at the default
Argon2id parameters (64 MiB, t=3, p=4):

- together: sealed in one process (`sealedcfg encrypt p0.yaml ... p9.yaml`);
- one by one: each file sealed by its own process, in one directory: each new
  file takes the salt of a sealed neighbour its passphrase opens, so they share it;
- apart: each file in a directory of its own, sealed by its own process, so each
  has a salt of its own (for reference: one derivation per distinct salt).

For each, `sealedcfg export` of the 10 files as whole processes (median of
--repeat runs), and the Argon2id derivations the same export makes in-process.

    python bench/bench_export.py
    python bench/bench_export.py --repeat 7 --files 10 --values 1000
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PASSPHRASE = "correct horse battery staple"  # noqa: S105 - a benchmark's fixed input


def make_profiles(root: Path, files: int, values: int) -> list[Path]:
    root.mkdir(parents=True)
    out = []
    for f in range(files):
        lines = []
        for v in range(values):
            if v % 10 == 0:
                lines.append(f"p{f}_service_{v // 10}:")
            lines.append(f"  key_{v}: value-{f}-{v}-abcdefghijklmnop")
        path = root / f"p{f}.yaml"
        path.write_text("\n".join(lines) + "\n")
        out.append(path)
    return out


def env() -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SEALEDCFG_")}
    base.update({"SEALEDCFG_PASSPHRASE": PASSPHRASE, "SEALEDCFG_AUDIT_LOG": "off"})
    return base


def cli(*args: str) -> float:
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sealedcfg", *args],
        check=True,
        env=env(),
        stdout=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    return time.perf_counter() - began


def derivations(files: list[Path]) -> int:
    """Argon2id derivations of one export of FILES, counted in a fresh process."""
    code = (
        "import sys; from sealedcfg import api; from sealedcfg.format import kdf; "
        "from sealedcfg.engine.keys import KeySource; "
        f"api.export(sys.argv[1:], KeySource(passphrase={PASSPHRASE!r}, env={{}})); "
        "print(kdf.DERIVATIONS)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *map(str, files)],
        check=True,
        env=env(),
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--values", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    opts = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        together = make_profiles(Path(tmp) / "together", opts.files, opts.values)
        cli("encrypt", *map(str, together))
        one_by_one = make_profiles(Path(tmp) / "one-by-one", opts.files, opts.values)
        for path in one_by_one:
            cli("encrypt", str(path))
        apart = []
        for i, path in enumerate(make_profiles(Path(tmp) / "apart", opts.files, opts.values)):
            own = path.parent / f"d{i}"
            own.mkdir()
            apart.append(path.rename(own / path.name))
            cli("encrypt", str(apart[-1]))
        cases = (("together", together, "<= 1.5"), ("one by one", one_by_one, "<= 1.5"))
        for label, files, target in (*cases, ("apart", apart, "-")):
            times = [cli("export", *map(str, files)) for _ in range(opts.repeat)]
            rows.append((label, statistics.median(times), min(times), derivations(files), target))
    print(
        f"export of {opts.files} profiles x {opts.values:,} values, one passphrase "
        f"(Argon2id m=65536 t=3 p=4), whole process, {opts.repeat} runs"
    )
    print(f"{'sealed':<16} {'median s':>9} {'min s':>7} {'derivations':>12} {'target':>8}")
    for label, median, low, count, target in rows:
        print(f"{label:<16} {median:>9.2f} {low:>7.2f} {count:>12} {target:>8}")


if __name__ == "__main__":
    main()
