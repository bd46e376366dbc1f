"""Peak memory of `encrypt` and `decrypt` against the file's size (issue 7's target: <= 50x).

Two generated inputs: a Kubernetes manifest stream of about 1.9 MB (many
documents, deep nesting, long strings) and a profile of 80,000 values (about
1.8 MB).  Each command runs as its own process; its peak RSS comes from the
kernel's accounting of that child (`os.wait4`).  Prints medians of N runs.

Besides the targets (encrypt of a new file, decrypt), the commands that read
a sealed file of that size: `encrypt` of a sealed file with nothing new,
`encrypt --adopt` of one with a new plaintext value, `set` of one value, and
`edit` with the buffer left unchanged.  `x file` is against the file the
command reads (the plaintext for a new file, the sealed file otherwise);
`x plain` against the plaintext.

    python bench/bench_memory.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

KEY = "G7r3fjYB7m8J2B0d0Zy0Q3mSHq1w3hQn2xVw2uQmP3o="


def kubernetes(target_bytes: int) -> str:
    rng = random.Random(7)
    docs = []
    size = 0
    i = 0
    while size < target_bytes:
        env = "\n".join(
            f'            - name: VAR_{j}\n              value: "{rng.getrandbits(64):x}"'
            for j in range(12)
        )
        doc = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-{i}
  labels: {{app: svc-{i}, tier: backend}}
spec:
  replicas: {rng.randint(1, 9)}
  template:
    spec:
      containers:
        - name: app
          image: registry.example/svc-{i}:1.{i}
          args: ["--port", "8080", "--log-level", "info"]
          env:
{env}
          resources:
            limits: {{cpu: 500m, memory: 256Mi}}
"""
        docs.append(doc)
        size += len(doc) + 4
        i += 1
    return "---\n".join(docs)


def profile(values: int) -> str:
    rng = random.Random(8)
    lines = []
    for i in range(values // 10):
        lines.append(f"service_{i}:")
        for j in range(10):
            lines.append(f"  key_{j}: v{rng.getrandbits(40):x}")
    return "\n".join(lines) + "\n"


def peak_rss(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv)} failed: {proc.stderr.read().decode() if proc.stderr else ''}"
        )
    return wall, usage.ru_maxrss * 1024  # KiB on Linux


def measure(
    argv: list[str], env: dict[str, str], repeat: int, prepare: Callable[[], object]
) -> tuple[float, float]:
    """Median wall seconds and median peak RSS (bytes) of `repeat` runs."""
    runs = []
    for _ in range(repeat):
        prepare()
        runs.append(peak_rss(argv, env))
    return statistics.median(w for w, _ in runs), statistics.median(r for _, r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--targets-only", action="store_true", help="only encrypt of a new file and decrypt"
    )
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALEDCFG_")}
    env["SEALEDCFG_KEY"] = KEY
    edit_env = {**env, "EDITOR": "true", "VISUAL": "true"}
    cli = [sys.executable, "-m", "sealedcfg"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="sealedcfg-mem-") as tmp:
        for label, text, set_path in (
            ("kubernetes manifest", kubernetes(1_900_000), "3:metadata.name"),
            ("profile, 80,000 values", profile(80_000), "service_4000.key_5"),
        ):
            target = Path(tmp) / "input.yaml"
            plain = text.encode()
            enc = measure(
                [*cli, "encrypt", str(target)], env, args.repeat, partial(target.write_bytes, plain)
            )
            sealed = target.read_bytes()
            # A new plaintext value at the top of a sealed file, for `encrypt --adopt`.
            adoptable = b"adopted_value: fresh-plaintext-0001\n" + sealed
            restore = partial(target.write_bytes, sealed)
            ops: list[tuple[str, list[str], dict[str, str], Callable[[], object]]] = [
                ("decrypt", [*cli, "decrypt", str(target), "-o", os.devnull], env, restore)
            ]
            if not args.targets_only:
                ops += [
                    ("encrypt, sealed", [*cli, "encrypt", str(target)], env, restore),
                    (
                        "encrypt --adopt",
                        [*cli, "encrypt", "--adopt", str(target)],
                        env,
                        partial(target.write_bytes, adoptable),
                    ),
                    ("set", [*cli, "set", str(target), set_path, "new-value-1"], env, restore),
                    ("edit, unchanged", [*cli, "edit", str(target)], edit_env, restore),
                ]
            rows.append((label, "encrypt", len(plain), len(plain), *enc))
            for op, argv, op_env, prepare in ops:
                base = len(adoptable) if op == "encrypt --adopt" else len(sealed)
                rows.append(
                    (label, op, base, len(plain), *measure(argv, op_env, args.repeat, prepare))
                )
    print(
        f"{'input':<24} {'op':<16} {'file MB':>8} {'median s':>9} {'peak MiB':>9}"
        f" {'x file':>7} {'x plain':>8}"
    )
    for label, op, base, plain_size, wall, rss in rows:
        print(
            f"{label:<24} {op:<16} {base / 1e6:>8.2f} {wall:>9.2f} {rss / 2**20:>9.1f}"
            f" {rss / base:>7.1f} {rss / plain_size:>8.1f}"
        )
    print("target: peak RSS of encrypt and decrypt <= 50x the file's size (issue 7)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
