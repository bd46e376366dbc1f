"""Benchmark of the key lifecycle targets: key-less `status`, one audit append.

1. `sealedcfg status` over 100 profiles x 100 sealed values, every value with
   lifecycle metadata, as a whole process without any key (target <= 1 s).
2. One audit append (lock, read the last line, chain, write) in-process, and
   the cost it adds to a whole `sealedcfg get` process (target <= 5 ms).

    python bench/bench_lifecycle.py                 # 5 runs of each process, medians
    python bench/bench_lifecycle.py --repeat 9 --files 100 --values 100
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sealedcfg import api
from sealedcfg.engine import sealing
from sealedcfg.engine.keys import KeySource


def make_profiles(root: Path, files: int, values: int, key: str) -> list[Path]:
    """Sealed profiles whose every value carries provider/created/expires metadata."""
    keys = KeySource(key=key, env={})
    out = []
    day = date(2026, 11, 30)
    for f in range(files):
        lines = []
        for v in range(values):
            if v % 10 == 0:
                lines.append(f"service_{v // 10}:")
            lines.append(f"  key_{v}: value-{f}-{v}-abcdefghijklmnop")
        path = root / f"profile-{f:03d}.yaml"
        path.write_text("\n".join(lines) + "\n")
        api.encrypt_file(path, keys)
        profile = sealing.read_profile(path.read_bytes(), str(path))
        header = profile.header
        assert header is not None
        data_key = api.open_data_key(header, keys, str(path))
        replacements = []
        for i, node in enumerate(n for n in profile.body.nodes if sealing.is_token(n)):
            source = sealing.open_token(data_key, header.file_id, node)
            meta = (
                ("created", (day - timedelta(days=i % 400)).isoformat()),
                ("expires", (day + timedelta(days=(i * 7) % 120 - 20)).isoformat()),
                ("provider", ("stripe", "openai", "aws", "github")[i % 4]),
            )
            replacements.append(
                (node, sealing.seal_node(data_key, header.file_id, node, source, meta))
            )
        body = sealing.splice_tokens(profile.name, profile.body, replacements)
        opened = sealing.opened_body(profile.name, body, header, data_key)
        final = sealing.finish_header(header, data_key, opened, profile.name, sealed=body)
        path.write_bytes(profile.to_bytes(body.text, final))
        out.append(path)
    return out


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"failed: {' '.join(argv[:4])}: {proc.stderr.decode()[:300]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--values", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--appends", type=int, default=500)
    args = parser.parse_args()

    from sealedcfg.lifecycle import audit

    with tempfile.TemporaryDirectory(prefix="sealedcfg-bench-") as tmp:
        root = Path(tmp)
        key = api.keygen()
        profiles = make_profiles(root, args.files, args.values, key)
        base = {k: v for k, v in os.environ.items() if not k.startswith("SEALEDCFG_")}
        base["SEALEDCFG_TODAY"] = "2026-11-30"
        log = root / "audit.log"
        cmd = [sys.executable, "-m", "sealedcfg"]

        status = [timed([*cmd, "status", *map(str, profiles)], base) for _ in range(args.repeat)]
        summary = [
            timed([*cmd, "status", "--summary", *map(str, profiles)], base)
            for _ in range(args.repeat)
        ]
        version = [timed([*cmd, "--version"], base) for _ in range(args.repeat)]

        os.environ[audit.LOG_ENV] = str(log)
        appends = []
        for i in range(args.appends):
            start = time.perf_counter()
            audit.append("get", [str(profiles[0])], [f"service_0.key_{i % 10}"], "ok")
            appends.append(time.perf_counter() - start)
        assert audit.verify(log).ok

        get_args = [*cmd, "get", str(profiles[0]), "service_0.key_0"]
        with_log = {**base, "SEALEDCFG_KEY": key, audit.LOG_ENV: str(log)}
        without = {**base, "SEALEDCFG_KEY": key, audit.LOG_ENV: "off"}
        get_on, get_off = [], []
        for _ in range(args.repeat):
            get_on.append(timed(get_args, with_log))
            get_off.append(timed(get_args, without))

    values = args.files * args.values
    med = statistics.median
    print(f"sealedcfg lifecycle bench: {args.files} profiles x {args.values} values")
    print(f"(medians of {args.repeat} whole processes; {args.appends} in-process appends)\n")
    rows = [
        ("status, table, no key", f"{values:,}", f"{med(status):.3f} s", "<= 1 s"),
        ("status --summary, no key", f"{values:,}", f"{med(summary):.3f} s", "<= 1 s"),
        ("--version (start-up floor)", "-", f"{med(version):.3f} s", ""),
        ("audit append, in-process", "1 line", f"{med(appends) * 1000:.2f} ms", "<= 5 ms"),
        ("get, audit on", "1", f"{med(get_on):.3f} s", ""),
        ("get, audit off", "1", f"{med(get_off):.3f} s", ""),
        ("get: on - off", "", f"{(med(get_on) - med(get_off)) * 1000:+.1f} ms", "<= 5 ms"),
    ]
    widths = [
        max(len(r[i]) for r in [("operation", "values", "median", "target"), *rows])
        for i in range(4)
    ]
    for row in [("operation", "values", "median", "target"), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
