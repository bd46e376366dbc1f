"""Benchmark: many files, one unlock (target: export of 10 profiles x 1,000 values
with one passphrase, <= 1.5 s for the whole process, one Argon2id derivation per
distinct salt).

Two repositories of the same profiles, sealed with one passphrase at the default
Argon2id parameters (64 MiB, t=3, p=4):

- shared salt: sealed together (`sealedcfg encrypt p0.yaml ... p9.yaml`, one
  process), so the files share the passphrase stanza's salt;
- distinct salts: each file sealed by its own process, so each has its own.

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
        shared = make_profiles(Path(tmp) / "shared", opts.files, opts.values)
        cli("encrypt", *map(str, shared))
        distinct = make_profiles(Path(tmp) / "distinct", opts.files, opts.values)
        for path in distinct:
            cli("encrypt", str(path))
        for label, files in (("shared salt", shared), ("distinct salts", distinct)):
            times = [cli("export", *map(str, files)) for _ in range(opts.repeat)]
            rows.append((label, statistics.median(times), min(times), derivations(files)))
    print(
        f"export of {opts.files} profiles x {opts.values:,} values, one passphrase "
        f"(Argon2id m=65536 t=3 p=4), whole process, {opts.repeat} runs"
    )
    print(f"{'salts':<16} {'median s':>9} {'min s':>7} {'derivations':>12} {'target':>8}")
    for label, median, low, count in rows:
        print(f"{label:<16} {median:>9.2f} {low:>7.2f} {count:>12} {'<= 1.5':>8}")
    base = rows[0][1]
    print(f"distinct / shared: {rows[1][1] / base:.1f}x")


if __name__ == "__main__":
    main()
